/**
 * The clinician messenger in real headless Chromium against a real server that requires a second
 * factor: two people in two browser profiles sign in through the server's MFA page (enrolling an
 * authenticator app), start an end-to-end encrypted direct chat, exchange messages and an image, see
 * each other's read receipts and verify each other by emoji; a passkey (Chromium's virtual
 * authenticator) registered at first sign-in signs its owner in the next time. Where a second factor
 * is optional, a person may skip it; signing out, and a session ended elsewhere (soft_logout:
 * false), erase the browser's local data and return to the sign-in page. Screenshots go to
 * docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { testEngine, type TestServer } from '../../server/test/support/server.ts';
import { registerUser, type TestUser } from '../../server/test/support/users.ts';
import { totpCode } from '../../server/test/support/sign-in.ts';
import {
  addVirtualPasskey,
  chromiumPath,
  hasCrossSigningIdentity,
  localData,
  newPerson,
  passPasswordStage,
  screenshot,
  servedWebApp,
  signInWithPassword,
  signInWithTotp,
  SKIP_REASON,
} from './support/browser.ts';

// Browser tests exercise the app, not the storage engine: they run once, on the SQLite leg.
const skip = !chromiumPath() ? SKIP_REASON : testEngine === 'postgres' ? 'browser tests run on the SQLite leg only' : false;
if (skip) console.log(`# ${skip}`);

/** A small valid PNG (a 160×96 teal rectangle), made here so the test needs no fixture file. */
function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const width = 160;
  const height = 96;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from([11, 110, 110]))]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

async function named(server: TestServer, displayName: string): Promise<TestUser> {
  const user = await registerUser(server);
  const res = await user.api.put(`/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`, { displayname: displayName });
  assert.equal(res.status, 200);
  return user;
}

async function emojiNames(page: Page): Promise<string[]> {
  const list = page.getByRole('list', { name: 'Emoji to compare' });
  await list.waitFor({ timeout: 30_000 });
  return list.getByRole('listitem').allInnerTexts();
}

