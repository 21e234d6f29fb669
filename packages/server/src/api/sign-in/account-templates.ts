/** The account page (the person's own sign-in methods) and the page that ends an m.login.sso confirmation. */
import type { AccountView } from '../../services/mfa/index.ts';
import { SIGN_IN_PATH } from './cookies.ts';
import { csrf, html, page, passkeySetup, recoveryCodesList, totpSetup } from './templates.ts';

const ACCOUNT = `${SIGN_IN_PATH}/account`;
const date = (ts: number | null) => (ts === null ? 'never' : new Date(ts).toISOString().slice(0, 10));

function removeForm(view: AccountView, factor: 'totp' | 'webauthn', label: string, credentialId?: string) {
  return html`<form method="post" action="${ACCOUNT}/remove" class="inline">${csrf(view)}<input type="hidden" name="factor" value="${factor}">${
    credentialId ? html`<input type="hidden" name="credential_id" value="${credentialId}">` : ''
  }<button type="submit">${label}</button></form>`;
}

export function accountPage(view: AccountView, notes: { message?: string | undefined; error?: string | undefined; codes?: string[] | undefined } = {}): string {
  const factorCount = (view.factors.totp ? 1 : 0) + view.passkeys.length;
  const removable = !view.mfaRequired || factorCount > 1;
  const body = html`<p>Signed in as <strong>${view.userId}</strong>.</p>
${notes.message ? html`<p class="notice" role="status">${notes.message}</p>` : ''}
${notes.codes ? recoveryCodesList(notes.codes) : ''}
<section aria-labelledby="current-heading">
<h2 id="current-heading">Your second factors</h2>
${factorCount === 0 ? html`<p>You have no second factor yet${view.mfaRequired ? ' (your organisation requires one)' : ''}.</p>` : ''}
<ul class="factors">
${view.factors.totp ? html`<li>Authenticator app ${removable ? removeForm(view, 'totp', 'Remove authenticator app') : ''}</li>` : ''}
${view.passkeys.map(
  (p, i) =>
    html`<li>Passkey ${i + 1} (added ${date(p.createdTs)}, last used ${date(p.lastUsedTs)}) ${removable ? removeForm(view, 'webauthn', `Remove passkey ${i + 1}`, p.credentialId) : ''}</li>`,
)}
</ul>
${view.mfaRequired && factorCount === 1 ? html`<p class="hint">Your organisation requires a second factor: add another before removing this one.</p>` : ''}
</section>
${totpSetup(view, 'account/totp')}
${passkeySetup(view, 'account/webauthn')}
${
  factorCount > 0
    ? html`<section aria-labelledby="codes-heading">
<h2 id="codes-heading">Recovery codes</h2>
<p>You have ${view.factors.recoveryCodes} unused recovery code${view.factors.recoveryCodes === 1 ? '' : 's'}. New codes replace all the old ones.</p>
<form method="post" action="${ACCOUNT}/recovery-codes">${csrf(view)}<button type="submit">Make new recovery codes</button></form>
</section>`
    : ''
}
<form method="post" action="${ACCOUNT}/done" class="secondary">${csrf(view)}<button type="submit">Done</button></form>`;
  return page('Your sign-in methods', body, notes.error);
}

/** The m.login.sso fallback's last page: the spec's snippet (static/auth-done.js) tells the client. */
export function confirmedPage(): string {
  return page('Confirmed', html`<p>Thank you. You can close this window and go back to your app.</p>`, undefined, 'auth-done.js');
}
