/**
 * The fan-out benchmark's floor: a stand-in "homeserver" that answers only what the fan-out scenario
 * asks (register, createRoom, join, /sync long-polls, sends) from memory, with nothing behind it: no
 * database, no commit, no signing, no access policy, no audit. `BENCH_FLOOR=http npm run bench --
 * fanout` measures it instead of Caduceus, through the same load generator and the same latency
 * measurement, so that what Node itself (and the framework) cost on a machine can be told apart from
 * what the server's own work costs. Not a server to run: tokens are compared as map keys, nothing is
 * validated beyond what the benchmark sends, nothing is kept.
 *
 * BENCH_FLOOR=http: bare node:http; BENCH_FLOOR=fastify: the same answers through Fastify with a
 * logger at warn level and schema-validated query strings and bodies, as Caduceus's routes have.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify from 'fastify';

interface PendingEvent {
  position: number;
  roomId: string;
  event: Record<string, unknown>;
}

class StandInHomeserver {
  #position = 0;
  #nextId = 0;
  readonly #userByToken = new Map<string, string>();
  readonly #membersByRoom = new Map<string, string[]>();
  readonly #pendingByUser = new Map<string, PendingEvent[]>();
  readonly #waiterByUser = new Map<string, () => void>();

  register(name: string) {
    const userId = `@${name}:floor`;
    const token = `floor_${name}_${this.#nextId++}`;
    this.#userByToken.set(token, userId);
    this.#pendingByUser.set(userId, []);
    return { user_id: userId, access_token: token, device_id: 'FLOOR' };
  }

  userOf(authorization: string | undefined): string | undefined {
    return authorization?.startsWith('Bearer ') ? this.#userByToken.get(authorization.slice(7)) : undefined;
  }

  createRoom(userId: string) {
    const roomId = `!room${this.#nextId++}:floor`;
    this.#membersByRoom.set(roomId, [userId]);
    return { room_id: roomId };
  }

  join(userId: string, roomId: string) {
    const members = this.#membersByRoom.get(roomId);
    if (!members) return undefined;
    if (!members.includes(userId)) members.push(userId);
    return { room_id: roomId };
  }

  send(userId: string, roomId: string, type: string, content: unknown) {
    const members = this.#membersByRoom.get(roomId);
    if (!members?.includes(userId)) return undefined;
    const eventId = `$${String(this.#nextId++).padStart(43, '0')}`;
    const position = ++this.#position;
    const event = { type, content, sender: userId, event_id: eventId, origin_server_ts: Date.now(), unsigned: {} };
    for (const member of members) {
      this.#pendingByUser.get(member)!.push({ position, roomId, event });
      const wake = this.#waiterByUser.get(member);
      if (wake) {
        this.#waiterByUser.delete(member);
        wake();
      }
    }
    return { event_id: eventId };
  }

  /** A /sync answer: at once when something is pending or `timeout` is 0, else when something arrives. */
  async sync(userId: string, since: number, timeout: number) {
    const pending = this.#pendingByUser.get(userId)!;
    while (pending.length > 0 && pending[0]!.position <= since) pending.shift();
    if (pending.length === 0 && timeout > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiterByUser.delete(userId);
          resolve();
        }, timeout);
        this.#waiterByUser.set(userId, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#answer(pending);
  }

  #answer(pending: PendingEvent[]) {
    const join: Record<string, unknown> = {};
    for (const { roomId, event } of pending) {
      const room = (join[roomId] ??= {
        timeline: { events: [], limited: false, prev_batch: String(this.#position) },
        state: { events: [] },
        ephemeral: { events: [] },
        account_data: { events: [] },
        unread_notifications: { notification_count: 0, highlight_count: 0 },
        summary: {},
      }) as { timeline: { events: unknown[] }; unread_notifications: { notification_count: number } };
      room.timeline.events.push({ ...event, unsigned: { age: Date.now() - (event.origin_server_ts as number) } });
      room.unread_notifications.notification_count++;
    }
    return {
      next_batch: String(this.#position),
      rooms: { join, invite: {}, leave: {} },
      account_data: { events: [] },
      presence: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: { signed_curve25519: 0 },
    };
  }
}

const homeserver = new StandInHomeserver();
const port = Number(process.env.CADUCEUS_PORT);
const notFound = { errcode: 'M_NOT_FOUND', error: 'not found' };
const unknownToken = { errcode: 'M_UNKNOWN_TOKEN', error: 'unknown token' };

function serveWithNodeHttp() {
  const answer = (response: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
    response.end(text);
  };
  const route = async (request: IncomingMessage, response: ServerResponse, body: string) => {
    const url = new URL(request.url!, 'http://floor');
    const path = url.pathname.replace('/_matrix/client/v3', '');
    if (path === '/register') return answer(response, 200, homeserver.register(JSON.parse(body).username));
    const userId = homeserver.userOf(request.headers.authorization);
    if (!userId) return answer(response, 401, unknownToken);
    if (path === '/sync') {
      const since = Number(url.searchParams.get('since') ?? 0);
      return answer(response, 200, await homeserver.sync(userId, since, Number(url.searchParams.get('timeout') ?? 0)));
    }
    if (path === '/createRoom') return answer(response, 200, homeserver.createRoom(userId));
    const join = /^\/join\/([^/]+)$/.exec(path);
    if (join) {
      const joined = homeserver.join(userId, decodeURIComponent(join[1]!));
      return answer(response, joined ? 200 : 404, joined ?? notFound);
    }
    const send = /^\/rooms\/([^/]+)\/send\/([^/]+)\/[^/]+$/.exec(path);
    if (send) {
      const sent = homeserver.send(userId, decodeURIComponent(send[1]!), decodeURIComponent(send[2]!), JSON.parse(body));
      return answer(response, sent ? 200 : 403, sent ?? { errcode: 'M_FORBIDDEN', error: 'not a member' });
    }
    answer(response, 404, notFound);
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      route(request, response, Buffer.concat(chunks).toString()).catch((err: Error) => answer(response, 400, { errcode: 'M_BAD_JSON', error: err.message }));
    });
  });
  server.keepAliveTimeout = 72_000;
  server.listen(port, '127.0.0.1', () => console.log(`floor (node:http) listening on ${port}`));
}

