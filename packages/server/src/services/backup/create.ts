/**
 * `backup create`: an online backup of a running (or stopped) server into one encrypted file.
 * Order matters for consistency: the database snapshot is taken first, then the media store is
 * listed. Media files are written before the rows that name them and never change (content-addressed),
 * so every file the snapshot refers to is already on disk when the store is listed.
 * The finished backup is recorded in the live audit trail (`admin.backup.create`, with the file's
 * checksum); a backup whose entry cannot be written is removed again and the command fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import tar from 'tar-stream';
import type { Config } from '../../config/config.ts';
import { recordBackupAction, type BackupActor } from './audit-check.ts';
import { dumpPostgres, dumpSqlite, type DumpFacts } from './database-dump.ts';
import { BackupError, encrypter, type BackupKey } from './encryption.ts';
import { DATA_FILES, DATA_PREFIX, DATABASE_ENTRY, FORMAT, FORMAT_VERSION, isDataPath, MANIFEST_ENTRY, type FileEntry, type Manifest } from './manifest.ts';
import { caduceusVersion } from './version.ts';

export interface CreatedBackup {
  path: string;
  /** Bytes of the encrypted file. */
  size: number;
  /** SHA-256 of the encrypted file, to record beside it. */
  sha256: string;
  manifest: Manifest;
  elapsedMs: number;
}

/** The data-folder files a backup carries: the listed key files and every stored media file. */
async function listDataFiles(dataDir: string): Promise<FileEntry[]> {
  const files: FileEntry[] = [];
  for (const name of DATA_FILES) {
    const info = await stat(join(dataDir, name)).catch(() => undefined);
    if (!info?.isFile()) {
      if (name === 'signing.key') throw new BackupError('refused', `there is no signing key at ${join(dataDir, name)}: is CADUCEUS_DATA_DIR the server's data folder?`);
      continue;
    }
    files.push({ path: name, size: info.size, sha256: '' });
  }
  const media = join(dataDir, 'media');
  const entries = existsSync(media) ? await readdir(media, { recursive: true, withFileTypes: true }) : [];
  const found: FileEntry[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = relative(dataDir, join(entry.parentPath, entry.name)).split(sep).join('/');
    // Only finished, content-addressed files: media/tmp holds uploads still arriving.
    if (!isDataPath(path)) continue;
    found.push({ path, size: (await stat(join(dataDir, path))).size, sha256: '' });
  }
  found.sort((a, b) => (a.path < b.path ? -1 : 1));
  return [...files, ...found];
}

/** The part of a tar-stream (streamx) entry used here. */
interface EntrySink {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(err?: Error): void;
  once(event: 'drain', listener: () => void): unknown;
}

/** Streams a file into a tar entry, returning its SHA-256. */
async function addFile(pack: tar.Pack, name: string, path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    const entry = pack.entry({ name, size, mode: 0o600, mtime: new Date(0) }, (err) => (err ? reject(err) : resolve())) as unknown as EntrySink;
    (async () => {
      for await (const chunk of createReadStream(path)) {
        hash.update(chunk as Buffer);
        if (!entry.write(chunk as Buffer)) await new Promise<void>((drained) => entry.once('drain', () => drained()));
      }
      entry.end();
    })().catch((err: unknown) => {
      entry.destroy(err as Error);
      reject(err);
    });
  });
  return hash.digest('hex');
}

export async function createBackup(config: Config, options: { out: string; key: BackupKey; now?: () => Date; actor?: BackupActor }): Promise<CreatedBackup> {
  const started = performance.now();
  const made = await writeBackup(config, options, started).catch(async (err: unknown) => {
    // A backup that failed on the way is on record too (not one refused before it began: there may be no database).
    if (!(err instanceof BackupError && err.kind === 'refused')) {
      await recordBackupAction(config, { action: 'admin.backup.create', outcome: 'failure', ...actorOf(options), details: { reason: err instanceof BackupError ? err.kind : 'error' } }).catch(() => {});
    }
    throw err;
  });
  try {
    await recordBackupAction(config, {
      action: 'admin.backup.create',
      outcome: 'success',
      ...actorOf(options),
      details: { file: basename(made.path), size: made.size, sha256: made.sha256, engine: made.manifest.engine, media_files: made.manifest.files.length },
    });
  } catch (err) {
    await rm(made.path, { force: true });
    throw new BackupError('failed', `the backup could not be recorded in the audit trail, so it was removed again: ${err instanceof Error ? err.message : String(err)}`);
  }
  return made;
}

const actorOf = (options: { actor?: BackupActor }) => (options.actor ? { actor: options.actor } : {});

async function writeBackup(config: Config, options: { out: string; key: BackupKey; now?: () => Date }, started: number): Promise<CreatedBackup> {
  const engine = config.database.kind;
  const age = encrypter(options.key);
  if (engine === 'sqlite' && !existsSync(config.database.path)) {
    throw new BackupError('refused', `there is no database at ${config.database.path}: is CADUCEUS_DATA_DIR the server's data folder?`);
  }
  if (existsSync(options.out)) throw new BackupError('refused', `${options.out} already exists; choose another --out`);

  // The plaintext dump waits in the data folder, which already holds the same data, never in /tmp.
  const work = join(config.dataDir, `.backup-${randomBytes(6).toString('hex')}`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  const partial = `${options.out}.partial-${randomBytes(4).toString('hex')}`;
  try {
    const dumpPath = join(work, 'dump');
    const facts: DumpFacts = engine === 'sqlite' ? await dumpSqlite(config.database.path, dumpPath) : await dumpPostgres(config.database.url, dumpPath);
    const dumpSize = (await stat(dumpPath)).size;
    const files = await listDataFiles(config.dataDir);
    const stored = new Set(files.map((f) => f.path.slice(-64)));
    const missingMedia = facts.mediaHashes.filter((h) => !stored.has(h)).sort();

    const pack = tar.pack();
    let packError: unknown;
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      version: caduceusVersion(),
      engine,
      serverName: config.serverName,
      createdAt: (options.now?.() ?? new Date()).toISOString(),
      database: { entry: DATABASE_ENTRY[engine], format: engine === 'sqlite' ? 'sqlite' : 'pg_dump-custom', size: dumpSize, sha256: '', tables: facts.tables },
      files,
      missingMedia,
    };
    const producing = (async () => {
      manifest.database.sha256 = await addFile(pack, DATABASE_ENTRY[engine], dumpPath, dumpSize);
      for (const file of files) file.sha256 = await addFile(pack, DATA_PREFIX + file.path, join(config.dataDir, file.path), file.size);
      pack.entry({ name: MANIFEST_ENTRY, mode: 0o600, mtime: new Date(0) }, Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`));
      pack.finalize();
    })().catch((err: unknown) => {
      packError = err;
      pack.destroy(err as Error);
    });

    const encrypted = (await age.encrypt(ReadableStream.from(pack) as ReadableStream<Uint8Array>)) as unknown as WebReadableStream<Uint8Array>;
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(encrypted), tap, createWriteStream(partial, { flags: 'wx', mode: 0o600, flush: true }));
    } catch (err) {
      throw packError ?? err;
    }
    await producing;
    if (packError) throw packError;
    await rename(partial, options.out);
    return { path: options.out, size, sha256: hash.digest('hex'), manifest, elapsedMs: performance.now() - started };
  } finally {
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}
