/**
 * What `caduceus audit verify` and `audit export` share: the server's configuration and its database,
 * opened directly (offline: the server need not run, and a copy of the database can be checked).
 */
import { existsSync } from 'node:fs';
import type { OpenedServer } from '@caduceus/server';
import { CliError, type Io } from '../args.ts';
import { describeError } from '../admin.ts';

export async function openAuditDatabase(io: Io): Promise<{ server: typeof import('@caduceus/server'); opened: OpenedServer }> {
  const server = await import('@caduceus/server');
  const config = server.loadConfig(io.env);
  // Never make an empty database by accident: an empty trail would "verify".
  if (config.database.kind === 'sqlite' && !existsSync(config.database.path)) {
    throw new CliError(`there is no database at ${config.database.path}; run with the server's settings (CADUCEUS_DATA_DIR or CADUCEUS_DATABASE_URL)`);
  }
  try {
    return { server, opened: await server.openServer(config) };
  } catch (err) {
    throw new CliError(`cannot open the ${config.database.kind === 'sqlite' ? `SQLite database at ${config.database.path}` : 'PostgreSQL database'}: ${describeError(err)}`);
  }
}
