/**
 * The admin API over HTTP, for the commands that administer a running server (so the server's
 * permission checks and audit trail apply to them). The access token comes from CADUCEUS_ADMIN_TOKEN
 * or --token-file, never from the command line (other users could read it with "ps"), and travels
 * only in the Authorization header.
 */
import { readFile } from 'node:fs/promises';
import { CliError, type Io } from './args.ts';
import { describeError } from './admin.ts';

export const ADMIN_API_PREFIX = '/_caduceus/admin/v1';

/** The options every admin API command takes. */
export const API_OPTIONS = {
  server: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const API_OPTIONS_HELP = `Connection (the command talks to the server's admin API):
  --server URL          the server (default: public_url of the configuration)
  --token-file PATH     a file holding an administrator's access token
                        (default: the CADUCEUS_ADMIN_TOKEN environment variable)
  --json                print the server's answer as JSON`;

type Query = Record<string, string | number | boolean | undefined>;

export class AdminApiClient {
  readonly baseUrl: string;
  readonly #token: string;

  constructor(baseUrl: string, token: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#token = token;
  }

  /** Sends a request and returns the parsed JSON answer; a Matrix error becomes a CliError with its words. */
  async call<T = any>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    const response = await this.fetch(method, path, options);
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** The raw response of a successful request (for streamed answers). */
  async fetch(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<Response> {
    const url = new URL(`${this.baseUrl}${ADMIN_API_PREFIX}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${this.#token}`, ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (err) {
      throw new CliError(`cannot reach the server at ${this.baseUrl}: ${describeError((err as Error).cause ?? err)}`);
    }
    if (response.ok) return response;
    let error: { errcode?: string; error?: string } = {};
    try {
      error = (await response.json()) as typeof error;
    } catch {
      // not a Matrix error body
    }
    const hint = response.status === 401 ? ' (the access token is wrong or has expired)' : '';
    throw new CliError(`${error.error ?? `the server answered ${response.status}`}${hint}`);
  }
}

/** The client for a command's --server and --token-file (or their defaults). */
export async function connectAdminApi(io: Io, values: { server?: string | undefined; 'token-file'?: string | undefined }): Promise<AdminApiClient> {
  let token: string | undefined;
  if (values['token-file'] !== undefined) {
    try {
      token = (await readFile(values['token-file'], 'utf8')).trim();
    } catch (err) {
      throw new CliError(`cannot read the token file ${values['token-file']}: ${describeError(err)}`, 2);
    }
    if (!token) throw new CliError(`the token file ${values['token-file']} is empty`, 2);
  } else {
    token = io.env.CADUCEUS_ADMIN_TOKEN?.trim();
    if (!token) throw new CliError('no access token: set CADUCEUS_ADMIN_TOKEN or pass --token-file with an administrator\'s access token', 2);
  }
  if (/\s/.test(token)) throw new CliError('the access token must be a single word', 2);
  let server = values.server;
  if (server === undefined) {
    const { loadConfig } = await import('@caduceus/server');
    server = loadConfig(io.env).publicUrl;
  }
  if (!/^https?:\/\/[^\s]+$/.test(server)) throw new CliError(`--server must be an http(s) URL (got "${server}")`, 2);
  return new AdminApiClient(server, token);
}

/** Prints the answer as JSON with --json, otherwise as `human` renders it. */
export function output(io: Io, json: boolean | undefined, answer: unknown, human: () => string): void {
  io.stdout.write(json ? `${JSON.stringify(answer, null, 2)}\n` : human());
}

/** "2024-05-01T10:00:00Z" from milliseconds, or "-" for none. */
export const isoTime = (ms: number | null | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');
