/**
 * Who must use a second factor. The organisation chooses `mfa: required` (everyone) or `optional`;
 * administrators and security officers must always. Accounts with the `service` role (bots,
 * integrations) cannot answer a second factor, so they alone may keep using a plain password.
 */
import type { Role } from '@caduceus/core';
import type { Storage, Stores } from '../../storage/index.ts';

const ALWAYS_MFA: readonly Role[] = ['admin', 'security_officer'];

export interface UserMfaPolicy {
  /** The sign-in page asks for (and enrols) a second factor. */
  mfaRequired: boolean;
  /** `POST /login` with `m.login.password` is accepted. */
  passwordLoginAllowed: boolean;
}

export class MfaPolicy {
  readonly #settings: { readonly mfa: 'required' | 'optional' };
  readonly #storage: Storage;
  /** `settings` is the live configuration: an administrator may change `mfa` while the server runs. */
  constructor(settings: { readonly mfa: 'required' | 'optional' }, storage: Storage) {
    this.#settings = settings;
    this.#storage = storage;
  }

  get mode() {
    return this.#settings.mfa;
  }

  async forUser(stores: Stores, userId: string): Promise<UserMfaPolicy> {
    const roles = await stores.roles.rolesOf(userId);
    const mfaRequired = this.mode === 'required' || roles.some((r) => ALWAYS_MFA.includes(r));
    return { mfaRequired, passwordLoginAllowed: !mfaRequired || roles.includes('service') };
  }

  /**
   * Whether re-authentication (UIA) may use the password alone: only where password login is allowed
   * and the account has a password (one provisioned by the upstream identity provider has none).
   */
  async reauthByPassword(userId: string): Promise<boolean> {
    if (!(await this.forUser(this.#storage, userId)).passwordLoginAllowed) return false;
    return Boolean((await this.#storage.users.get(userId))?.passwordHash);
  }

  /** Whether `GET /login` should still list m.login.password: someone may use it. */
  async passwordLoginOffered(): Promise<boolean> {
    return this.mode === 'optional' || (await this.#storage.roles.usersWithRole('service')).length > 0;
  }
}
