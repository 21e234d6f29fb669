/**
 * Serves the web app (the built bundle in packages/web/dist) at `/` on the API's port: its files, and
 * index.html for the app's own routes (history routing). Only the paths listed here are claimed, so
 * `/_matrix`, `/_caduceus` and `/.well-known` are never shadowed and unknown paths stay Matrix 404s.
 * Files are read once at start-up (the bundle is immutable once built) and gzip'ed on first request.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MatrixError } from '@caduceus/core';
import { sendMatrixError } from './errors.ts';
import type { App } from './types.ts';

/** Where `npm start` builds the bundle (scripts/build-web.ts). */
export const DEFAULT_WEB_ROOT = join(import.meta.dirname, '../../../web/dist');

/** Client-side routes answered with index.html; keep in step with packages/web/src/matrix/hooks.ts. */
const APP_ROUTES = ['/login', '/rooms', '/rooms/*', '/settings', '/admin', '/admin/*'];

/**
 * Scripts only from this origin (plus WebAssembly compilation for the Rust crypto), no inline script or
 * style, requests only to this origin, images also from blob: (decrypted attachments), never framed.
 */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

interface WebFile {
  body: Buffer;
  type: string;
  gzipped?: Buffer;
  /** Content-hashed file names never change: cache them for a year. */
  immutable: boolean;
}

const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.wasm', '.svg', '.json']);

function loadFiles(root: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const full = join(entry.parentPath, entry.name);
    const path = `/${relative(root, full).split(sep).join('/')}`;
    const type = TYPES[extname(entry.name)];
    if (!type) continue;
    files.set(path, { body: readFileSync(full), type, immutable: path.startsWith('/assets/') });
  }
  return files;
}

function send(request: FastifyRequest, reply: FastifyReply, file: WebFile, path: string) {
  reply.header('Content-Security-Policy', WEB_CSP);
  reply.header('X-Frame-Options', 'DENY');
  reply.header('Cross-Origin-Opener-Policy', 'same-origin');
  reply.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
  reply.header('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  reply.header('Vary', 'Accept-Encoding');
  reply.type(file.type);
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (acceptsGzip && COMPRESSIBLE.has(extname(path) || '.html')) {
    file.gzipped ??= gzipSync(file.body);
    reply.header('Content-Encoding', 'gzip');
    return reply.send(file.gzipped);
  }
  return reply.send(file.body);
}

/** Registers the web app's routes when `root` holds a built bundle; returns whether it did. */
export function webAppRoutes(app: App, root: string): boolean {
  if (!existsSync(join(root, 'index.html'))) return false;
  const files = loadFiles(root);
  const index = files.get('/index.html')!;

  const serveIndex = (request: FastifyRequest, reply: FastifyReply) => send(request, reply, index, '/index.html');
  app.get('/', serveIndex);
  for (const route of APP_ROUTES) app.get(route, serveIndex);

  for (const [path, file] of files) {
    if (path === '/index.html' || path.startsWith('/assets/')) continue;
    app.get(path, (request, reply) => send(request, reply, file, path));
  }

  app.get('/assets/*', (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const file = files.get(path);
    if (!file) return sendMatrixError(reply, new MatrixError('M_NOT_FOUND', 'No such file', { status: 404 }));
    return send(request, reply, file, path);
  });
  return true;
}
