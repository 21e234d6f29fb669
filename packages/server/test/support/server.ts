/**
 * Boots a real Caduceus server for a test, on a random port, with its own data folder and, when the
 * suite runs on PostgreSQL (CADUCEUS_TEST_DATABASE_URL), its own fresh database. The clock is a
 * ManualClock so tests can move time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig, ManualClock, startServer, type RunningServer, type Settings } from '../../src/index.ts';
import { Api } from './api.ts';
import { DEFAULT_WEB_ROOT } from '../../src/http/web-app.ts';

export interface TestServer extends RunningServer {
  clock: ManualClock;
  dataDir: string;
  /** A client without a token, for this server. */
  api: Api;
}

/** The PostgreSQL admin URL of the PostgreSQL leg, or undefined on the SQLite leg. */
export const testDatabaseUrl = process.env.CADUCEUS_TEST_DATABASE_URL || undefined;
export const testEngine = testDatabaseUrl ? 'postgres' : 'sqlite';

function databaseUrlFor(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates an empty PostgreSQL database and returns its URL and a function that drops it. */
export async function createTestDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `caduceus_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrlFor(adminUrl, name),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestServerOptions {
  logStream?: NodeJS.WritableStream;
  /** Serve the built web app (packages/web/dist) at `/`, as `npm start` does; off by default. */
  serveWeb?: boolean;
  /** With `workers` > 1: 'separate' gives each thread its own port (`threadUrls`), to address each one. */
  threadPorts?: 'shared' | 'separate';
}

export async function startTestServer(settings: Partial<Settings> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'caduceus-test-'));
  const database = testDatabaseUrl && !settings.database_url ? await createTestDatabase(testDatabaseUrl) : undefined;
  const config = loadConfig(
    {},
    {
      server_name: 'test.local',
      bind: '127.0.0.1',
      port: 0,
      data_dir: dataDir,
      registration: 'open',
      rate_limits: 'off',
      log_level: 'silent',
      // Most tests log in with passwords; the sign-in tests start their servers with mfa: 'required'.
      mfa: 'optional',
      // Tests move the clock by hours and days; the session-policy tests set these themselves.
      session_idle_timeout: '0',
      session_max_lifetime: '0',
      ...(database ? { database_url: database.url } : {}),
      ...settings,
    },
  );
  const clock = new ManualClock(Date.now());
  const { serveWeb, ...appOptions } = options;
  const server = await startServer(config, clock, { ...appOptions, webRoot: serveWeb ? DEFAULT_WEB_ROOT : false });
  return {
    ...server,
    clock,
    dataDir,
    api: new Api(server.url),
    close: async () => {
      await server.close();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
