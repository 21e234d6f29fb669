/**
 * What a backup archive holds and how it is laid out. The archive is a tar stream, age-encrypted as a
 * whole; its entries are the database dump, the data-folder files (signing key, media) and, last,
 * `manifest.json`, which lists every other entry with its size and SHA-256. The manifest comes last so
 * that creating a backup reads each file once (hashing while it streams).
 */
export const MANIFEST_ENTRY = 'manifest.json';
export const FORMAT = 'caduceus-backup';
export const FORMAT_VERSION = 1;

export type BackupEngine = 'sqlite' | 'postgres';

/** The database dump's entry: a SQLite database file, or a pg_dump custom-format archive. */
export const DATABASE_ENTRY: Record<BackupEngine, string> = {
  sqlite: 'database/caduceus.sqlite',
  postgres: 'database/caduceus.pgdump',
};

/** Data-folder files kept besides media (paths relative to the data folder). */
// oauth-keys.json signs ID tokens and OAuth cookies; restoring without it would sign everyone out of OAuth clients.
export const DATA_FILES = ['signing.key', 'oauth-keys.json'] as const;

/** Entries are stored under `data/` with their path in the data folder. */
export const DATA_PREFIX = 'data/';

const MEDIA_PATH = /^media\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/;

/** True for the data-folder paths a backup may carry: nothing else is ever written on restore. */
export function isDataPath(path: string): boolean {
  return (DATA_FILES as readonly string[]).includes(path) || MEDIA_PATH.test(path);
}

/** A content-addressed media path names its own SHA-256 (media/aa/bb/<sha256>). */
export function mediaHashOf(path: string): string | undefined {
  return MEDIA_PATH.test(path) ? path.slice(-64) : undefined;
}

export interface FileEntry {
  /** Path in the data folder, e.g. "signing.key" or "media/ab/cd/abcd…". */
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  formatVersion: number;
  /** The Caduceus version that made it. */
  version: string;
  engine: BackupEngine;
  serverName: string;
  /** ISO 8601. */
  createdAt: string;
  database: {
    entry: string;
    format: 'sqlite' | 'pg_dump-custom';
    size: number;
    sha256: string;
    /** Row counts per table, from the same snapshot as the dump. */
    tables: Record<string, number>;
  };
  files: FileEntry[];
  /** Media rows whose file was missing when the backup was made (should be empty). */
  missingMedia: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Parses and checks the manifest's shape; returns a reason when it is not a manifest we can use. */
export function parseManifest(text: string): Manifest | string {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    return 'the manifest is not valid JSON';
  }
  if (typeof m !== 'object' || m === null || m.format !== FORMAT) return 'the archive has no Caduceus backup manifest';
  if (m.formatVersion !== FORMAT_VERSION) return `backup format version ${String(m.formatVersion)} is not supported (this Caduceus reads version ${FORMAT_VERSION})`;
  if (m.engine !== 'sqlite' && m.engine !== 'postgres') return 'the manifest names no known database engine';
  if (typeof m.serverName !== 'string' || typeof m.createdAt !== 'string' || typeof m.version !== 'string') return 'the manifest is incomplete';
  const db = m.database;
  if (typeof db !== 'object' || db === null || db.entry !== DATABASE_ENTRY[m.engine] || !isCount(db.size) || typeof db.sha256 !== 'string' || !HEX64.test(db.sha256)) {
    return 'the manifest does not describe the database dump';
  }
  if (typeof db.tables !== 'object' || db.tables === null || !Object.values(db.tables).every(isCount)) return 'the manifest has no table counts';
  if (!Array.isArray(m.files) || !Array.isArray(m.missingMedia)) return 'the manifest has no file list';
  for (const f of m.files) {
    if (typeof f !== 'object' || f === null || typeof f.path !== 'string' || !isDataPath(f.path) || !isCount(f.size) || typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) {
      return 'the manifest lists a file it cannot hold';
    }
  }
  return m;
}
