/**
 * Runs Caduceus as a separate process, the way it is deployed (`node packages/server/src/main.ts`,
 * configured through CADUCEUS_* variables), for tests that must kill it (`kill -9`) or run several
 * server processes on one database.
 *
 * Port 0 is used and the real address is read from the start-up banner ("… is listening on
 * http://…"). Every child still running when the test process exits is killed, and
 * `stopChildServers()` (call it from `after()`) kills those left over by a failed test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Api } from './api.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');
const BANNER = /is listening on (https?:\/\/\S+)/;

export interface ChildServerOptions {
  /** The data folder (SQLite database and signing key). Reuse it to restart "the same" server. */
  dataDir: string;
  /** A postgres:// URL; without it the server uses SQLite in `dataDir`. */
  databaseUrl?: string | undefined;
  /** Further CADUCEUS_* settings. */
  env?: Record<string, string>;
  /** How long start-up may take (default 20 s). */
  startTimeoutMs?: number;
}

export interface ChildServer {
  url: string;
  /** A client without a token for this server. */
  api: Api;
  pid: number;
  /** Everything the server printed (stdout and stderr), for failure messages. */
  output: string[];
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a server process and resolves once it listens. */
export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  // The child's configuration is exactly what the test says, nothing inherited from the environment.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('CADUCEUS_')) env[key] = value;
  Object.assign(env, {
    CADUCEUS_SERVER_NAME: 'test.local',
    CADUCEUS_BIND: '127.0.0.1',
    CADUCEUS_PORT: '0',
    CADUCEUS_DATA_DIR: options.dataDir,
    CADUCEUS_REGISTRATION: 'open',
    CADUCEUS_RATE_LIMITS: 'off',
    // Tests register and log in with passwords, like the in-process test servers.
    CADUCEUS_MFA: 'optional',
    CADUCEUS_LOG_LEVEL: 'warn',
    ...(options.databaseUrl ? { CADUCEUS_DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  });
  // cwd = the data folder, so no caduceus.yaml of the developer's is picked up.
  const child = spawn(process.execPath, [MAIN], { cwd: options.dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${options.startTimeoutMs ?? 20_000} ms; it printed:\n${output.join('\n')}`));
    }, options.startTimeoutMs ?? 20_000);
    const collect = (stream: NodeJS.ReadableStream) => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          output.push(line);
          if (output.length > 2000) output.splice(0, output.length - 2000);
          const match = BANNER.exec(line);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        }
      });
    };
    collect(child.stdout!);
    collect(child.stderr!);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited during start-up (code ${code}, signal ${signal}); it printed:\n${output.join('\n')}`));
    });
  });

  return {
    url,
    api: new Api(url),
    pid: child.pid!,
    output,
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Kills (SIGKILL) every server process still running; for `after()`. */
export async function stopChildServers(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of running) {
    waits.push(new Promise((resolve) => child.once('exit', resolve)));
    child.kill('SIGKILL');
  }
  await Promise.all(waits);
}
