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

export interface Services {
  config: Config;
  clock: Clock;
  signingKey: SigningKey;
  sessions: SessionService;
  uia: UiaService;
  accounts: AccountService;
  login: LoginService;
  devices: DeviceService;
  registrationTokens: RegistrationTokenService;
}

export function createServices(config: Config, storage: Storage, clock: Clock, signingKey: SigningKey): Services {
  const throttle = new LoginThrottle(clock, config.rateLimits);
  const sessions = new SessionService(storage, clock, config.accessTokenLifetimeMs);
  const uia = new UiaService(storage, clock, throttle, config.serverName);
  return {
    config,
    clock,
    signingKey,
    sessions,
    uia,
    accounts: new AccountService(config, storage, clock, sessions, uia),
    login: new LoginService(storage, sessions, throttle, config.serverName),
    devices: new DeviceService(storage, sessions, uia),
    registrationTokens: new RegistrationTokenService(config, storage, clock),
  };
}
