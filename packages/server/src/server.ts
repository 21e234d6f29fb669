/** Start-up in one place: open storage → migrate → load the signing key → build services and app → listen. */
import type { Config } from './config/config.ts';
import { loadOrCreateSigningKey } from './crypto/signing-key.ts';
import { buildApp, type AppOptions } from './app.ts';
import type { App } from './http/types.ts';
import { systemClock, type Clock } from './services/clock.ts';
import { createServices, type Services } from './services/index.ts';
import { LocalNotifier, type Notifier } from './services/notifier.ts';
import { PostgresNotifier } from './services/postgres-notifier.ts';
import { migrate, openDatabase, type OpenOptions } from './storage/database.ts';
import { createStorage, type Storage } from './storage/index.ts';
import { RetentionPurgeJob } from './jobs/retention-purge.ts';

export interface OpenedServer {
  config: Config;
  storage: Storage;
  services: Services;
  close(): Promise<void>;
}

/** Storage and services without HTTP: what the CLI uses for offline administration. */
export async function openServer(config: Config, clock: Clock = systemClock, options: OpenOptions = {}): Promise<OpenedServer> {
  const opened = openDatabase(config.database, options);
  const { db, close } = opened;
  try {
    await migrate(db);
  } catch (err) {
    await close();
    throw err;
  }
  const storage = createStorage(opened);
  const notifier: Notifier = config.database.kind === 'postgres' ? new PostgresNotifier(config.database.url) : new LocalNotifier();
  try {
    await notifier.start(await storage.stream.current());
  } catch (err) {
    await notifier.close();
    await storage.close();
    throw err;
  }
  const services = createServices(config, storage, clock, loadOrCreateSigningKey(config.dataDir), notifier);
  return {
    config,
    storage,
    services,
    close: async () => {
      services.receiptsTyping.stop();
      await notifier.close();
      await storage.close();
    },
  };
}

export interface RunningServer extends OpenedServer {
  app: App;
  /** The base URL the server is listening on. */
  url: string;
}

export async function startServer(config: Config, clock: Clock = systemClock, options: AppOptions = {}): Promise<RunningServer> {
  const opened = await openServer(config, clock, { checkpointInBackground: true });
  const app = await buildApp(opened.services, options);
  opened.services.receiptsTyping.start();
  const purgeJob = new RetentionPurgeJob({
    intervalMs: config.retention.purgeIntervalMs,
    runOnce: () => opened.services.retention.runOnce(),
    onError: (err) => app.log.error({ job: 'retention-purge', error: err instanceof Error ? err.message : String(err) }, 'retention purge failed'),
  });
  try {
    await app.listen({ port: config.port, host: config.bind });
  } catch (err) {
    await opened.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.bind.includes(':') ? `[${config.bind}]` : config.bind;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  // With port 0 the real port is known only now; a derived public URL must name it.
  if (config.publicUrlDerived && config.port === 0) config.publicUrl = url;
  purgeJob.start();
  return {
    ...opened,
    app,
    url,
    close: async () => {
      await purgeJob.stop();
      await app.close();
      await opened.close();
    },
  };
}
