import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signInWithSecondFactor } from '../../server/test/support/sign-in.ts';
import { createSite, GOOD_PASSWORD, login, uniqueName, type Site, type TestServer } from './support/cli.ts';

describe('caduceus user create', () => {
  test('an administrator created before the server first starts can log in with that password', async (t) => {
    const site = await createSite();
    t.after(() => site.close());

    const res = await site.cli(['user', 'create', 'alice', '--admin', '--displayname', 'Dr Alice Jones', '--password-stdin'], {
      input: `${GOOD_PASSWORD}\n`,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '@alice:test.local\n  administrator: yes\n  roles: admin\n  display name: Dr Alice Jones\n');
    // A fresh SQLite file is called out, in case the command ran with another data_dir than the server.
    if (!site.settings.database_url) assert.match(res.stderr, /^note: there was no database at .*caduceus\.sqlite, so a new one was made/);

    const server = await site.startServer();
    // Administrators always need a second factor: the password opens the sign-in page, which enrols one.
    assert.equal((await login(server, 'alice', GOOD_PASSWORD)).status, 403);
    const signedIn = await signInWithSecondFactor(server, { localpart: 'alice', password: GOOD_PASSWORD });
    assert.equal(signedIn.user_id, '@alice:test.local');
    // No admin API or profile endpoint to ask yet, so read what the server stored.
    const stored = await server.storage.users.get('@alice:test.local');
    assert.equal(stored?.isAdmin, true);
    assert.equal(stored?.displayname, 'Dr Alice Jones');
  });

  describe('while the server runs', { concurrency: true }, () => {
    let site: Site;
    let server: TestServer;
    before(async () => {
      site = await createSite();
      server = await site.startServer();
    });
    after(() => site.close());

    test('a new account can log in at once, with the first line of stdin as its password', async () => {
      const name = uniqueName('bob');
      const res = await site.cli(['user', 'create', name, '--password-stdin'], { input: `${GOOD_PASSWORD}\nnot part of the password\n` });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout.split('\n')[0], `@${name}:test.local`);
      assert.match(res.stdout, /administrator: no/);

      const loggedIn = await login(server, name, GOOD_PASSWORD);
      assert.equal(loggedIn.status, 200, JSON.stringify(loggedIn.body));
      assert.equal((await server.storage.users.get(`@${name}:test.local`))?.isAdmin, false);
    });

    test('a weak password is refused in the policy\'s words, exit 1, and no account is made', async () => {
      const name = uniqueName('weak');
      const res = await site.cli(['user', 'create', name, '--password-stdin'], { input: 'short\n' });
      assert.equal(res.code, 1);
      assert.equal(res.stdout, '');
      assert.equal(res.stderr, 'caduceus: The password must have at least 12 characters\n');
      assert.equal(await server.storage.users.get(`@${name}:test.local`), undefined);
    });

    test('creating the same user twice fails clearly and keeps the first password', async () => {
      const name = uniqueName('carol');
      const first = await site.cli(['user', 'create', name, '--password-stdin'], { input: `${GOOD_PASSWORD}\n` });
      assert.equal(first.code, 0, first.stderr);
      const second = await site.cli(['user', 'create', name, '--admin', '--password-stdin'], { input: 'another long passphrase\n' });
      assert.equal(second.code, 1);
      assert.equal(second.stderr, `caduceus: @${name}:test.local already exists\n`);

      assert.equal((await login(server, name, GOOD_PASSWORD)).status, 200);
      assert.equal((await login(server, name, 'another long passphrase')).status, 403);
    });

    test('without --password-stdin and without a terminal it refuses, exit 2, and makes nothing', async () => {
      const name = uniqueName('dave');
      const res = await site.cli(['user', 'create', name], { input: `${GOOD_PASSWORD}\n` });
      assert.equal(res.code, 2);
      assert.match(res.stderr, /stdin is not a terminal.*--password-stdin/);
      assert.equal(await server.storage.users.get(`@${name}:test.local`), undefined);
    });
  });
});
