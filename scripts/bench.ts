/**
 * `npm run bench [-- serial|fanout|initial-sync …] [--postgres URL]`: measures the messaging core
 * against a real server in its own process (so the load generator does not share its event loop).
 *  - serial: 56 users in one room, 3,287 messages sent one after another (the "Romeo and Juliet" shape).
 *  - fanout: 1,000 users in 100 rooms of 10, 500 messages/s for 30 s, every member long-polling /sync;
 *    send-to-delivery latency per recipient, after a 5-second warm-up at the same rate (BENCH_WARMUP=0
 *    measures a cold server). BENCH_USERS, BENCH_RATE and BENCH_SECONDS change the shape.
 *  - initial-sync: a user in 100 rooms with 100 messages each; time of an initial /sync.
 * Results are printed as a table; docs/benchmarks.md records them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { KeepAliveConnection } from './bench-http.ts';
import { benchServerEnv, call, createBenchDatabase, freePort, inBatches, rssMiB, untilListening } from './bench-support.ts';
import { defaults } from '../packages/server/src/config/config.ts';


const args = process.argv.slice(2);
const pgIndex = args.indexOf('--postgres');
const pgAdminUrl = pgIndex >= 0 ? args[pgIndex + 1] : process.env.CADUCEUS_BENCH_DATABASE_URL;
/** `--cpu-prof`: a V8 CPU profile of the server during the measured phase, written to ./bench-<scenario>.cpuprofile. */
const cpuProfile = args.includes('--cpu-prof') || args.includes('--alloc-prof');
/**
 * `--alloc-prof`: also a sampling profile of everything the server allocates (garbage included), to
 * ./bench-<scenario>.heapprofile; with BENCH_LIVE_ONLY=1 only of what is still in the heap when it
 * stops (what lives long enough to be promoted, and what the old generation has not collected yet);
 * with BENCH_PROMOTED_ONLY=1 of what young-generation collections did not free (promoted).
 */
const allocationProfile = args.includes('--alloc-prof');
/** BENCH_SERVER_FLAGS: extra Node flags for the server (e.g. "--trace-gc" with BENCH_SERVER_STDOUT=file). */
const serverFlags = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
/**
 * BENCH_FLOOR=http|fastify: the scenario runs against bench-floor-server.ts, a stand-in that answers
 * from memory with nothing behind it, instead of Caduceus: what Node (and Fastify) alone cost here.
 */
const floor = process.env.BENCH_FLOOR || undefined;
if (floor !== undefined && floor !== 'http' && floor !== 'fastify') throw new Error('BENCH_FLOOR is http or fastify');
const selected = args.filter((a, i) => !a.startsWith('--') && (pgIndex < 0 || i !== pgIndex + 1));
const scenarios = selected.length > 0 ? selected : floor ? ['fanout'] : ['serial', 'fanout', 'initial-sync'];
// The stand-in answers only what the fan-out asks.
if (floor && scenarios.some((s) => s !== 'fanout')) throw new Error('BENCH_FLOOR measures the fanout scenario only');
const PASSWORD = 'benchmark password 123';
const root = join(import.meta.dirname, '..');

interface Server {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
  rssMiB(): number;
  /** CPU seconds the server process has used so far (all its threads). */
  cpuSeconds(): number;
  /** CPU seconds so far of each of its threads, by thread id and kind (JavaScript threads, V8's helpers, libuv's pool). */
  threadCpuSeconds(): Map<string, number>;
  /** Starts the server's CPU profiler (with --cpu-prof; otherwise does nothing). */
  startProfile(): Promise<void>;
  /** Stops it and writes the profile to `file`. */
  stopProfile(file: string): Promise<void>;
}

