/**
 * The server's ed25519 signing key: created on first start, kept in the data folder
 * (format "ed25519 <key version> <unpadded base64 seed>", as other homeservers write it).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, decodeUnpaddedBase64, encodeUnpaddedBase64 } from '@caduceus/core';
import { randomString } from '../services/secrets.ts';

// PKCS#8 DER header of an ed25519 private key; the 32-byte seed follows it.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SigningKey {
  /** e.g. "ed25519:a_Xy12" */
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Unpadded base64 of the raw 32-byte public key. */
  publicKeyBase64: string;
}

function fromSeed(version: string, seed: Uint8Array): SigningKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { keyId: `ed25519:${version}`, privateKey, publicKey, publicKeyBase64: encodeUnpaddedBase64(raw) };
}

export function loadOrCreateSigningKey(dataDir: string): SigningKey {
  const path = join(dataDir, 'signing.key');
  if (existsSync(path)) {
    const [algorithm, version, seed] = readFileSync(path, 'utf8').trim().split(/\s+/);
    if (algorithm !== 'ed25519' || !version || !seed) throw new Error(`${path} is not an ed25519 signing key file`);
    return fromSeed(version, decodeUnpaddedBase64(seed));
  }
  mkdirSync(dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const version = `a_${randomString(4)}`;
  writeFileSync(path, `ed25519 ${version} ${encodeUnpaddedBase64(seed)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return fromSeed(version, seed);
}

/** Adds this server's signature to a JSON object (spec appendices, "Signing JSON"). */
export function signJson<T extends Record<string, unknown>>(object: T, serverName: string, key: SigningKey): T {
  const { signatures, unsigned, ...toSign } = object as Record<string, unknown>;
  const signature = encodeUnpaddedBase64(sign(null, Buffer.from(canonicalJson(toSign), 'utf8'), key.privateKey));
  const existing = (signatures ?? {}) as Record<string, Record<string, string>>;
  return {
    ...object,
    signatures: { ...existing, [serverName]: { ...existing[serverName], [key.keyId]: signature } },
  };
}

/** Checks an ed25519 signature over a JSON object made by the holder of `publicKeyBase64`. */
export function verifyJsonSignature(object: Record<string, unknown>, signerName: string, keyId: string, publicKeyBase64: string): boolean {
  const signature = (object.signatures as Record<string, Record<string, string>> | undefined)?.[signerName]?.[keyId];
  if (typeof signature !== 'string') return false;
  const { signatures: _s, unsigned: _u, ...signed } = object;
  try {
    const publicKey = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), decodeUnpaddedBase64(publicKeyBase64)]),
      format: 'der',
      type: 'spki',
    });
    return verify(null, Buffer.from(canonicalJson(signed), 'utf8'), publicKey, decodeUnpaddedBase64(signature));
  } catch {
    return false;
  }
}
