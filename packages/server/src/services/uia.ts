/**
 * User-interactive authentication (spec: Client-Server API, "User-Interactive Authentication API").
 * An operation names its purpose and allowed flows; the client completes stages across requests
 * within one session, and the operation proceeds once one flow is complete.
 */
import { MatrixError, UserInteractiveAuthRequired, parseUserId } from '@caduceus/core';
import type { AuditTrail } from '../compliance/audit/index.ts';
import type { Storage } from '../storage/index.ts';
import type { UiaSessionRecord } from '../storage/uia.ts';
import type { Clock } from './clock.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { verifyPassword } from './passwords.ts';
import { randomString } from './secrets.ts';

export type Stage = 'm.login.dummy' | 'm.login.password' | 'm.login.registration_token' | 'm.login.sso';

/**
 * Who may re-authenticate with the password alone. Anyone else (subject to MFA, or without a
 * password) is offered `m.login.sso` instead: the sign-in page with their second factor.
 */
export interface ReauthPolicy {
  reauthByPassword(userId: string): Promise<boolean>;
}

export interface UiaRequest {
  /** What the session authorises, e.g. "register" or "delete_devices"; a session cannot be reused for another purpose. */
  purpose: string;
  /** The authenticated user, for operations on an existing account. */
  userId?: string;
  flows: Stage[][];
  clientAddress: string;
}

export const UIA_SESSION_LIFETIME_MS = 15 * 60_000;

type AuthDict = Record<string, unknown>;

export class UiaService {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #throttle: LoginThrottle;
  readonly #serverName: string;
  readonly #audit: AuditTrail;
  readonly #reauth: ReauthPolicy | undefined;

  constructor(storage: Storage, clock: Clock, throttle: LoginThrottle, serverName: string, audit: AuditTrail, reauth?: ReauthPolicy) {
    this.#storage = storage;
    this.#clock = clock;
    this.#throttle = throttle;
    this.#serverName = serverName;
    this.#audit = audit;
    this.#reauth = reauth;
  }

  /**
   * Checks the request's `auth` dictionary. Returns the completed session (whose `state` carries facts
   * such as a validated registration token) or throws the 401 that asks for the next stage.
   */
  async authenticate(auth: unknown, asked: UiaRequest): Promise<UiaSessionRecord> {
    const request = await this.#withReauthPolicy(asked);
    if (auth === undefined || auth === null) {
      const session = await this.#newSession(request);
      throw this.#challenge(request, session);
    }
    if (typeof auth !== 'object' || Array.isArray(auth)) throw new MatrixError('M_BAD_JSON', '"auth" must be an object');
    const dict = auth as AuthDict;
    const session = typeof dict.session === 'string' ? await this.#existingSession(dict.session, request) : await this.#newSession(request);

    if (dict.type !== undefined) {
      if (typeof dict.type !== 'string' || !request.flows.some((flow) => flow.includes(dict.type as Stage))) {
        throw this.#challenge(request, session, new MatrixError('M_UNRECOGNIZED', `Authentication type ${String(dict.type)} is not offered here`, { status: 400 }));
      }
      const stage = dict.type as Stage;
      const failure = await this.#runStage(stage, dict, request, session);
      if (failure) throw this.#challenge(request, session, failure);
      if (!session.completed.includes(stage)) session.completed.push(stage);
      await this.#storage.uia.update(session.sessionId, session.completed, session.state);
    }

    if (request.flows.some((flow) => flow.every((stage) => session.completed.includes(stage)))) return session;
    throw this.#challenge(request, session);
  }

