/**
 * A real matrix-js-sdk (v43) client in Node, for end-to-end tests against a test server.
 *
 * - `createSdkClient(url)` makes a client without a session (for /register and /login);
 *   `createSdkClient(url, session)` one that is logged in; `withCrypto: true` also starts the Rust
 *   crypto (in memory: no IndexedDB in Node), as every real app does right after login.
 * - The SDK is chatty (debug lines for every request and crypto step). Every client gets a logger that
 *   keeps all lines in `sdkLog` (handy when a test fails) and prints only errors, or what
 *   CADUCEUS_SDK_LOG_LEVEL (trace|debug|info|warn|error|silent) asks for.
 * - `stopSdkClients()` stops every client made here, closes its OlmMachine (which frees the wasm
 *   objects) and aborts requests in flight, so `node --test` exits promptly. Call it from `after()`.
 */
import { createClient, InteractiveAuth, MatrixError, type AuthDict, type IAuthData, type MatrixClient, type RegisterResponse } from 'matrix-js-sdk';
import { logger as globalSdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
type Level = (typeof LEVELS)[number];

const asked = (process.env.CADUCEUS_SDK_LOG_LEVEL ?? 'error').toLowerCase();
const requestedLevel: Level = (LEVELS as readonly string[]).includes(asked) ? (asked as Level) : 'error';
const printLevel = LEVELS.indexOf(requestedLevel);

/** Everything the SDK logged (all levels), oldest first; `[level] [namespace] message`. */
export const sdkLog: string[] = [];

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Lines the SDK logs as errors in normal operation, shown only at `info`: after an M_UNKNOWN_TOKEN it
 * tries a token refresh, and a session made without a refresh token (all of ours) cannot.
 */
const EXPECTED_ERRORS = [/^Unable to refresh token - no refresh token or OAuth2 client config$/];

function quietLogger(namespace: string): Logger {
  const at =
    (logged: Exclude<Level, 'silent'>) =>
    (...msg: unknown[]): void => {
      const expected = logged === 'error' && typeof msg[0] === 'string' && EXPECTED_ERRORS.some((re) => re.test(msg[0] as string));
      const level = expected ? 'info' : logged;
      const line = `[${level}] [${namespace}] ${msg.map(render).join(' ')}`;
      sdkLog.push(line);
      if (sdkLog.length > 5000) sdkLog.splice(0, sdkLog.length - 5000);
      if (LEVELS.indexOf(level) >= printLevel) console.error(line);
    };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    getChild: (child: string) => quietLogger(`${namespace}${child}`),
  };
}

// Some SDK modules (InteractiveAuth, for one) log through the global loglevel logger, not the client's.
(globalSdkLogger as unknown as { setLevel(level: Level, persist?: boolean): void }).setLevel(requestedLevel, false);

export interface SdkSession {
  userId: string;
  deviceId: string;
  accessToken: string;
}

const clients = new Set<MatrixClient>();

/** A matrix-js-sdk client for `baseUrl`; logged in when `session` is given. */
export async function createSdkClient(baseUrl: string, session?: SdkSession, options: { withCrypto?: boolean } = {}): Promise<MatrixClient> {
  const client = createClient({
    baseUrl,
    ...(session ? { userId: session.userId, deviceId: session.deviceId, accessToken: session.accessToken } : {}),
    logger: quietLogger(`matrix${session ? ` ${session.deviceId}` : ''}`),
  });
  clients.add(client);
  if (options.withCrypto) {
    if (!session) throw new Error('Rust crypto needs a logged-in client (user id and device id)');
    // Node has no IndexedDB: keep the crypto store in memory.
    await client.initRustCrypto({ useIndexedDB: false });
  }
  return client;
}

/** Stops one client: sync (if started), crypto (closes and frees the OlmMachine) and requests in flight. */
export function stopSdkClient(client: MatrixClient): void {
  client.stopClient();
  client.http.abort();
  client.removeAllListeners();
  clients.delete(client);
}

/** Stops every client created through this module. */
export function stopSdkClients(): void {
  for (const client of [...clients]) stopSdkClient(client);
}

export interface SdkRegistration {
  response: RegisterResponse;
  /** The `auth` dicts the SDK sent, in order (null = the first request without `auth`). */
  authSent: (AuthDict | null)[];
  /** The UIA state the server answered the first request with. */
  challenge: IAuthData | undefined;
}

/**
 * Registers the way a matrix-js-sdk app does: `InteractiveAuth` drives /register, asks the server for
 * its flows, and completes an m.login.dummy stage on its own. Any other stage rejects (this helper has
 * no user to ask).
 */
export async function registerWithSdk(
  client: MatrixClient,
  account: { username: string; password: string; deviceName?: string },
): Promise<SdkRegistration> {
  const authSent: (AuthDict | null)[] = [];
  let challenge: IAuthData | undefined;
  const stageFailure = Promise.withResolvers<never>();
  const interactiveAuth = new InteractiveAuth<RegisterResponse>({
    matrixClient: client,
    doRequest: async (auth) => {
      authSent.push(auth);
      try {
        return await client.registerRequest({
          username: account.username,
          password: account.password,
          ...(account.deviceName ? { initial_device_display_name: account.deviceName } : {}),
          ...(auth ? { auth } : {}),
          refresh_token: true, // as client.register() always asks
        });
      } catch (error) {
        if (error instanceof MatrixError && error.httpStatus === 401 && !challenge) challenge = error.data as IAuthData;
        throw error;
      }
    },
    stateUpdated: (stage, status) => {
      stageFailure.reject(new Error(`registration asked for stage ${stage} (${JSON.stringify(status)}), which a test cannot answer`));
    },
    requestEmailToken: () => Promise.reject(new Error('registration asked for an email token')),
  });
  const response = await Promise.race([interactiveAuth.attemptAuth(), stageFailure.promise]);
  return { response, authSent, challenge };
}

/** Awaits `promise`, which must reject with a MatrixError; returns that error. */
export async function matrixErrorOf(promise: Promise<unknown>): Promise<MatrixError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MatrixError) return error;
    throw new Error(`expected a MatrixError, got ${render(error)}`, { cause: error });
  }
  throw new Error('expected the SDK call to reject with a MatrixError, but it succeeded');
}
