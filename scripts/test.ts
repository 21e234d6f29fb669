/**
 * `npm test`: type check, then the whole suite on SQLite, then again on PostgreSQL when
 * CADUCEUS_TEST_DATABASE_URL names a server (each test server gets its own fresh database there).
 * Ends with one line "N passed, N failed[, N skipped]" over both legs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const patterns = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts'];
const started = Date.now();

function step(title: string) {
  console.log(`\n=== ${title} ===`);
}

step('type check (tsc --noEmit)');
// The server, CLI, scripts and tests (Node types), then the web app (DOM types, JSX) with its own tsconfig.
const typeChecks = [root, join(root, 'packages/web')].map((project) =>
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project], { stdio: 'inherit', cwd: root }),
);
if (typeChecks.some((tsc) => tsc.status !== 0)) {
  console.log('\n0 passed, 1 failed');
  console.error('type check failed');
  process.exit(1);
}

interface Counts {
  pass: number;
  fail: number;
  skipped: number;
  todo: number;
}

function runLeg(name: string, env: NodeJS.ProcessEnv): Counts {
  step(`tests on ${name}`);
  const dir = mkdtempSync(join(tmpdir(), 'caduceus-tap-'));
  const tap = join(dir, 'results.tap');
  const result = spawnSync(
    process.execPath,
    [
      '--test',
      '--test-concurrency=3',
      '--test-timeout=120000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...patterns,
    ],
    { stdio: 'inherit', cwd: root, env },
  );
  const text = (() => {
    try {
      return readFileSync(tap, 'utf8');
    } catch {
      return '';
    }
  })();
  rmSync(dir, { recursive: true, force: true });
  const count = (label: string) => Number(new RegExp(`^# ${label} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  const counts = { pass: count('pass'), fail: count('fail'), skipped: count('skipped'), todo: count('todo') };
  // A runner that died without a summary counts as a failure, never as a pass.
  if (result.status !== 0 && counts.fail === 0) counts.fail = 1;
  console.log(`${name}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped`);
  return counts;
}

const baseEnv = { ...process.env };
delete baseEnv.CADUCEUS_TEST_DATABASE_URL;
const legs: Counts[] = [runLeg('SQLite', baseEnv)];

const pgUrl = process.env.CADUCEUS_TEST_DATABASE_URL;
if (pgUrl) {
  legs.push(runLeg('PostgreSQL', { ...process.env, CADUCEUS_TEST_DATABASE_URL: pgUrl }));
} else {
  console.log('\nPostgreSQL leg skipped: set CADUCEUS_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run the suite on PostgreSQL too.');
}

const total = legs.reduce((a, b) => ({ pass: a.pass + b.pass, fail: a.fail + b.fail, skipped: a.skipped + b.skipped, todo: a.todo + b.todo }));
console.log(`\nsuite took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped`);
process.exit(total.fail > 0 ? 1 : 0);
