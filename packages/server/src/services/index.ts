/** Builds the services once, each given exactly what it needs (no global service locator). */
import type { Config } from '../config/config.ts';
import type { SigningKey } from '../crypto/signing-key.ts';
import type { Storage } from '../storage/index.ts';
import { AccountService } from './accounts.ts';
import type { Clock } from './clock.ts';
import { DeviceService } from './devices.ts';
import { LoginService } from './login.ts';
import { LoginThrottle } from './login-throttle.ts';
import { createMfaServices, type MfaServices } from './mfa/index.ts';
import { OAuthService } from './oauth/index.ts';
import { RegistrationTokenService } from './registration-tokens.ts';
import { SessionService } from './sessions.ts';
import { SessionControlService } from './session-control.ts';
import { ServerNoticesService } from './server-notices.ts';
import { UiaService } from './uia.ts';
import type { Notifier } from './notifier.ts';
import { StreamWriter } from './stream-writer.ts';
import { EventAppender } from './rooms/append.ts';
import { RoomService } from './rooms/rooms.ts';
import { MembershipService } from './rooms/membership.ts';
import { RoomWriter } from './rooms/room-writer.ts';
import { ReceiptsAndTyping } from './rooms/receipts-typing.ts';
import { SyncService } from './sync/sync.ts';
import { ToDeviceService } from './to-device.ts';
import { createDirectoryServices, type DirectoryServices } from './rooms/directory.ts';
import { ContactPolicyService } from './contact-policy.ts';
import { DepartmentService } from './departments.ts';
import { PushRuleService } from './push-rules.ts';
import { ProfileService } from './profile.ts';
import { AccountDataService } from './account-data.ts';
import { FilterService } from './filters.ts';
import { RoomHistoryService } from './rooms/history.ts';
import { KeyService } from './keys.ts';
import { KeyBackupService } from './key-backup.ts';
import { MediaService } from './media.ts';
import { RetentionService } from './retention.ts';
import { createAuditTrail, type AuditTrail } from '../compliance/audit/index.ts';
import { createAdminServices, type AdminServices } from './admin/index.ts';
import { currentRequest } from '../http/request-context.ts';

/** What every service may be given; each takes only the parts it needs. */
export interface ServiceDeps {
  config: Config;
  storage: Storage;
  clock: Clock;
  notifier: Notifier;
  writer: StreamWriter;
  audit: AuditTrail;
}

export interface Services {
  config: Config;
  clock: Clock;
  /** Whether commits still wait to reach the disk, and the wait: what the HTTP layer holds answers for. */
  durability: Pick<Storage, 'durable' | 'commitsPending'>;
  signingKey: SigningKey;
  notifier: Notifier;
  sessions: SessionService;
  sessionControl: SessionControlService;
  serverNotices: ServerNoticesService;
  uia: UiaService;
  accounts: AccountService;
  login: LoginService;
  /** Second factors, the sign-in page's flow and SSO login tokens (src/services/mfa). */
  mfa: MfaServices;
  /** Matrix's OAuth 2.0 API on oidc-provider (src/services/oauth). */
  oauth: OAuthService;
  devices: DeviceService;
  registrationTokens: RegistrationTokenService;
  pushRules: PushRuleService;
  profile: ProfileService;
  accountData: AccountDataService;
  filters: FilterService;
  rooms: RoomService;
  receiptsTyping: ReceiptsAndTyping;
  sync: SyncService;
  toDevice: ToDeviceService;
  /** Room aliases, the public room directory and the user directory. */
  directory: DirectoryServices;
  contactPolicy: ContactPolicyService;
  departments: DepartmentService;
  history: RoomHistoryService;
  keys: KeyService;
  keyBackup: KeyBackupService;
  media: MediaService;
  writer: StreamWriter;
  audit: AuditTrail;
  /** Retention purge, organisation policy and legal holds. */
  retention: RetentionService;
  /** The admin API's services (src/services/admin). */
  admin: AdminServices;
}

export function createServices(config: Config, storage: Storage, clock: Clock, signingKey: SigningKey, notifier: Notifier): Services {
  const writer = new StreamWriter(storage, notifier);
  const audit = createAuditTrail(storage, clock, signingKey, currentRequest);
  const deps: ServiceDeps = { config, storage, clock, notifier, writer, audit };
  const pushRules = new PushRuleService(deps);
  const throttle = new LoginThrottle(clock, config.rateLimits);
  // Lockouts go to the audit trail and, by server notice, to the security officers.
  const mfa = createMfaServices({
    config,
    storage,
    clock,
    signingKey,
    audit,
    throttle,
    resolveUserId: (typed) => login.resolveUserId(typed),
    notices: () => services.serverNotices,
    uiaSessions: () => uia,
  });
  const sessions = new SessionService(deps);
  const login = new LoginService(storage, sessions, throttle, config.serverName, audit, mfa);
  // Users subject to MFA re-authenticate through the sign-in page (m.login.sso), not with a password.
  const uia = new UiaService(storage, clock, throttle, config.serverName, audit, mfa.policy);
  const keys = new KeyService(deps, uia);
  const contactPolicy = new ContactPolicyService(deps);
  const media = new MediaService(deps);
  const roomWriter = new RoomWriter(config, storage, writer, new EventAppender(config, clock, signingKey), audit);
  const membership = new MembershipService(storage, roomWriter, contactPolicy);
  const rooms = new RoomService(config, clock, storage, roomWriter, membership, audit, contactPolicy);
  const services: Omit<Services, 'admin'> = {
    config,
    clock,
    durability: storage,
    signingKey,
    notifier,
    sessions,
    uia,
    accounts: new AccountService(config, storage, clock, sessions, uia, writer, audit),
    login,
    mfa,
    oauth: new OAuthService({ config, storage, sessions, flows: mfa.flows, audit }),
    devices: new DeviceService(storage, sessions, uia, audit),
    registrationTokens: new RegistrationTokenService(config, storage, clock),
    pushRules,
    profile: new ProfileService(deps),
    accountData: new AccountDataService(deps),
    filters: new FilterService(deps),
    rooms,
    serverNotices: new ServerNoticesService(deps, rooms),
    sessionControl: new SessionControlService(config, storage, sessions, uia),
    receiptsTyping: new ReceiptsAndTyping(storage, writer, clock),
    sync: new SyncService(storage, notifier, clock, pushRules, keys, audit),
    toDevice: new ToDeviceService(config, clock, writer),
    directory: createDirectoryServices(config, clock, storage, writer, new EventAppender(config, clock, signingKey), contactPolicy),
    contactPolicy,
    departments: new DepartmentService(deps),
    history: new RoomHistoryService(deps),
    keys,
    keyBackup: new KeyBackupService(deps),
    media,
    retention: new RetentionService(deps, media),
    writer,
    audit,
  };
  const admin = createAdminServices({ ...services, storage, wiper: services.sessions, notices: services.serverNotices });
  return { ...services, admin };
}
