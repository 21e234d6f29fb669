/** The second factors of users as the admin API resets and reports them, over the MFA store. */
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Storage, Stores } from '../../storage/index.ts';
import type { SecondFactors } from './users.ts';

export class StoredSecondFactors implements SecondFactors {
  readonly #storage: Storage;
  readonly #audit: AuditTrail;

  constructor(storage: Storage, audit: AuditTrail) {
    this.#storage = storage;
    this.#audit = audit;
  }

  /** TOTP, passkeys and recovery codes go together: the user enrols afresh at the next sign-in. */
  async removeAll(userId: string, alsoIn?: (stores: Stores, removed: number) => Promise<void>): Promise<number> {
    return this.#audit.transaction(async (stores) => {
      const totp = (await stores.mfa.deleteTotp(userId)) ? 1 : 0;
      const webauthn = await stores.mfa.deleteWebAuthnCredentials(userId);
      const recoveryCodes = await stores.mfa.deleteRecoveryCodes(userId);
      await this.#audit.record({ action: 'auth.mfa.remove', outcome: 'success', target: { userId }, details: { totp, webauthn, recovery_codes: recoveryCodes } }, stores);
      await alsoIn?.(stores, totp + webauthn);
      return totp + webauthn;
    });
  }

  usersWithout(): Promise<string[]> {
    return this.#storage.adminViews.usersWithoutSecondFactor();
  }
}
