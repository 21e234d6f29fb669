/**
 * Runs the real `caduceus` command in a child process, and a "site": one data folder and (on the
 * PostgreSQL leg) one fresh database, shared by the CLI and a server started on the same settings.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, ManualClock, startServer, type RunningServer, type Settings } from '@caduceus/server';
import { Api } from '../../../server/test/support/api.ts';
import { createTestDatabase, testDatabaseUrl } from '../../../server/test/support/server.ts';

export const mainPath = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `caduceus <args>` with only the given CADUCEUS_* variables (none inherited) and stdin a pipe, never a
 * terminal: `input` is written to it, then it is closed. Runs in `cwd` so no ./caduceus.yaml is picked up.
 */
export function runCli(args: string[], options: { env?: Record<string, string>; input?: string; cwd: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainPath, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {}); // the command may exit before reading everything
    child.stdin.end(options.input ?? '');
  });
}

export interface TestServer extends RunningServer {
  clock: ManualClock;
  api: Api;
  dataDir: string;
}

export interface Site {
  dataDir: string;
  settings: Partial<Settings>;
  /** The settings as the CADUCEUS_* variables the command reads. */
  env: Record<string, string>;
  cli(args: string[], options?: { input?: string; env?: Record<string, string> }): Promise<CliResult>;
  /** A server on these settings, on a free port, with a ManualClock. */
  startServer(): Promise<TestServer>;
  close(): Promise<void>;
}

export async function createSite(settings: Partial<Settings> = {}): Promise<Site> {
  const dataDir = await mkdtemp(join(tmpdir(), 'caduceus-cli-test-'));
  const database = testDatabaseUrl ? await createTestDatabase(testDatabaseUrl) : undefined;
  const all: Partial<Settings> = {
    server_name: 'test.local',
    data_dir: dataDir,
    registration: 'token',
    rate_limits: 'off',
    log_level: 'silent',
    // Most tests log in with passwords; administrators still sign in with a second factor (signInWithSecondFactor).
    mfa: 'optional',
    ...(database ? { database_url: database.url } : {}),
    ...settings,
  };
  const env = Object.fromEntries(Object.entries(all).map(([key, value]) => [`CADUCEUS_${key.toUpperCase()}`, String(value)]));
  const servers: RunningServer[] = [];
  return {
    dataDir,
    settings: all,
    env,
    cli: (args, options = {}) => runCli(args, { cwd: dataDir, input: options.input, env: { ...env, ...options.env } }),
    async startServer() {
      const clock = new ManualClock(Date.now());
      const server = await startServer(loadConfig({}, { ...all, bind: '127.0.0.1', port: 0 }, dataDir), clock);
      servers.push(server);
      return { ...server, clock, api: new Api(server.url), dataDir };
    },
    async close() {
      for (const server of servers) await server.close();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Logs in over HTTP with a password; returns the HTTP status and body. */
export async function login(server: TestServer, localpart: string, password: string) {
  return server.api.post('/_matrix/client/v3/login', {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: localpart },
    password,
  });
}

let counter = 0;
/** A user name no other test uses. */
export const uniqueName = (prefix: string) => `${prefix}${process.pid}x${++counter}`;

/** A password that satisfies the default policy. */
export const GOOD_PASSWORD = 'correct horse battery staple';
