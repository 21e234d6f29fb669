/**
 * A minimal browser for the sign-in page: keeps cookies (honouring Path and Max-Age=0), follows
 * redirects into the page and stops at one that leaves it (the return to the client app), and
 * reads the page's forms so tests fill and submit them as a person would.
 */
import assert from 'node:assert/strict';

export interface Form {
  action: string;
  method: string;
  /** The form's own attributes (data-webauthn, data-options, ...), unescaped. */
  attributes: Record<string, string>;
  /** Every named input with its current value (hidden fields included). */
  fields: Record<string, string>;
}

export interface Page {
  status: number;
  url: string;
  headers: Headers;
  html: string;
  forms: Form[];
  /** Set when the server redirected the browser away from the sign-in page (back to the client). */
  leftTo?: string;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
export const unescapeHtml = (text: string) => text.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

function attributesOf(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w-]+)(?:="([^"]*)")?/g)) out[m[1]!] = unescapeHtml(m[2] ?? '');
  return out;
}

export function parseForms(html: string): Form[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((m) => {
    const attributes = attributesOf(m[1]!);
    const fields: Record<string, string> = {};
    for (const input of m[2]!.matchAll(/<input\b([^>]*)>/g)) {
      const a = attributesOf(input[1]!);
      if (a.name) fields[a.name] = a.value ?? '';
    }
    return { action: attributes.action ?? '', method: (attributes.method ?? 'get').toLowerCase(), attributes, fields };
  });
}

const SIGN_IN_PAGE = '/_caduceus/sign-in';

export class Browser {
  readonly origin: string;
  readonly #cookies = new Map<string, { value: string; path: string }>();
  /** Paths of this server the browser keeps following redirects into (the OAuth tests add the provider's). */
  readonly #within: readonly string[];
  /** Other sites (an upstream identity provider) whose redirects this browser follows anywhere. */
  readonly #otherSites: ReadonlySet<string>;

  constructor(baseUrl: string, within: readonly string[] = [SIGN_IN_PAGE], otherSites: readonly string[] = []) {
    this.origin = new URL(baseUrl).origin;
    this.#within = within;
    this.#otherSites = new Set(otherSites.map((site) => new URL(site).origin));
  }

  /** The cookies this browser would send to `path`. */
  cookieHeader(path: string): string {
    return [...this.#cookies].filter(([, c]) => path.startsWith(c.path)).map(([name, c]) => `${name}=${c.value}`).join('; ');
  }

  get(url: string): Promise<Page> {
    return this.#navigate('GET', url);
  }

  /** Submits the first form whose action ends with `actionSuffix`, with `values` over its fields; `omit` leaves fields out. */
  submit(page: Page, actionSuffix: string, values: Record<string, string> = {}, omit: string[] = []): Promise<Page> {
    const form = page.forms.find((f) => f.action.endsWith(actionSuffix));
    assert.ok(form, `no form for ${actionSuffix} on ${page.url}: ${page.html.slice(0, 2000)}`);
    const fields: Record<string, string> = { ...form.fields, ...values };
    for (const name of omit) delete fields[name];
    // Relative to the page the form is on (an identity provider's forms post to that provider).
    return this.#navigate('POST', new URL(form.action, page.url).toString(), new URLSearchParams(fields).toString());
  }

  async #navigate(method: string, url: string, body?: string): Promise<Page> {
    let target = new URL(url, this.origin);
    for (let hops = 0; hops < 10; hops++) {
      const headers: Record<string, string> = {};
      const cookie = this.cookieHeader(target.pathname);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await fetch(target, { method, headers, body, redirect: 'manual' });
      this.#store(response.headers.getSetCookie(), target.pathname);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, target);
        await response.arrayBuffer();
        const followed = next.origin === this.origin ? this.#within.some((prefix) => next.pathname.startsWith(prefix)) : this.#otherSites.has(next.origin);
        if (!followed) {
          return { status: response.status, url: target.toString(), headers: response.headers, html: '', forms: [], leftTo: next.toString() };
        }
        // 303 (and 302 after a POST) continue as GET, as browsers do.
        target = next;
        method = 'GET';
        body = undefined;
        continue;
      }
      const html = await response.text();
      return { status: response.status, url: target.toString(), headers: response.headers, html, forms: parseForms(html) };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  #store(setCookies: string[], requestPath: string) {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? requestPath;
      const expired = attrs.some((a) => a.toLowerCase() === 'max-age=0');
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, { value, path });
    }
  }
}