/** A minimal Chrome DevTools Protocol client over the server's inspector WebSocket. */
function inspectorSession(wsUrl: string) {
  const socket = new WebSocket(wsUrl);
  const opened = new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, (result: any) => void>();
  socket.addEventListener('message', (message) => {
    const data = JSON.parse(String(message.data)) as { id?: number; result?: unknown };
    if (data.id !== undefined) pending.get(data.id)?.(data.result);
  });
  return {
    async send(method: string, params: Record<string, unknown> = {}): Promise<any> {
      await opened;
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => socket.close(),
  };
}

async function startServer(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'caduceus-bench-'));
  const port = await freePort();
  const database = pgAdminUrl && !floor ? await createBenchDatabase(pgAdminUrl) : undefined;
  // The stand-in gets the young generation Caduceus gives itself (young-generation.ts).
  const semiSpaceMb = Number(process.env.CADUCEUS_GC_SEMI_SPACE_MB ?? defaults.gc_semi_space_mb);
  const program = floor
    ? [...(semiSpaceMb > 0 ? [`--max-semi-space-size=${semiSpaceMb}`] : []), join(root, 'scripts/bench-floor-server.ts')]
    : [join(root, 'packages/server/src/main.ts')];
  const child = spawn(process.execPath, [...(cpuProfile ? ['--inspect=127.0.0.1:0'] : []), ...serverFlags, ...program], {
    env: { ...benchServerEnv(port, dataDir, database?.url), CADUCEUS_PASSWORD_MIN_LENGTH: '8' },
    stdio: ['ignore', 'pipe', cpuProfile ? 'pipe' : 'inherit'],
  });
  // The last inspector address printed before the server listens: the server may replace its own
  // process at start-up (young-generation.ts), and the new one opens an inspector of its own.
  let inspectorUrl: string | undefined;
  if (cpuProfile) {
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      const match = /Debugger listening on (ws:\/\/\S+)/.exec(text);
      if (match) inspectorUrl = match[1]!;
      else if (!text.includes('Debugger') && !text.includes('nodejs.org/en/docs/inspector')) process.stderr.write(chunk);
    });
  }
  let inspector: ReturnType<typeof inspectorSession> | undefined;
  await untilListening(child);
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    rssMiB: () => rssMiB(child.pid),
    cpuSeconds: () => cpuSecondsOf(`/proc/${child.pid}/stat`),
    threadCpuSeconds: () => {
      const seconds = new Map<string, number>();
      for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
        try {
          const comm = readFileSync(`/proc/${child.pid}/task/${tid}/comm`, 'utf8').trim();
          seconds.set(`${tid} ${comm}`, cpuSecondsOf(`/proc/${child.pid}/task/${tid}/stat`));
        } catch {
          // The thread ended meanwhile.
        }
      }
      return seconds;
    },
    startProfile: async () => {
      if (!cpuProfile) return;
      if (!inspectorUrl) throw new Error('the server printed no inspector address');
      inspector = inspectorSession(inspectorUrl);
      await inspector.send('Profiler.enable');
      await inspector.send('Profiler.setSamplingInterval', { interval: 1000 });
      await inspector.send('Profiler.start');
      if (allocationProfile) {
        await inspector.send('HeapProfiler.enable');
        // Garbage included: what matters to the collector is how fast the server allocates.
        // BENCH_LIVE_ONLY=1: only what is still in the heap; BENCH_PROMOTED_ONLY=1: what lived
        // through young-generation collections (promoted), whether or not it died later.
        const liveOnly = Boolean(process.env.BENCH_LIVE_ONLY);
        const promotedOnly = Boolean(process.env.BENCH_PROMOTED_ONLY);
        await inspector.send('HeapProfiler.startSampling', { samplingInterval: 65536, includeObjectsCollectedByMajorGC: !liveOnly, includeObjectsCollectedByMinorGC: !liveOnly && !promotedOnly });
      }
    },
    stopProfile: async (file: string) => {
      if (!inspector) return;
      const { profile } = await inspector.send('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      if (allocationProfile) {
        const heapFile = file.replace(/\.cpuprofile$/, '.heapprofile');
        writeFileSync(heapFile, JSON.stringify((await inspector.send('HeapProfiler.stopSampling')).profile));
        console.log(`  (server allocation profile written to ${heapFile})`);
      }
      inspector.close();
      inspector = undefined;
      console.log(`  (server CPU profile written to ${file})`);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

/** User plus system CPU seconds from a /proc stat file. */
/**
 * "HTTP threads 51% + 48%, V8 helpers 12%, libuv pool 6%": the JavaScript threads that serve
 * requests (the main thread and the worker threads) one by one, the rest by kind.
 */
function cpuByThreadKind(before: Map<string, number>, after: Map<string, number>, seconds: number): string {
  const percent = (cpu: number) => `${((cpu / seconds) * 100).toFixed(0)}%`;
  const serving: number[] = [];
  const others = new Map<string, number>();
  for (const [thread, total] of after) {
    const used = total - (before.get(thread) ?? 0);
    const comm = thread.slice(thread.indexOf(' ') + 1);
    if (comm === 'MainThread' || (comm === 'WorkerThread' && used / seconds > 0.05)) serving.push(used);
    else {
      const kind = comm.startsWith('V8') ? 'V8 helpers' : comm.startsWith('libuv') ? 'libuv pool' : 'other';
      others.set(kind, (others.get(kind) ?? 0) + used);
    }
  }
  return [`JS threads ${serving.map(percent).join(' + ')}`, ...[...others].map(([kind, used]) => `${kind} ${percent(used)}`)].join(', ');
}

function cpuSecondsOf(statFile: string): number {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface User {
  userId: string;
  token: string;
}

async function register(url: string, name: string): Promise<User> {
  const body = await call(url, 'POST', '/_matrix/client/v3/register', undefined, { username: name, password: PASSWORD, auth: { type: 'm.login.dummy' } });
  return { userId: body.user_id, token: body.access_token };
}

const enc = encodeURIComponent;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

async function makeRoom(url: string, owner: User, members: User[]): Promise<string> {
  const { room_id } = await call(url, 'POST', '/_matrix/client/v3/createRoom', owner.token, { preset: 'public_chat' });
  await inBatches(members, 8, (m) => call(url, 'POST', `/_matrix/client/v3/join/${enc(room_id)}`, m.token, {}));
  return room_id;
}

async function serial(server: Server) {
  const users = await inBatches(Array.from({ length: 56 }, (_, i) => `serial${i}`), 8, (n) => register(server.url, n));
  const roomId = await makeRoom(server.url, users[0]!, users.slice(1));
  const times: number[] = [];
  // The sends go over one keep-alive connection with the lean client (bench-http.ts), so the time is
  // the server's and the network's; BENCH_SERIAL_CLIENT=fetch measures through fetch instead, whose
  // own machinery adds 0.3–1.3 ms to each measured send here (docs/benchmarks.md, pass ten).
  const viaFetch = process.env.BENCH_SERIAL_CLIENT === 'fetch';
  const connection = viaFetch ? undefined : new KeepAliveConnection(server.url);
  const send = async (path: string, token: string, content: unknown) => {
    if (!connection) return void (await call(server.url, 'PUT', path, token, content));
    const { status, body } = await connection.put(path, token, content);
    if (status !== 200) throw new Error(`PUT ${path}: ${status} ${body.slice(0, 200)}`);
  };
  await server.startProfile();
  const started = performance.now();
  for (let i = 0; i < 3287; i++) {
    const user = users[i % users.length]!;
    const t0 = performance.now();
    await send(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/s${i}`, user.token, { msgtype: 'm.text', body: `Line ${i} of the play` });
    times.push(performance.now() - t0);
  }
  const total = performance.now() - started;
  connection?.close();
  await server.stopProfile('bench-serial.cpuprofile');
  times.sort((a, b) => a - b);
  return {
    'client': viaFetch ? 'fetch (undici)' : 'lean keep-alive connection (bench-http.ts)',
    'messages': 3287,
    'median per message': fmt(percentile(times, 50)),
    'p95': fmt(percentile(times, 95)),
    'p99': fmt(percentile(times, 99)),
    'throughput': `${(3287 / (total / 1000)).toFixed(0)} msg/s`,
    'server RSS': `${server.rssMiB().toFixed(0)} MiB`,
  };
}

async function fanout(server: Server) {
  const USERS = Number(process.env.BENCH_USERS ?? 1000);
  const ROOM_SIZE = 10;
  const RATE = Number(process.env.BENCH_RATE ?? 500);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
  const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP ?? 5);
  const users = await inBatches(Array.from({ length: USERS }, (_, i) => `fan${i}`), 8, (n) => register(server.url, n));
  const rooms: Array<{ id: string; members: User[] }> = [];
  for (let r = 0; r < USERS / ROOM_SIZE; r++) {
    const members = users.slice(r * ROOM_SIZE, (r + 1) * ROOM_SIZE);
    rooms.push({ id: await makeRoom(server.url, members[0]!, members.slice(1)), members });
  }

  const latencies: number[] = [];
  /** Per delivery: which 5-second stretch of the measurement its message was sent in, and its latency. */
  const byWindow: Array<[number, number]> = [];
  let started = 0;
  let syncErrors = 0;
  /** Long-poll answers during the measurement (ideally about one per delivery, fewer when deliveries coalesce). */
  let syncAnswers = 0;
  let running = true;
  const rssBeforePolls = server.rssMiB();
  // The load generator must not be what limits the measurement: one keep-alive connection per
  // long-poll (bench-http.ts: no fetch or Response machinery), and per answer only a scan of the raw
  // body for the benchmark's own send timestamps and the next token, not a full JSON parse.
  const sends = new Pool(server.url, { connections: 64, pipelining: 1, keepAliveTimeout: 120_000 });
  const connections: KeepAliveConnection[] = [];
  const rawGet = async (connection: KeepAliveConnection, path: string, token: string): Promise<string> => {
    const { status, body } = await connection.get(path, token);
    if (status !== 200) throw new Error(`GET ${path.split('?')[0]}: ${status} ${body.slice(0, 200)}`);
    return body;
  };
  const nextBatchOf = (text: string) => {
    const match = /"next_batch":"([^"]+)"/.exec(text);
    if (!match) throw new Error('sync answer without next_batch');
    return match[1]!;
  };
  // Clients connect 50 at a time, as a real population would, not 1,000 in the same millisecond.
  let opened = 0;
  const loops = users.map(async (user, i) => {
    await new Promise((r) => setTimeout(r, Math.floor(i / 50) * 50));
    let polls = new KeepAliveConnection(server.url);
    connections.push(polls);
    // A timeline limit above what can pile up between two syncs, so every delivery is counted.
    const filter = enc('{"room":{"timeline":{"limit":100}}}');
    let since = nextBatchOf(await rawGet(polls, `/_matrix/client/v3/sync?timeout=0&filter=${filter}`, user.token));
    opened++;
    while (running) {
      try {
        const text = await rawGet(polls, `/_matrix/client/v3/sync?timeout=30000&since=${since}&filter=${filter}`, user.token);
        // The moment the whole answer has arrived is the moment of delivery.
        const now = performance.timeOrigin + performance.now();
        since = nextBatchOf(text);
        if (started > 0) syncAnswers++;
        // Each benchmark message carries its send time (µs) in its content; a sync answer holds each event once.
        for (let at = text.indexOf('"sent_at":'); at >= 0; at = text.indexOf('"sent_at":', at + 10)) {
          const sentAt = Number.parseInt(text.slice(at + 10, at + 30), 10) / 1000;
          latencies.push(now - sentAt);
          byWindow.push([Math.floor((sentAt - performance.timeOrigin - started) / 5000), now - sentAt]);
        }
      } catch {
        // The connections are closed once the measurement is over.
        if (!running) break;
        syncErrors++;
        await new Promise((r) => setTimeout(r, 100));
        polls = new KeepAliveConnection(server.url);
        connections.push(polls);
      }
    }
  });
  while (opened < users.length) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  const rssIdlePolls = server.rssMiB();

  let sendErrors = 0;
  let sent = 0;
  /**
   * Sends `count` messages at RATE per second, round the rooms, each carrying its send time (µs)
   * under `stamp`: the long-polls count only `sent_at`, so warm-up messages are delivered but not measured.
   */
  const sendAtRate = (count: number, stamp: 'sent_at' | 'warm_at', txnPrefix: string) => {
    const from = performance.now();
    const inFlight: Promise<unknown>[] = [];
    const run = async () => {
      for (let i = 0; i < count; i++) {
        const wait = from + (i * 1000) / RATE - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const room = rooms[i % rooms.length]!;
        const sender = room.members[Math.floor(i / rooms.length) % ROOM_SIZE]!;
        const body = JSON.stringify({ msgtype: 'm.text', body: 'vitals update', [stamp]: Math.round((performance.timeOrigin + performance.now()) * 1000) });
        inFlight.push(
          sends
            .request({
              method: 'PUT',
              path: `/_matrix/client/v3/rooms/${enc(room.id)}/send/m.room.message/${txnPrefix}${i}`,
              headers: { authorization: `Bearer ${sender.token}`, 'content-type': 'application/json' },
              body,
            })
            .then(async ({ statusCode, body: answer }) => {
              const text = await answer.text();
              if (statusCode !== 200) throw new Error(`send: ${statusCode} ${text.slice(0, 200)}`);
              if (stamp === 'sent_at') sent++;
            })
            .catch((err: Error) => {
              if (sendErrors++ === 0) console.error(`first send error: ${err.message}`);
            }),
        );
      }
      await Promise.all(inFlight);
    };
    return run();
  };
  // Warm-up at the same rate: a server is measured warm (JIT-compiled code, filled caches), as it
  // runs in practice; its first seconds after start are reported separately by BENCH_WARMUP=0.
  await sendAtRate(RATE * WARMUP_SECONDS, 'warm_at', 'w');
  await new Promise((r) => setTimeout(r, 1000));

  await server.startProfile();
  const generatorDelay = monitorEventLoopDelay({ resolution: 1 });
  generatorDelay.enable();
  const serverCpuBefore = server.cpuSeconds();
  const threadCpuBefore = server.threadCpuSeconds();
  const clientCpuBefore = process.cpuUsage();
  started = performance.now();
  await sendAtRate(RATE * SECONDS, 'sent_at', 'f');
  const sendSeconds = (performance.now() - started) / 1000;
  generatorDelay.disable();
  const serverCpuSeconds = server.cpuSeconds() - serverCpuBefore;
  const threadCpu = cpuByThreadKind(threadCpuBefore, server.threadCpuSeconds(), sendSeconds);
  const serverCpu = serverCpuSeconds / sendSeconds;
  const clientUsage = process.cpuUsage(clientCpuBefore);
  const clientCpu = (clientUsage.user + clientUsage.system) / 1e6 / sendSeconds;
  await new Promise((r) => setTimeout(r, 2000));
  const rss = server.rssMiB();
  running = false;
  // End the long-polls still held.
  for (const connection of connections) connection.close();
  await Promise.all(loops);
  await server.stopProfile('bench-fanout.cpuprofile');
  await sends.destroy();
  latencies.sort((a, b) => a - b);
  const windows = new Map<number, number[]>();
  for (const [window, latency] of byWindow) (windows.get(window) ?? windows.set(window, []).get(window)!).push(latency);
  const windowP99 = [...windows].sort((a, b) => a[0] - b[0]).map(([, values]) => percentile(values.sort((a, b) => a - b), 99).toFixed(0));

  const expected = sent * ROOM_SIZE;
  return {
    'messages sent': `${sent} in ${sendSeconds.toFixed(1)} s (${(sent / sendSeconds).toFixed(0)} msg/s)`,
    'deliveries': `${latencies.length} of ${expected} expected`,
    'delivery p50': fmt(percentile(latencies, 50)),
    'delivery p99': fmt(percentile(latencies, 99)),
    'delivery max': fmt(latencies.at(-1) ?? NaN),
    'delivery p99 per 5 s': `${windowP99.join(' / ')} ms`,
    // The generator's own stalls (its GC, its share of the CPU) show up as latency: reported, to tell them apart.
    'load generator event-loop delay': `p99 ${(generatorDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(generatorDelay.max / 1e6).toFixed(1)} ms`,
    'long-poll answers': `${syncAnswers} (${(syncAnswers / Math.max(latencies.length, 1)).toFixed(2)} per delivery)`,
    'errors': `${sendErrors} send, ${syncErrors} sync`,
    'server RSS': `${rssBeforePolls.toFixed(0)} MiB before the long-polls, ${rssIdlePolls.toFixed(0)} MiB with ${USERS} idle long-polls, ${rss.toFixed(0)} MiB after sending`,
    'CPU while sending': `server ${(serverCpu * 100).toFixed(0)}% (${threadCpu}), load generator ${(clientCpu * 100).toFixed(0)}% (of one core)`,
    'server CPU per message': `${((serverCpuSeconds / Math.max(sent, 1)) * 1e6).toFixed(0)} µs (send + ${ROOM_SIZE} deliveries)`,
    'load average (1 min) at the end': (await import('node:os')).loadavg()[0]!.toFixed(2),
  };
}

async function initialSync(server: Server) {
  const owner = await register(server.url, 'syncowner');
  const roomIds = await inBatches(Array.from({ length: 100 }, (_, i) => i), 4, async () => (await call(server.url, 'POST', '/_matrix/client/v3/createRoom', owner.token, {})).room_id as string);
  await inBatches(roomIds, 4, async (roomId, r) => {
    for (let i = 0; i < 100; i++) {
      await call(server.url, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/i${r}-${i}`, owner.token, { msgtype: 'm.text', body: `message ${i}` });
    }
  });
  const runs: Record<string, number[]> = { 'default filter (10 per room)': [], 'limit 1, lazy members (SDK-like)': [] };
  const filters: Record<string, string> = {
    'default filter (10 per room)': '',
    'limit 1, lazy members (SDK-like)': `&filter=${enc('{"room":{"timeline":{"limit":1},"state":{"lazy_load_members":true}}}')}`,
  };
  await server.startProfile();
  for (let i = 0; i < 7; i++) {
    for (const [name, filter] of Object.entries(filters)) {
      const t0 = performance.now();
      const body = await call(server.url, 'GET', `/_matrix/client/v3/sync?timeout=0${filter}`, owner.token);
      runs[name]!.push(performance.now() - t0);
      if (Object.keys(body.rooms.join).length !== 100) throw new Error('initial sync did not return 100 rooms');
    }
  }
  await server.stopProfile('bench-initial-sync.cpuprofile');
  const result: Record<string, string> = {};
  for (const [name, times] of Object.entries(runs)) {
    times.sort((a, b) => a - b);
    result[`initial sync, ${name}: median`] = fmt(percentile(times, 50));
  }
  return result;
}

const engine = floor ? `a stand-in with nothing behind it, ${floor === 'http' ? 'node:http' : 'Fastify'}` : pgAdminUrl ? 'PostgreSQL' : 'SQLite';
console.log(`${floor ? 'Floor' : 'Caduceus'} benchmark on ${engine}, Node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
for (const scenario of scenarios) {
  const run = { serial, fanout, 'initial-sync': initialSync }[scenario];
  if (!run) {
    console.error(`unknown scenario ${scenario}; use serial, fanout or initial-sync`);
    process.exit(2);
  }
  const server = await startServer();
  try {
    console.log(`\n## ${scenario} (${engine}), load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' / ')}`);
    const result = await run(server);
    for (const [k, v] of Object.entries(result)) console.log(`  ${k.padEnd(44)} ${v}`);
  } finally {
    await server.stop();
  }
}
