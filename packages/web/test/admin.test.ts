/**
 * The admin console in real headless Chromium against a real server: an administrator signs in with
 * a second factor, creates a user and finds the matching audit entries, and wipes a clinician's device
 * — whose browser then returns to the sign-in page with its local data gone. A clinician sees no
 * admin console. Screenshots of the admin screens go to docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testEngine } from '../../server/test/support/server.ts';
import { registerUser } from '../../server/test/support/users.ts';
import { userWithRoles, ADMIN } from '../../server/test/support/admin.ts';
import { totpCode } from '../../server/test/support/sign-in.ts';
import { chromiumPath, localData, newPerson, screenshot, signInWithPassword, signInWithTotp, servedWebApp, SKIP_REASON } from './support/browser.ts';

const skip = !chromiumPath() ? SKIP_REASON : testEngine === 'postgres' ? 'browser tests run on the SQLite leg only' : false;
if (skip) console.log(`# ${skip}`);

describe('admin console', { skip }, () => {
  const web = servedWebApp();

  test('the admin API tells a client its caller’s roles, and admin areas only to administrators and security officers', async () => {
    const admin = await userWithRoles(web.server, ['admin']);
    const officer = await userWithRoles(web.server, ['security_officer']);
    const clinician = await userWithRoles(web.server, ['clinician']);
    const mine = async (user: typeof admin) => (await user.api.get(`${ADMIN}/whoami`)).body as { roles: string[]; admin_areas: string[] };
    assert.ok((await mine(admin)).admin_areas.includes('users'));
    assert.deepEqual((await mine(officer)).admin_areas, ['audit', 'report']);
    assert.deepEqual((await mine(clinician)).admin_areas, []);
    assert.equal((await web.server.api.get(`${ADMIN}/whoami`)).status, 401);
  });

  test('an administrator creates a user and finds the matching audit entries; the chain verifies', async () => {
    const admin = await userWithRoles(web.server, ['admin'], { localpart: `admin${Date.now() % 100000}` });
    const a = await newPerson(web.browser, web.server.url);
    await signInWithTotp(a.page, admin, (secret) => totpCode(web.server, secret));
    await a.page.getByRole('link', { name: 'Admin console' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    assert.equal(await a.page.title(), 'Admin · Caduceus');

    const localpart = `frank${Date.now() % 100000}`;
    await a.page.getByRole('button', { name: 'Create user' }).click();
    await a.page.getByLabel('User name').fill(localpart);
    await a.page.getByLabel('Display name').fill('Dr Frank Ito');
    await a.page.getByLabel('Initial password').fill('a long initial password 42');
    await a.page.getByRole('checkbox', { name: 'clinician' }).check();
    await a.page.getByRole('button', { name: 'Create', exact: true }).click();
    const frank = `@${localpart}:${web.server.config.serverName}`;
    await a.page.getByRole('status').filter({ hasText: `Created ${frank}.` }).waitFor();
    await a.page.getByRole('heading', { name: `Manage ${frank}` }).waitFor();
    await a.page.getByRole('row', { name: /Dr Frank Ito/ }).getByRole('cell', { name: 'clinician' }).waitFor();
    await screenshot(a.page, 'admin-users');

    // The account exists for real: Frank can sign in with the initial password.
    const login = await web.server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: localpart }, password: 'a long initial password 42' });
    assert.equal(login.status, 200, JSON.stringify(login.body));

    await a.page.getByRole('link', { name: 'Audit trail' }).click();
    await a.page.getByLabel('Action').fill('admin.users.create');
    await a.page.getByRole('button', { name: 'Search' }).click();
    const entry = a.page.getByRole('row').filter({ hasText: 'admin.users.create' }).filter({ hasText: frank });
    await entry.waitFor();
    assert.match(await entry.innerText(), /success/);
    assert.match(await entry.innerText(), new RegExp(admin.userId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await a.page.getByRole('button', { name: 'Verify the chain' }).click();
    await a.page.getByTestId('chain-status').filter({ hasText: /Chain intact: \d+ entries/ }).waitFor({ timeout: 20_000 });
    const download = a.page.waitForEvent('download');
    await a.page.getByRole('button', { name: 'CSV' }).click();
    assert.equal((await download).suggestedFilename(), 'audit.csv');
    await screenshot(a.page, 'admin-audit');

    await a.page.getByRole('link', { name: 'Compliance report' }).click();
    await a.page.getByRole('row', { name: /Audit controls/ }).waitFor({ timeout: 20_000 });
    await screenshot(a.page, 'admin-report');
    await a.page.setViewportSize({ width: 390, height: 780 });
    await a.page.getByRole('link', { name: 'Users' }).click();
    await a.page.getByRole('button', { name: 'Create user' }).waitFor();
    await screenshot(a.page, 'admin-users-phone');

    assert.deepEqual(a.errors, [], 'no page errors and no Content-Security-Policy violations');
    await a.context.close();
  });

  test('an administrator pages through users, manages a department, registration tokens and legal holds, and sees the contact policies', async () => {
    const admin = await userWithRoles(web.server, ['admin']);
    const stamp = Date.now() % 100000;
    // Twelve people with a common prefix: two pages of ten.
    const prefix = `pager${stamp}x`;
    await Promise.all(Array.from({ length: 12 }, (_, i) => registerUser(web.server, { localpart: `${prefix}${String(i).padStart(2, '0')}` })));
    const nurse = await registerUser(web.server);
    const a = await newPerson(web.browser, web.server.url);
    await signInWithTotp(a.page, admin, (secret) => totpCode(web.server, secret));
    await a.page.goto('/admin/users');

    await a.page.getByLabel('Search users').fill(prefix);
    await a.page.getByLabel('Per page').selectOption('10');
    await a.page.getByRole('button', { name: 'Search' }).click();
    const rows = a.page.getByRole('table').getByRole('row').filter({ hasText: prefix });
    await a.page.getByText('Page 1').waitFor();
    await rows.nth(9).waitFor();
    assert.equal(await rows.count(), 10);
    await a.page.getByRole('button', { name: 'Next page' }).click();
    await a.page.getByText('Page 2').waitFor();
    await a.page.getByRole('row', { name: new RegExp(`${prefix}11`) }).waitFor();
    assert.equal(await rows.count(), 2);
    assert.ok(await a.page.getByRole('button', { name: 'Next page' }).isDisabled(), 'no third page');
    await a.page.getByRole('button', { name: 'Previous page' }).click();
    await a.page.getByRole('row', { name: new RegExp(`${prefix}00`) }).waitFor();

    // A department with a member and a functional account; renamed; the directory then finds it.
    const departmentId = `cardio${stamp}`;
    await a.page.getByRole('link', { name: 'Departments' }).click();
    await a.page.getByRole('button', { name: 'Create department' }).click();
    await a.page.getByLabel('Department id').fill(departmentId);
    await a.page.getByLabel('Name', { exact: true }).fill('Cardiology');
    await a.page.getByLabel('Description', { exact: true }).fill('Ward 7 and the cath lab');
    await a.page.getByRole('button', { name: 'Create', exact: true }).click();
    await a.page.getByRole('status').filter({ hasText: 'Created department Cardiology.' }).waitFor();
    const panel = a.page.getByRole('region', { name: 'Manage Cardiology' });
    await panel.getByLabel('Add member (user id)').fill(nurse.userId);
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await panel.getByRole('list', { name: 'Members of Cardiology' }).getByText(nurse.userId).waitFor();
    await panel.getByLabel('Functional account', { exact: true }).fill(admin.userId);
    await panel.getByRole('button', { name: 'Save account' }).click();
    await a.page.getByRole('row', { name: /Cardiology/ }).getByRole('cell', { name: admin.userId }).waitFor();
    await panel.getByLabel('Name', { exact: true }).fill('Cardiology and cath lab');
    await panel.getByRole('button', { name: 'Save', exact: true }).click();
    await a.page.getByRole('row', { name: /Cardiology and cath lab/ }).waitFor();
    const stored = (await admin.api.get(`${ADMIN}/departments/${departmentId}`)).body as { name: string; members: string[]; functional_user_id: string };
    assert.deepEqual([stored.name, stored.members, stored.functional_user_id], ['Cardiology and cath lab', [nurse.userId], admin.userId]);
    await screenshot(a.page, 'admin-departments', { fullPage: true });
    await panel.getByRole('button', { name: `Remove ${nurse.userId}` }).click();
    await a.page.getByRole('status').filter({ hasText: `Removed ${nurse.userId}.` }).waitFor();

    // Registration tokens: a named one with a use limit, listed, then deleted (after a second press).
    const token = `ward7-${stamp}`;
    await a.page.getByRole('link', { name: 'Registration tokens' }).click();
    await a.page.getByLabel('Token (blank: random)').fill(token);
    await a.page.getByLabel('Uses allowed (blank: unlimited)').fill('5');
    await a.page.getByRole('button', { name: 'Create token' }).click();
    await a.page.getByRole('row', { name: new RegExp(token) }).getByRole('cell', { name: '0 of 5' }).waitFor();
    await a.page.getByRole('button', { name: 'Create token' }).click();
    await a.page.getByRole('status').filter({ hasText: /Created token [A-Za-z0-9._~-]{8,}\./ }).waitFor();
    await screenshot(a.page, 'admin-registration-tokens');
    await a.page.getByRole('button', { name: `Delete token ${token}` }).click();
    await a.page.getByRole('button', { name: `Confirm: delete token ${token}` }).click();
    await a.page.getByRole('status').filter({ hasText: `Deleted token ${token}.` }).waitFor();
    // The status comes first; the list follows once it is reloaded.
    await a.page.getByRole('row', { name: new RegExp(token) }).waitFor({ state: 'detached' });

    // The contact policy and the role of accounts without one are runtime policies like the others.
    await a.page.getByRole('link', { name: 'Policies' }).click();
    await a.page.getByLabel('Who may contact whom').waitFor();
    const unassigned = a.page.getByLabel('Role counted for accounts without one');
    assert.deepEqual(await unassigned.locator('option').allInnerTexts(), ['staff', 'patient']);
    await screenshot(a.page, 'admin-policies', { fullPage: true });

    // A legal hold on the nurse, then released.
    await a.page.getByRole('link', { name: 'Retention and legal holds' }).click();
    await a.page.getByText('Messages are kept for').waitFor();
    await a.page.getByLabel('User id').fill(nurse.userId);
    await a.page.getByLabel('Reason (case or matter reference)').fill('Case 2024-117');
    await a.page.getByRole('button', { name: 'Place hold' }).click();
    await a.page.getByRole('row').filter({ hasText: nurse.userId }).getByText('Case 2024-117').waitFor();
    await screenshot(a.page, 'admin-legal-holds');
    const holds = (await admin.api.get(`${ADMIN}/legal-holds`)).body as { holds: Array<{ user_id?: string }> };
    assert.ok(holds.holds.some((h) => h.user_id === nurse.userId));
    await a.page.getByRole('button', { name: `Release the hold on ${nurse.userId}` }).click();
    await a.page.getByRole('button', { name: `Confirm: release the hold on ${nurse.userId}` }).click();
    await a.page.getByRole('status').filter({ hasText: `Hold on ${nurse.userId} released.` }).waitFor();
    assert.equal(((await admin.api.get(`${ADMIN}/legal-holds`)).body as { holds: unknown[] }).holds.length, 0);

    assert.deepEqual(a.errors, [], 'no page errors and no Content-Security-Policy violations');
    await a.context.close();
  });

  test('an administrator wipes a clinician’s device: that browser returns to sign-in with its data erased; a clinician has no admin console', async () => {
    const admin = await userWithRoles(web.server, ['admin']);
    const erin = await registerUser(web.server);
    await web.server.storage.roles.setRoles(erin.userId, ['clinician']);
    const a = await newPerson(web.browser, web.server.url);
    const e = await newPerson(web.browser, web.server.url);
    await Promise.all([signInWithTotp(a.page, admin, (secret) => totpCode(web.server, secret)), signInWithPassword(e.page, erin.localpart, erin.password)]);
    assert.ok((await localData(e.page)).databases.length > 0);
    assert.equal(await e.page.getByRole('link', { name: 'Admin console' }).count(), 0, 'no admin console for a clinician');
    await e.page.goto('/admin');
    await e.page.getByText('The admin console is for administrators and security officers.').waitFor({ timeout: 30_000 });
    await e.page.goto('/rooms');
    await e.page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });

    // The device Erin's browser signed in as (the web app names its devices "Caduceus web").
    const devices = (await erin.api.get('/_matrix/client/v3/devices')).body.devices as Array<{ device_id: string; display_name?: string }>;
    const browserDevice = devices.find((d) => d.display_name === 'Caduceus web');
    assert.ok(browserDevice);

    await a.page.goto('/admin/users');
    await a.page.getByLabel('Search users').fill(erin.localpart);
    await a.page.getByRole('button', { name: 'Search' }).click();
    await a.page.getByRole('button', { name: `Manage ${erin.userId}` }).click();
    await a.page.getByRole('button', { name: `Wipe ${browserDevice.device_id}` }).click();
    await screenshot(a.page, 'admin-devices');
    await a.page.getByRole('button', { name: `Confirm: wipe ${browserDevice.device_id}` }).click();
    await a.page.getByRole('status').filter({ hasText: `Device ${browserDevice.device_id} wiped.` }).waitFor();

    await e.page.getByText('You were signed out and this browser’s data was erased.').waitFor({ timeout: 40_000 });
    assert.deepEqual(await localData(e.page), { databases: [], localStorageKeys: [] });
    assert.deepEqual([...a.errors, ...e.errors], []);
    await a.context.close();
    await e.context.close();
  });
});
