/**
 * The compliance report: the live configuration and state mapped to the HIPAA technical safeguards
 * (45 CFR 164.312) as docs/product.md lists them — for each, whether it is on, off or partial, and
 * the evidence (settings and counts) — plus who lacks a second factor and whether the audit chain holds.
 */
import type { Config } from '../../config/config.ts';
import type { Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { AdminAuditor, AdminCaller } from './access.ts';
import type { AdminAuditService } from './audit.ts';
import type { SecondFactors } from './users.ts';

export type SafeguardStatus = 'on' | 'off' | 'partial';

export interface Safeguard {
  id: string;
  name: string;
  status: SafeguardStatus;
  evidence: Record<string, unknown>;
  note: string;
}

export class ComplianceReportService {
  readonly #config: Config;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #auditor: AdminAuditor;
  readonly #audit: AdminAuditService;
  readonly #factors: SecondFactors | undefined;

  constructor(deps: { config: Config; storage: Storage; clock: Clock; auditor: AdminAuditor; audit: AdminAuditService; factors?: SecondFactors | undefined }) {
    this.#config = deps.config;
    this.#storage = deps.storage;
    this.#clock = deps.clock;
    this.#auditor = deps.auditor;
    this.#audit = deps.audit;
    this.#factors = deps.factors;
  }

  async compliance(caller: AdminCaller) {
    return this.#auditor.run(caller, 'report', 'compliance', {}, async (record) => {
      const report = await this.#build();
      await record({ statuses: report.safeguards.map((s) => `${s.id}=${s.status}`).join(' ') });
      return report;
    });
  }

  async #build() {
    const c = this.#config;
    const views = this.#storage.adminViews;
    const [users, devices, rooms, encryptedRooms, admins, officers, services, chain, withoutMfa] = await Promise.all([
      views.countUsers(),
      views.countDevices(),
      views.countRooms(),
      views.countEncryptedRooms(),
      this.#storage.roles.usersWithRole('admin'),
      this.#storage.roles.usersWithRole('security_officer'),
      this.#storage.roles.usersWithRole('service'),
      this.#audit.status(),
      this.#factors ? this.#factors.usersWithout() : Promise.resolve(undefined),
    ]);
    const idle = c.sessionPolicy.idleTimeoutMs;
    const lifetime = c.sessionPolicy.maxLifetimeMs;
    const https = c.publicUrl.startsWith('https://');

    const safeguards: Safeguard[] = [
      {
        id: '164.312(a)(2)(i)',
        name: 'Unique user identification',
        status: 'on',
        evidence: { active_users: users.active, deactivated_users: users.deactivated, devices, service_accounts: services.length },
        note: 'One account per person; every session is a device with its own id; bots hold the service role.',
      },
      {
        id: '164.312(a)(2)(ii)',
        name: 'Emergency access procedure',
        status: 'off',
        evidence: {},
        note: 'Break-glass access is not implemented yet.',
      },
      {
        id: '164.312(a)(2)(iii)',
        name: 'Automatic logoff',
        status: idle !== null && lifetime !== null ? 'on' : idle !== null || lifetime !== null ? 'partial' : 'off',
        evidence: { session_idle_timeout_ms: idle ?? 0, session_max_lifetime_ms: lifetime ?? 0, access_token_lifetime_ms: c.accessTokenLifetimeMs ?? 0 },
        note: 'Sessions end after the idle timeout and the maximum lifetime (0 = that limit is off).',
      },
      {
        id: '164.312(a)(2)(iv)',
        name: 'Encryption and decryption',
        status: c.encryptionRequired ? 'on' : 'partial',
        evidence: { room_encryption: c.encryptionRequired ? 'required' : 'optional', rooms, encrypted_rooms: encryptedRooms },
        note: c.encryptionRequired
          ? 'Every new room must be end-to-end encrypted.'
          : 'End-to-end encryption is available but not required; set the room_encryption policy to required.',
      },
      {
        id: '164.312(b)',
        name: 'Audit controls',
        status: chain.ok ? 'on' : 'partial',
        evidence: { audit_entries: chain.entries, checkpoints: chain.checkpoints, chain_ok: chain.ok, problems: chain.problems.length },
        note: chain.ok ? 'Hash-chained audit trail of sign-ins, reads, writes and admin actions.' : 'The audit chain does not verify: see audit verify.',
      },
      {
        id: '164.312(c)',
        name: 'Integrity',
        status: chain.ok ? 'on' : 'partial',
        evidence: { signed_events: true, audit_chain_ok: chain.ok, last_verified_checkpoint: chain.last_verified_checkpoint },
        note: 'Events are content-hashed and signed; the audit chain is verified with its signed checkpoints.',
      },
      {
        id: '164.312(d)',
        name: 'Person or entity authentication',
        status: !this.#factors ? 'off' : c.mfa === 'required' ? 'on' : 'partial',
        evidence: { mfa: c.mfa, users_without_mfa: withoutMfa?.length ?? null, password_min_length: c.passwordPolicy.minLength },
        note: !this.#factors
          ? 'Second factors are not available on this server.'
          : c.mfa === 'required'
            ? 'Every account must sign in with a second factor; users without one enrol at their next sign-in.'
            : 'Only administrators and security officers must use a second factor.',
      },
      {
        id: '164.312(e)(1)',
        name: 'Transmission security',
        status: https ? 'on' : 'off',
        evidence: { public_url_https: https, trust_proxy: c.trustProxy },
        note: https ? 'Clients reach the server over HTTPS.' : 'public_url is not https: put the server behind TLS and set public_url to its https address.',
      },
    ];

    return {
      generated_ts: this.#clock.now(),
      server_name: c.serverName,
      safeguards,
      users: {
        active: users.active,
        admins: admins.length,
        security_officers: officers.length,
        /** null when second factors are not available. */
        without_mfa: withoutMfa ?? null,
      },
      audit_chain: chain,
    };
  }
}
