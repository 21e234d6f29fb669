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
 * - `startSdkClient(client, opts)` starts syncing and resolves once the first sync is processed;
 *   `waitForSdk(client, what, check)` waits, with a timeout, until `check()` holds, re-checking each
 *   time the client reports something (a sync, a timeline event, a receipt, typing, ...). Tests wait
 *   on the SDK this way instead of sleeping.
 * - `expectSdkErrors(...)` downgrades error lines a test knows about (e.g. `MISSING_E2EE_ENDPOINTS`
 *   while the server has no keys/* endpoints) so they do not drown real failures.
 */
import {
  ClientEvent,
  createClient,
  InteractiveAuth,
  MatrixError,
  RoomEvent,
  RoomMemberEvent,
  SyncState,
  type AuthDict,
  type IAuthData,
  type IStartClientOpts,
  type MatrixClient,
  type RegisterResponse,
} from 'matrix-js-sdk';
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

/** Patterns added by `expectSdkErrors`, matched against the whole rendered line. */
const expectedLines: RegExp[] = [];

/**
 * What the SDK logs while the server has no end-to-end encryption endpoints yet (keys/*, room_keys/*,
 * sendToDevice answer 404 M_UNRECOGNIZED): the Rust crypto's outgoing requests fail and are retried
 * after every sync. Harmless for unencrypted rooms.
 */
export const MISSING_E2EE_ENDPOINTS: readonly RegExp[] = [
  /\[404\] Unrecognized request \(https?:\/\/[^)]*\/_matrix\/client\/v3\/(keys|room_keys|sendToDevice)\//,
  /matrix_sdk_crypto.*pending `\/keys\/query` request/,
];

/** Logs these SDK error and warning lines at `info` from now on (for the rest of this test process). */
export function expectSdkErrors(...patterns: readonly RegExp[]): void {
  expectedLines.push(...patterns);
}

/** True for the SDK error of a request to an end-to-end encryption endpoint the server does not have (404). */
export function isMissingE2eeEndpoint(error: unknown): boolean {
  return error instanceof MatrixError && error.httpStatus === 404 && /\/_matrix\/client\/v3\/(keys|room_keys|sendToDevice)\//.test(error.url ?? '');
}

function quietLogger(namespace: string): Logger {
  const at =
    (logged: Exclude<Level, 'silent'>) =>
    (...msg: unknown[]): void => {
      const text = msg.map(render).join(' ');
      const expected =
        (logged === 'error' && typeof msg[0] === 'string' && EXPECTED_ERRORS.some((re) => re.test(msg[0] as string))) ||
        ((logged === 'error' || logged === 'warn') && expectedLines.some((re) => re.test(text)));
      const level = expected ? 'info' : logged;
      const line = `[${level}] [${namespace}] ${text}`;
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
// Others (MatrixRTCSession, one per room) make child loggers of it, which the SDK sets to DEBUG and
// which print to the console: send them through the quiet logger too.
globalSdkLogger.getChild = (namespace: string) => quietLogger(`matrix${namespace}`);

/**
 * The SDK bounds each request with a timer (`timeoutSignal` in http-api/utils.js: 60 s for crypto
 * requests, long-poll timeout + 80 s for /sync) that it never clears, not even when the request ends
 * or the client stops — a test file would then wait ~2 minutes for them before its process exits.
 * Those timers are unref'd here as they are made: a request in flight keeps the process alive through
 * its socket anyway. Only long timers are looked at, and only ones set from the SDK's HTTP code.
 */
const originalSetTimeout = globalThis.setTimeout;
const SDK_HTTP_FRAME = /[\\/]matrix-js-sdk[\\/]lib[\\/]http-api[\\/]/;
const unrefSdkRequestTimers = function (this: unknown, ...args: Parameters<typeof setTimeout>) {
  const timer = originalSetTimeout(...args);
  const ms = args[1];
  if (typeof ms === 'number' && ms >= 10_000 && SDK_HTTP_FRAME.test(new Error().stack ?? '')) timer.unref();
  return timer;
};
Object.defineProperties(unrefSdkRequestTimers, Object.getOwnPropertyDescriptors(originalSetTimeout));
globalThis.setTimeout = unrefSdkRequestTimers as typeof setTimeout;

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

/** A suite's teardown: stops every SDK client, then the suite's server. */
export async function closeWithSdkClients(server: { close(): Promise<void> }): Promise<void> {
  stopSdkClients();
  await server.close();
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

/** The session of a user made with the HTTP helpers (support/users.ts), for `createSdkClient`. */
export function sdkSessionOf(user: { userId: string; deviceId: string; accessToken: string }): SdkSession {
  return { userId: user.userId, deviceId: user.deviceId, accessToken: user.accessToken };
}

/** Signs in with a password through the SDK (a new device), returning the session for `createSdkClient`. */
export async function loginWithSdk(baseUrl: string, account: { localpart: string; password: string; deviceName?: string }): Promise<SdkSession> {
  const client = await createSdkClient(baseUrl);
  try {
    const response = await client.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: account.localpart },
      password: account.password,
      ...(account.deviceName ? { initial_device_display_name: account.deviceName } : {}),
    });
    return { userId: response.user_id, deviceId: response.device_id, accessToken: response.access_token };
  } finally {
    stopSdkClient(client);
  }
}

/** Everything a client re-emits that a test may wait on; `waitForSdk` re-checks on each. */
const WATCHED_EVENTS: readonly string[] = [
  ClientEvent.Sync,
  ClientEvent.Room,
  ClientEvent.AccountData,
  RoomEvent.MyMembership,
  RoomEvent.Timeline,
  RoomEvent.TimelineReset,
  RoomEvent.Receipt,
  RoomEvent.Redaction,
  RoomEvent.LocalEchoUpdated,
  RoomEvent.AccountData,
  RoomMemberEvent.Typing,
  RoomMemberEvent.Membership,
];

type Listener = (...args: unknown[]) => void;
type Emitter = { on(event: string, listener: Listener): unknown; off(event: string, listener: Listener): unknown };

/**
 * Resolves with the first value `check()` returns that is not undefined, null or false. Checks at once,
 * then each time the client emits a sync, timeline, receipt, typing, membership, redaction or account
 * data event. Rejects after `timeoutMs` (default 10 s) with `what` and the last lines the SDK logged,
 * or as soon as `check` throws.
 */
export function waitForSdk<T>(client: MatrixClient, what: string, check: () => T | undefined | null | false, options: { timeoutMs?: number } = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const emitter = client as unknown as Emitter;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (outcome: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const event of WATCHED_EVENTS) emitter.off(event, recheck);
      outcome();
    };
    const recheck: Listener = () => {
      if (done) return;
      try {
        const value = check();
        if (value !== undefined && value !== null && value !== false) finish(() => resolve(value));
      } catch (error) {
        finish(() => reject(error));
      }
    };
    const timer = setTimeout(() => {
      const recent = sdkLog.slice(-15).join('\n  ');
      finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${client.getUserId()} ${client.getDeviceId()}); last SDK log lines:\n  ${recent}`)));
    }, timeoutMs);
    for (const event of WATCHED_EVENTS) emitter.on(event, recheck);
    recheck();
  });
}

/** Starts syncing and resolves once the first sync has been processed (sync state PREPARED). */
export async function startSdkClient(client: MatrixClient, options: IStartClientOpts = {}, timeoutMs = 15_000): Promise<void> {
  let prepared = false;
  const onSync = (state: SyncState) => {
    if (state === SyncState.Prepared || state === SyncState.Syncing) prepared = true;
  };
  client.on(ClientEvent.Sync, onSync);
  try {
    await client.startClient(options);
    await waitForSdk(client, 'the first sync (sync state PREPARED)', () => prepared || client.isInitialSyncComplete(), { timeoutMs });
  } finally {
    client.off(ClientEvent.Sync, onSync);
  }
}
