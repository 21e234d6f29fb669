/**
 * Reading a backup: decrypts the file as a stream, walks the tar entries, hashes each one and (for a
 * restore) writes it below a staging folder; at the end every entry is checked against the manifest.
 * Nothing read is trusted before that check: entry names are limited to the layout in manifest.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { BackupError, damaged, decrypter, explainReadError, type BackupKey } from './encryption.ts';
import { DATA_PREFIX, DATABASE_ENTRY, isDataPath, MANIFEST_ENTRY, mediaHashOf, parseManifest, type Manifest } from './manifest.ts';

/** The manifest is small (a line per media file); anything much larger is not one. */
const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

export interface ReadBackup {
  manifest: Manifest;
  /** Bytes of the encrypted file. */
  size: number;
  /** Where the entries were written, when a staging folder was given: entry name → path. */
  written: Map<string, string>;
}

const isKnownEntry = (name: string) =>
  name === MANIFEST_ENTRY || Object.values(DATABASE_ENTRY).includes(name) || (name.startsWith(DATA_PREFIX) && isDataPath(name.slice(DATA_PREFIX.length)));

/**
 * Decrypts and checks the backup at `file`. With `stagingDir`, each entry is also written there under
 * its entry name (files 0600). Throws a BackupError saying whether the key is wrong or the file damaged.
 */
export async function readBackup(file: string, key: BackupKey, stagingDir?: string): Promise<ReadBackup> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new BackupError('refused', `there is no backup file at ${file}`);
  const age = decrypter(key);
  const seen = new Map<string, { size: number; sha256: string }>();
  const written = new Map<string, string>();
  let manifestText: string | undefined;
  let plaintext: Readable | undefined;

  try {
    plaintext = Readable.fromWeb((await age.decrypt(ReadableStream.from(createReadStream(file)) as ReadableStream<Uint8Array>)) as never);
    const extract = tar.extract();
    const sink = extract as unknown as { write(chunk: Buffer): boolean; end(): void; once(event: 'drain', listener: () => void): unknown };
    const feeding = (async () => {
      for await (const chunk of plaintext!) {
        if (!sink.write(chunk as Buffer)) await new Promise<void>((drained) => sink.once('drain', () => drained()));
      }
      sink.end();
    })().catch((err: unknown) => extract.destroy(err as Error));

    for await (const entry of extract) {
      const { name, type } = entry.header;
      if (type !== 'file' || !isKnownEntry(name)) throw damaged(`it holds an unexpected entry "${name.slice(0, 120)}"`);
      if (seen.has(name) || manifestText !== undefined) throw damaged(`entry "${name}" is out of place`);
      const hash = createHash('sha256');
      let size = 0;
      const chunks: Buffer[] = [];
      const target = stagingDir && name !== MANIFEST_ENTRY ? join(stagingDir, name) : undefined;
      if (target) await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const out = target ? await open(target, 'wx', 0o600) : undefined;
      try {
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.length;
          if (name === MANIFEST_ENTRY) {
            if (size > MAX_MANIFEST_BYTES) throw damaged('its manifest is implausibly large');
            chunks.push(chunk);
          }
          if (out) await out.write(chunk);
        }
        if (out) await out.sync();
      } finally {
        await out?.close();
      }
      if (target) written.set(name, target);
      if (name === MANIFEST_ENTRY) manifestText = Buffer.concat(chunks).toString('utf8');
      else seen.set(name, { size, sha256: hash.digest('hex') });
    }
    await feeding;
  } catch (err) {
    plaintext?.destroy();
    throw explainReadError(err);
  }

  if (manifestText === undefined) throw damaged('it ends before its manifest');
  const manifest = parseManifest(manifestText);
  if (typeof manifest === 'string') throw damaged(manifest);
  checkAgainstManifest(manifest, seen);
  return { manifest, size: info.size, written };
}

/** Every listed entry is present with its size and checksum, and nothing else is. */
function checkAgainstManifest(manifest: Manifest, seen: Map<string, { size: number; sha256: string }>): void {
  const expected = new Map<string, { size: number; sha256: string }>([[manifest.database.entry, manifest.database]]);
  for (const f of manifest.files) {
    if (expected.has(DATA_PREFIX + f.path)) throw damaged(`its manifest lists ${f.path} twice`);
    const contentHash = mediaHashOf(f.path);
    if (contentHash !== undefined && contentHash !== f.sha256) throw damaged(`media file ${f.path} does not hold the content its name promises`);
    expected.set(DATA_PREFIX + f.path, f);
  }
  for (const [name, want] of expected) {
    const got = seen.get(name);
    if (!got) throw damaged(`${name} is missing`);
    if (got.size !== want.size || got.sha256 !== want.sha256) throw damaged(`${name} does not match its checksum`);
  }
  for (const name of seen.keys()) if (!expected.has(name)) throw damaged(`${name} is not in the manifest`);
}
