/** What the benchmark scripts share: a free port, the child server's settings, waiting for it to listen, and a JSON client. */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Agent, fetch } from 'undici';

export { createTestDatabase as createBenchDatabase } from '../packages/server/test/support/server.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The settings of a benchmark server: open registration, no rate limits, password sign-in. */
export function benchServerEnv(port: number, dataDir: string, databaseUrl: string | undefined): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CADUCEUS_PORT: String(port),
    CADUCEUS_DATA_DIR: dataDir,
    CADUCEUS_REGISTRATION: 'open',
    CADUCEUS_RATE_LIMITS: 'off',
    // The benchmark users sign in with passwords; the sign-in page is not what is measured.
    CADUCEUS_MFA: 'optional',
    // Warnings only unless asked (CADUCEUS_LOG_LEVEL=info measures with the per-request log lines of the default).
    CADUCEUS_LOG_LEVEL: process.env.CADUCEUS_LOG_LEVEL ?? 'warn',
    ...(databaseUrl ? { CADUCEUS_DATABASE_URL: databaseUrl } : {}),
  };
}

/** Resolves once the server printed that it listens; rejects if it exits first. */
export async function untilListening(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      // BENCH_SERVER_STDOUT=file keeps what the server prints (e.g. with NODE_OPTIONS=--trace-gc).
      if (process.env.BENCH_SERVER_STDOUT) appendFileSync(process.env.BENCH_SERVER_STDOUT, chunk);
      if (chunk.toString().includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  child.stdout!.resume();
}

/** Resident memory of a process, in MiB (Linux). */
export function rssMiB(pid: number | undefined): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

// Set-up opens many requests at once (1,000 users register and join): a pool wider than the default.
const dispatcher = new Agent({ connections: 2048, pipelining: 1, connectTimeout: 60_000, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });

/** A JSON request to the server under test; anything but 2xx throws with the answer. */
export async function call(url: string, method: string, path: string, token?: string, body?: unknown): Promise<any> {
  const response = await fetch(url + path, {
    dispatcher,
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as any;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs `work` over `items`, `width` at a time; results in the order of the items. */
export async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}
