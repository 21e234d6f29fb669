/** Server notices from an administrator: a message to every active user, in their server notices room. */
import { MatrixError } from '@caduceus/core';
import type { AdminAuditor, AdminCaller } from './access.ts';

/** What the server notices service provides (services/server-notices.ts). */
export interface NoticeSender {
  /** Returns how many users were sent the notice. */
  sendToAll(body: string): Promise<number>;
}

export const MAX_NOTICE_CHARS = 4000;

export class AdminNoticeService {
  readonly #auditor: AdminAuditor;
  readonly #sender: NoticeSender | undefined;

  constructor(auditor: AdminAuditor, sender: NoticeSender | undefined) {
    this.#auditor = auditor;
    this.#sender = sender;
  }

  async sendToAll(caller: AdminCaller, body: string) {
    return this.#auditor.run(caller, 'notices', 'send', {}, async (record) => {
      if (!this.#sender) throw new MatrixError('M_UNRECOGNIZED', 'Server notices are not available on this server', { status: 404 });
      const recipients = await this.#sender.sendToAll(body);
      // The text stays out of the trail like any message content: its size only.
      await record({ bytes: Buffer.byteLength(body), recipients });
      return { recipients };
    });
  }
}
