import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { passwordAuth, registerUser, type TestUser } from './support/users.ts';

const profile = (userId: string, field = '') => `/_matrix/client/v3/profile/${enc(userId)}${field ? `/${field}` : ''}`;

describe('profile', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  async function deactivate(user: TestUser) {
    const challenge = await user.api.post('/_matrix/client/v3/account/deactivate', {});
    assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
    const done = await user.api.post('/_matrix/client/v3/account/deactivate', { auth: passwordAuth(user, challenge.body.session) });
    assert.equal(done.status, 200, JSON.stringify(done.body));
  }

  test('a new user has their localpart as display name and no avatar, which is left out', async () => {
    const alice = await registerUser(server);
    const res = await alice.api.get(profile(alice.userId));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { displayname: alice.localpart });
    const avatar = await alice.api.get(profile(alice.userId, 'avatar_url'));
    assert.equal(avatar.status, 200);
    assert.deepEqual(avatar.body, {});
  });

  test('a user sets their display name and avatar, and another signed-in user sees them', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    assert.equal((await alice.api.put(profile(alice.userId, 'displayname'), { displayname: 'Dr. Alice Ward' })).status, 200);
    const put = await alice.api.put(profile(alice.userId, 'avatar_url'), { avatar_url: 'mxc://test.local/Abc_123-xyz' });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, {});

    const whole = await bob.api.get(profile(alice.userId));
    assert.equal(whole.status, 200);
    assert.deepEqual(whole.body, { displayname: 'Dr. Alice Ward', avatar_url: 'mxc://test.local/Abc_123-xyz' });
    assert.deepEqual((await bob.api.get(profile(alice.userId, 'displayname'))).body, { displayname: 'Dr. Alice Ward' });
    assert.deepEqual((await bob.api.get(profile(alice.userId, 'avatar_url'))).body, { avatar_url: 'mxc://test.local/Abc_123-xyz' });
  });

  test('an empty string removes the display name and the avatar', async () => {
    const alice = await registerUser(server);
    await alice.api.put(profile(alice.userId, 'avatar_url'), { avatar_url: 'mxc://example.org:8448/media1' });
    assert.equal((await alice.api.put(profile(alice.userId, 'displayname'), { displayname: '' })).status, 200);
    assert.equal((await alice.api.put(profile(alice.userId, 'avatar_url'), { avatar_url: '' })).status, 200);
    assert.deepEqual((await alice.api.get(profile(alice.userId))).body, {});
    assert.deepEqual((await alice.api.get(profile(alice.userId, 'displayname'))).body, {});
  });

  test('profiles cannot be read without a token', async () => {
    const alice = await registerUser(server);
    for (const field of ['', 'displayname', 'avatar_url']) {
      const res = await server.api.get(profile(alice.userId, field));
      assert.equal(res.status, 401, field);
      assert.equal(res.body.errcode, 'M_MISSING_TOKEN');
    }
  });

  test("a user cannot change someone else's profile", async () => {
    const alice = await registerUser(server);
    const mallory = await registerUser(server);
    const name = await mallory.api.put(profile(alice.userId, 'displayname'), { displayname: 'Mallory' });
    assert.equal(name.status, 403);
    assert.equal(name.body.errcode, 'M_FORBIDDEN');
    const avatar = await mallory.api.put(profile(alice.userId, 'avatar_url'), { avatar_url: 'mxc://test.local/evil' });
    assert.equal(avatar.status, 403);
    assert.equal(avatar.body.errcode, 'M_FORBIDDEN');
    assert.deepEqual((await alice.api.get(profile(alice.userId))).body, { displayname: alice.localpart });
  });

  test('unknown, remote and deactivated users are not found', async () => {
    const alice = await registerUser(server);
    const gone = await registerUser(server);
    await deactivate(gone);
    for (const userId of ['@nobody-here:test.local', '@someone:elsewhere.example', gone.userId]) {
      for (const field of ['', 'displayname', 'avatar_url']) {
        const res = await alice.api.get(profile(userId, field));
        assert.equal(res.status, 404, `${userId} ${field}`);
        assert.equal(res.body.errcode, 'M_NOT_FOUND');
      }
    }
  });

  test('an invalid user id in the path is refused', async () => {
    const alice = await registerUser(server);
    for (const userId of ['alice', '@alice', '@:test.local', '@alice:bad/server']) {
      const res = await alice.api.get(profile(userId));
      assert.equal(res.status, 400, userId);
      assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    }
    const put = await alice.api.put(profile('not-a-user-id', 'displayname'), { displayname: 'x' });
    assert.equal(put.status, 400);
    assert.equal(put.body.errcode, 'M_INVALID_PARAM');
  });

  test('display names may have up to 256 characters, counted as characters not bytes', async () => {
    const alice = await registerUser(server);
    const longest = '🩺'.repeat(256);
    assert.equal((await alice.api.put(profile(alice.userId, 'displayname'), { displayname: longest })).status, 200);
    assert.deepEqual((await alice.api.get(profile(alice.userId, 'displayname'))).body, { displayname: longest });
    const tooLong = await alice.api.put(profile(alice.userId, 'displayname'), { displayname: 'a'.repeat(257) });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.errcode, 'M_INVALID_PARAM');
    assert.deepEqual((await alice.api.get(profile(alice.userId, 'displayname'))).body, { displayname: longest });
  });

  test('an avatar must be an mxc:// URI', async () => {
    const alice = await registerUser(server);
    for (const avatarUrl of [
      'https://example.org/me.png',
      'mxc://test.local',
      'mxc://test.local/',
      'mxc://test.local/a/b',
      'mxc://test.local/bad.id',
      'mxc://bad server/abc',
      'MXC://test.local/abc',
    ]) {
      const res = await alice.api.put(profile(alice.userId, 'avatar_url'), { avatar_url: avatarUrl });
      assert.equal(res.status, 400, avatarUrl);
      assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    }
    assert.deepEqual((await alice.api.get(profile(alice.userId, 'avatar_url'))).body, {});
  });

  test('bodies of the wrong shape are refused, not coerced', async () => {
    const alice = await registerUser(server);
    const number = await alice.api.put(profile(alice.userId, 'displayname'), { displayname: 42 });
    assert.equal(number.status, 400);
    assert.equal(number.body.errcode, 'M_BAD_JSON');
    const nul = await alice.api.put(profile(alice.userId, 'avatar_url'), { avatar_url: null });
    assert.equal(nul.status, 400);
    assert.equal(nul.body.errcode, 'M_BAD_JSON');
    const missing = await alice.api.put(profile(alice.userId, 'displayname'), { name: 'x' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
    const notJson = await alice.api.put(profile(alice.userId, 'displayname'), '{"displayname":');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.errcode, 'M_NOT_JSON');
    assert.deepEqual((await alice.api.get(profile(alice.userId))).body, { displayname: alice.localpart });
  });
});
