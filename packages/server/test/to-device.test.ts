import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sync } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, passwordAuth, registerUser } from './support/users.ts';

const sendToDevice = (api: { put: (path: string, body: unknown) => Promise<any> }, type: string, txnId: string, messages: unknown) =>
  api.put(`/_matrix/client/v3/sendToDevice/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`, { messages });

describe('send-to-device messaging', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a message reaches the device with its sender, and is delivered again until acknowledged', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const first = await sync(bob);
    const res = await sendToDevice(alice.api, 'm.room.encrypted', 'td1', { [bob.userId]: { [bob.deviceId]: { ciphertext: 'opaque' } } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
    const delivered = await sync(bob, { since: first.next_batch });
    assert.deepEqual(delivered.to_device.events, [{ sender: alice.userId, type: 'm.room.encrypted', content: { ciphertext: 'opaque' } }]);
    // The client lost that answer and asks again from the same position: the message is still there.
    const again = await sync(bob, { since: first.next_batch });
    assert.equal(again.to_device.events.length, 1);
    // Asking from the newer position acknowledges it: gone for good.
    const acknowledged = await sync(bob, { since: delivered.next_batch });
    assert.deepEqual(acknowledged.to_device.events, []);
    const fresh = await sync(bob);
    assert.deepEqual(fresh.to_device.events, [], 'an acknowledged message is not delivered to a fresh sync either');
  });

  test('a retried request with the same transaction id is delivered once', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const first = await sync(bob);
    const message = { [bob.userId]: { [bob.deviceId]: { n: 1 } } };
    await Promise.all([1, 2, 3].map(() => sendToDevice(alice.api, 'm.room_key_request', 'same', message)));
    const body = await sync(bob, { since: first.next_batch });
    assert.equal(body.to_device.events.length, 1);
  });

  test('"*" reaches every device of the user; unknown users and devices are skipped', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const phone = await login(server, bob);
    const res = await sendToDevice(alice.api, 'm.key.verification.request', 'all', {
      [bob.userId]: { '*': { hello: true } },
      '@nobody-here:test.local': { ABC: {} },
      '@someone:other.server': { XYZ: {} },
    });
    assert.equal(res.status, 200);
    for (const api of [bob.api, phone.api]) {
      const body = await sync({ ...bob, api });
      assert.deepEqual(body.to_device.events.map((e: any) => e.content), [{ hello: true }]);
    }
    const bad = await sendToDevice(alice.api, 'm.x', 'bad', { 'not-a-user': { A: {} } });
    assert.equal(bad.status, 400);
  });

  test('a long-poll wakes for a to-device message', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const first = await sync(bob);
    const waiting = sync(bob, { since: first.next_batch, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await sendToDevice(alice.api, 'm.room.encrypted', 'wake', { [bob.userId]: { [bob.deviceId]: { k: 'v' } } });
    const body = await waiting;
    assert.equal(body.to_device.events.length, 1);
  });

  test('messages for a deleted device are deleted with it', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const phone = await login(server, bob);
    await sendToDevice(alice.api, 'm.room.encrypted', 'gone', { [bob.userId]: { [phone.device_id]: { secret: 'x' } } });
    await bob.api.post('/_matrix/client/v3/delete_devices', { devices: [phone.device_id], auth: passwordAuth(bob) });
    const rows = await server.storage.toDevice.pending(bob.userId, phone.device_id, 0, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(rows, []);
  });
});
