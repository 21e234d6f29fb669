/**
 * End-to-end encryption trust in real headless Chromium: two people verify each other by comparing
 * emoji (SAS) in two browser profiles, and then show as verified; a person sets up key backup with a
 * recovery key and, on a new browser, recovers their identity and message keys with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, testEngine, type TestServer } from '../../server/test/support/server.ts';
import { registerUser, type TestUser } from '../../server/test/support/users.ts';
import { chromiumPath, ensureWebBundle, launchBrowser, newPerson, screenshot, signInWithPassword, SKIP_REASON } from './support/browser.ts';

const skip = !chromiumPath() ? SKIP_REASON : testEngine === 'postgres' ? 'browser tests run on the SQLite leg only' : false;
if (skip) console.log(`# ${skip}`);

async function named(server: TestServer, displayName: string): Promise<TestUser> {
  const user = await registerUser(server);
  const res = await user.api.put(`/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`, { displayname: displayName });
  assert.equal(res.status, 200);
  return user;
}

/** Waits until the user's first browser session has published their cross-signing identity. */
async function hasCrossSigningIdentity(server: TestServer, user: TestUser): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await user.api.post('/_matrix/client/v3/keys/query', { device_keys: { [user.userId]: [] } });
    if (res.body.master_keys?.[user.userId]) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${user.userId} has no cross-signing identity`);
}

async function emojiNames(page: Page): Promise<string[]> {
  const list = page.getByRole('list', { name: 'Emoji to compare' });
  await list.waitFor({ timeout: 30_000 });
  return list.getByRole('listitem').allInnerTexts();
}

describe('verification and key backup', { skip }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    await ensureWebBundle();
    server = await startTestServer({}, { serveWeb: true });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('two people in a direct chat verify each other by emoji and then show as verified', async () => {
    const alice = await named(server, 'Dr Alice Moreau');
    const bob = await named(server, 'Nurse Bob Tran');
    const dm = await alice.api.post('/_matrix/client/v3/createRoom', {
      preset: 'trusted_private_chat',
      is_direct: true,
      invite: [bob.userId],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    assert.equal(dm.status, 200);
    const roomId = dm.body.room_id as string;
    assert.equal((await bob.api.post(`/_matrix/client/v3/join/${encodeURIComponent(roomId)}`)).status, 200);
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const put = await me.api.put(`/_matrix/client/v3/user/${encodeURIComponent(me.userId)}/account_data/m.direct`, { [other.userId]: [roomId] });
      assert.equal(put.status, 200);
    }

    const a = await newPerson(browser, server.url);
    const b = await newPerson(browser, server.url);
    await Promise.all([signInWithPassword(a.page, alice.localpart, alice.password), signInWithPassword(b.page, bob.localpart, bob.password)]);
    await Promise.all([hasCrossSigningIdentity(server, alice), hasCrossSigningIdentity(server, bob)]);

    await a.page.getByRole('button', { name: /Nurse Bob Tran/ }).click();
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

    assert.deepEqual([...a.errors, ...b.errors], []);
    await a.context.close();
    await b.context.close();
  });

  test('key backup is set up with a recovery key shown once, and a new browser recovers with it', async () => {
    const carol = await named(server, 'Dr Carol Diaz');
    const first = await newPerson(browser, server.url);
    await signInWithPassword(first.page, carol.localpart, carol.password);
    await hasCrossSigningIdentity(server, carol);
    await first.page.getByRole('button', { name: 'Settings and sessions' }).click();
    await first.page.getByTestId('session-verification').filter({ hasText: 'This session is verified.' }).waitFor({ timeout: 30_000 });
    await first.page.getByRole('button', { name: 'Set up key backup' }).click();
    const shown = first.page.getByTestId('recovery-key');
    await shown.waitFor({ timeout: 30_000 });
    const recoveryKey = (await shown.innerText()).trim();
    assert.match(recoveryKey, /^(\w{4} ){11}\w{4}$/, 'a recovery key in groups of four');
    await screenshot(first.page, 'key-backup');
    await first.page.getByRole('button', { name: 'I have saved it' }).click();
    assert.equal(await first.page.getByTestId('recovery-key').count(), 0, 'shown only once');
    await first.page.getByTestId('backup-status').filter({ hasText: 'Message keys are backed up' }).waitFor({ timeout: 30_000 });

    // A new browser: not verified, the backup exists but is locked until the recovery key is given.
    const second = await newPerson(browser, server.url);
    await signInWithPassword(second.page, carol.localpart, carol.password);
    await second.page.getByRole('button', { name: 'Settings and sessions' }).click();
    await second.page.getByTestId('session-verification').filter({ hasText: 'This session is not verified yet.' }).waitFor({ timeout: 30_000 });
    await second.page.getByLabel('Recovery key').fill('EsTc aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk');
    await second.page.getByRole('button', { name: 'Recover with recovery key' }).click();
    await second.page.getByRole('status').filter({ hasText: /not a valid recovery key|does not match/ }).waitFor();
    await second.page.getByLabel('Recovery key').fill(recoveryKey);
    await second.page.getByRole('button', { name: 'Recover with recovery key' }).click();
    await second.page.getByRole('status').filter({ hasText: /Recovered: this session is verified/ }).waitFor({ timeout: 30_000 });
    await second.page.getByTestId('session-verification').filter({ hasText: 'This session is verified.' }).waitFor({ timeout: 30_000 });

    assert.deepEqual([...first.errors, ...second.errors], []);
    await first.context.close();
    await second.context.close();
  });
});
