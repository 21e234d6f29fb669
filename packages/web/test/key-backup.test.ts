/**
 * Key backup in real headless Chromium: a person sets up key backup with a recovery key and, on a
 * new browser, recovers their identity and message keys with it. (Verifying another person by emoji
 * is part of the two-person scenario in messenger.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testEngine, type TestServer } from '../../server/test/support/server.ts';
import { registerUser, type TestUser } from '../../server/test/support/users.ts';
import { chromiumPath, hasCrossSigningIdentity, newPerson, screenshot, servedWebApp, signInWithPassword, SKIP_REASON } from './support/browser.ts';

const skip = !chromiumPath() ? SKIP_REASON : testEngine === 'postgres' ? 'browser tests run on the SQLite leg only' : false;
if (skip) console.log(`# ${skip}`);

async function named(server: TestServer, displayName: string): Promise<TestUser> {
  const user = await registerUser(server);
  const res = await user.api.put(`/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`, { displayname: displayName });
  assert.equal(res.status, 200);
  return user;
}

describe('key backup', { skip }, () => {
  const web = servedWebApp();

  test('key backup is set up with a recovery key shown once, and a new browser recovers with it', async () => {
    const carol = await named(web.server, 'Dr Carol Diaz');
    const first = await newPerson(web.browser, web.server.url);
    await signInWithPassword(first.page, carol.localpart, carol.password);
    await hasCrossSigningIdentity(carol);
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
    const second = await newPerson(web.browser, web.server.url);
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
