/**
 * Encrypted attachments as the Matrix spec's "Sending encrypted attachments": AES-256-CTR with a fresh
 * key and a 64-bit-counter IV, SHA-256 of the ciphertext, the key as a JWK; the ciphertext is uploaded
 * through the authenticated media API and the `file` object travels inside the (encrypted) event.
 * Downloads send the access token in the Authorization header, never in the URL, and are decrypted
 * (after checking the hash) into a blob: URL that lives only in this page.
 */
import type { MatrixClient } from 'matrix-js-sdk';

export interface EncryptedFile {
  url: string;
  key: { kty: 'oct'; key_ops: string[]; alg: 'A256CTR'; k: string; ext: true };
  iv: string;
  hashes: { sha256: string };
  v: 'v2';
}

function toBase64(bytes: Uint8Array, urlSafe = false): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const base64 = btoa(binary).replace(/=+$/, '');
  return urlSafe ? base64.replace(/\+/g, '-').replace(/\//g, '_') : base64;
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const normal = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(normal + '='.repeat((4 - (normal.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export async function encryptAttachment(plain: ArrayBuffer): Promise<{ data: ArrayBuffer; info: Omit<EncryptedFile, 'url'> }> {
  // The IV's high 8 bytes are random; the low 8 are the block counter, starting at zero.
  const iv = new Uint8Array(16);
  crypto.getRandomValues(iv.subarray(0, 8));
  const key = await crypto.subtle.generateKey({ name: 'AES-CTR', length: 256 }, true, ['encrypt', 'decrypt']);
  const data = await crypto.subtle.encrypt({ name: 'AES-CTR', counter: iv, length: 64 }, key, plain);
  const jwk = await crypto.subtle.exportKey('jwk', key);
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return {
    data,
    info: {
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: jwk.k ?? '', ext: true },
      iv: toBase64(iv),
      hashes: { sha256: toBase64(hash) },
      v: 'v2',
    },
  };
}

export async function decryptAttachment(data: ArrayBuffer, file: EncryptedFile): Promise<ArrayBuffer> {
  const hash = toBase64(new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
  if (hash !== file.hashes.sha256.replace(/=+$/, '')) throw new Error('attachment hash mismatch');
  const key = await crypto.subtle.importKey('jwk', { kty: 'oct', k: file.key.k, alg: 'A256CTR', ext: true }, { name: 'AES-CTR' }, false, ['decrypt']);
  return crypto.subtle.decrypt({ name: 'AES-CTR', counter: fromBase64(file.iv), length: 64 }, key, data);
}

/** Encrypts and uploads a file; returns the `file` object for the event. */
export async function uploadEncrypted(client: MatrixClient, file: Blob): Promise<EncryptedFile> {
  const { data, info } = await encryptAttachment(await file.arrayBuffer());
  // No file name or real type goes to the server: only ciphertext.
  const { content_uri: url } = await client.uploadContent(new Blob([data]), { type: 'application/octet-stream', includeFilename: false });
  return { ...info, url };
}

/** Downloads with the token in the Authorization header and decrypts; returns a blob: URL. */
export async function downloadDecrypted(client: MatrixClient, file: EncryptedFile, mimetype: string): Promise<string> {
  const match = /^mxc:\/\/([^/]+)\/([\w-]+)$/.exec(file.url);
  if (!match) throw new Error('not an mxc URL');
  const response = await fetch(`/_matrix/client/v1/media/download/${encodeURIComponent(match[1]!)}/${encodeURIComponent(match[2]!)}`, {
    headers: { Authorization: `Bearer ${client.getAccessToken() ?? ''}` },
  });
  if (!response.ok) throw new Error(`download answered ${response.status}`);
  const plain = await decryptAttachment(await response.arrayBuffer(), file);
  return URL.createObjectURL(new Blob([plain], { type: safeMime(mimetype) }));
}

/** Only inert types are rendered inline; everything else is offered as a download. */
export function safeMime(mimetype: string): string {
  return /^image\/(png|jpeg|gif|webp)$/.test(mimetype) ? mimetype : 'application/octet-stream';
}

export async function imageSize(file: Blob): Promise<{ w: number; h: number } | undefined> {
  try {
    const bitmap = await createImageBitmap(file);
    const size = { w: bitmap.width, h: bitmap.height };
    bitmap.close();
    return size;
  } catch {
    return undefined;
  }
}