async function serveWithFastify() {
  const app = Fastify({ logger: { level: 'warn' } });
  const authenticated = (authorization: string | undefined) => {
    const userId = homeserver.userOf(authorization);
    if (!userId) throw Object.assign(new Error('unknown token'), { statusCode: 401 });
    return userId;
  };
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('Cache-Control', 'no-store');
    done(null, payload);
  });
  app.post('/_matrix/client/v3/register', { schema: { body: { type: 'object', properties: { username: { type: 'string' } }, required: ['username'] } } }, async (request) =>
    homeserver.register((request.body as { username: string }).username),
  );
  app.post('/_matrix/client/v3/createRoom', async (request) => homeserver.createRoom(authenticated(request.headers.authorization)));
  app.post('/_matrix/client/v3/join/:roomId', async (request, reply) => {
    const joined = homeserver.join(authenticated(request.headers.authorization), (request.params as { roomId: string }).roomId);
    return joined ?? reply.code(404).send(notFound);
  });
  const syncQuery = {
    type: 'object',
    properties: { since: { type: 'string', maxLength: 64 }, timeout: { type: 'integer', minimum: 0 }, filter: { type: 'string', maxLength: 4096 } },
  };
  app.get('/_matrix/client/v3/sync', { schema: { querystring: syncQuery } }, async (request) => {
    const query = request.query as { since?: string; timeout?: number };
    return homeserver.sync(authenticated(request.headers.authorization), Number(query.since ?? 0), query.timeout ?? 0);
  });
  app.put('/_matrix/client/v3/rooms/:roomId/send/:type/:txnId', { schema: { body: { type: 'object' } } }, async (request, reply) => {
    const { roomId, type } = request.params as { roomId: string; type: string };
    const sent = homeserver.send(authenticated(request.headers.authorization), roomId, type, request.body);
    return sent ?? reply.code(403).send({ errcode: 'M_FORBIDDEN', error: 'not a member' });
  });
  await app.listen({ port, host: '127.0.0.1' });
  console.log(`floor (fastify) listening on ${port}`);
}

if (process.env.BENCH_FLOOR === 'fastify') await serveWithFastify();
else serveWithNodeHttp();
