/** React glue: re-render when the client reports something, and the app's tiny router. */
import { useEffect, useState } from 'react';
import { ClientEvent, RoomEvent, RoomMemberEvent, RoomStateEvent, MatrixEventEvent, type MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/index.js';

const CLIENT_EVENTS: readonly string[] = [
  ClientEvent.Sync,
  ClientEvent.Room,
  ClientEvent.DeleteRoom,
  ClientEvent.AccountData,
  RoomEvent.Timeline,
  RoomEvent.TimelineReset,
  RoomEvent.Receipt,
  RoomEvent.Redaction,
  RoomEvent.LocalEchoUpdated,
  RoomEvent.MyMembership,
  RoomEvent.Name,
  RoomEvent.UnreadNotifications,
  RoomMemberEvent.Typing,
  RoomMemberEvent.Membership,
  RoomMemberEvent.Name,
  RoomStateEvent.Events,
  MatrixEventEvent.Decrypted,
  MatrixEventEvent.Replaced,
  CryptoEvent.DevicesUpdated,
  CryptoEvent.KeyBackupStatus,
];

type Emitter = { on(event: string, listener: () => void): unknown; off(event: string, listener: () => void): unknown };

/** A number that changes whenever the client emits something the screens show; batches to one render per frame. */
export function useClientTick(client: MatrixClient): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let frame = 0;
    const bump = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setTick((t) => t + 1);
      });
    };
    const emitter = client as unknown as Emitter;
    for (const name of CLIENT_EVENTS) emitter.on(name, bump);
    return () => {
      cancelAnimationFrame(frame);
      for (const name of CLIENT_EVENTS) emitter.off(name, bump);
    };
  }, [client]);
  return tick;
}

/** Routes are internal ids only (never names): `/rooms/<roomId>`, `/settings`, `/admin/<section>`. */
export type Route = { view: 'home' } | { view: 'room'; roomId: string } | { view: 'settings' } | { view: 'admin'; section: string };

function parseRoute(pathname: string): Route {
  const room = /^\/rooms\/([^/]+)$/.exec(pathname);
  if (room?.[1]) return { view: 'room', roomId: decodeURIComponent(room[1]) };
  if (pathname === '/settings') return { view: 'settings' };
  const admin = /^\/admin(?:\/([a-z-]+))?\/?$/.exec(pathname);
  if (admin) return { view: 'admin', section: admin[1] ?? '' };
  return { view: 'home' };
}

export function pathOf(route: Route): string {
  if (route.view === 'room') return `/rooms/${encodeURIComponent(route.roomId)}`;
  if (route.view === 'settings') return '/settings';
  if (route.view === 'admin') return route.section ? `/admin/${route.section}` : '/admin';
  return '/rooms';
}

/** The paths the signed-in app keeps on start (others go to the conversation list). */
export function isAppPath(pathname: string): boolean {
  return pathname.startsWith('/rooms') || pathname === '/settings' || pathname === '/admin' || pathname.startsWith('/admin/');
}

export function useRoute(): [Route, (route: Route) => void] {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(parseRoute(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = (next: Route) => {
    const path = pathOf(next);
    if (path !== window.location.pathname) window.history.pushState(null, '', path);
    setRoute(next);
  };
  return [route, navigate];
}
