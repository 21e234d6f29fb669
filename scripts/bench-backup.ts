/**
 * `node scripts/bench-backup.ts [--users 50] [--rooms 50] [--messages 20000] [--media 200] [--media-kb 256]
 * [--postgres ADMIN_URL]`: how long a backup, a verify and a restore take for a populated server.
 * A server runs in this process and is filled over HTTP (users, rooms, messages, media uploads);
 * `caduceus backup create` then runs as its own process while the server keeps serving, and
 * `backup verify` and `backup restore` (into a fresh data folder and, with --postgres, a fresh
 * database) follow, each timed from the outside. The restored server is started and its message
 * count checked. Prints times, sizes and the machine's load (it may be shared).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig, startServer, type Settings } from '../packages/server/src/index.ts';
import { runCli } from '../packages/cli/test/support/cli.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const USERS = option('users', 50);
const ROOMS = option('rooms', 50);
const MESSAGES = option('messages', 20_000);
const MEDIA = option('media', 200);
const MEDIA_KB = option('media-kb', 256);
const pgIndex = args.indexOf('--postgres');
const pgAdminUrl = pgIndex >= 0 ? args[pgIndex + 1] : undefined;
const PASSWORD = 'benchmark password 123';
const PASSPHRASE = 'benchmark backup passphrase';
const CONCURRENCY = 32;
const enc = encodeURIComponent;

async function freshDatabase(label: string): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  if (!pgAdminUrl) return undefined;
  const name = `caduceus_bench_backup_${label}_${process.pid}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: pgAdminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

function siteSettings(dataDir: string, databaseUrl: string | undefined): Partial<Settings> {
  return {
    server_name: 'bench.local',
    data_dir: dataDir,
    registration: 'open',
    // Benchmark accounts sign in with passwords only.
    mfa: 'optional',
    rate_limits: 'off',
    log_level: 'silent',
    ...(databaseUrl ? { database_url: databaseUrl } : {}),
  };
}
const asEnv = (settings: Partial<Settings>) => Object.fromEntries(Object.entries(settings).map(([k, v]) => [`CADUCEUS_${k.toUpperCase()}`, String(v)]));

async function call(base: string, method: string, path: string, token: string | undefined, body?: unknown, raw?: { bytes: Buffer; type: string }) {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (raw) headers['Content-Type'] = raw.type;
  else if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: raw ? raw.bytes : body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as Record<string, any>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs `jobs` with at most CONCURRENCY in flight. */
async function pool(count: number, job: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
    while (next < count) await job(next++);
  }));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function timed(label: string, work: () => Promise<{ code: number | null; stderr: string; stdout: string }>) {
  const started = performance.now();
  const res = await work();
  const ms = performance.now() - started;
  if (res.code !== 0) throw new Error(`${label} failed: ${res.stderr}`);
  return ms;
}

