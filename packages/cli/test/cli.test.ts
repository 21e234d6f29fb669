import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, type CliResult } from './support/cli.ts';

describe('the caduceus command', { concurrency: true }, () => {
  let dir: string;
  const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
    runCli(args, { cwd: dir, env: { CADUCEUS_DATA_DIR: dir, CADUCEUS_LOG_LEVEL: 'silent', ...env } });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'caduceus-cli-test-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('help lists every command and exits 0', async () => {
    const res = await cli(['help']);
    assert.equal(res.code, 0, res.stderr);
    for (const line of ['start', 'user create <localpart>', 'registration-token create']) assert.match(res.stdout, new RegExp(`^  ${line}`, 'm'));
  });

  test('--help on a command explains how the password is given, and exits 0', async () => {
    const res = await cli(['user', 'create', '--help']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Usage: caduceus user create <localpart>/);
    assert.match(res.stdout, /--password-stdin/);
  });

  test('an unknown command exits 2 with the usage on stderr', async () => {
    const res = await cli(['frobnicate']);
    assert.equal(res.code, 2);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /unknown command "frobnicate"/);
    assert.match(res.stderr, /Usage: caduceus <command>/);
  });

  test('an unknown option exits 2 naming the option and the command usage', async () => {
    const res = await cli(['user', 'create', 'alice', '--password', 'hunter2']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown option --password/);
    assert.match(res.stderr, /Usage: caduceus user create <localpart>/);
  });

  test('a missing localpart exits 2', async () => {
    const res = await cli(['user', 'create', '--password-stdin']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /missing <localpart>/);
  });

  test('a bad configuration value exits 2 naming the variable', async () => {
    const res = await cli(['registration-token', 'create'], { CADUCEUS_PORT: 'abc' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /CADUCEUS_PORT: must be integer \(got "abc"\)/);
  });

  test('--uses and --expires-in are checked before anything is created', async () => {
    const uses = await cli(['registration-token', 'create', '--uses', '0']);
    assert.equal(uses.code, 2);
    assert.match(uses.stderr, /--uses must be a positive whole number \(got "0"\)/);
    const expires = await cli(['registration-token', 'create', '--expires-in', 'soon']);
    assert.equal(expires.code, 2);
    assert.match(expires.stderr, /--expires-in must be a duration such as 30m, 12h or 7d \(got "soon"\)/);
  });
});
