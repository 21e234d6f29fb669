/**
 * Sign-in against this server: the flows it advertises (`GET /login`), the SSO round trip (redirect to
 * the server's MFA sign-in page, back here with a one-time `loginToken`, redeemed with m.login.token)
 * and password login. Re-authentication after the idle lock signs in again *as the same device*, so the
 * device's encryption keys stay valid.
 */
import type { LoginResponse } from 'matrix-js-sdk';
import { makeClient } from '../../matrix/client.ts';
import type { StoredSession } from '../../matrix/session.ts';

/** What `GET /login` offers: the server's MFA sign-in page (SSO redirect) and/or a password form. */
export interface SignInMethods {
  sso: boolean;
  password: boolean;
}

const DEVICE_NAME = 'Caduceus web';
/** Kept across the SSO redirect: the device to sign in again as (after an idle lock). */
const PENDING_DEVICE = 'caduceus.sso-device';

export async function availableSignInMethods(): Promise<SignInMethods> {
  const { flows } = await makeClient().loginFlows();
  const sso = flows.some((flow) => flow.type === 'm.login.sso');
  const password = flows.some((flow) => flow.type === 'm.login.password');
  // A server that lists neither (or only unknown flows) still gets a password form to try.
  return { sso, password: password || !sso };
}

/** Where the server's sign-in page sends the browser back to. */
function returnUrl(): string {
  return `${window.location.origin}/login`;
}

export function startSsoSignIn(deviceId?: string): void {
  if (deviceId) sessionStorage.setItem(PENDING_DEVICE, deviceId);
  else sessionStorage.removeItem(PENDING_DEVICE);
  window.location.assign(`/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(returnUrl())}`);
}

/** The loginToken the server appended on the way back, removed from the address bar at once. */
export function takeLoginTokenFromUrl(): string | undefined {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('loginToken');
  if (!token) return undefined;
  url.searchParams.delete('loginToken');
  window.history.replaceState(null, '', `${url.pathname}${url.search}`);
  return token;
}

function toSession(response: LoginResponse): StoredSession {
  return { userId: response.user_id, deviceId: response.device_id, accessToken: response.access_token };
}

export async function redeemLoginToken(token: string): Promise<StoredSession> {
  const deviceId = sessionStorage.getItem(PENDING_DEVICE) ?? undefined;
  sessionStorage.removeItem(PENDING_DEVICE);
  const response = await makeClient().loginRequest({
    type: 'm.login.token',
    token,
    initial_device_display_name: DEVICE_NAME,
    ...(deviceId ? { device_id: deviceId } : {}),
  });
  return toSession(response);
}

export async function passwordSignIn(user: string, password: string, deviceId?: string): Promise<StoredSession> {
  const response = await makeClient().loginRequest({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user },
    password,
    initial_device_display_name: DEVICE_NAME,
    ...(deviceId ? { device_id: deviceId } : {}),
  });
  return toSession(response);
}

/** A message for the person signing in; never echoes what they typed. */
export function signInError(error: unknown): string {
  const code = (error as { errcode?: string }).errcode;
  if (code === 'M_FORBIDDEN') return 'Wrong user name or password.';
  if (code === 'M_LIMIT_EXCEEDED') return 'Too many attempts. Wait a moment and try again.';
  if (code === 'M_USER_DEACTIVATED') return 'This account is deactivated.';
  return 'Sign-in failed. Check your connection and try again.';
}
