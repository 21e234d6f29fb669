/**
 * `npm run bench:e2ee [-- --members 50 --messages 20] [--postgres URL]`: end-to-end encryption at room
 * scale. A server runs in its own process; this process runs N matrix-js-sdk clients with Rust crypto
 * (the same clients as the tests, test/support/sdk.ts), all in one encrypted room. Measured: the time
 * from "send" until every other member has the message decrypted —
 *  - the first message: the sender claims a one-time key and sets up an Olm session per device, and
 *    sends the room key to every device over /sendToDevice before the message itself goes out;
 *  - steady state: further messages from the same sender (the room key is already shared), median and
 *    p95 over --messages of them.
 * Also reported: set-up times, memory of both processes, and the machine's load (it is shared).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MatrixEventEvent, PendingEventOrdering, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { benchServerEnv, call, createBenchDatabase, freePort, inBatches, rssMiB as processRssMiB, untilListening } from './bench-support.ts';
import { createSdkClient, startSdkClient, stopSdkClients } from '../packages/server/test/support/sdk.ts';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const MEMBERS = Number(option('members') ?? 50);
const MESSAGES = Number(option('messages') ?? 20);
const pgAdminUrl = option('postgres') ?? process.env.CADUCEUS_BENCH_DATABASE_URL;
const PASSWORD = 'benchmark password 123';
const root = join(import.meta.dirname, '..');
const enc = encodeURIComponent;

async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'caduceus-bench-e2ee-'));
  const port = await freePort();
  const database = pgAdminUrl ? await createBenchDatabase(pgAdminUrl) : undefined;
  const child = spawn(process.execPath, [join(root, 'packages/server/src/main.ts')], {
    env: benchServerEnv(port, dataDir, database?.url),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await untilListening(child);
  return {
    url: `http://127.0.0.1:${port}`,
    rssMiB: () => processRssMiB(child.pid),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

/** Polls `check` every 50 ms until it holds; fails after `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const rssMiB = () => process.memoryUsage().rss / 1024 / 1024;
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * When each receiving client has `body` decrypted: resolves with the time (performance.now()) the last
 * of them got it, and each one's.
 */
function decryptedByAll(receivers: readonly MatrixClient[], body: string) {
  const times = new Map<MatrixClient, number>();
  const done = Promise.withResolvers<number[]>();
  const listeners = receivers.map((client) => {
    const listener = (event: MatrixEvent) => {
      if (times.has(client) || event.isDecryptionFailure() || event.getContent().body !== body) return;
      times.set(client, performance.now());
      if (times.size === receivers.length) done.resolve([...times.values()]);
    };
    client.on(MatrixEventEvent.Decrypted, listener);
    return () => client.off(MatrixEventEvent.Decrypted, listener);
  });
  const timer = setTimeout(() => done.reject(new Error(`only ${times.size} of ${receivers.length} decrypted "${body}" within 5 minutes`)), 300_000);
  return done.promise.finally(() => {
    clearTimeout(timer);
    for (const off of listeners) off();
  });
}

async function run() {
  const engine = pgAdminUrl ? 'PostgreSQL' : 'SQLite';
  console.log(`Caduceus E2EE benchmark on ${engine}: ${MEMBERS} matrix-js-sdk clients with Rust crypto, Node ${process.version}`);
  console.log(`  load average before: ${load()}`);
  const server = await startServer();
  try {
    const rssBefore = rssMiB();
    let t0 = performance.now();
    const users = await inBatches(Array.from({ length: MEMBERS }, (_, i) => i), 4, async (i) => {
      const body = await call(server.url, 'POST', '/_matrix/client/v3/register', undefined, { username: `e2ee${i}`, password: PASSWORD, auth: { type: 'm.login.dummy' } });
      return { userId: body.user_id as string, deviceId: body.device_id as string, accessToken: body.access_token as string };
    });
    const sync = { initialSyncLimit: 10, lazyLoadMembers: false, pendingEventOrdering: PendingEventOrdering.Detached };
    // Each client uploads its device keys and one-time keys after its first sync.
    const clients = await inBatches(users, 4, async (user) => {
      const client = await createSdkClient(server.url, user, { withCrypto: true });
      await startSdkClient(client, sync, 120_000);
      return client;
    });
    const clientsStarted = performance.now() - t0;
    const rssClients = rssMiB();

    t0 = performance.now();
    const [owner, ...others] = users;
    const { room_id: roomId } = await call(server.url, 'POST', '/_matrix/client/v3/createRoom', owner!.accessToken, {
      preset: 'private_chat',
      invite: others.map((u) => u.userId),
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    await inBatches(others, 4, (u) => call(server.url, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, u.accessToken, {}));
    await until('every client to see the full, encrypted room', () =>
      clients.every((c) => {
        const room = c.getRoom(roomId);
        return room?.hasEncryptionStateEvent() && room.getJoinedMemberCount() === MEMBERS;
      }),
    );
    const roomJoined = performance.now() - t0;
    // Let the device-list queries the joins set off finish, so the first message measures the send only.
    await new Promise((r) => setTimeout(r, 3000));
    const sender = clients[0]!;
    const receivers = clients.slice(1);

    const firstBody = `first message ${Date.now()}`;
    const firstDone = decryptedByAll(receivers, firstBody);
    t0 = performance.now();
    await sender.sendTextMessage(roomId, firstBody);
    const firstSent = performance.now() - t0;
    const firstTimes = (await firstDone).map((t) => t - t0).sort((a, b) => a - b);
    const loadAfterFirst = load();

    const steady: number[] = [];
    const steadySend: number[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const body = `steady ${i} ${Date.now()}`;
      const done = decryptedByAll(receivers, body);
      const start = performance.now();
      await sender.sendTextMessage(roomId, body);
      steadySend.push(performance.now() - start);
      const times = await done;
      steady.push(Math.max(...times) - start);
    }
    steady.sort((a, b) => a - b);
    steadySend.sort((a, b) => a - b);

    const results: Record<string, string> = {
      'set-up: register + start clients (keys uploaded)': `${(clientsStarted / 1000).toFixed(1)} s`,
      'set-up: room created, all joined and seen by all': `${(roomJoined / 1000).toFixed(1)} s`,
      'first message: send call returned': ms(firstSent),
      'first message: decrypted by all (last member)': `${ms(firstTimes.at(-1)!)} (first member ${ms(firstTimes[0]!)}, median ${ms(percentile(firstTimes, 50))})`,
      [`steady state: decrypted by all, median of ${MESSAGES}`]: ms(percentile(steady, 50)),
      'steady state: decrypted by all, p95': ms(percentile(steady, 95)),
      'steady state: send call returned, median': ms(percentile(steadySend, 50)),
      'memory: this process (clients)': `${rssBefore.toFixed(0)} MiB before, ${rssClients.toFixed(0)} MiB with ${MEMBERS} clients started, ${rssMiB().toFixed(0)} MiB at the end`,
      'memory: server RSS at the end': `${server.rssMiB().toFixed(0)} MiB`,
      'load average (1, 5, 15 min)': `${loadAfterFirst} after the first message, ${load()} at the end`,
    };
    console.log(`\n## E2EE room of ${MEMBERS} (${engine})`);
    for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(52)} ${v}`);
  } finally {
    stopSdkClients();
    await server.stop();
  }
}

await run();
// Stopped clients may leave unref'd SDK timers behind; nothing is left to wait for.
process.exit(0);
