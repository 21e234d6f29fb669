/** Start-up in one place: open storage → migrate → load the signing key → build services and app → listen. */
import type { Config } from './config/config.ts';
import { loadOrCreateSigningKey } from './crypto/signing-key.ts';
import { buildApp, type AppOptions } from './app.ts';
import type { App } from './http/types.ts';
import { systemClock, type Clock } from './services/clock.ts';
import { createServices, type Services } from './services/index.ts';
import { LocalNotifier, type Notifier } from './services/notifier.ts';
import { PostgresNotifier } from './services/postgres-notifier.ts';
import { newThreadChannel, ThreadNotifier, type ThreadChannel } from './services/thread-notifier.ts';
import { startWorkerThreads, type WorkerThreads } from './worker-threads.ts';
import { migrate, openDatabase, type OpenOptions } from './storage/database.ts';
import { createStorage, type Storage } from './storage/index.ts';
import { RetentionPurgeJob } from './jobs/retention-purge.ts';

export interface OpenedServer {
  config: Config;
  storage: Storage;
  services: Services;
  close(): Promise<void>;
}

export interface ServerOpenOptions extends OpenOptions {
  /**
   * With worker threads: what this server's threads share (on SQLite they tell each other of
   * commits over it; on PostgreSQL the database tells them).
   */
  threads?: ThreadChannel | undefined;
}

/** Storage and services without HTTP: what the CLI uses for offline administration. */
export async function openServer(config: Config, clock: Clock = systemClock, options: ServerOpenOptions = {}): Promise<OpenedServer> {
  const opened = openDatabase(config.database, { ...options, threadWriteLock: options.threads?.writeLock, threadDurability: options.threads?.durability });
  const { db, close } = opened;
  try {
    await migrate(db);
  } catch (err) {
    await close();
    throw err;
  }
  const storage = createStorage(opened);
  // On PostgreSQL every thread and process listens to the database; SQLite's threads tell each other.
  const notifier: Notifier =
    config.database.kind === 'postgres' ? new PostgresNotifier(config.database.url) : options.threads ? new ThreadNotifier(options.threads) : new LocalNotifier();
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
  /**
   * With worker threads and `threadPorts: 'separate'` (tests), the URL of each thread, the first
   * being this thread's; otherwise only `url`.
   */
  threadUrls: string[];
}

export interface StartOptions extends AppOptions {
  /**
   * With workers > 1: 'shared' (default) has every thread listen on the configured port (the kernel
   * spreads connections over them); 'separate' gives each thread a port of its own, so that tests
   * can address each thread.
   */
  threadPorts?: 'shared' | 'separate';
}

/**
 * Starts the server. With `workers` > 1 this thread serves too, and starts the other threads once it
 * has migrated the database and listens; background jobs (checkpoints, purge, typing expiry) run only here.
 */
export async function startServer(config: Config, clock: Clock = systemClock, options: StartOptions = {}): Promise<RunningServer> {
  const { threadPorts = 'shared', ...appOptions } = options;
  const threads = config.workers > 1 ? newThreadChannel() : undefined;
  const server = await startOne(config, clock, appOptions, { threads, reusePort: threads !== undefined && threadPorts === 'shared', primary: true });
  if (!threads) return server;
  let pool: WorkerThreads;
  try {
    const port = threadPorts === 'shared' ? new URL(server.url).port : '0';
    // The public URL is this thread's (derived from the bound port if need be), for every thread.
    const threadConfig: Config = { ...config, port: Number(port), publicUrlDerived: false };
    pool = await startWorkerThreads(config.workers - 1, { config: threadConfig, threads, webRoot: appOptions.webRoot }, (err) => {
      server.app.log.fatal({ error: err.message }, 'a worker thread failed; stopping');
      process.exit(1);
    });
  } catch (err) {
    await server.close();
    throw err;
  }
  return {
    ...server,
    threadUrls: [server.url, ...pool.urls],
    close: async () => {
      await pool.stop();
      await server.close();
    },
  };
}

/** What a worker thread needs to serve alongside the first (structured-cloned into it). */
export interface ThreadServerData {
  config: Config;
  threads: ThreadChannel;
  webRoot: string | false | undefined;
}

/** A worker thread's server: no migrations to wait for, no background jobs of its own. */
export function startThreadServer(data: ThreadServerData): Promise<RunningServer> {
  return startOne(data.config, systemClock, { webRoot: data.webRoot }, { threads: data.threads, reusePort: true, primary: false });
}

async function startOne(
  config: Config,
  clock: Clock,
  appOptions: AppOptions,
  role: { threads: ThreadChannel | undefined; reusePort: boolean; primary: boolean },
): Promise<RunningServer> {
  const opened = await openServer(config, clock, { checkpointInBackground: role.primary, checkpointElsewhere: !role.primary, threads: role.threads });
  const app = await buildApp(opened.services, appOptions);
  if (role.primary) opened.services.receiptsTyping.start();
  const purgeJob = new RetentionPurgeJob({
    intervalMs: role.primary ? config.retention.purgeIntervalMs : null,
    runOnce: () => opened.services.retention.runOnce(),
    onError: (err) => app.log.error({ job: 'retention-purge', error: err instanceof Error ? err.message : String(err) }, 'retention purge failed'),
  });
  try {
    // reusePort: the threads of one server listen on one port (Linux spreads the connections).
    await app.listen({ port: config.port, host: config.bind, ...(role.reusePort ? { reusePort: true } : {}) } as { port: number; host: string });
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
    threadUrls: [url],
    close: async () => {
      await purgeJob.stop();
      await app.close();
      await opened.close();
    },
  };
}
