/**
 * The app's states: booting → signed out (sign-in screen) → starting (crypto + first sync) → messenger,
 * with the idle lock in front of the messenger. A session ended by the server with `soft_logout: false`
 * (signed out elsewhere, remote wipe) erases this browser's data and returns to sign-in.
 */
import { useCallback, useEffect, useState } from 'react';
import { HttpApiEvent, type MatrixClient, type MatrixError } from 'matrix-js-sdk';
import { startMessenger } from './matrix/client.ts';
import { isAppPath } from './matrix/hooks.ts';
import { ensureCrossSigningIdentity } from './features/verification/encryption.ts';
import { eraseLocalData, finishPendingErase, loadSession, saveSession, type StoredSession } from './matrix/session.ts';
import { LoginScreen } from './features/auth/LoginScreen.tsx';
import { LockScreen, Locked, useIdleLock } from './features/auth/IdleLock.tsx';
import { Messenger } from './features/rooms/Messenger.tsx';

type State =
  | { phase: 'booting' }
  | { phase: 'signed-out'; notice?: string }
  | { phase: 'starting'; session: StoredSession }
  | { phase: 'ready'; session: StoredSession; client: MatrixClient };

const NOTICE_KEY = 'caduceus.notice';

/**
 * Clients whose user chose to sign out. Their requests still in flight answer 401 once the logout
 * is through, which the SDK reports as "logged out elsewhere": that must not replace the sign-out's
 * own notice ("You signed out.") with the one for a session ended from elsewhere.
 */
const signingOut = new WeakSet<MatrixClient>();

/** Erases everything local, then reloads onto the sign-in page (a fresh page holds no open databases). */
async function wipeAndReload(client: MatrixClient | undefined, notice: string): Promise<void> {
  client?.stopClient();
  await eraseLocalData();
  sessionStorage.setItem(NOTICE_KEY, notice);
  window.location.replace('/login');
}

export function App() {
  const [state, setState] = useState<State>({ phase: 'booting' });

  const start = useCallback((session: StoredSession) => {
    saveSession(session);
    localStorage.removeItem('caduceus.locked');
    setState({ phase: 'starting', session });
    startMessenger(session)
      .then((client) => {
        client.on(HttpApiEvent.SessionLoggedOut, (error: MatrixError) => {
          if (signingOut.has(client)) return;
          if (error.data?.soft_logout === true) {
            // Soft logout: the keys stay; signing in again resumes this device.
            client.stopClient();
            setState({ phase: 'signed-out', notice: 'Your session expired. Sign in again.' });
          } else {
            void wipeAndReload(client, 'You were signed out and this browser’s data was erased.');
          }
        });
        // A user's first device makes their cross-signing identity, so others can verify them.
        ensureCrossSigningIdentity(client).catch(() => {});
        setState({ phase: 'ready', session, client });
        if (!isAppPath(window.location.pathname)) window.history.replaceState(null, '', '/rooms');
      })
      .catch(() => setState({ phase: 'signed-out', notice: 'Could not start a secure session. Try again.' }));
  }, []);

  useEffect(() => {
    void (async () => {
      const notice = sessionStorage.getItem(NOTICE_KEY) ?? undefined;
      await finishPendingErase();
      sessionStorage.removeItem(NOTICE_KEY);
      const session = loadSession();
      const returningFromSso = new URLSearchParams(window.location.search).has('loginToken');
      if (session && !returningFromSso) start(session);
      else setState({ phase: 'signed-out', ...(notice ? { notice } : {}) });
    })();
  }, [start]);

  useEffect(() => {
    if (state.phase === 'signed-out' && window.location.pathname !== '/login') window.history.replaceState(null, '', `/login${window.location.search}`);
  }, [state.phase]);

  switch (state.phase) {
    case 'booting':
      return <Splash text="Loading…" />;
    case 'starting':
      return <Splash text="Starting secure session…" />;
    case 'signed-out':
      return <LoginScreen onSignedIn={start} {...(state.notice ? { notice: state.notice } : {})} />;
    case 'ready': {
      const signOut = async () => {
        signingOut.add(state.client);
        try {
          await state.client.logout(true);
        } catch {
          // Already ended on the server: erase locally all the same.
        }
        await wipeAndReload(state.client, 'You signed out.');
      };
      return <SignedIn client={state.client} session={state.session} onSignOut={() => void signOut()} />;
    }
  }
}

function SignedIn({ client, session, onSignOut }: { client: MatrixClient; session: StoredSession; onSignOut(): void }) {
  const [locked, unlock] = useIdleLock(client);
  return (
    <Locked locked={locked} screen={<LockScreen client={client} session={session} onUnlock={unlock} onSignOut={onSignOut} />}>
      <Messenger client={client} onSignOut={onSignOut} />
    </Locked>
  );
}

function Splash({ text }: { text: string }) {
  return (
    <main className="auth-screen" aria-busy="true">
      <p role="status">{text}</p>
    </main>
  );
}
