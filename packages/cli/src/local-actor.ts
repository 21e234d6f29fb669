/** Who the audit trail names for a command that works on the database directly (no signed-in user). */
import { userInfo } from 'node:os';

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The operating-system account stands for the operator. */
export const localActor = () => ({ userId: null, deviceId: null, address: 'local', userAgent: `caduceus-cli (os user ${osUser()})` });
