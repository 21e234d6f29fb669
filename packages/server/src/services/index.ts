/** Builds the services once, each given exactly what it needs (no global service locator). */
import type { Config } from '../config/config.ts';
import type { SigningKey } from '../crypto/signing-key.ts';
import type { Storage } from '../storage/index.ts';
import { AccountService } from './accounts.ts';
import type { Clock } from './clock.ts';
import { DeviceService } from './devices.ts';
import { LoginService } from './login.ts';
import { LoginThrottle } from './login-throttle.ts';
import { RegistrationTokenService } from './registration-tokens.ts';
import { SessionService } from './sessions.ts';
import { UiaService } from './uia.ts';
import type { Notifier } from './notifier.ts';
import { StreamWriter } from './stream-writer.ts';
import { EventAppender } from './rooms/append.ts';
import { RoomService } from './rooms/rooms.ts';
import { ReceiptsAndTyping } from './rooms/receipts-typing.ts';
import { SyncService } from './sync/sync.ts';
import { ToDeviceService } from './to-device.ts';
import { DirectoryService } from './rooms/directory.ts';
import { PushRuleService } from './push-rules.ts';
import { ProfileService } from './profile.ts';
import { AccountDataService } from './account-data.ts';
import { FilterService } from './filters.ts';
import { RoomHistoryService } from './rooms/history.ts';
import { KeyService } from './keys.ts';
import { KeyBackupService } from './key-backup.ts';
import { MediaService } from './media.ts';
import { createAuditTrail, type AuditTrail } from '../compliance/audit/index.ts';

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
  signingKey: SigningKey;
  notifier: Notifier;
  sessions: SessionService;
  uia: UiaService;
  accounts: AccountService;
  login: LoginService;
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
  directory: DirectoryService;
  history: RoomHistoryService;
  keys: KeyService;
  keyBackup: KeyBackupService;
  media: MediaService;
  writer: StreamWriter;
  audit: AuditTrail;
}

export function createServices(config: Config, storage: Storage, clock: Clock, signingKey: SigningKey, notifier: Notifier): Services {
  const writer = new StreamWriter(storage, notifier);
  const audit = createAuditTrail(storage, clock, signingKey);
  const deps: ServiceDeps = { config, storage, clock, notifier, writer, audit };
  const pushRules = new PushRuleService(deps);
  const throttle = new LoginThrottle(clock, config.rateLimits);
  const sessions = new SessionService(storage, clock, config.accessTokenLifetimeMs, writer);
  const uia = new UiaService(storage, clock, throttle, config.serverName);
  const keys = new KeyService(deps, uia);
  return {
    config,
    clock,
    signingKey,
    notifier,
    sessions,
    uia,
    accounts: new AccountService(config, storage, clock, sessions, uia, writer),
    login: new LoginService(storage, sessions, throttle, config.serverName),
    devices: new DeviceService(storage, sessions, uia),
    registrationTokens: new RegistrationTokenService(config, storage, clock),
    pushRules,
    profile: new ProfileService(deps),
    accountData: new AccountDataService(deps),
    filters: new FilterService(deps),
    rooms: new RoomService(config, clock, storage, writer, new EventAppender(config, clock, signingKey)),
    receiptsTyping: new ReceiptsAndTyping(storage, writer, clock),
    sync: new SyncService(storage, notifier, clock, pushRules, keys),
    toDevice: new ToDeviceService(config, clock, writer),
    directory: new DirectoryService(config, clock, storage, writer, new EventAppender(config, clock, signingKey)),
    history: new RoomHistoryService(deps),
    keys,
    keyBackup: new KeyBackupService(deps),
    media: new MediaService(deps),
    writer,
    audit,
  };
}
