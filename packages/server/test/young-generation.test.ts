/**
 * The server sizes V8's young generation as configured (`gc_semi_space_mb`) by replacing its own
 * process with one started with `--max-semi-space-size`: same process id (a supervisor's `kill -9`
 * and signals still reach the server), and the operator's own choice in NODE_OPTIONS wins.
 * Read from /proc, so Linux only.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { semiSpaceSizeChosen } from '../src/young-generation.ts';
import { startChildServer, stopChildServers, type ChildServerOptions } from './support/child-server.ts';
import { createTestDatabase, testDatabaseUrl, testEngine } from './support/server.ts';

const skip = existsSync('/proc/self/cmdline') ? false : 'reads the server process\'s command line from /proc (Linux)';
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  await stopChildServers();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** Starts a server process as deployed and returns it with its command line as the kernel sees it. */
async function serverWith(env: Record<string, string>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'caduceus-heap-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const database = testDatabaseUrl ? await createTestDatabase(testDatabaseUrl) : undefined;
  if (database) cleanups.push(database.drop);
  const options: ChildServerOptions = { dataDir, databaseUrl: database?.url, env };
  const server = await startChildServer(options);
  const commandLine = (await readFile(`/proc/${server.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  return { server, commandLine };
}

describe(`the young generation's size (${testEngine})`, { skip }, () => {
  test('the server restarts itself with the configured semi-space size, keeping its process id, and serves', async () => {
    const { server, commandLine } = await serverWith({ CADUCEUS_GC_SEMI_SPACE_MB: '96' });
    // startChildServer spawned `node main.ts`; the same pid now runs with the flag before the script.
    assert.ok(commandLine.includes('--max-semi-space-size=96'), commandLine.join(' '));
    assert.ok(commandLine.indexOf('--max-semi-space-size=96') < commandLine.findIndex((a) => a.endsWith('main.ts')));
    assert.equal(commandLine.filter((a) => a.startsWith('--max-semi-space-size')).length, 1, 'applied once, not again by the new process');
    const versions = await server.api.get('/_matrix/client/versions');
    assert.equal(versions.status, 200);
    // Signals reach the server itself: SIGTERM shuts it down cleanly.
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
  });

  test('by default the semi-space is 128 MiB', async () => {
    const { server, commandLine } = await serverWith({});
    assert.ok(commandLine.includes('--max-semi-space-size=128'), commandLine.join(' '));
    await server.stop();
  });

  test('0 keeps Node\'s default, and a size in NODE_OPTIONS wins over the setting', async () => {
    const untouched = await serverWith({ CADUCEUS_GC_SEMI_SPACE_MB: '0' });
    assert.ok(!untouched.commandLine.some((a) => a.startsWith('--max-semi-space-size')), untouched.commandLine.join(' '));
    await untouched.server.stop();

    const operatorChose = await serverWith({ CADUCEUS_GC_SEMI_SPACE_MB: '96', NODE_OPTIONS: '--max-semi-space-size=48' });
    assert.ok(!operatorChose.commandLine.some((a) => a.startsWith('--max-semi-space-size')), operatorChose.commandLine.join(' '));
    await operatorChose.server.stop();
  });

  test('a size given on the command line or in NODE_OPTIONS counts as chosen, in either spelling', () => {
    assert.equal(semiSpaceSizeChosen(['--max-semi-space-size=64'], undefined), true);
    assert.equal(semiSpaceSizeChosen(['--max_semi_space_size', '64'], undefined), true);
    assert.equal(semiSpaceSizeChosen([], '--enable-source-maps --max-semi-space-size=32'), true);
    assert.equal(semiSpaceSizeChosen(['--max-old-space-size=4096'], '--enable-source-maps'), false);
    assert.equal(semiSpaceSizeChosen([], undefined), false);
  });
});

test('an invalid size stops the server with a message naming the setting', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'caduceus-heap-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  await assert.rejects(startChildServer({ dataDir, env: { CADUCEUS_GC_SEMI_SPACE_MB: '4096' } }), /CADUCEUS_GC_SEMI_SPACE_MB/);
});
