/**
 * The audit trail is tamper-evident: on a copy of a real server's database, modifying, deleting,
 * inserting or reordering an entry — even rewriting the chain after it — is caught by verification,
 * which names the sequence number. On PostgreSQL the live table refuses UPDATE and DELETE outright;
 * the tamper cases switch that trigger off first, as a superuser could.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { loadConfig, openServer } from '../src/index.ts';
import { verifyAuditTrail, type AuditVerification } from '../src/compliance/audit/index.ts';
import { entryHash } from '../src/compliance/audit/chain.ts';
import { CHECKPOINT_EVERY_MS } from '../src/compliance/audit/trail.ts';
import type { AuditEntryRow } from '../src/storage/index.ts';
import { createRoom, send } from './support/rooms.ts';
import { createTestDatabase, startTestServer, testDatabaseUrl, testEngine } from './support/server.ts';
import { registerUser } from './support/users.ts';

/** Runs SQL statements on one database (a SQLite file or a PostgreSQL URL), as someone with direct access would. */
async function runSql(target: string, statements: string[]): Promise<void> {
  if (testEngine === 'sqlite') {
    const db = new DatabaseSync(target);
    try {
      for (const statement of statements) db.exec(statement);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

const quote = (value: string | number | null) => (value === null ? 'null' : typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`);

function insertStatement(row: AuditEntryRow): string {
  const values = [row.seq, row.ts, row.actorUserId, row.actorDeviceId, row.actorAddress, row.actorUserAgent, row.action, row.outcome, row.target, row.requestId, row.details, row.prevHash, row.hash];
  return `insert into audit_log (seq, ts, actor_user_id, actor_device_id, actor_address, actor_user_agent, action, outcome, target, request_id, details, prev_hash, hash) values (${values.map(quote).join(', ')})`;
}

describe(`audit trail tampering (${testEngine})`, () => {
  let pristine: { target: string; drop: () => Promise<void> };
  let key: { keyId: string; publicKeyBase64: string };
  let rows: AuditEntryRow[];
  let checkpointSeq: number;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    const database = testDatabaseUrl ? await createTestDatabase(testDatabaseUrl) : undefined;
    const server = await startTestServer(database ? { database_url: database.url } : {});
    try {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const roomId = await createRoom(alice, { invite: [bob.userId] });
      for (let i = 0; i < 3; i++) await send(alice, roomId, `before the checkpoint ${i}`);
      // A checkpoint well after the entries the cases tamper with.
      server.clock.advance(CHECKPOINT_EVERY_MS + 1000);
      for (let i = 0; i < 3; i++) await send(alice, roomId, `after the checkpoint ${i}`);
      key = server.services.signingKey;
      rows = await server.storage.audit.entries({ afterSeq: 0, limit: 10_000 });
      const checkpoints = await server.storage.audit.checkpoints();
      checkpointSeq = checkpoints.at(-1)!.seq;
      assert.ok(checkpointSeq > 6, `a late checkpoint (at ${checkpointSeq}, of ${rows.length} entries)`);

      if (database) {
        pristine = { target: database.url, drop: database.drop };
      } else {
        // A consistent copy while the server runs, as an operator would take one.
        const dir = await mkdtemp(join(tmpdir(), 'caduceus-audit-'));
        const file = join(dir, 'pristine.sqlite');
        await runSql((server.config.database as { path: string }).path, [`vacuum into ${quote(file)}`]);
        pristine = { target: file, drop: () => rm(dir, { recursive: true, force: true }) };
      }
    } finally {
      await server.close();
    }
  });

  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    await pristine?.drop();
  });

  /** A fresh copy of the pristine database, with the tampering applied. */
  async function tamperedCopy(statements: string[]): Promise<string> {
    if (testEngine === 'sqlite') {
      const dir = await mkdtemp(join(tmpdir(), 'caduceus-audit-copy-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      await copyFile(pristine.target, join(dir, 'caduceus.sqlite'));
      await runSql(join(dir, 'caduceus.sqlite'), statements);
      return dir;
    }
    const name = `caduceus_audit_copy_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new URL(testDatabaseUrl!);
    await runSql(admin.toString(), [`create database ${name} template ${new URL(pristine.target).pathname.slice(1)}`]);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    cleanups.push(() => runSql(admin.toString(), [`drop database if exists ${name} with (force)`]));
    // As a superuser could: switch the append-only triggers off, tamper, switch them on again.
    await runSql(url.toString(), ['alter table audit_log disable trigger user', ...statements, 'alter table audit_log enable trigger user']);
    return url.toString();
  }

  /** Verifies a copy the way `caduceus audit verify` does: the database opened directly, the server's key. */
  async function verifyCopy(target: string): Promise<AuditVerification> {
    const dataDir = testEngine === 'sqlite' ? target : await mkdtemp(join(tmpdir(), 'caduceus-audit-key-'));
    if (testEngine !== 'sqlite') cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const opened = await openServer(loadConfig({}, { server_name: 'test.local', data_dir: dataDir, log_level: 'silent', ...(testEngine === 'sqlite' ? {} : { database_url: target }) }));
    try {
      return await verifyAuditTrail(opened.storage.audit, key);
    } finally {
      await opened.close();
    }
  }

  const first = (report: AuditVerification) => report.problems[0];

  test('an untouched copy verifies, with its checkpoints', async () => {
    const report = await verifyCopy(await tamperedCopy([]));
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.entries, rows.length);
    assert.equal(report.lastVerifiedCheckpoint, checkpointSeq);
  });

  test('a modified entry is reported at its sequence number', async () => {
    const report = await verifyCopy(await tamperedCopy([`update audit_log set actor_address = '10.0.0.66' where seq = 5`]));
    assert.equal(report.ok, false);
    assert.equal(first(report)?.seq, 5);
    assert.equal(first(report)?.kind, 'modified');
  });

  test('a deleted entry is reported as missing at its sequence number', async () => {
    const report = await verifyCopy(await tamperedCopy([`delete from audit_log where seq = 6`]));
    assert.equal(first(report)?.seq, 6);
    assert.equal(first(report)?.kind, 'missing');
  });

  test('an inserted entry is reported where it went in, even with a correct hash and the rest renumbered', async () => {
    const at = 4;
    const previous = rows.find((r) => r.seq === at - 1)!;
    const forged = { ...previous, seq: at, action: 'auth.login', actorAddress: '10.0.0.66', prevHash: previous.hash };
    const insert = insertStatement({ ...forged, hash: entryHash(forged) });
    const report = await verifyCopy(await tamperedCopy([`update audit_log set seq = seq + 1000000 where seq >= ${at}`, `update audit_log set seq = seq - 999999 where seq >= 1000000`, insert]));
    assert.equal(first(report)?.seq, at);
    assert.equal(first(report)?.kind, 'moved');
  });

  test('two reordered entries are reported at the first of them', async () => {
    const report = await verifyCopy(await tamperedCopy([`update audit_log set seq = -1 where seq = 7`, `update audit_log set seq = 7 where seq = 8`, `update audit_log set seq = 8 where seq = -1`]));
    assert.equal(first(report)?.seq, 7);
    assert.equal(first(report)?.kind, 'moved');
  });

  test('a chain rewritten after a modification is caught by the signed checkpoint', async () => {
    // The attacker changes entry 5 and recomputes every hash after it: the chain holds together,
    // but it no longer ends where the server signed it.
    const statements: string[] = [];
    let prevHash = rows.find((r) => r.seq === 4)!.hash;
    for (const row of rows.filter((r) => r.seq >= 5)) {
      const changed = { ...row, prevHash, ...(row.seq === 5 ? { actorAddress: '10.0.0.66' } : {}) };
      const hash = entryHash(changed);
      statements.push(`update audit_log set actor_address = ${quote(changed.actorAddress)}, prev_hash = ${quote(prevHash)}, hash = ${quote(hash)} where seq = ${row.seq}`);
      prevHash = hash;
    }
    const report = await verifyCopy(await tamperedCopy(statements));
    assert.equal(report.ok, false);
    assert.equal(first(report)?.seq, checkpointSeq);
    assert.equal(first(report)?.kind, 'checkpoint');
  });

  test('a checkpoint with a forged signature is reported', async () => {
    const table = testEngine === 'sqlite' ? [] : ['alter table audit_checkpoints disable trigger user'];
    const report = await verifyCopy(await tamperedCopy([...table, `update audit_checkpoints set signature = 'AAAA' where seq = ${checkpointSeq}`]));
    assert.equal(first(report)?.seq, checkpointSeq);
    assert.match(first(report)!.message, /invalid signature/);
  });

  test('on PostgreSQL the live audit table refuses UPDATE, DELETE and TRUNCATE', { skip: testEngine !== 'postgres' && 'PostgreSQL only' }, async () => {
    const client = new pg.Client({ connectionString: pristine.target });
    await client.connect();
    try {
      for (const statement of ['update audit_log set outcome = \'success\' where seq = 1', 'delete from audit_log where seq = 1', 'truncate audit_log', 'delete from audit_checkpoints']) {
        await assert.rejects(client.query(statement), /append-only/, statement);
      }
      const { rows: count } = await client.query('select count(*)::int as n from audit_log');
      assert.equal(count[0].n, rows.length);
    } finally {
      await client.end();
    }
  });
});
