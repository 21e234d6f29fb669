/**
 * One-time recovery codes, for when the phone or security key is lost: ten random codes shown once at
 * enrolment, stored only as hashes. ~59 bits each, so a fast hash is enough (nobody can enumerate them
 * and guessing is throttled like any other wrong code).
 */
import type { Stores } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import { hashToken, randomString } from '../secrets.ts';

export const RECOVERY_CODE_COUNT = 10;
// No 0/o, 1/l/i: codes get copied by hand from paper.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

const normalise = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');
const hashCode = (userId: string, code: string) => hashToken(`${userId}\n${normalise(code)}`);

export class RecoveryCodeService {
  readonly #clock: Clock;
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Replaces the user's codes with new ones and returns them: the only time they exist in plain text. */
  async issue(stores: Stores, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
      const raw = randomString(12, ALPHABET);
      return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
    });
    await stores.mfa.replaceRecoveryCodes(userId, codes.map((c) => hashCode(userId, c)), this.#clock.now());
    return codes;
  }

  /** Uses up a code; false when it is wrong or was used before. */
  async use(stores: Stores, userId: string, code: string): Promise<boolean> {
    const n = normalise(code);
    if (n.length !== 12) return false;
    return stores.mfa.useRecoveryCode(userId, hashCode(userId, n), this.#clock.now());
  }

  remaining(stores: Stores, userId: string): Promise<number> {
    return stores.mfa.countUnusedRecoveryCodes(userId);
  }
}
