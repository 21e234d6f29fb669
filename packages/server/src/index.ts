export { loadConfig, describeSettings, ConfigError, type Config, type Settings } from './config/config.ts';
export { startServer, openServer, type RunningServer, type OpenedServer } from './server.ts';
export { ManualClock, systemClock, type Clock } from './services/clock.ts';
export type { Services } from './services/index.ts';
export { verifyJsonSignature } from './crypto/signing-key.ts';
export { runServer } from './run.ts';
export * as backup from './services/backup/index.ts';
export * as audit from './compliance/audit/index.ts';
