/** Registration tokens: created by administrators, spent by registering users. */
import { MatrixError } from '@caduceus/core';
import type { Config } from '../config/config.ts';
import type { RegistrationTokenRecord, Storage, Stores } from '../storage/index.ts';
import type { Clock } from './clock.ts';
import { randomString } from './secrets.ts';

const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

export class RegistrationTokenService {
  readonly #config: Config;
  readonly #storage: Storage;
  readonly #clock: Clock;

  constructor(config: Config, storage: Storage, clock: Clock) {
    this.#config = config;
    this.#storage = storage;
    this.#clock = clock;
  }

  /** With `stores`, the token is stored in that (the caller's) transaction. */
  async create(options: { token?: string; usesAllowed?: number | null; expiryTs?: number | null; createdBy?: string | null }, stores: Stores = this.#storage): Promise<RegistrationTokenRecord> {
    const token = options.token ?? randomString(16);
    if (!TOKEN_PATTERN.test(token)) throw new MatrixError('M_INVALID_PARAM', 'Tokens are 1-64 characters of A-Z a-z 0-9 . _ ~ -');
    if (options.usesAllowed !== undefined && options.usesAllowed !== null && (!Number.isInteger(options.usesAllowed) || options.usesAllowed < 1)) {
      throw new MatrixError('M_INVALID_PARAM', 'uses_allowed must be a positive whole number');
    }
    const record: RegistrationTokenRecord = {
      token,
      usesAllowed: options.usesAllowed ?? null,
      completed: 0,
      expiryTs: options.expiryTs ?? null,
      createdTs: this.#clock.now(),
      createdBy: options.createdBy ?? null,
    };
    if (!(await stores.registrationTokens.create(record))) throw new MatrixError('M_INVALID_PARAM', 'That token already exists');
    return record;
  }

  /** GET /register/m.login.registration_token/validity */
  async isValid(token: string): Promise<boolean> {
    if (this.#config.registration !== 'token') throw new MatrixError('M_FORBIDDEN', 'Registration tokens are not in use on this server');
    const record = await this.#storage.registrationTokens.get(token);
    if (!record) return false;
    const now = this.#clock.now();
    return (record.expiryTs === null || record.expiryTs > now) && (record.usesAllowed === null || record.completed < record.usesAllowed);
  }
}
