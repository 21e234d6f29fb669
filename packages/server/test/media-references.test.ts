/**
 * Which room an upload was sent into, and which events use it (media_references), so redaction and
 * retention can remove media together with the messages. Plaintext events are read by the server;
 * encrypted ones only link what the sender declares (MSC3911 `attach_media`). Only the uploader's own
 * media is linked by their events.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { createRoom, invite, join, setState } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

const ATTACH = 'org.matrix.msc3911.attach_media';

describe('media linked to the events that send it', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let txn = 0;

  const upload = async (user: TestUser) => {
    const res = await fetch(`${server.url}/_matrix/media/v3/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.accessToken}`, 'Content-Type': 'image/png' },
      body: randomBytes(64),
    });
    const body = (await res.json()) as { content_uri: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    return { uri: body.content_uri, mediaId: body.content_uri.split('/').pop()! };
  };

  const sendEvent = async (user: TestUser, room: string, type: string, content: Record<string, unknown>, query = '') => {
    const res = await user.api.put(`/_matrix/client/v3/rooms/${enc(room)}/send/${enc(type)}/r${++txn}${query}`, content);
    return res;
  };
  const send = async (user: TestUser, room: string, type: string, content: Record<string, unknown>, query = '') => {
    const res = await sendEvent(user, room, type, content, query);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.event_id as string;
  };

  const roomOf = async (mediaId: string) => (await server.storage.media.get(mediaId))?.roomId ?? null;
  const eventsUsing = async (mediaId: string) => (await server.storage.media.referencesOf(mediaId)).map((r) => r.eventId);

  before(async () => {
    server = await startTestServer();
    alice = await registerUser(server);
    bob = await registerUser(server);
    roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
  });
  after(async () => server?.close());

  test('an image message links its upload and its thumbnail to the event and the room', async () => {
    const image = await upload(alice);
    const thumb = await upload(alice);
    const notSent = await upload(alice);
    const eventId = await send(alice, roomId, 'm.room.message', { msgtype: 'm.image', body: 'xray.png', url: image.uri, info: { mimetype: 'image/png', thumbnail_url: thumb.uri } });
    assert.equal(await roomOf(image.mediaId), roomId);
    assert.equal(await roomOf(thumb.mediaId), roomId);
    assert.deepEqual(await eventsUsing(image.mediaId), [eventId]);
    assert.deepEqual(await eventsUsing(thumb.mediaId), [eventId]);
    assert.deepEqual(await server.storage.media.mediaOnlyReferencedBy(eventId), [image.mediaId, thumb.mediaId].sort());
    assert.equal(await roomOf(notSent.mediaId), null, 'an upload no event uses has no room');
  });

  test('an encrypted attachment sent in a plaintext event links file.url and thumbnail_file.url', async () => {
    const file = await upload(alice);
    const thumb = await upload(alice);
    const eventId = await send(alice, roomId, 'm.room.message', {
      msgtype: 'm.file',
      body: 'letter.pdf',
      file: { url: file.uri, v: 'v2', key: {}, iv: 'AAAA', hashes: { sha256: 'x' } },
      info: { thumbnail_file: { url: thumb.uri, v: 'v2', key: {}, iv: 'AAAA', hashes: { sha256: 'y' } } },
    });
    assert.deepEqual(await eventsUsing(file.mediaId), [eventId]);
    assert.deepEqual(await eventsUsing(thumb.mediaId), [eventId]);
  });

  test("someone else's media named in your event is not linked and keeps its room", async () => {
    const bobs = await upload(bob);
    const eventId = await send(alice, roomId, 'm.room.message', { msgtype: 'm.image', body: 'not mine', url: bobs.uri });
    assert.equal(await roomOf(bobs.mediaId), null);
    assert.deepEqual(await eventsUsing(bobs.mediaId), []);
    assert.deepEqual(await server.storage.media.mediaOnlyReferencedBy(eventId), []);

    const other = await createRoom(alice);
    const own = await upload(bob);
    await send(bob, roomId, 'm.room.message', { msgtype: 'm.image', body: 'mine', url: own.uri });
    await send(alice, other, 'm.room.message', { msgtype: 'm.image', body: 'forwarded by alice', url: own.uri });
    assert.equal(await roomOf(own.mediaId), roomId, "alice's event does not move bob's media into her room");
    assert.equal((await eventsUsing(own.mediaId)).length, 1);
  });

  test('media sent into two rooms keeps the first room; it is referenced by both events, so neither alone frees it', async () => {
    const image = await upload(alice);
    const first = await send(alice, roomId, 'm.room.message', { msgtype: 'm.image', body: 'a', url: image.uri });
    const otherRoom = await createRoom(alice);
    const second = await send(alice, otherRoom, 'm.room.message', { msgtype: 'm.image', body: 'b', url: image.uri });
    assert.equal(await roomOf(image.mediaId), roomId);
    const references = (await server.storage.media.referencesOf(image.mediaId)).map((r) => `${r.roomId} ${r.eventId}`);
    assert.deepEqual(references.sort(), [`${roomId} ${first}`, `${otherRoom} ${second}`].sort());
    assert.deepEqual(await server.storage.media.mediaOnlyReferencedBy(first), []);
  });

  test('edits, formatted bodies and room avatars link too; a retried send links once; other servers are ignored', async () => {
    const inline = await upload(alice);
    const sameIdElsewhere = await upload(alice);
    const eventId = await send(alice, roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: 'see image',
      format: 'org.matrix.custom.html',
      formatted_body: `<img src="${inline.uri}" alt="scan"> and <img src="mxc://elsewhere.example/${sameIdElsewhere.mediaId}">`,
    });
    assert.deepEqual(await eventsUsing(inline.mediaId), [eventId]);
    assert.deepEqual(await eventsUsing(sameIdElsewhere.mediaId), [], 'an mxc:// URI of another server names other media');

    const edited = await upload(alice);
    const edit = await send(alice, roomId, 'm.room.message', { 'msgtype': 'm.image', 'body': '* x', 'm.new_content': { msgtype: 'm.image', body: 'x', url: edited.uri }, 'm.relates_to': { rel_type: 'm.replace', event_id: eventId } });
    assert.deepEqual(await eventsUsing(edited.mediaId), [edit]);

    const avatar = await upload(alice);
    const res = await setState(alice, roomId, 'm.room.avatar', { url: avatar.uri });
    assert.equal(res.status, 200);
    assert.deepEqual(await eventsUsing(avatar.mediaId), [res.body.event_id]);

    const retried = await upload(alice);
    const again = `retry${++txn}`;
    const content = { msgtype: 'm.image', body: 'r', url: retried.uri };
    const one = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${again}`, content);
    const two = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${again}`, content);
    assert.equal(one.body.event_id, two.body.event_id);
    assert.deepEqual(await eventsUsing(retried.mediaId), [one.body.event_id]);
  });

  test('an encrypted event links nothing by itself; declared attachments (MSC3911 attach_media) are linked', async () => {
    const encrypted = await createRoom(alice, { invite: [bob.userId], initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
    await join(bob, encrypted);
    const file = await upload(alice);
    const thumb = await upload(alice);
    const ciphertext = { algorithm: 'm.megolm.v1.aes-sha2', sender_key: 'k', device_id: alice.deviceId, session_id: 's', ciphertext: 'AwgAEn…opaque' };
    await send(alice, encrypted, 'm.room.encrypted', ciphertext);
    assert.equal(await roomOf(file.mediaId), null, 'the server cannot see which upload a ciphertext carries');

    const query = `?${ATTACH}=${enc(file.uri)}&${ATTACH}=${enc(thumb.uri)}`;
    const eventId = await send(alice, encrypted, 'm.room.encrypted', ciphertext, query);
    assert.equal(await roomOf(file.mediaId), encrypted);
    assert.deepEqual(await eventsUsing(file.mediaId), [eventId]);
    assert.deepEqual(await eventsUsing(thumb.mediaId), [eventId]);
    const single = await upload(alice);
    const one = await send(alice, encrypted, 'm.room.encrypted', ciphertext, `?${ATTACH}=${enc(single.uri)}`);
    assert.deepEqual(await eventsUsing(single.mediaId), [one]);
  });

  test('declaring media that is not yours, unknown or of another server is 400 M_INVALID_PARAM, and nothing is sent', async () => {
    const bobs = await upload(bob);
    const before = (await server.storage.events.page(roomId, Number.MAX_SAFE_INTEGER, 'b', 1))[0]!.eventId;
    for (const uri of [bobs.uri, `mxc://${server.config.serverName}/doesNotExist`, `mxc://elsewhere.example/${bobs.mediaId}`, 'https://example.org/x.png']) {
      const res = await sendEvent(alice, roomId, 'm.room.encrypted', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x' }, `?${ATTACH}=${enc(uri)}`);
      assert.equal(res.status, 400, uri);
      assert.equal(res.body.errcode, 'M_INVALID_PARAM', uri);
    }
    const tooMany = Array.from({ length: 21 }, () => `${ATTACH}=${enc(bobs.uri)}`).join('&');
    const res = await sendEvent(alice, roomId, 'm.room.encrypted', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x' }, `?${tooMany}`);
    assert.equal(res.status, 400);
    assert.equal((await server.storage.events.page(roomId, Number.MAX_SAFE_INTEGER, 'b', 1))[0]!.eventId, before, 'no event was appended');
    assert.equal(await roomOf(bobs.mediaId), null);
  });
});
