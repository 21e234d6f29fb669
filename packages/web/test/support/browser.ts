/**
 * Real headless Chromium for the web app's tests (Debian's `chromium`, driven by playwright-core; no
 * browser download). `chromiumPath()` is undefined when no Chromium is installed: the tests then skip
 * with a message. `ensureWebBundle()` builds packages/web/dist when it is missing or stale.
 */
import { after, before } from 'node:test';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildWeb } from '../../../../scripts/build-web.ts';
import type { TestUser } from '../../../server/test/support/users.ts';
import { startTestServer, type TestServer } from '../../../server/test/support/server.ts';

const CANDIDATES = [process.env.CADUCEUS_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string | undefined {
  return CANDIDATES.find((path): path is string => !!path && existsSync(path));
}

export const SKIP_REASON = 'Chromium not found (install Debian `chromium` or set CADUCEUS_CHROMIUM): browser tests skipped';

export async function ensureWebBundle(): Promise<void> {
  await buildWeb({ quiet: true });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath()!,
    headless: true,
    // Root in containers has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/**
 * For a `describe`: a test server that serves the built web app, and a Chromium, both started before
 * its tests and closed after them. Read `server` and `browser` inside the tests.
 */
export function servedWebApp(settings: Parameters<typeof startTestServer>[0] = {}): { readonly server: TestServer; readonly browser: Browser } {
  const started = {} as { server: TestServer; browser: Browser };
  before(async () => {
    await ensureWebBundle();
    [started.server, started.browser] = await Promise.all([startTestServer(settings, { serveWeb: true }), launchBrowser()]);
  });
  after(async () => {
    await started.browser?.close();
    await started.server?.close();
  });
  return started;
}

export const screenshotDir = join(import.meta.dirname, '../../../../docs/screenshots');

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: options.fullPage ?? false });
}

/** A fresh browser profile (its own IndexedDB and localStorage), as a second person's computer. */
export async function newPerson(browser: Browser, baseUrl: string, viewport = { width: 1100, height: 720 }): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) errors.push(message.text());
  });
  return { context, page, errors };
}

export async function signInWithPassword(page: Page, localpart: string, password: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('User name').fill(localpart);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });
}

/** What this page's origin still keeps locally: IndexedDB database names and localStorage keys. */
export async function localData(page: Page): Promise<{ databases: string[]; localStorageKeys: string[] }> {
  // A string, as this file is type-checked without the DOM library.
  return page.evaluate(`(async () => ({
    databases: (await indexedDB.databases()).map((db) => db.name ?? ''),
    localStorageKeys: Object.keys(localStorage),
  }))()`);
}

/**
 * Signs in through the server's MFA sign-in page as someone who must use a second factor (an
 * administrator): password, then enrolling an authenticator app on first use — the test reads the
 * key the page shows and computes the code at the server's clock, as the person's phone would.
 */
export async function signInWithTotp(
  page: Page,
  user: { localpart: string; password: string },
  codeAt: (secret: string) => Promise<string>,
  onEnrolPage?: (page: Page) => Promise<void>,
): Promise<void> {
  await passPasswordStage(page, user);
  const secret = await page.locator('[data-totp-secret]').getAttribute('data-totp-secret');
  if (!secret) throw new Error('the enrolment page shows no TOTP key');
  await onEnrolPage?.(page);
  await page.getByLabel('Code the app shows now').fill(await codeAt(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('button', { name: /I have saved them/ }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });
}

/** From the app's sign-in screen through the server's password step (SSO redirect to the MFA page). */
export async function passPasswordStage(page: Page, user: { localpart: string; password: string }): Promise<void> {
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign in with your organisation' }).click();
  await page.getByLabel('User name').fill(user.localpart);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Continue' }).click();
}

/**
 * A platform passkey for this browser profile: Chromium's virtual authenticator (DevTools protocol),
 * which answers WebAuthn ceremonies as a phone or laptop would after the person's fingerprint.
 */
export async function addVirtualPasskey(context: BrowserContext, page: Page): Promise<{ credentialCount(): Promise<number> }> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { credentialCount: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length };
}

/** Waits until the user's first browser session has published their cross-signing identity. */
export async function hasCrossSigningIdentity(user: TestUser): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await user.api.post('/_matrix/client/v3/keys/query', { device_keys: { [user.userId]: [] } });
    if (res.body.master_keys?.[user.userId]) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${user.userId} has no cross-signing identity`);
}
