import { useEffect, useState, type FormEvent } from 'react';
import type { StoredSession } from '../../matrix/session.ts';
import { availableSignInMethods, passwordSignIn, redeemLoginToken, signInError, startSsoSignIn, takeLoginTokenFromUrl, type SignInMethods } from './login.ts';

interface Props {
  onSignedIn(session: StoredSession): void;
  /** A reason to show (e.g. the session was ended by an administrator). */
  notice?: string;
}

export function LoginScreen({ onSignedIn, notice }: Props) {
  const [method, setMethod] = useState<SignInMethods | 'checking'>('checking');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');

  useEffect(() => {
    const token = takeLoginTokenFromUrl();
    if (token) {
      setBusy(true);
      redeemLoginToken(token)
        .then(onSignedIn)
        .catch((e: unknown) => {
          setError(signInError(e));
          setBusy(false);
        });
    }
    availableSignInMethods()
      .then(setMethod)
      .catch(() => {
        setMethod({ sso: false, password: true });
        setError('The server could not be reached.');
      });
  }, [onSignedIn]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    passwordSignIn(user.trim(), password)
      .then(onSignedIn)
      .catch((e: unknown) => {
        setError(signInError(e));
        setPassword('');
        setBusy(false);
      });
  };

  return (
    <main className="auth-screen">
      <section className="auth-card" aria-labelledby="signin-title">
        <h1 id="signin-title" className="brand">
          <img src="/favicon.svg" alt="" width="32" height="32" /> Caduceus
        </h1>
        <p className="muted">Secure messaging for your care team</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {method === 'checking' && <p aria-live="polite">Connecting…</p>}
        {method !== 'checking' && method.sso && (
          <button type="button" className="primary wide" disabled={busy} onClick={() => startSsoSignIn()}>
            Sign in with your organisation
          </button>
        )}
        {method !== 'checking' && method.sso && method.password && <p className="muted small divider">or with a password</p>}
        {method !== 'checking' && method.password && (
          <form onSubmit={submit} className="stack">
            <label>
              User name
              <input name="username" autoComplete="username" required value={user} onChange={(e) => setUser(e.target.value)} autoFocus />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
            <button type="submit" className="primary wide" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </form>
        )}
      </section>
    </main>
  );
}
