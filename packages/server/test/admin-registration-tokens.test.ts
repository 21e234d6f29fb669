import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, auditEntries, startStaffServer } from './support/admin.ts';
import type { TestServer } from './support/server.ts';
import type { TestUser } from './support/users.ts';

describe('admin API: registration tokens', () => {
  let server: TestServer, admin: TestUser, officer: TestUser, clinician: TestUser;
  before(async () => ({ server, admin, officer, clinician } = await startStaffServer()));
  after(() => server.close());

  test('an administrator creates, lists and deletes tokens; the audit trail does not hold the token', async () => {
    const created = await admin.api.post(`${ADMIN}/registration_tokens`, { uses_allowed: 2 });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.match(created.body.token, /^[A-Za-z0-9._~-]{16}$/);
    assert.equal(created.body.uses_allowed, 2);
    assert.equal(created.body.created_by, admin.userId);

    const named = await admin.api.post(`${ADMIN}/registration_tokens`, { token: 'ward-7', expiry_time: Date.now() + 60_000 });
    assert.equal(named.status, 200);
    const dup = await admin.api.post(`${ADMIN}/registration_tokens`, { token: 'ward-7' });
    assert.equal(dup.status, 400);

    const list = await admin.api.get(`${ADMIN}/registration_tokens`);
    assert.deepEqual(list.body.registration_tokens.map((t: { token: string }) => t.token).sort(), [created.body.token, 'ward-7'].sort());

    assert.equal((await admin.api.delete(`${ADMIN}/registration_tokens/ward-7`)).status, 200);
    assert.equal((await admin.api.delete(`${ADMIN}/registration_tokens/ward-7`)).status, 404);
    const entries = await auditEntries(officer, 'admin.registration_tokens.');
    assert.deepEqual(new Set(entries.map((e) => e.action)), new Set(['admin.registration_tokens.create', 'admin.registration_tokens.list', 'admin.registration_tokens.delete']));
    assert.ok(!JSON.stringify(entries).includes(created.body.token));
  });

  test('permission failures and bad input', async () => {
    assert.equal((await clinician.api.get(`${ADMIN}/registration_tokens`)).status, 403);
    assert.equal((await officer.api.post(`${ADMIN}/registration_tokens`, {})).status, 403);
    assert.equal((await server.api.get(`${ADMIN}/registration_tokens`)).status, 401);
    const bad = await admin.api.post(`${ADMIN}/registration_tokens`, { uses_allowed: 0 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_BAD_JSON');
    assert.equal((await admin.api.delete(`${ADMIN}/registration_tokens/${encodeURIComponent('a b')}`)).body.errcode, 'M_INVALID_PARAM');
  });
});
