/**
 * An organisation's own OpenID Connect provider in place of local passwords, tested against a real
 * provider (a second oidc-provider instance on a random port, with its own login page) and the whole
 * redirect dance over HTTP: provisioning from claims, linking, allowed domains, our own second factor
 * after the provider, and trusting the provider's MFA when configured to.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Provider from 'oidc-provider';
import { Browser, type Page } from './support/browser.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { CLIENT_ALLOWLIST, CLIENT_URL, loginTokenOf, redeemLoginToken, shownTotpSecret, totpCode } from './support/sign-in.ts';

interface IdpAccount {
  password: string;
  amr: string[];
  claims: Record<string, unknown>;
}

const ACCOUNTS: Record<string, IdpAccount> = {
  'sub-jane': {
    password: 'jane-idp-password',
    amr: ['pwd'],
    claims: { preferred_username: 'jane', name: 'Jane Nurse', email: 'jane@hospital.example', email_verified: true, groups: ['chat-users'], roles: ['clinician', 'not-a-role'] },
  },
  'sub-drmfa': {
    password: 'dr-idp-password',
    amr: ['pwd', 'otp'],
    claims: { preferred_username: 'dr.mfa@hospital.example', name: 'Dr Mfa', email: 'dr.mfa@hospital.example', email_verified: true, groups: ['chat-users'] },
  },
  'sub-outsider': {
    password: 'outsider-password',
    amr: ['pwd'],
    claims: { preferred_username: 'outsider', name: 'Out Sider', email: 'outsider@elsewhere.example', email_verified: true, groups: ['chat-users'] },
  },
  'sub-existing': {
    password: 'existing-password',
    amr: ['pwd'],
    claims: { preferred_username: 'existing', name: 'Existing Person', email: 'existing@hospital.example', email_verified: true, groups: ['chat-users'] },
  },
  'sub-unknown': {
    password: 'unknown-password',
    amr: ['pwd'],
    claims: { preferred_username: 'nobodyhere', name: 'No Body', email: 'nobody@hospital.example', email_verified: true, groups: ['chat-users'] },
  },
};

const readBody = async (req: IncomingMessage) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
};

/** A small identity provider: oidc-provider plus its own login and consent pages. */
async function startIdp(redirectUris: () => string[]) {
  let provider: Provider | undefined;
  const interactions = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const details = await provider!.interactionDetails(req, res);
    const uid = details.uid;
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html');
      const form =
        details.prompt.name === 'login'
          ? `<form method="post" action="/interaction/${uid}/login"><input name="login"><input name="password" type="password"><button>Sign in</button></form>`
          : `<form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>`;
      res.end(`<!doctype html><title>Hospital IdP</title>${form}`);
      return;
    }
    const body = await readBody(req);
    if (path.endsWith('/login')) {
      const subject = Object.keys(ACCOUNTS).find((sub) => ACCOUNTS[sub]!.claims.preferred_username === body.get('login') || sub === body.get('login'));
      const account = subject ? ACCOUNTS[subject] : undefined;
      if (!subject || account!.password !== body.get('password')) {
        await provider!.interactionFinished(req, res, { error: 'access_denied', error_description: 'wrong password' });
        return;
      }
      await provider!.interactionFinished(req, res, { login: { accountId: subject, amr: account!.amr } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = new provider!.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    await provider!.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  };
  const http: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path.startsWith('/interaction/')) {
      interactions(req, res, path).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    if (!provider) {
      res.statusCode = 503;
      res.end();
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    issuer,
    /** Makes the provider once the clients' redirect URIs are known. */
    start() {
      provider = new Provider(issuer, {
        clients: [{ client_id: 'caduceus', client_secret: 'caduceus-idp-secret', redirect_uris: redirectUris(), grant_types: ['authorization_code'], response_types: ['code'] }],
        findAccount: async (_ctx, sub) => (ACCOUNTS[sub] ? { accountId: sub, claims: async () => ({ sub, ...ACCOUNTS[sub]!.claims }) } : undefined),
        claims: { openid: ['sub', 'amr'], profile: ['name', 'preferred_username', 'roles'], email: ['email', 'email_verified'], groups: ['groups'] },
        conformIdTokenClaims: false,
        pkce: { required: () => true },
        features: { devInteractions: { enabled: false } },
        cookies: { keys: ['upstream-idp-test-cookie-key'] },
      });
    },
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/** A client's SSO sign-in that goes through the provider's login page; returns the page back at Caduceus. */
async function signInAtIdp(server: TestServer, issuer: string, login: string, password: string): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(server.url, undefined, [issuer]);
  const start = await browser.get(`/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(CLIENT_URL)}`);
  assert.match(start.html, /Continue with Hospital IdP/);
  assert.doesNotMatch(start.html, /type="password"/, 'no local password on the page');
  const idpLogin = await browser.get('/_caduceus/sign-in/upstream');
  assert.ok(idpLogin.url.startsWith(issuer), idpLogin.url);
  const consent = await browser.submit(idpLogin, '/login', { login, password });
  const back = consent.forms.some((f) => f.action.endsWith('/confirm')) ? await browser.submit(consent, '/confirm') : consent;
  return { browser, page: back };
}

async function serverFor(issuer: string, secretFile: string, extra: Record<string, unknown>) {
  return startTestServer({
    mfa: 'required',
    sso_redirect_allowlist: CLIENT_ALLOWLIST,
    upstream_idp_issuer: issuer,
    upstream_idp_name: 'Hospital IdP',
    upstream_idp_client_id: 'caduceus',
    upstream_idp_client_secret_file: secretFile,
    upstream_idp_scopes: ['openid', 'profile', 'email', 'groups'],
    upstream_idp_roles_claim: 'roles',
    upstream_idp_allowed_email_domains: ['hospital.example'],
    upstream_idp_allowed_groups: ['chat-users'],
    ...extra,
  });
}

describe('upstream identity provider', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let strict: TestServer;
  let trusting: TestServer;
  before(async () => {
    const secretFile = join(tmpdir(), `caduceus-idp-secret-${process.pid}`);
    await writeFile(secretFile, 'caduceus-idp-secret\n', { mode: 0o600 });
    idp = await startIdp(() => [strict, trusting].map((s) => `${s.url}/_caduceus/sign-in/upstream/callback`));
    strict = await serverFor(idp.issuer, secretFile, { upstream_idp_provision: true });
    trusting = await serverFor(idp.issuer, secretFile, { upstream_idp_provision: false, upstream_idp_second_factor: 'trust_idp_mfa' });
    idp.start();
  });
  after(async () => {
    await strict?.close();
    await trusting?.close();
    await idp?.close();
  });

  test('a first sign-in provisions the account from the claims, then asks for our own second factor', async () => {
    const { browser, page } = await signInAtIdp(strict, idp.issuer, 'jane', 'jane-idp-password');
    assert.equal(page.status, 200, page.html.slice(0, 500));
    assert.match(page.html, /Set up a second factor/, 'the provider alone is not enough by default');
    const userId = '@jane:test.local';
    const user = await strict.storage.users.get(userId);
    assert.ok(user);
    assert.equal(user.passwordHash, null, 'a provisioned account has no local password');
    assert.equal(user.displayname, 'Jane Nurse');
    assert.deepEqual(await strict.storage.roles.rolesOf(userId), ['clinician']);
    assert.equal(await strict.storage.upstreamIdpLinks.userOf(idp.issuer, 'sub-jane'), userId);

    const codes = await browser.submit(page, '/enroll/totp', { code: await totpCode(strict, shownTotpSecret(page)) });
    const session = await redeemLoginToken(strict, loginTokenOf(await browser.submit(codes, '/continue')));
    assert.equal(session.status, 200, JSON.stringify(session.body));
    assert.equal(session.body.user_id, userId);
    strict.clock.advance(30_000);

    // The next sign-in finds the same account by the provider's subject and asks for the code.
    const again = await signInAtIdp(strict, idp.issuer, 'jane', 'jane-idp-password');
    assert.match(again.page.html, /Confirm it is you/);
  });

  test('a wrong password at the provider, or a domain not allowed, signs nobody in and creates nothing', async () => {
    const wrong = await signInAtIdp(strict, idp.issuer, 'jane', 'not-her-password');
    assert.equal(wrong.page.status, 403);
    assert.match(wrong.page.html, /did not confirm the sign-in/);
    assert.equal(wrong.page.leftTo, undefined);

    const outsider = await signInAtIdp(strict, idp.issuer, 'outsider', 'outsider-password');
    assert.equal(outsider.page.status, 403);
    assert.match(outsider.page.html, /may not sign in here/);
    assert.equal(await strict.storage.users.get('@outsider:test.local'), undefined);
    const refused = (await strict.storage.audit.entries({ limit: 10_000 })).filter((e) => e.action === 'auth.login' && JSON.parse(e.details).method === 'upstream_idp');
    assert.deepEqual(refused.map((e) => JSON.parse(e.details).reason).sort(), ['idp_refused', 'not_allowed']);
  });

  test('a callback that does not match the flow (forged or replayed) is refused', async () => {
    const browser = new Browser(strict.url, undefined, [idp.issuer]);
    await browser.get(`/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(CLIENT_URL)}`);
    const forged = await browser.get('/_caduceus/sign-in/upstream/callback?code=madeup&state=madeup');
    assert.equal(forged.status, 403);
    assert.equal(forged.leftTo, undefined);
  });

  test('trusting the provider\'s MFA: amr pwd+otp signs in without our second factor; a password-only login still needs it', async () => {
    await trusting.services.accounts.createUser({ localpart: 'dr.mfa', password: 'a local password nobody uses', admin: false });
    const mfa = await signInAtIdp(trusting, idp.issuer, 'dr.mfa@hospital.example', 'dr-idp-password');
    const session = await redeemLoginToken(trusting, loginTokenOf(mfa.page));
    assert.equal(session.body.user_id, '@dr.mfa:test.local', 'an existing account is linked by name at its first sign-in');

    await trusting.services.accounts.createUser({ localpart: 'existing', password: 'a local password nobody uses', admin: false });
    const single = await signInAtIdp(trusting, idp.issuer, 'existing', 'existing-password');
    assert.match(single.page.html, /Set up a second factor/);
  });

  test('without provisioning, a person with no account here is told to ask an administrator', async () => {
    const unknown = await signInAtIdp(trusting, idp.issuer, 'nobodyhere', 'unknown-password');
    assert.equal(unknown.page.status, 403);
    assert.match(unknown.page.html, /no account for you on this server/);
    assert.equal(await trusting.storage.users.get('@nobodyhere:test.local'), undefined);
  });
});
