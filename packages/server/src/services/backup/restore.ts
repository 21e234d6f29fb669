/**
 * `backup restore`: puts a backup back into an empty data folder (and, on PostgreSQL, an empty
 * database). Everything is first decrypted into a staging folder inside the data folder and checked
 * against the manifest; only a backup that passes every check is applied. A failure at any point
 * removes what was staged or restored, so the target is left as empty as it was found.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/config.ts';
import { checkSqliteCopy, dropPostgresTables, postgresTables, restorePostgres } from './database-dump.ts';
import { BackupError, type BackupKey } from './encryption.ts';
import { DATA_FILES, DATA_PREFIX, type Manifest } from './manifest.ts';
import { readBackup } from './read.ts';

export interface RestoredBackup {
  manifest: Manifest;
  elapsedMs: number;
}

const databaseName = (url: string) => {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1)) || '(default)';
  } catch {
    return '(unreadable URL)';
  }
};

/** Refuses a target that holds anything: a restore never merges into or overwrites a live server. */
export async function checkRestoreTarget(config: Config): Promise<void> {
  const entries = existsSync(config.dataDir) ? await readdir(config.dataDir) : [];
  if (entries.length > 0) {
    throw new BackupError('refused', `the data folder ${config.dataDir} is not empty; restore only into an empty data folder (point CADUCEUS_DATA_DIR at a new one, or move this one aside)`);
  }
  if (config.database.kind === 'postgres') await refuseNonEmptyDatabase(config.database.url);
}

async function refuseNonEmptyDatabase(url: string): Promise<void> {
  const tables = await postgresTables(url);
  if (tables.length > 0) {
    throw new BackupError('refused', `the PostgreSQL database "${databaseName(url)}" is not empty (${tables.length} tables); restore only into a new, empty database (createdb)`);
  }
}

export async function restoreBackup(config: Config, options: { file: string; key: BackupKey }): Promise<RestoredBackup> {
  const started = performance.now();
  await checkRestoreTarget(config);
  const createdDataDir = !existsSync(config.dataDir);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const staging = join(config.dataDir, `.restore-${randomBytes(6).toString('hex')}`);
  let databaseRestored = false;
  try {
    await mkdir(staging, { mode: 0o700 });
    const { manifest, written } = await readBackup(options.file, options.key, staging);
    if (manifest.engine !== config.database.kind) {
      throw new BackupError('refused', `this is a backup of a ${manifest.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} server; restore it with the same engine configured (${manifest.engine === 'sqlite' ? 'no CADUCEUS_DATABASE_URL' : 'CADUCEUS_DATABASE_URL naming an empty database'})`);
    }
    if (manifest.serverName !== config.serverName) {
      throw new BackupError('refused', `this is a backup of server "${manifest.serverName}", but the configuration names "${config.serverName}"; set CADUCEUS_SERVER_NAME=${manifest.serverName}`);
    }
    const dump = written.get(manifest.database.entry)!;
    if (config.database.kind === 'sqlite') {
      checkSqliteCopy(dump, manifest.database.tables);
    } else {
      await refuseNonEmptyDatabase(config.database.url);
      databaseRestored = true;
      await restorePostgres(config.database.url, dump, manifest.database.tables);
    }

    // Everything checked: move it into place (renames within one folder).
    if (config.database.kind === 'sqlite') await rename(dump, config.database.path);
    for (const name of DATA_FILES) {
      const staged = written.get(DATA_PREFIX + name);
      if (staged) await rename(staged, join(config.dataDir, name));
    }
    if (existsSync(join(staging, DATA_PREFIX, 'media'))) await rename(join(staging, DATA_PREFIX, 'media'), join(config.dataDir, 'media'));
    await rm(staging, { recursive: true, force: true });
    return { manifest, elapsedMs: performance.now() - started };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    // Only what this restore put there: the folder was empty (or absent) when it began.
    for (const name of await readdir(config.dataDir).catch(() => [] as string[])) await rm(join(config.dataDir, name), { recursive: true, force: true });
    if (createdDataDir) await rmdir(config.dataDir).catch(() => {});
    if (databaseRestored && config.database.kind === 'postgres') await dropPostgresTables(config.database.url).catch(() => {});
    throw err;
  }
}
