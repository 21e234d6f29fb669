import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, auditEntries, startStaffServer } from './support/admin.ts';
import type { TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

describe('admin API: server notices and the compliance report', () => {
  let server: TestServer, admin: TestUser, officer: TestUser, clinician: TestUser;
  before(async () => ({ server, admin, officer, clinician } = await startStaffServer({ room_encryption: 'required', mfa: 'required', session_idle_timeout: '30m', session_max_lifetime: '0' })));
  after(() => server.close());

  test('a notice reaches every active user as an invite to their server notices room', async () => {
    const user = await registerUser(server);
    const res = await admin.api.post(`${ADMIN}/notices`, { body: 'Maintenance tonight 22:00-23:00' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.recipients >= 4);
    const sync = await user.api.get('/_matrix/client/v3/sync?timeout=0');
    assert.equal(Object.keys(sync.body.rooms?.invite ?? {}).length, 1);
    const entries = await auditEntries(officer, 'admin.notices.send');
    assert.ok(entries.some((e) => e.outcome === 'success' && e.details.recipients === res.body.recipients));
    assert.ok(!JSON.stringify(entries).includes('Maintenance'));
  });

  test('notices: permission failures and bad input', async () => {
    assert.equal((await officer.api.post(`${ADMIN}/notices`, { body: 'x' })).status, 403);
    assert.equal((await clinician.api.post(`${ADMIN}/notices`, { body: 'x' })).status, 403);
    assert.equal((await server.api.post(`${ADMIN}/notices`, { body: 'x' })).status, 401);
    const empty = await admin.api.post(`${ADMIN}/notices`, { body: '' });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.errcode, 'M_BAD_JSON');
  });

  test('the compliance report maps the live settings to the HIPAA technical safeguards', async () => {
    const res = await officer.api.get(`${ADMIN}/report/compliance`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const status = Object.fromEntries(res.body.safeguards.map((s: { id: string; status: string }) => [s.id, s.status]));
    assert.deepEqual(status, {
      '164.312(a)(2)(i)': 'on',
      '164.312(a)(2)(ii)': 'off',
      '164.312(a)(2)(iii)': 'partial',
      '164.312(a)(2)(iv)': 'on',
      '164.312(b)': 'on',
      '164.312(c)': 'on',
      '164.312(d)': 'on',
      '164.312(e)(1)': 'off',
    });
    assert.equal(res.body.users.admins, 1);
    assert.equal(res.body.users.security_officers, 1);
    for (const user of [admin, officer, clinician]) assert.ok(res.body.users.without_mfa.includes(user.userId));
    assert.equal(res.body.audit_chain.ok, true);

    // Switching a policy changes the report at once.
    assert.equal((await admin.api.put(`${ADMIN}/policies`, { room_encryption: 'optional', mfa: 'optional' })).status, 200);
    const after = await admin.api.get(`${ADMIN}/report/compliance`);
    const changed = Object.fromEntries(after.body.safeguards.map((s: { id: string; status: string }) => [s.id, s.status]));
    assert.equal(changed['164.312(a)(2)(iv)'], 'partial');
    assert.equal(changed['164.312(d)'], 'partial');
    const entries = await auditEntries(officer, 'admin.report.compliance');
    assert.equal(entries.filter((e) => e.outcome === 'success').length, 2);
  });

  test('the report: a plain user gets 403, without a token 401', async () => {
    assert.equal((await clinician.api.get(`${ADMIN}/report/compliance`)).status, 403);
    assert.equal((await server.api.get(`${ADMIN}/report/compliance`)).status, 401);
  });
});
