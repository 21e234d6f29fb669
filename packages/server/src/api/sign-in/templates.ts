/**
 * The sign-in page's HTML: plain forms that work without JavaScript (only WebAuthn needs the small
 * script in static/webauthn.js), labelled fields, and one alert region for errors. Every value is
 * escaped by `html`; only markup this file builds (and the QR code's SVG) is passed through raw.
 */
import type { FlowView } from '../../services/mfa/index.ts';
import { SIGN_IN_PATH } from './cookies.ts';

class Markup {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (value: string) => value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Trusted markup (built here, or the QR code's SVG, which holds only shapes). */
export const raw = (text: string) => new Markup(text);

type Value = Markup | string | number | false | null | undefined | Value[];

function render(value: Value): string {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === false || value === null || value === undefined) return '';
  return escape(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Markup(out);
}

export function page(title: string, body: Markup, error?: string, script = 'webauthn.js'): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Caduceus</title>
<link rel="stylesheet" href="${SIGN_IN_PATH}/static/sign-in.css">
<script src="${SIGN_IN_PATH}/static/${script}" defer></script>
</head>
<body>
<main>
<h1>${title}</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${body}
</main>
</body>
</html>
`.text;
}

export const csrf = (view: FlowView) => html`<input type="hidden" name="csrf" value="${view.csrfToken}">`;

export function cancelForm(view: FlowView): Markup {
  return html`<form method="post" action="${SIGN_IN_PATH}/cancel" class="secondary">${csrf(view)}<button type="submit">Cancel</button></form>`;
}

function passwordStage(view: FlowView): Markup {
  if (view.upstreamProvider) {
    return html`${view.forUser ? html`<p>To ${view.purpose ?? 'continue'}, confirm it is you, <strong>${view.forUser}</strong>.</p>` : ''}
<p><a class="button" href="${SIGN_IN_PATH}/upstream">Continue with ${view.upstreamProvider}</a></p>
${cancelForm(view)}`;
  }
  return html`${view.forUser ? html`<p>To ${view.purpose ?? 'continue'}, confirm it is you, <strong>${view.forUser}</strong>.</p>` : ''}
<form method="post" action="${SIGN_IN_PATH}/password">
${csrf(view)}
<label for="user">User name</label>
<input id="user" name="user" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="255"${view.forUser ? html` value="${view.forUser}" readonly` : raw(' autofocus')}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Continue</button>
</form>
${cancelForm(view)}`;
}

export function webauthnForm(view: FlowView, action: string, mode: 'get' | 'create', options: unknown, label: string): Markup {
  return html`<form method="post" action="${SIGN_IN_PATH}/${action}" data-webauthn="${mode}" data-options="${JSON.stringify(options)}">
${csrf(view)}
<input type="hidden" name="credential" value="">
<button type="submit">${label}</button>
<p class="hint" data-webauthn-status aria-live="polite"></p>
<noscript><p class="hint">Passkeys and security keys need JavaScript in this browser.</p></noscript>
</form>`;
}

export function codeField(id: string, label: string, autofocus: boolean): Markup {
  return html`<label for="${id}">${label}</label>
<input id="${id}" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required${autofocus ? raw(' autofocus') : ''}>`;
}

function secondFactorStage(view: FlowView): Markup {
  const { totp, webauthn, recoveryCodes } = view.factors;
  return html`<p>Signed in as <strong>${view.userId}</strong>. Confirm it is you with your second factor.</p>
${totp ? html`<form method="post" action="${SIGN_IN_PATH}/totp">${csrf(view)}${codeField('code', 'Code from your authenticator app', true)}<button type="submit">Verify</button></form>` : ''}
${webauthn && view.webauthnRequest ? webauthnForm(view, 'webauthn', 'get', view.webauthnRequest, 'Use a passkey or security key') : ''}
<details${!totp && !webauthn ? raw(' open') : ''}>
<summary>Use a recovery code${recoveryCodes > 0 ? ` (${recoveryCodes} left)` : ''}</summary>
<form method="post" action="${SIGN_IN_PATH}/recovery">
${csrf(view)}
<label for="recovery-code">Recovery code</label>
<input id="recovery-code" name="code" autocomplete="off" autocapitalize="none" spellcheck="false" required maxlength="32">
<button type="submit">Use this code</button>
</form>
</details>
${cancelForm(view)}`;
}

/** Setting up an authenticator app: QR code, key, and the form for the first code. `action` is under the page's path. */
export function totpSetup(view: FlowView, action: string): Markup {
  const totp = view.totpEnrollment;
  if (!totp) return html``;
  return html`<section aria-labelledby="totp-heading">
<h2 id="totp-heading">Authenticator app</h2>
<p>Scan this code with an authenticator app (for example FreeOTP, Aegis, Google or Microsoft Authenticator), or type the key in by hand.</p>
<figure class="qr" role="img" aria-label="QR code of the key below">${raw(totp.qrSvg)}</figure>
<p>Key: <code class="secret" data-totp-secret="${totp.secret}">${totp.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
<p class="hint"><a href="${totp.uri}">Open in an authenticator app on this device</a></p>
<form method="post" action="${SIGN_IN_PATH}/${action}">${csrf(view)}${codeField('code', 'Code the app shows now', false)}<button type="submit">Confirm</button></form>
</section>`;
}

export function passkeySetup(view: FlowView, action: string): Markup {
  if (!view.webauthnCreation) return html``;
  return html`<section aria-labelledby="webauthn-heading">
<h2 id="webauthn-heading">Passkey or security key</h2>
${webauthnForm(view, action, 'create', view.webauthnCreation, 'Register a passkey or security key')}
</section>`;
}

function enrollStage(view: FlowView): Markup {
  return html`<p>Signed in as <strong>${view.userId}</strong>. ${
    view.enrollOptional
      ? 'A second factor keeps your account safe even if your password leaks. Set one up now, or skip this for now.'
      : 'Your organisation requires a second factor. Set up one of these now.'
  }</p>
${totpSetup(view, 'enroll/totp')}
${passkeySetup(view, 'enroll/webauthn')}
${view.enrollOptional ? html`<form method="post" action="${SIGN_IN_PATH}/skip" class="secondary">${csrf(view)}<button type="submit">Skip for now</button></form>` : ''}
${cancelForm(view)}`;
}

export function recoveryCodesList(codes: string[]): Markup {
  return html`<p>Keep these recovery codes somewhere safe (printed, or in a password manager). Each one signs you in once if you lose your phone or key. They are shown only now.</p>
<ol class="codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>`;
}

function recoveryCodesStage(view: FlowView, codes?: string[]): Markup {
  return html`${
    codes
      ? recoveryCodesList(codes)
      : html`<p>Your recovery codes were shown once, when you set up your second factor.</p>`
  }
<form method="post" action="${SIGN_IN_PATH}/continue">${csrf(view)}<button type="submit">I have saved them — continue</button></form>`;
}

const TITLES: Record<FlowView['stage'], string> = {
  password: 'Sign in',
  second_factor: 'Confirm it is you',
  enroll: 'Set up a second factor',
  recovery_codes: 'Save your recovery codes',
  account: 'Your sign-in methods',
};

export function flowPage(view: FlowView, error?: string, codes?: string[]): string {
  if (view.stage === 'account') return messagePage(TITLES.account, 'Open the account page to manage your sign-in methods.');
  const body =
    view.stage === 'password'
      ? passwordStage(view)
      : view.stage === 'second_factor'
        ? secondFactorStage(view)
        : view.stage === 'enroll'
          ? enrollStage(view)
          : recoveryCodesStage(view, codes);
  return page(TITLES[view.stage], body, error);
}

/** A page with only a message: no flow, an expired flow, a refused form. */
export function messagePage(title: string, message: string): string {
  return page(title, html`<p>${message}</p>`);
}
