/** The sign-in flow's cookie: a random reference to a server-side record, scoped to the page's paths. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FLOW_LIFETIME_MS } from '../../services/mfa/sign-in-flow.ts';

export const SIGN_IN_PATH = '/_caduceus/sign-in';
const COOKIE = 'caduceus_sign_in';

function attributes(publicUrl: string, maxAgeSeconds: number): string {
  const secure = publicUrl.startsWith('https://') ? '; Secure' : '';
  // Lax: the cookie comes along when the client's link opens the page, never on a cross-site POST.
  return `Path=${SIGN_IN_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
}

export function setFlowCookie(reply: FastifyReply, value: string, publicUrl: string) {
  reply.header('Set-Cookie', `${COOKIE}=${value}; ${attributes(publicUrl, Math.floor(FLOW_LIFETIME_MS / 1000))}`);
}

export function clearFlowCookie(reply: FastifyReply, publicUrl: string) {
  reply.header('Set-Cookie', `${COOKIE}=; ${attributes(publicUrl, 0)}`);
}

export function flowCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
