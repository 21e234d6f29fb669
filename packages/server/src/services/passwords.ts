/** Password hashing (argon2id) and the organisation's password policy. */
import { hash, verify } from '@node-rs/argon2';
import { MatrixError } from '@caduceus/core';
import type { PasswordPolicy } from '../config/config.ts';

/** Longest password we hash: bounds the work an attacker can make us do. */
export const MAX_PASSWORD_LENGTH = 1024;

// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane. The library's default algorithm is argon2id.
const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export async function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

// Verified against when an account does not exist, so "no such user" takes as long as "wrong password".
let decoyHash: Promise<string> | undefined;

export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  if (!passwordHash) {
    decoyHash ??= hashPassword('decoy password that matches nothing');
    await verify(await decoyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** Throws M_WEAK_PASSWORD naming what is missing; the message never echoes the password. */
export function checkPasswordPolicy(password: string, policy: PasswordPolicy, localpart?: string): void {
  const problems: string[] = [];
  if ([...password].length < policy.minLength) problems.push(`at least ${policy.minLength} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) problems.push(`at most ${MAX_PASSWORD_LENGTH} characters`);
  if (policy.requireDigit && !/\d/.test(password)) problems.push('a digit');
  if (policy.requireSymbol && !/[^\p{L}\p{N}]/u.test(password)) problems.push('a symbol');
  if (policy.requireMixedCase && !(/\p{Lu}/u.test(password) && /\p{Ll}/u.test(password))) {
    problems.push('upper- and lower-case letters');
  }
  if (problems.length > 0) {
    throw new MatrixError('M_WEAK_PASSWORD', `The password must have ${problems.join(', ')}`);
  }
  if (localpart && localpart.length >= 3 && password.toLowerCase().includes(localpart.toLowerCase())) {
    throw new MatrixError('M_WEAK_PASSWORD', 'The password must not contain the user name');
  }
}
