/** Registration tokens as an administrator manages them: list, create, delete. */
import { MatrixError } from '@caduceus/core';
import type { RegistrationTokenRecord, Storage } from '../../storage/index.ts';
import type { RegistrationTokenService } from '../registration-tokens.ts';
import type { AdminAuditor, AdminCaller } from './access.ts';

const view = (t: RegistrationTokenRecord) => ({
  token: t.token,
  uses_allowed: t.usesAllowed,
  completed: t.completed,
  expiry_ts: t.expiryTs,
  created_ts: t.createdTs,
  created_by: t.createdBy,
});

export class AdminRegistrationTokenService {
  readonly #storage: Storage;
  readonly #tokens: RegistrationTokenService;
  readonly #auditor: AdminAuditor;

  constructor(storage: Storage, tokens: RegistrationTokenService, auditor: AdminAuditor) {
    this.#storage = storage;
    this.#tokens = tokens;
    this.#auditor = auditor;
  }

  async list(caller: AdminCaller) {
    return this.#auditor.run(caller, 'registration_tokens', 'list', {}, async () => ({
      registration_tokens: (await this.#storage.registrationTokens.list()).map(view),
    }));
  }

  async create(caller: AdminCaller, request: { token?: string | undefined; usesAllowed?: number | null | undefined; expiryTs?: number | null | undefined }) {
    // The token itself is a secret until used: the audit entry names who made one, not its value.
    return this.#auditor.run(caller, 'registration_tokens', 'create', {}, async (record) => {
      const created = await this.#auditor.transaction(async (stores) => {
        const token = await this.#tokens.create(
          {
            ...(request.token !== undefined ? { token: request.token } : {}),
            usesAllowed: request.usesAllowed ?? null,
            expiryTs: request.expiryTs ?? null,
            createdBy: caller.userId,
          },
          stores,
        );
        await record({ usesAllowed: token.usesAllowed, expiryTs: token.expiryTs }, stores);
        return token;
      });
      return view(created);
    });
  }

  async delete(caller: AdminCaller, token: string) {
    return this.#auditor.run(caller, 'registration_tokens', 'delete', {}, async (record) => {
      await this.#auditor.transaction(async (stores) => {
        if (!(await stores.registrationTokens.delete(token))) throw new MatrixError('M_NOT_FOUND', 'No such registration token');
        await record({}, stores);
      });
      return {};
    });
  }
}
