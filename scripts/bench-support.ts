/** What the benchmark scripts share: a free port, the child server's settings, and waiting for it to listen. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

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
    CADUCEUS_LOG_LEVEL: 'warn',
    ...(databaseUrl ? { CADUCEUS_DATABASE_URL: databaseUrl } : {}),
  };
}

/** Resolves once the server printed that it listens; rejects if it exits first. */
export async function untilListening(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
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
