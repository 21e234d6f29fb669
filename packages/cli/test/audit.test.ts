import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createSite, GOOD_PASSWORD, login, uniqueName, type Site, type TestServer } from './support/cli.ts';

/** Runs SQL on the site's database directly, as someone with access to it (on PostgreSQL, past the append-only trigger). */
async function tamper(site: Site, statement: string) {
  const url = site.settings.database_url;
  if (!url) {
    const db = new DatabaseSync(join(site.dataDir, 'caduceus.sqlite'));
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: String(url) });
  await client.connect();
  try {
    await client.query('alter table audit_log disable trigger user');
    await client.query(statement);
    await client.query('alter table audit_log enable trigger user');
  } finally {
    await client.end();
  }
}

describe('caduceus audit verify and audit export', () => {
  let site: Site;
  let server: TestServer;
  let alice: string;
  let bob: string;
  let roomId: string;
  before(async () => {
    site = await createSite({ registration: 'closed', mfa: 'optional' });
    server = await site.startServer();
    const names = [uniqueName('alice'), uniqueName('bob')];
    for (const name of names) {
      const created = await site.cli(['user', 'create', name, '--password-stdin'], { input: `${GOOD_PASSWORD}\n` });
      assert.equal(created.code, 0, created.stderr);
    }
    alice = `@${names[0]}:test.local`;
    bob = `@${names[1]}:test.local`;
    const session = await login(server, names[0]!, GOOD_PASSWORD);
    assert.equal(session.status, 200, JSON.stringify(session.body));
    const api = server.api.withToken(session.body.access_token);
    roomId = (await api.post('/_matrix/client/v3/createRoom', { invite: [bob] })).body.room_id;
    await api.put(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, { msgtype: 'm.text', body: 'secret-marker-in-a-message' });
    const failed = await login(server, names[1]!, 'wrong password entirely');
    assert.equal(failed.status, 403);
  });
  after(() => site.close());

  test('export --format jsonl writes one entry per line, filtered by user, without message content', async () => {
    const res = await site.cli(['audit', 'export', '--format', 'jsonl', '--user', bob]);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 3);
    // Bob never acted successfully here: every entry names him as the one concerned.
    for (const line of lines) assert.ok(line.actor.user_id === bob || line.target.userId === bob, JSON.stringify(line));
    assert.ok(lines.some((l) => l.action === 'auth.login' && l.outcome === 'failure'));
    assert.ok(lines.some((l) => l.action === 'room.member' && l.details.membership === 'invite'));

    const all = await site.cli(['audit', 'export', '--format', 'jsonl']);
    assert.ok(!all.stdout.includes('secret-marker-in-a-message'));
    assert.ok(all.stdout.includes('"action":"event.send"'));
  });

  test('export --format csv has a header and defuses spreadsheet formulas; --room filters by room', async () => {
    const res = await site.cli(['audit', 'export', '--format', 'csv', '--room', roomId]);
    assert.equal(res.code, 0, res.stderr);
    const [header, ...rows] = res.stdout.trimEnd().split('\r\n');
    assert.equal(header, 'seq,time,actor_user_id,actor_device_id,actor_address,actor_user_agent,action,outcome,target,request_id,details,prev_hash,hash');
    assert.ok(rows.length >= 3);
    assert.ok(rows.every((r) => r.includes(roomId)));
  });

  test('export --format fhir writes a FHIR R4 Bundle of AuditEvents to --out, and refuses to overwrite it', async () => {
    const out = join(site.dataDir, 'audit-fhir.json');
    const res = await site.cli(['audit', 'export', '--format', 'fhir', '--from', '2000-01-01', '--out', out]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /entries written to/);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const bundle = JSON.parse(await readFile(out, 'utf8'));
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'collection');
    const events = bundle.entry.map((e: { resource: Record<string, any> }) => e.resource);
    assert.ok(events.length >= 5);
    assert.ok(events.every((e: Record<string, any>) => e.resourceType === 'AuditEvent' && typeof e.recorded === 'string' && e.agent.length === 1 && e.source.observer));
    const signIn = events.find((e: Record<string, any>) => e.subtype[0].code === 'auth.login' && e.outcome === '0');
    assert.equal(signIn.agent[0].who.identifier.value, alice);
    assert.equal(signIn.type.code, '110114');

    const again = await site.cli(['audit', 'export', '--format', 'fhir', '--out', out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists already/);
  });

  test('an export is itself recorded in the audit trail', async () => {
    await site.cli(['audit', 'export', '--format', 'jsonl', '--room', roomId]);
    const res = await site.cli(['audit', 'export', '--format', 'jsonl']);
    const exports = res.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)).filter((l) => l.action === 'audit.export');
    assert.ok(exports.some((e) => e.target.roomId === roomId && e.details.via === 'cli' && e.actor.user_agent.startsWith('caduceus-cli')));
  });

  test('wrong options are usage errors (exit 2)', async () => {
    for (const args of [['audit', 'export'], ['audit', 'export', '--format', 'xml'], ['audit', 'export', '--format', 'csv', '--from', 'yesterday'], ['audit', 'export', '--format', 'csv', '--user', 'bob']]) {
      const res = await site.cli(args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    }
  });

  // Last: it alters the database.
  test('verify says the trail is intact, then names the entry that was modified', async () => {
    const ok = await site.cli(['audit', 'verify']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /^ok: the audit trail is intact\n/);
    assert.match(ok.stdout, /checkpoints: \d+ \(last good one at entry \d+/);

    await tamper(site, `update audit_log set actor_address = '10.6.6.6' where seq = 3`);
    const bad = await site.cli(['audit', 'verify']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^FAILED: the audit trail has been altered\n/);
    assert.match(bad.stdout, /entry 3: entry 3 does not match its hash \(modified\)/);
    assert.match(bad.stderr, /the first at entry 3\n$/);
  });
});
