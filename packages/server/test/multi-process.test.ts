/**
 * Two server processes on one PostgreSQL database (the scale-out deployment), each on its own
 * port, sharing the data folder (hence the signing key); the checks are in support/scale-out.ts.
 *
 * Only meaningful on PostgreSQL; skipped on the SQLite leg (worker-threads.test.ts covers SQLite's scale-out).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer, stopChildServers } from './support/child-server.ts';
import { scaleOutSuite } from './support/scale-out.ts';
import { createTestDatabase, testDatabaseUrl } from './support/server.ts';

const skip = testDatabaseUrl ? false : 'needs PostgreSQL (set CADUCEUS_TEST_DATABASE_URL): on SQLite one server process (with its threads) uses the data';

scaleOutSuite('two server processes on one PostgreSQL database', skip, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'caduceus-multi-'));
  const database = await createTestDatabase(testDatabaseUrl!);
  // One after the other: the first creates the schema and the signing key, the second reuses them.
  const a = await startChildServer({ dataDir, databaseUrl: database.url });
  const b = await startChildServer({ dataDir, databaseUrl: database.url });
  return {
    a,
    b,
    stop: async () => {
      await stopChildServers();
      await database.drop().catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
