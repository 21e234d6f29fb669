import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSite, GOOD_PASSWORD, uniqueName, type Site, type TestServer } from './support/cli.ts';
import { registerUser } from '../../server/test/support/users.ts';
import { createRoom } from '../../server/test/support/rooms.ts';
import type { Role } from '@caduceus/core';

describe('caduceus admin commands over the admin API', () => {
  let site: Site;
  let server: TestServer;
  let adminToken: string;
  const withRoles = async (roles: Role[]) => {
    const user = await registerUser(server as never);
    await server.storage.roles.setRoles(user.userId, roles);
    return user;
  };
  const asAdmin = (args: string[], input?: string) => site.cli([...args, '--server', server.url], { env: { CADUCEUS_ADMIN_TOKEN: adminToken }, input });

  before(async () => {
    site = await createSite({ registration: 'open', room_encryption: 'optional' });
    server = await site.startServer();
    adminToken = (await withRoles(['admin'])).accessToken;
  });
  after(() => site.close());

  test('users create with roles, then users list finds it and users roles shows the roles', async () => {
    const localpart = uniqueName('nurse');
    const created = await asAdmin(['users', 'create', localpart, '--role', 'clinician', '--role', 'staff', '--password-stdin'], `${GOOD_PASSWORD}\n`);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, `@${localpart}:test.local\n  roles: clinician, staff\n`);

    const listed = await asAdmin(['users', 'list', '--search', localpart]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^@${localpart}:test.local\\tclinician,staff\\tactive\\t`));

    const roles = await asAdmin(['users', 'roles', `@${localpart}:test.local`, '--set', 'patient']);
    assert.equal(roles.stdout, `@${localpart}:test.local\n  roles: patient\n`);
  });

  test('rooms block makes the room refuse joins; policies set applies at once', async () => {
    const owner = await registerUser(server as never);
    const roomId = await createRoom(owner, { preset: 'public_chat' });
    const blocked = await asAdmin(['rooms', 'block', roomId]);
    assert.equal(blocked.code, 0, blocked.stderr);
    const outsider = await registerUser(server as never);
    assert.equal((await outsider.api.post(`/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {})).status, 403);
    assert.match((await asAdmin(['rooms', 'list'])).stdout, new RegExp(`${roomId.replace(/[!.]/g, '\\$&')}\\t1 joined\\tunlisted\\tBLOCKED`));

    const set = await asAdmin(['policies', 'set', 'room_encryption=required', 'session_idle_timeout_ms=15m']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^room_encryption="required"\t\(set by an administrator; configured: "optional"\)$/m);
    assert.match(set.stdout, /^session_idle_timeout_ms=900000\t/m);
    assert.equal((await owner.api.post('/_matrix/client/v3/createRoom', {})).status, 403);
    const reset = await asAdmin(['policies', 'set', 'room_encryption=default', 'session_idle_timeout_ms=default']);
    assert.match(reset.stdout, /^room_encryption="optional"\t\(from the configuration\)$/m);
  });

  test('a security officer runs the compliance report from a token file; a clinician is refused', async () => {
    const officer = await withRoles(['security_officer']);
    const tokenFile = joinPath(site.dataDir, 'officer.token');
    await writeFile(tokenFile, `${officer.accessToken}\n`, { mode: 0o600 });
    const report = await site.cli(['report', 'compliance', '--server', server.url, '--token-file', tokenFile]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /164\.312\(b\) Audit controls\s+ON/);
    assert.match(report.stdout, /Audit chain: intact/);
    assert.match(report.stdout, new RegExp(`Users without a second factor: \\d+\\n(.|\\n)*${officer.userId.replace(/[.]/g, '\\.')}`));

    const search = await site.cli(['audit', 'search', '--action', 'admin.report.compliance', '--server', server.url, '--token-file', tokenFile]);
    assert.match(search.stdout, new RegExp(`\\t${officer.userId.replace(/[.]/g, '\\.')}\\tadmin\\.report\\.compliance\\tsuccess\\t`));

    const clinician = await withRoles(['clinician']);
    const refused = await site.cli(['users', 'list', '--server', server.url], { env: { CADUCEUS_ADMIN_TOKEN: clinician.accessToken } });
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'caduceus: You are not allowed to use this part of the admin API\n');
  });

  test('departments create, set-account, add-member, show, update, list and delete', async () => {
    const id = uniqueName('ward').toLowerCase();
    const desk = await withRoles(['service']);
    const nurse = await withRoles(['clinician']);
    const created = await asAdmin(['departments', 'create', id, '--name', 'Cardiology', '--description', 'Heart ward']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, `${id}\n  name: Cardiology\n  description: Heart ward\n  functional account: (none)\n  members: (none)\n`);
    assert.equal((await asAdmin(['departments', 'set-account', id, desk.userId])).code, 0);
    assert.equal((await asAdmin(['departments', 'add-member', id, nurse.userId])).stdout, `${nurse.userId} added to ${id}\n`);
    const shown = await asAdmin(['departments', 'show', id]);
    assert.equal(shown.stdout, `${id}\n  name: Cardiology\n  description: Heart ward\n  functional account: ${desk.userId}\n  members: ${nurse.userId}\n`);
    const updated = await asAdmin(['departments', 'update', id, '--name', 'Cardiology East', '--no-description']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /name: Cardiology East\n  functional account/);
    assert.equal((await asAdmin(['departments', 'list', '--search', id])).stdout, `${id}\tCardiology East\t${desk.userId}\n`);
    assert.equal((await asAdmin(['departments', 'remove-member', id, nurse.userId])).stdout, `${nurse.userId} removed from ${id}\n`);
    assert.equal((await asAdmin(['departments', 'set-account', id])).code, 2);
    assert.equal((await asAdmin(['departments', 'update', id])).code, 2);
    assert.equal((await asAdmin(['departments', 'delete', id])).stdout, `${id} deleted\n`);
    const gone = await asAdmin(['departments', 'show', id]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'caduceus: No such department\n');
  });

  test('without a token the command stops before calling the server; a bad token is explained', async () => {
    const none = await site.cli(['users', 'list', '--server', server.url]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /CADUCEUS_ADMIN_TOKEN/);
    const wrong = await site.cli(['users', 'list', '--server', server.url], { env: { CADUCEUS_ADMIN_TOKEN: 'cad_wrong' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /token is wrong or has expired/);
    // The default server is the configuration's public URL.
    const unreachable = await site.cli(['users', 'list'], { env: { CADUCEUS_ADMIN_TOKEN: adminToken, CADUCEUS_PUBLIC_URL: 'http://127.0.0.1:1' } });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:1/);
  });
});
