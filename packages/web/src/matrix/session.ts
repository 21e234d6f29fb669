/**
 * The signed-in session kept by this browser (user, device, access token). It lives in localStorage
 * so a reload stays signed in; `eraseLocalData` removes it together with every other local store.
 */
export interface StoredSession {
  userId: string;
  deviceId: string;
  accessToken: string;
}

const SESSION_KEY = 'caduceus.session';

export function loadSession(): StoredSession | undefined {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    if (!raw) return undefined;
    const value = JSON.parse(raw) as Partial<StoredSession>;
    if (typeof value.userId === 'string' && typeof value.deviceId === 'string' && typeof value.accessToken === 'string') {
      return { userId: value.userId, deviceId: value.deviceId, accessToken: value.accessToken };
    }
  } catch {
    // unreadable: treat as signed out
  }
  return undefined;
}

export function saveSession(session: StoredSession): void {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

/** The homeserver is the origin that served the app (same port): no server URL to type or leak. */
export function homeserverUrl(): string {
  return window.location.origin;
}

const WIPE_PENDING = 'caduceus.wipe-pending';

/** Finishes an erase begun before the last reload (databases that were still open then). */
export async function finishPendingErase(): Promise<void> {
  if (sessionStorage.getItem(WIPE_PENDING) !== '1') return;
  await eraseLocalData();
  sessionStorage.removeItem(WIPE_PENDING);
}

/**
 * Deletes everything this app keeps in the browser: the session, the crypto store (IndexedDB, with the
 * device's Olm/Megolm keys) and any other IndexedDB database, localStorage and sessionStorage. Used on
 * sign-out and when the server reports the session was ended remotely (remote wipe).
 */
export async function eraseLocalData(): Promise<void> {
  localStorage.clear();
  sessionStorage.clear();
  sessionStorage.setItem(WIPE_PENDING, '1');
  const names = typeof indexedDB.databases === 'function' ? (await indexedDB.databases()).map((db) => db.name).filter((n): n is string => !!n) : [];
  await Promise.all(
    names.map(
      (name) =>
        new Promise<void>((resolve) => {
          const request = indexedDB.deleteDatabase(name);
          request.onsuccess = request.onerror = () => resolve();
          // Blocked while a connection is still open: the page reloads after erasing, and the boot
          // erases again (see WIPE_PENDING), so don't wait forever here.
          setTimeout(resolve, 3000);
        }),
    ),
  );
}
