/**
 * `npm run bench:purge [-- --events N] [--postgres URL]`: does the retention purge slow down sending?
 *
 * The server runs in a child process (this script with --serve), started like the tests start theirs
 * but with a manual clock the parent moves over IPC. The child fills a room whose policy is one hour
 * with N messages (default 100,000) through the real send path; the parent then measures serial sends
 * (one after another, like `npm run bench -- serial`) into another room: first alone, then while the
 * child purges the N expired messages. It prints send p50/p95/p99 for both, the purge's duration and
 * rate, and the load average (the machine may be shared). docs/benchmarks.md records the results.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchDatabase } from './bench-support.ts';
import { Agent, fetch } from 'undici';

const HOUR = 3_600_000;
const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

type RequestBody = { op: 'populate'; events: number; userId: string } | { op: 'advance'; ms: number } | { op: 'purge' };
type Request = RequestBody & { id: number };

if (args.includes('--serve')) await serve();
else await measure();

/** The server side: a real server with a manual clock, told what to do by the parent. */
async function serve() {
  const { loadConfig, ManualClock, startServer } = await import('../packages/server/src/index.ts');
  const dataDir = mkdtempSync(join(tmpdir(), 'caduceus-bench-purge-'));
  const config = loadConfig(
    {},
    {
      port: 0,
      data_dir: dataDir,
      registration: 'open',
      rate_limits: 'off',
      log_level: 'warn',
      mfa: 'optional',
      password_min_length: 8,
      session_idle_timeout: '0',
      session_max_lifetime: '0',
      retention_min_allowed: '1m',
      retention_purge_interval: '0',
      ...(process.env.BENCH_DATABASE_URL ? { database_url: process.env.BENCH_DATABASE_URL } : {}),
    },
  );
  const clock = new ManualClock(Date.now());
  const server = await startServer(config, clock);
  const { services } = server;
  const reply = (id: number, body: unknown) => process.send!({ id, body });
  process.on('message', async (request: Request) => {
    try {
      if (request.op === 'populate') {
        const principal = { userId: request.userId, deviceId: 'BENCH' } as never;
        const roomId = await services.rooms.createRoom(principal, { initial_state: [{ type: 'm.room.retention', state_key: '', content: { max_lifetime: HOUR } }] });
        const started = performance.now();
        let next = 0;
        // 64 sends in flight: the stream writer commits them in batches, as it would for many clients.
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            while (next < request.events) {
              const i = next++;
              await services.rooms.send(principal, roomId, 'm.room.message', `fill${i}`, { msgtype: 'm.text', body: `Expired message ${i}` });
            }
          }),
        );
        reply(request.id, { roomId, seconds: (performance.now() - started) / 1000 });
      } else if (request.op === 'advance') {
        clock.advance(request.ms);
        reply(request.id, {});
      } else {
        const started = performance.now();
        const report = await services.retention.runOnce();
        reply(request.id, { ...report, seconds: (performance.now() - started) / 1000 });
      }
    } catch (err) {
      reply(request.id, { error: (err as Error).message });
    }
  });
  process.send!({ ready: server.url });
  process.on('disconnect', async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

/** The load side. */
async function measure() {
  const events = Number(option('--events') ?? 100_000);
  const pgAdminUrl = option('--postgres') ?? process.env.CADUCEUS_BENCH_DATABASE_URL;
  const database = pgAdminUrl ? await createBenchDatabase(pgAdminUrl) : undefined;
  const databaseUrl = database?.url;
  const child = fork(import.meta.filename, ['--serve'], { env: { ...process.env, ...(databaseUrl ? { BENCH_DATABASE_URL: databaseUrl } : {}) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { ready: string }) => resolve(m.ready));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const ask = rpc(child);
  const dispatcher = new Agent({ connections: 16 });
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(url + path, { dispatcher, method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  try {
    const users: string[] = [];
    for (let i = 0; i < 8; i++) {
      const body = await call('POST', '/_matrix/client/v3/register', undefined, { username: `sender${process.pid}x${i}`, password: 'bench password 1', auth: { type: 'm.login.dummy' } });
      users.push(body.access_token as string);
    }
    const { room_id: roomId } = await call('POST', '/_matrix/client/v3/createRoom', users[0], { preset: 'public_chat' });
    for (const token of users.slice(1)) await call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, token, {});
    let sent = 0;
    const sendOne = async () => {
      const i = sent++;
      const t0 = performance.now();
      await call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/b${i}`, users[i % users.length], { msgtype: 'm.text', body: `Line ${i}` });
      return performance.now() - t0;
    };

    const filler = await call('POST', '/_matrix/client/v3/register', undefined, { username: `filler${process.pid}`, password: 'bench password 1', auth: { type: 'm.login.dummy' } });
    console.log(`populating ${events.toLocaleString('en')} messages…`);
    const populated = await ask({ op: 'populate', events, userId: filler.user_id });
    if (populated.error) throw new Error(populated.error);
    console.log(`  ${populated.seconds.toFixed(1)} s`);

    for (let i = 0; i < 200; i++) await sendOne(); // warm-up
    const baseline: number[] = [];
    const loadBefore = loadavg()[0]!;
    for (let i = 0; i < 3000; i++) baseline.push(await sendOne());

    await ask({ op: 'advance', ms: HOUR + 60_000 });
    const loadAtPurge = loadavg()[0]!;
    let purging = true;
    const purge = ask({ op: 'purge' }).finally(() => (purging = false));
    const during: number[] = [];
    while (purging) during.push(await sendOne());
    const report = await purge;
    if (report.error) throw new Error(report.error);

    const stats = (times: number[]) => {
      const sorted = [...times].sort((a, b) => a - b);
      const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
      return { sends: sorted.length, p50: p(0.5), p95: p(0.95), p99: p(0.99) };
    };
    const normal = stats(baseline);
    const withPurge = stats(during);
    console.table({ 'sends alone (ms)': normal, 'sends during purge (ms)': withPurge });
    console.log(`engine: ${databaseUrl ? 'postgres' : 'sqlite'}; purge: ${report.deletedEvents + report.prunedEvents} events in ${report.seconds.toFixed(1)} s (${((report.deletedEvents + report.prunedEvents) / report.seconds).toFixed(0)} events/s, ${report.batches} batches)`);
    console.log(`p99 during purge / normal: ${(Number(withPurge.p99) / Number(normal.p99)).toFixed(2)}×; load average (1 min): ${loadBefore.toFixed(2)} before, ${loadAtPurge.toFixed(2)} at purge start, ${loadavg()[0]!.toFixed(2)} after`);
  } finally {
    child.disconnect();
    await new Promise((r) => child.once('exit', r));
    await database?.drop();
  }
}

function rpc(child: ChildProcess) {
  let nextId = 0;
  const waiting = new Map<number, (body: any) => void>();
  child.on('message', (m: { id?: number; body?: unknown }) => {
    if (m.id !== undefined) waiting.get(m.id)?.(m.body);
    if (m.id !== undefined) waiting.delete(m.id);
  });
  return (request: RequestBody): Promise<any> =>
    new Promise((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve);
      child.send({ ...request, id });
    });
}
