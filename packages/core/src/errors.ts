/**
 * The Matrix error codes Caduceus answers with, and the one table that maps each to its HTTP status.
 * Error text is shown to users and written to logs: it must never carry PHI or secrets.
 */
export const errorStatus = {
  M_FORBIDDEN: 403,
  M_UNKNOWN_TOKEN: 401,
  M_MISSING_TOKEN: 401,
  M_USER_LOCKED: 401,
  M_BAD_JSON: 400,
  M_NOT_JSON: 400,
  M_NOT_FOUND: 404,
  M_LIMIT_EXCEEDED: 429,
  M_UNRECOGNIZED: 404,
  M_UNKNOWN: 500,
  M_UNAUTHORIZED: 401,
  M_USER_DEACTIVATED: 403,
  M_USER_IN_USE: 400,
  M_INVALID_USERNAME: 400,
  M_EXCLUSIVE: 400,
  M_MISSING_PARAM: 400,
  M_INVALID_PARAM: 400,
  M_TOO_LARGE: 413,
  M_WEAK_PASSWORD: 400,
  M_INVALID_ROOM_STATE: 400,
  M_ROOM_IN_USE: 400,
  M_UNSUPPORTED_ROOM_VERSION: 400,
  M_BAD_STATE: 400,
  M_GUEST_ACCESS_FORBIDDEN: 403,
  M_SERVER_NOT_TRUSTED: 403,
  M_RESOURCE_LIMIT_EXCEEDED: 403,
  M_CANNOT_LEAVE_SERVER_NOTICE_ROOM: 403,
  M_THREEPID_DENIED: 403,
  M_WRONG_ROOM_KEYS_VERSION: 403,
  M_BAD_ALIAS: 400,
  M_INVALID_SIGNATURE: 400,
  M_CANNOT_OVERWRITE_MEDIA: 409,
  M_NOT_YET_UPLOADED: 504,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** A failure the client should see as `{errcode, error, ...extra}` with the code's HTTP status. */
export class MatrixError extends Error {
  readonly errcode: ErrorCode;
  readonly status: number;
  /** Extra top-level fields of the error body (e.g. `retry_after_ms`, `soft_logout`). */
  readonly extra: Record<string, unknown>;
  /** Extra response headers (e.g. `Retry-After`, `Allow`). */
  readonly headers: Record<string, string>;

  constructor(
    errcode: ErrorCode,
    message: string,
    options: { status?: number; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'MatrixError';
    this.errcode = errcode;
    this.status = options.status ?? errorStatus[errcode];
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const forbidden = (message: string) => new MatrixError('M_FORBIDDEN', message);
export const notFound = (message: string) => new MatrixError('M_NOT_FOUND', message);
export const invalidParam = (message: string) => new MatrixError('M_INVALID_PARAM', message);
export const missingParam = (message: string) => new MatrixError('M_MISSING_PARAM', message);
export const badJson = (message: string) => new MatrixError('M_BAD_JSON', message);

export function limitExceeded(retryAfterMs: number): MatrixError {
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  return new MatrixError('M_LIMIT_EXCEEDED', 'Too many requests; try again later', {
    extra: { retry_after_ms: ms },
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) },
  });
}

/**
 * The 401 answer of user-interactive auth: not a failure but "authenticate further", so its body is
 * the flows and session, with errcode/error only when the last attempt at a stage failed.
 */
export class UserInteractiveAuthRequired extends Error {
  readonly status = 401;
  readonly body: Record<string, unknown>;
  constructor(body: Record<string, unknown>) {
    super(typeof body.error === 'string' ? body.error : 'Additional authentication is required');
    this.name = 'UserInteractiveAuthRequired';
    this.body = body;
  }
}
