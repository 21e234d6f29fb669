import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSite, GOOD_PASSWORD, uniqueName, type Site, type TestServer } from './support/cli.ts';

describe('organisation roles from the command line', { concurrency: true }, () => {
  let site: Site;
  let server: TestServer;
  before(async () => {
    site = await createSite();
    server = await site.startServer();
  });
  after(() => site.close());

  test('user create --role, repeated, gives the account those roles', async () => {
    const name = uniqueName('drjones');
    const res = await site.cli(['user', 'create', name, '--role', 'clinician', '--role', 'security_officer', '--password-stdin'], { input: `${GOOD_PASSWORD}\n` });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^ {2}roles: clinician, security_officer$/m);
    assert.deepEqual(await server.storage.roles.rolesOf(`@${name}:test.local`), ['clinician', 'security_officer']);
  });

  test('user create --role admin makes an administrator, like --admin', async () => {
    const name = uniqueName('root');
    const res = await site.cli(['user', 'create', name, '--role', 'admin', '--password-stdin'], { input: `${GOOD_PASSWORD}\n` });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /administrator: yes/);
    assert.equal((await server.storage.users.get(`@${name}:test.local`))?.isAdmin, true);
  });

  test('an unknown role is refused by name, exit 2, and no account is made', async () => {
    const name = uniqueName('nurse');
    const res = await site.cli(['user', 'create', name, '--role', 'nurse', '--password-stdin'], { input: `${GOOD_PASSWORD}\n` });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown role "nurse" \(roles: admin, security_officer, clinician, staff, patient, service\)/);
    assert.equal(await server.storage.users.get(`@${name}:test.local`), undefined);
  });

  test('user roles sets, shows and clears roles, and each change is on the audit trail', async () => {
    const name = uniqueName('pat');
    assert.equal((await site.cli(['user', 'create', name, '--password-stdin'], { input: `${GOOD_PASSWORD}\n` })).code, 0);
    const userId = `@${name}:test.local`;

    const set = await site.cli(['user', 'roles', name, 'patient']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, `${userId}\n  roles: patient\n`);
    assert.deepEqual(await server.storage.roles.rolesOf(userId), ['patient']);

    const shown = await site.cli(['user', 'roles', userId]);
    assert.equal(shown.stdout, `${userId}\n  roles: patient\n`);

    const cleared = await site.cli(['user', 'roles', name, '--clear']);
    assert.equal(cleared.stdout, `${userId}\n  roles: (none)\n`);
    assert.deepEqual(await server.storage.roles.rolesOf(userId), []);

    const entries = (await server.storage.audit.entries({ afterSeq: 0, limit: 100_000 })).filter(
      (e) => e.action === 'admin.users.roles' && JSON.parse(e.target).userId === userId,
    );
    assert.deepEqual(entries.map((e) => JSON.parse(e.details)), [{ before: '', after: 'patient' }, { before: 'patient', after: '' }]);
  });

  test('user roles for an unknown user fails clearly, exit 1', async () => {
    const res = await site.cli(['user', 'roles', 'nobody-here', 'staff']);
    assert.equal(res.code, 1);
    assert.equal(res.stderr, 'caduceus: @nobody-here:test.local does not exist or is deactivated\n');
  });

  test('user roles with roles and --clear together is a usage error', async () => {
    const res = await site.cli(['user', 'roles', 'someone', 'staff', '--clear']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /give roles or --clear, not both/);
  });
});