async function main() {
  const sourceDir = mkdtempSync(join(tmpdir(), 'caduceus-bench-backup-'));
  const targetDir = join(mkdtempSync(join(tmpdir(), 'caduceus-bench-restore-')), 'data');
  const work = mkdtempSync(join(tmpdir(), 'caduceus-bench-backup-out-'));
  const sourceDb = await freshDatabase('source');
  const targetDb = await freshDatabase('target');
  const source = siteSettings(sourceDir, sourceDb?.url);
  const target = siteSettings(targetDir, targetDb?.url);
  try {
    const server = await startServer(loadConfig({}, { ...source, bind: '127.0.0.1', port: 0 }, sourceDir));
    const base = server.url;
    let started = performance.now();
    const users: { token: string; userId: string }[] = [];
    await pool(USERS, async (i) => {
      const body = { username: `bench${i}`, password: PASSWORD };
      const challenge = await fetch(`${base}/_matrix/client/v3/register`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
      const { session } = (await challenge.json()) as { session: string };
      const done = await call(base, 'POST', '/_matrix/client/v3/register', undefined, { ...body, auth: { type: 'm.login.dummy', session } });
      users[i] = { token: done.access_token, userId: done.user_id };
    });
    const rooms: string[] = [];
    await pool(ROOMS, async (i) => {
      const owner = users[i % USERS]!;
      const member = users[(i + 1) % USERS]!;
      const { room_id } = await call(base, 'POST', '/_matrix/client/v3/createRoom', owner.token, { name: `room ${i}`, invite: [member.userId] });
      if (member !== owner) await call(base, 'POST', `/_matrix/client/v3/join/${enc(room_id)}`, member.token, {});
      rooms[i] = room_id;
    });
    await pool(MESSAGES, async (i) => {
      const room = i % ROOMS;
      const sender = users[(room + (i % 2)) % USERS]!;
      await call(base, 'PUT', `/_matrix/client/v3/rooms/${enc(rooms[room]!)}/send/m.room.message/m${i}`, sender.token, { msgtype: 'm.text', body: `message ${i} ${'x'.repeat(100)}` });
    });
    await pool(MEDIA, async (i) => {
      await call(base, 'POST', '/_matrix/media/v3/upload', users[i % USERS]!.token, undefined, { bytes: randomBytes(MEDIA_KB * 1024), type: 'application/octet-stream' });
    });
    const populateMs = performance.now() - started;

    // The backup runs while the server keeps taking messages.
    let sending = true;
    let sentDuring = 0;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        await call(base, 'PUT', `/_matrix/client/v3/rooms/${enc(rooms[0]!)}/send/m.room.message/d${i}`, users[0]!.token, { msgtype: 'm.text', body: `during ${i}` });
        sentDuring++;
      }
    })();
    const file = join(work, 'bench.age');
    const env = { ...asEnv(source), CADUCEUS_BACKUP_PASSPHRASE: PASSPHRASE };
    const backupMs = await timed('backup create', () => runCli(['backup', 'create', '--out', file], { env, cwd: work }));
    sending = false;
    await sender;
    await server.close();

    const verifyMs = await timed('backup verify', () => runCli(['backup', 'verify', file], { env, cwd: work }));
    const restoreEnv = { ...asEnv(target), CADUCEUS_BACKUP_PASSPHRASE: PASSPHRASE };
    const restoreMs = await timed('backup restore', () => runCli(['backup', 'restore', file], { env: restoreEnv, cwd: work }));

    started = performance.now();
    const restored = await startServer(loadConfig({}, { ...target, bind: '127.0.0.1', port: 0 }, targetDir));
    const startMs = performance.now() - started;
    const login = await call(restored.url, 'POST', '/_matrix/client/v3/login', undefined, { type: 'm.login.password', identifier: { type: 'm.id.user', user: `bench${1 % USERS}` }, password: PASSWORD });
    let messagesInRoom = 0;
    for (let from: string | undefined; ; ) {
      const page = await call(restored.url, 'GET', `/_matrix/client/v3/rooms/${enc(rooms[1 % ROOMS]!)}/messages?dir=b&limit=100${from ? `&from=${enc(from)}` : ''}`, login.access_token);
      messagesInRoom += (page.chunk as { type: string }[]).filter((e) => e.type === 'm.room.message').length;
      if (!page.end || page.chunk.length === 0) break;
      from = page.end;
    }
    await restored.close();

    console.log(`engine: ${pgAdminUrl ? 'PostgreSQL' : 'SQLite'}`);
    console.log(`populated: ${USERS} users, ${ROOMS} rooms, ${MESSAGES} messages, ${MEDIA} media files of ${MEDIA_KB} KiB in ${seconds(populateMs)}`);
    console.log(`backup create (online, ${sentDuring} messages sent meanwhile): ${seconds(backupMs)}, file ${mib(statSync(file).size)}`);
    console.log(`backup verify: ${seconds(verifyMs)}`);
    console.log(`backup restore (incl. audit verify): ${seconds(restoreMs)}`);
    console.log(`restored server start: ${seconds(startMs)}; room 1 has ${messagesInRoom} messages (expected ${Array.from({ length: MESSAGES }, (_, i) => i).filter((i) => i % ROOMS === 1 % ROOMS).length})`);
    console.log(`load average: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(sourceDir, { recursive: true, force: true });
    rmSync(join(targetDir, '..'), { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    await sourceDb?.drop();
    await targetDb?.drop();
  }
}

await main();
