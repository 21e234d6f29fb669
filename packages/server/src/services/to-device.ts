/**
 * Send-to-device messaging (spec: "Send-to-Device messaging"): how clients hand each other room keys
 * and run verification. A message waits for its device until a later /sync acknowledges it.
 */
import { MatrixError, parseUserId } from '@caduceus/core';
import type { Config } from '../config/config.ts';
import type { Clock } from './clock.ts';
import type { Principal } from './sessions.ts';
import type { StreamWriter } from './stream-writer.ts';

export class ToDeviceService {
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #writer: StreamWriter;

  constructor(config: Config, clock: Clock, writer: StreamWriter) {
    this.#config = config;
    this.#clock = clock;
    this.#writer = writer;
  }

  /** PUT /sendToDevice/{eventType}/{txnId}: once per sending device and transaction id. */
  async send(principal: Principal, type: string, txnId: string, messages: Record<string, Record<string, Record<string, unknown>>>): Promise<void> {
    for (const userId of Object.keys(messages)) {
      if (!parseUserId(userId)) throw new MatrixError('M_INVALID_PARAM', 'Not a valid user id');
    }
    await this.#writer.write(async (ctx) => {
      // A retried request (same device, same transaction id) is not delivered twice.
      if (!(await ctx.stores.toDevice.claimTxn(principal.userId, principal.deviceId, txnId, this.#clock.now()))) return;
      const rows: Array<{ userId: string; deviceId: string; streamId: number; sender: string; type: string; content: string }> = [];
      const recipients: string[] = [];
      for (const [userId, byDevice] of Object.entries(messages)) {
        // Users of other servers would need federation; unknown users and devices are skipped, as the spec allows.
        if (parseUserId(userId)?.serverName !== this.#config.serverName) continue;
        const known = new Set((await ctx.stores.sessions.listDevices(userId)).map((d) => d.deviceId));
        const targets = Object.entries(byDevice).flatMap(([deviceId, content]) => (deviceId === '*' ? [...known].map((d) => [d, content] as const) : known.has(deviceId) ? [[deviceId, content] as const] : []));
        for (const [deviceId, content] of targets) {
          rows.push({ userId, deviceId, streamId: await ctx.nextPosition(), sender: principal.userId, type, content: JSON.stringify(content) });
        }
        if (targets.length > 0) recipients.push(userId);
      }
      await ctx.stores.toDevice.insert(rows);
      ctx.touch([], recipients);
      ctx.mark('toDevice', recipients);
    });
  }
}
