/** Room helpers for tests, named like the spec: createRoom, join, invite, send, sync. */
import assert from 'node:assert/strict';
import { enc } from './api.ts';
import type { TestServer } from './server.ts';
import { registerUser, type TestUser } from './users.ts';

let txn = 0;

export async function createRoom(user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await user.api.post('/_matrix/client/v3/createRoom', body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id as string;
}

export async function join(user: TestUser, roomId: string) {
  const res = await user.api.post(`/_matrix/client/v3/join/${enc(roomId)}`, {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

export async function invite(user: TestUser, roomId: string, userId: string) {
  const res = await user.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: userId });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

export async function send(user: TestUser, roomId: string, body: string, txnId = `t${process.pid}-${++txn}`): Promise<string> {
  const res = await user.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`, { msgtype: 'm.text', body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

/** Two new users, Alice and Bob, both joined to a room Alice created and invited Bob to. */
export async function roomOfTwo(server: TestServer) {
  const alice = await registerUser(server);
  const bob = await registerUser(server);
  const roomId = await createRoom(alice, { invite: [bob.userId] });
  await join(bob, roomId);
  return { alice, bob, roomId };
}

export async function setState(user: TestUser, roomId: string, type: string, content: Record<string, unknown>, stateKey = '') {
  return user.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, content);
}

export async function sync(user: TestUser, options: { since?: string; timeout?: number; filter?: unknown; fullState?: boolean } = {}) {
  const query = new URLSearchParams({ timeout: String(options.timeout ?? 0) });
  if (options.since) query.set('since', options.since);
  if (options.filter !== undefined) query.set('filter', typeof options.filter === 'string' ? options.filter : JSON.stringify(options.filter));
  if (options.fullState) query.set('full_state', 'true');
  const res = await user.api.get(`/_matrix/client/v3/sync?${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** The bodies of m.room.message events in a sync room section's timeline. */
export const timelineBodies = (room: { timeline: { events: Array<{ type: string; content: { body?: string } }> } } | undefined) =>
  (room?.timeline.events ?? []).filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
