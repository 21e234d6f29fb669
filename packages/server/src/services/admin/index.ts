/** The admin API's services, built once from the server's other services. */
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Config } from '../../config/config.ts';
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { Storage } from '../../storage/index.ts';
import type { AccountService } from '../accounts.ts';
import type { Clock } from '../clock.ts';
import type { DepartmentService } from '../departments.ts';
import type { SessionService } from '../sessions.ts';
import type { RegistrationTokenService } from '../registration-tokens.ts';
import type { StreamWriter } from '../stream-writer.ts';
import { AdminAuditor, AdminGatekeeper } from './access.ts';
import { AdminAuditService } from './audit.ts';
import { AdminDepartmentService } from './departments.ts';
import { AdminDeviceService, type DeviceWiper } from './devices.ts';
import { AdminNoticeService, type NoticeSender } from './notices.ts';
import { PolicyService } from './policies.ts';
import { AdminRegistrationTokenService } from './registration-tokens.ts';
import { ComplianceReportService } from './report.ts';
import { AdminRoomService } from './rooms.ts';
import { AdminUserService } from './users.ts';
import { StoredSecondFactors } from './second-factors.ts';

export interface AdminServices {
  gatekeeper: AdminGatekeeper;
  users: AdminUserService;
  devices: AdminDeviceService;
  rooms: AdminRoomService;
  registrationTokens: AdminRegistrationTokenService;
  policies: PolicyService;
  departments: AdminDepartmentService;
  audit: AdminAuditService;
  notices: AdminNoticeService;
  report: ComplianceReportService;
}

export interface AdminDeps {
  config: Config;
  storage: Storage;
  clock: Clock;
  writer: StreamWriter;
  audit: AuditTrail;
  signingKey: SigningKey;
  accounts: AccountService;
  sessions: SessionService;
  registrationTokens: RegistrationTokenService;
  departments: DepartmentService;
  wiper: DeviceWiper;
  notices: NoticeSender;
}

export function createAdminServices(deps: AdminDeps): AdminServices {
  const auditor = new AdminAuditor(deps.audit);
  const factors = new StoredSecondFactors(deps.storage, deps.audit);
  const audit = new AdminAuditService({ storage: deps.storage, audit: deps.audit, auditor, signingKey: deps.signingKey, serverName: deps.config.serverName });
  return {
    gatekeeper: new AdminGatekeeper(deps.storage, auditor),
    users: new AdminUserService({ ...deps, auditor, factors }),
    devices: new AdminDeviceService(deps.storage, auditor, deps.wiper),
    rooms: new AdminRoomService(deps.storage, auditor),
    registrationTokens: new AdminRegistrationTokenService(deps.storage, deps.registrationTokens, auditor),
    policies: new PolicyService(deps.config, deps.storage, auditor),
    departments: new AdminDepartmentService(deps.departments, auditor),
    audit,
    notices: new AdminNoticeService(auditor, deps.notices),
    report: new ComplianceReportService({ ...deps, auditor, audit, factors }),
  };
}

export type { AdminCaller, AdminArea } from './access.ts';
export { ADMIN_AREAS, mayUseAdminArea, adminAction } from './access.ts';
