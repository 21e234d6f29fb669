import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSite, GOOD_PASSWORD, uniqueName, type Site, type TestServer } from './support/cli.ts';

/** Registers through the real UIA dance with a registration token; returns the final response. */
async function registerWithToken(server: TestServer, token: string) {
  const body = { username: uniqueName('reg'), password: GOOD_PASSWORD };
  const challenge = await server.api.post('/_matrix/client/v3/register', body);
  assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
  return server.api.post('/_matrix/client/v3/register', {
    ...body,
    auth: { type: 'm.login.registration_token', token, session: challenge.body.session },
  });
}

const validity = async (server: TestServer, token: string) =>
  (await server.api.get(`/_matrix/client/v1/register/m.login.registration_token/validity?token=${encodeURIComponent(token)}`)).body.valid;

// One after another: the expiry test moves the server's clock.
describe('caduceus registration-token create', () => {
  let site: Site;
  let server: TestServer;
  before(async () => {
    site = await createSite({ registration: 'token' });
    server = await site.startServer();
  });
  after(() => site.close());

  test('a token made with --uses 1 registers one account, then is spent', async () => {
    const res = await site.cli(['registration-token', 'create', '--uses', '1']);
    assert.equal(res.code, 0, res.stderr);
    const [token, ...details] = res.stdout.trimEnd().split('\n');
    assert.match(token!, /^[A-Za-z0-9._~-]{16}$/);
    assert.deepEqual(details, ['  uses: 1', '  expires: never']);
    assert.equal(res.stderr, '');

    const first = await registerWithToken(server, token!);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const second = await registerWithToken(server, token!);
    assert.equal(second.status, 401);
    assert.equal(second.body.errcode, 'M_FORBIDDEN');
  });

  test('--token names the token; a token that exists already is refused with exit 1', async () => {
    const name = uniqueName('ward-7.');
    const res = await site.cli(['registration-token', 'create', '--token', name]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `${name}\n  uses: unlimited\n  expires: never\n`);
    assert.equal(await validity(server, name), true);

    const again = await site.cli(['registration-token', 'create', '--token', name]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'caduceus: That token already exists\n');
  });

  test('--expires-in sets when the token stops working', async () => {
    const res = await site.cli(['registration-token', 'create', '--expires-in', '1h']);
    assert.equal(res.code, 0, res.stderr);
    const [token, , expires] = res.stdout.split('\n');
    const expiry = Date.parse(/expires: (\S+) \(in 1h\)/.exec(expires!)?.[1] ?? '');
    assert.ok(Math.abs(expiry - (Date.now() + 3_600_000)) < 60_000, expires);

    assert.equal(await validity(server, token!), true);
    server.clock.advance(61 * 60_000);
    assert.equal(await validity(server, token!), false);
  });

  test('it warns when the configuration does not use registration tokens', async () => {
    const res = await site.cli(['registration-token', 'create'], { env: { CADUCEUS_REGISTRATION: 'closed' } });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /^note: registration is "closed".*CADUCEUS_REGISTRATION=token/);
  });
});
