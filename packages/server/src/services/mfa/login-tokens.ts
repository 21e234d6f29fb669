/**
 * The `loginToken` of Matrix SSO: handed to the client in the redirect URL after the sign-in page,
 * exchanged once by `POST /login` (`m.login.token`) for a session. Short-lived, single-use and
 * stored as a hash: a token seen in a browser history is worthless minutes later.
 */
import type { Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import { hashToken, newToken } from '../secrets.ts';

export const LOGIN_TOKEN_LIFETIME_MS = 2 * 60_000;

export class LoginTokenService {
  readonly #storage: Storage;
  readonly #clock: Clock;
  constructor(storage: Storage, clock: Clock) {
    this.#storage = storage;
    this.#clock = clock;
  }

  async issue(userId: string): Promise<string> {
    const now = this.#clock.now();
    await this.#storage.signIn.deleteExpiredLoginTokens(now);
    const token = newToken('cadl');
    await this.#storage.signIn.insertLoginToken(hashToken(token), userId, now, now + LOGIN_TOKEN_LIFETIME_MS);
    return token;
  }

  /** The user the token was issued to, once; undefined when unknown, used or expired. */
  async redeem(token: string): Promise<string | undefined> {
    const taken = await this.#storage.signIn.takeLoginToken(hashToken(token));
    if (!taken || taken.expiresTs <= this.#clock.now()) return undefined;
    return taken.userId;
  }
}