describe('web app, where every account must use a second factor', { skip }, () => {
  // `localhost`, not 127.0.0.1: the public URL's host is the passkeys' relying party id, and
  // browsers take only domain names there.
  const web = servedWebApp({ mfa: 'required', bind: 'localhost' });

  test('the app is served at / with a strict Content-Security-Policy, app routes fall back to it, and Matrix paths are untouched', async () => {
    const page = await fetch(`${web.server.url}/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.match(await page.text(), /<div id="root">/);

    const route = await fetch(`${web.server.url}/rooms/${encodeURIComponent('!abc:test.local')}`);
    assert.equal(route.status, 200);
    assert.match(route.headers.get('content-type') ?? '', /text\/html/);

    const unknownApi = await fetch(`${web.server.url}/_matrix/client/v3/no-such-endpoint`);
    assert.equal(unknownApi.status, 404);
    assert.equal(((await unknownApi.json()) as { errcode: string }).errcode, 'M_UNRECOGNIZED');
    const missingAsset = await fetch(`${web.server.url}/assets/nothing-here.js`);
    assert.equal(missingAsset.status, 404);
  });

  test('two clinicians sign in with a second factor, start an encrypted direct chat, exchange messages and an image, see read receipts and verify each other by emoji', async () => {
    const alice = await named(web.server, 'Dr Alice Moreau');
    const bob = await named(web.server, 'Nurse Bob Tran');
    // They work on the same ward: an encrypted team room they share is how the directory lists each other.
    const team = await alice.api.post('/_matrix/client/v3/createRoom', {
      name: 'Ward 4 team',
      preset: 'private_chat',
      invite: [bob.userId],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    assert.equal(team.status, 200);
    assert.equal((await bob.api.post(`/_matrix/client/v3/join/${encodeURIComponent(team.body.room_id)}`)).status, 200);
    const a = await newPerson(web.browser, web.server.url);
    const b = await newPerson(web.browser, web.server.url);

    // The organisation requires a second factor: the app offers only the server's MFA sign-in.
    await a.page.goto('/');
    await a.page.getByRole('button', { name: 'Sign in with your organisation' }).waitFor();
    assert.equal(await a.page.getByLabel('Password').count(), 0, 'no password form when a second factor is required');
    await screenshot(a.page, 'sign-in');
    // Each enrols an authenticator app on first sign-in (the test plays the phone: it reads the key
    // the page shows and computes the code at the server's clock).
    await Promise.all([
      signInWithTotp(a.page, alice, (secret) => totpCode(web.server, secret), (page) => screenshot(page, 'sign-in-mfa-enrol')),
      signInWithTotp(b.page, bob, (secret) => totpCode(web.server, secret)),
    ]);
    assert.doesNotMatch(a.page.url(), /loginToken/, 'the login token is removed from the address bar');

    // Alice finds Bob in the directory and starts an encrypted direct chat.
    await a.page.getByRole('button', { name: 'New chat' }).click();
    await a.page.getByLabel('Search people and departments').fill('Bob');
    await a.page.getByRole('button', { name: /Nurse Bob Tran/ }).click();
    await a.page.getByRole('heading', { level: 1, name: 'Nurse Bob Tran' }).waitFor();
    assert.match(a.page.url(), /\/rooms\/!/, 'the address holds the room id, never a name');
    assert.equal(await a.page.title(), 'Caduceus');
    await a.page.getByRole('log', { name: 'Messages' }).getByText('Messages here are end-to-end encrypted').waitFor();

    // Bob accepts the invitation.
    await b.page.getByRole('button', { name: /Dr Alice Moreau, invitation/ }).click();
    await b.page.getByRole('button', { name: 'Accept' }).click();
    await b.page.getByRole('textbox', { name: 'Message' }).waitFor();
    await a.page.getByText('Nurse Bob Tran joined').waitFor({ timeout: 15_000 });

    // Alice writes; Bob reads it decrypted; Alice sees it read.
    await a.page.getByRole('textbox', { name: 'Message' }).fill('Bed 4 needs a potassium recheck at 14:00');
    await a.page.keyboard.press('Enter');
    await b.page.getByText('Bed 4 needs a potassium recheck at 14:00').waitFor({ timeout: 45_000 });
    await a.page.getByTestId('message-status').filter({ hasText: 'Read by Nurse Bob Tran' }).waitFor({ timeout: 45_000 });

    // Bob answers, with a typing indicator on the way.
    await b.page.getByRole('textbox', { name: 'Message' }).fill('On it');
    await a.page.getByText('Nurse Bob Tran is typing…').waitFor({ timeout: 10_000 });
    await b.page.keyboard.press('Enter');
    await a.page.getByText('On it', { exact: true }).waitFor({ timeout: 45_000 });

    // Alice sends an image: encrypted, uploaded, downloaded with the token header and shown inline to Bob.
    await a.page.getByTestId('attach-input').setInputFiles({ name: 'wound-photo.png', mimeType: 'image/png', buffer: tinyPng() });
    const image = b.page.locator('img.inline-image');
    await image.waitFor({ timeout: 45_000 });
    assert.match((await image.getAttribute('src')) ?? '', /^blob:/);
    await b.page.waitForFunction('document.querySelector("img.inline-image")?.naturalWidth === 160', undefined, { timeout: 10_000 });
    await a.page.locator('img.inline-image').waitFor({ timeout: 45_000 });
    await screenshot(a.page, 'conversation');

    // They verify each other by emoji from the direct chat.
    await Promise.all([hasCrossSigningIdentity(alice), hasCrossSigningIdentity(bob)]);
    await a.page.getByRole('button', { name: 'Verify Nurse Bob Tran' }).click({ timeout: 30_000 });
    await b.page.getByText('Dr Alice Moreau wants to verify you.').waitFor({ timeout: 30_000 });
    await b.page.getByRole('button', { name: 'Accept' }).click();
    const [shownToAlice, shownToBob] = await Promise.all([emojiNames(a.page), emojiNames(b.page)]);
    assert.equal(shownToAlice.length, 7);
    assert.deepEqual(shownToAlice, shownToBob, 'both see the same seven emoji');
    await screenshot(a.page, 'verify-emoji');
    await Promise.all([a.page.getByRole('button', { name: 'They match' }).click(), b.page.getByRole('button', { name: 'They match' }).click()]);
    await a.page.getByText('Nurse Bob Tran is verified.').waitFor({ timeout: 30_000 });
    await b.page.getByText('Dr Alice Moreau is verified.').waitFor({ timeout: 30_000 });
    await a.page.getByRole('button', { name: 'Done' }).click();
    await a.page.getByTestId('person-verified').waitFor({ timeout: 15_000 });
    await b.page.getByRole('button', { name: 'Done' }).click();

    await b.page.setViewportSize({ width: 390, height: 780 });
    await screenshot(b.page, 'conversation-phone');
    await b.page.getByRole('button', { name: 'Back to conversations' }).click();
    await screenshot(b.page, 'room-list-phone');

    assert.deepEqual([...a.errors, ...b.errors], [], 'no page errors and no Content-Security-Policy violations');
    await a.context.close();
    await b.context.close();
  });

  test('a clinician registers a passkey at first sign-in and signs in with it the next time', async () => {
    const erin = await named(web.server, 'Dr Erin Walsh');
    const e = await newPerson(web.browser, web.server.url);
    const passkey = await addVirtualPasskey(e.context, e.page);

    await passPasswordStage(e.page, erin);
    await e.page.getByRole('button', { name: 'Register a passkey or security key' }).click();
    await e.page.getByRole('button', { name: /I have saved them/ }).click({ timeout: 15_000 });
    await e.page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });
    assert.equal(await passkey.credentialCount(), 1, 'the passkey lives on this device');
    assert.equal((await web.server.storage.mfa.listWebAuthnCredentials(erin.userId)).length, 1, 'and the server knows its public key');

    await e.page.getByRole('button', { name: 'Sign out' }).click();
    await e.page.getByText('You signed out.').waitFor({ timeout: 30_000 });
    await passPasswordStage(e.page, erin);
    await e.page.getByRole('button', { name: 'Use a passkey or security key' }).click();
    await e.page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });

    assert.deepEqual(e.errors, []);
    await e.context.close();
  });
});

describe('web app, where a second factor is optional', { skip }, () => {
  const web = servedWebApp();

  test('a clinician skips the second factor for now; signing out, and a session ended from elsewhere, erase the browser data and return to sign-in', async () => {
    const carol = await named(web.server, 'Dr Carol Diaz');
    const dave = await named(web.server, 'Dr Dave Okafor');
    const c = await newPerson(web.browser, web.server.url);
    const d = await newPerson(web.browser, web.server.url);
    // Carol signs in through the server's MFA sign-in page (Matrix SSO redirect and m.login.token);
    // with `mfa: optional` the page offers to set up a second factor, and she skips it for now.
    await passPasswordStage(c.page, carol);
    await c.page.getByRole('button', { name: 'Skip for now' }).click({ timeout: 30_000 });
    await c.page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });
    assert.doesNotMatch(c.page.url(), /loginToken/, 'the login token is removed from the address bar');
    // Dave uses the password form the server still offers.
    await signInWithPassword(d.page, dave.localpart, dave.password);
    assert.ok((await localData(c.page)).databases.length > 0, 'the crypto store lives in IndexedDB while signed in');

    await c.page.getByRole('button', { name: 'Sign out' }).click();
    await c.page.getByLabel('User name').waitFor({ timeout: 15_000 });
    await c.page.getByText('You signed out.').waitFor();
    assert.deepEqual(await localData(c.page), { databases: [], localStorageKeys: [] });

    // Dave's sessions are ended elsewhere (e.g. from another device): the server answers M_UNKNOWN_TOKEN
    // with soft_logout false, and this browser wipes itself.
    const ended = await dave.api.post('/_matrix/client/v3/logout/all');
    assert.equal(ended.status, 200);
    await d.page.getByText('You were signed out and this browser’s data was erased.').waitFor({ timeout: 40_000 });
    assert.deepEqual(await localData(d.page), { databases: [], localStorageKeys: [] });
    await screenshot(d.page, 'signed-out-wiped');
    await c.context.close();
    await d.context.close();
  });
});