  /** The user and purpose of a live session of an existing account (for the m.login.sso fallback page). */
  async ssoTarget(sessionId: string): Promise<{ userId: string; purpose: string } | undefined> {
    if (sessionId.length === 0 || sessionId.length > 64) return undefined;
    const session = await this.#storage.uia.get(sessionId);
    if (!session?.userId || this.#clock.now() - session.createdTs > UIA_SESSION_LIFETIME_MS) return undefined;
    return { userId: session.userId, purpose: session.purpose };
  }

  /** Marks m.login.sso complete: `userId` signed in again on the sign-in page. */
  async completeSso(sessionId: string, userId: string): Promise<boolean> {
    const target = await this.ssoTarget(sessionId);
    const session = target?.userId === userId ? await this.#storage.uia.get(sessionId) : undefined;
    if (!session) return false;
    if (!session.completed.includes('m.login.sso')) session.completed.push('m.login.sso');
    await this.#storage.uia.update(sessionId, session.completed, session.state);
    return true;
  }

  /** Re-authentication of a user subject to MFA (or without a password) goes through SSO, not the password. */
  async #withReauthPolicy(request: UiaRequest): Promise<UiaRequest> {
    if (!request.userId || !this.#reauth || !request.flows.some((flow) => flow.includes('m.login.password'))) return request;
    if (await this.#reauth.reauthByPassword(request.userId)) return request;
    const flows = request.flows.map((flow) => flow.map((stage): Stage => (stage === 'm.login.password' ? 'm.login.sso' : stage)));
    return { ...request, flows };
  }

  /** Forgets a session once the operation it authorised has succeeded. */
  async finish(session: UiaSessionRecord): Promise<void> {
    await this.#storage.uia.delete(session.sessionId);
  }

  async #newSession(request: UiaRequest): Promise<UiaSessionRecord> {
    const now = this.#clock.now();
    // Opportunistic clean-up keeps the table small without a scheduled job.
    await this.#storage.uia.deleteOlderThan(now - UIA_SESSION_LIFETIME_MS);
    const session: UiaSessionRecord = {
      sessionId: randomString(24),
      purpose: request.purpose,
      userId: request.userId ?? null,
      completed: [],
      state: {},
      createdTs: now,
    };
    await this.#storage.uia.create(session);
    return session;
  }

  async #existingSession(sessionId: string, request: UiaRequest): Promise<UiaSessionRecord> {
    const session = await this.#storage.uia.get(sessionId);
    const expired = session && this.#clock.now() - session.createdTs > UIA_SESSION_LIFETIME_MS;
    if (!session || expired || session.purpose !== request.purpose || session.userId !== (request.userId ?? null)) {
      throw new MatrixError('M_INVALID_PARAM', 'Unknown or expired authentication session; start again without a session');
    }
    return session;
  }

  async #runStage(stage: Stage, dict: AuthDict, request: UiaRequest, session: UiaSessionRecord): Promise<MatrixError | undefined> {
    switch (stage) {
      case 'm.login.dummy':
        return undefined;
      case 'm.login.registration_token': {
        const token = dict.token;
        if (typeof token !== 'string' || token.length === 0 || token.length > 64) {
          return new MatrixError('M_MISSING_PARAM', 'A registration token is required');
        }
        const record = await this.#storage.registrationTokens.get(token);
        const now = this.#clock.now();
        const valid =
          record !== undefined &&
          (record.expiryTs === null || record.expiryTs > now) &&
          (record.usesAllowed === null || record.completed < record.usesAllowed);
        if (!valid) return new MatrixError('M_FORBIDDEN', 'The registration token is not valid');
        session.state.registrationToken = token;
        return undefined;
      }
      case 'm.login.password':
        return this.#checkPassword(dict, request);
      case 'm.login.sso':
        // Completed only by the fallback page (completeSso); naming the stage does not complete it.
        return session.completed.includes('m.login.sso')
          ? undefined
          : new MatrixError('M_FORBIDDEN', 'Confirm it is you in the browser first: open the m.login.sso fallback page for this session');
    }
  }

  async #checkPassword(dict: AuthDict, request: UiaRequest): Promise<MatrixError | undefined> {
    if (!request.userId) return new MatrixError('M_FORBIDDEN', 'Password authentication needs a signed-in user');
    const identifier = dict.identifier as { type?: unknown; user?: unknown } | undefined;
    const named = identifier?.type === 'm.id.user' ? identifier.user : dict.user;
    if (typeof named === 'string') {
      const namedId = named.startsWith('@') ? named : `@${named.toLowerCase()}:${this.#serverName}`;
      if (!parseUserId(namedId) || namedId !== request.userId) return new MatrixError('M_FORBIDDEN', 'Authentication must be for the signed-in user');
    }
    if (typeof dict.password !== 'string') return new MatrixError('M_MISSING_PARAM', 'A password is required');
    // Re-authentication with the password is a sign-in of its own: on record, whichever way it goes.
    const reauth = (outcome: 'success' | 'failure', reason?: string) =>
      this.#audit.record({ action: 'auth.reauth', outcome, target: { userId: request.userId! }, details: { purpose: request.purpose, ...(reason ? { reason } : {}) } });
    try {
      this.#throttle.check(request.userId, request.clientAddress);
    } catch (err) {
      await reauth('failure', 'throttled');
      throw err;
    }
    const user = await this.#storage.users.get(request.userId);
    if (!(await verifyPassword(user?.passwordHash ?? null, dict.password))) {
      this.#throttle.recordFailure(request.userId, request.clientAddress);
      await reauth('failure', 'wrong_password');
      return new MatrixError('M_FORBIDDEN', 'Invalid password');
    }
    this.#throttle.recordSuccess(request.userId);
    await reauth('success');
    return undefined;
  }

  #challenge(request: UiaRequest, session: UiaSessionRecord, error?: MatrixError): Error {
    // A throttled attempt is answered as such, not as another round of authentication.
    if (error?.errcode === 'M_LIMIT_EXCEEDED') return error;
    return new UserInteractiveAuthRequired({
      ...(error ? { errcode: error.errcode, error: error.message } : {}),
      flows: request.flows.map((stages) => ({ stages })),
      params: {},
      session: session.sessionId,
      completed: session.completed,
    });
  }
}
