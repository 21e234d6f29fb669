/**
 * The idle screen lock (automatic logoff, HIPAA §164.312(a)(2)(iii)): after the organisation's idle
 * time without input the messenger is hidden behind a lock screen, also across reloads. Unlocking means
 * signing in again as the same device, which replaces the access token and keeps the device's keys.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { saveSession, type StoredSession } from '../../matrix/session.ts';
import { fetchIdleLockMinutes } from './idle-policy.ts';
import { availableSignInMethods, passwordSignIn, signInError, startSsoSignIn, type SignInMethods } from './login.ts';

const LOCKED_KEY = 'caduceus.locked';
const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;

export function useIdleLock(client: MatrixClient): [boolean, () => void] {
  const [locked, setLocked] = useState(() => localStorage.getItem(LOCKED_KEY) === '1');
  useEffect(() => {
    let minutes = 0;
    let lastActivity = Date.now();
    void fetchIdleLockMinutes(client).then((m) => (minutes = m));
    const touch = () => (lastActivity = Date.now());
    for (const name of ACTIVITY_EVENTS) window.addEventListener(name, touch, { passive: true });
    const timer = window.setInterval(() => {
      if (minutes > 0 && Date.now() - lastActivity > minutes * 60_000 && localStorage.getItem(LOCKED_KEY) !== '1') {
        localStorage.setItem(LOCKED_KEY, '1');
        setLocked(true);
      }
    }, 5_000);
    return () => {
      window.clearInterval(timer);
      for (const name of ACTIVITY_EVENTS) window.removeEventListener(name, touch);
    };
  }, [client]);
  const unlock = () => {
    localStorage.removeItem(LOCKED_KEY);
    setLocked(false);
  };
  return [locked, unlock];
}

interface LockScreenProps {
  client: MatrixClient;
  session: StoredSession;
  onUnlock(): void;
  onSignOut(): void;
}

export function LockScreen({ client, session, onUnlock, onSignOut }: LockScreenProps) {
  const [method, setMethod] = useState<SignInMethods>();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => void availableSignInMethods().then(setMethod, () => setMethod({ sso: false, password: true })), []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const localpart = session.userId.slice(1).split(':')[0] ?? '';
    passwordSignIn(localpart, password, session.deviceId)
      .then((fresh) => {
        saveSession(fresh);
        client.setAccessToken(fresh.accessToken);
        onUnlock();
      })
      .catch((e: unknown) => {
        setError(signInError(e));
        setPassword('');
        setBusy(false);
      });
  };

  return (
    <main className="auth-screen" aria-labelledby="lock-title">
      <section className="auth-card">
        <h1 id="lock-title">Locked</h1>
        <p className="muted">Caduceus locked itself after a period of inactivity. Sign in again to continue.</p>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {method?.sso && (
          <button type="button" className="primary wide" onClick={() => startSsoSignIn(session.deviceId)}>
            Unlock with your organisation sign-in
          </button>
        )}
        {method?.password && (
          <form onSubmit={submit} className="stack">
            <label>
              Password for {session.userId}
              <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
            </label>
            <button type="submit" className="primary wide" disabled={busy}>
              Unlock
            </button>
          </form>
        )}
        <button type="button" className="link" onClick={onSignOut}>
          Sign out instead
        </button>
      </section>
    </main>
  );
}

export function Locked({ locked, children, screen }: { locked: boolean; children: ReactNode; screen: ReactNode }) {
  // While locked the messenger is unmounted, so nothing of it stays in the page.
  return <>{locked ? screen : children}</>;
}
