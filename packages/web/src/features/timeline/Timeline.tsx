/**
 * The conversation's timeline: newest at the bottom, older history loaded when scrolled to the top
 * (keeping the reader's place), a read receipt sent for the newest message while the page is visible,
 * and who is typing.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Direction, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { EventTile } from './EventTile.tsx';
import { timelineItems, typingNames } from './timeline-items.ts';

interface Props {
  client: MatrixClient;
  room: Room;
  tick: number;
  onReply(event: MatrixEvent): void;
  onEdit(event: MatrixEvent): void;
}

export function Timeline({ client, room, tick, onReply, onEdit }: Props) {
  const me = client.getUserId() ?? '';
  const items = timelineItems(room, me);
  const typing = typingNames(room, me);
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const heightBeforeLoad = useRef<number | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [reachedStart, setReachedStart] = useState(false);
  const receipted = useRef<string | undefined>(undefined);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (heightBeforeLoad.current !== undefined) {
      el.scrollTop += el.scrollHeight - heightBeforeLoad.current;
      heightBeforeLoad.current = undefined;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  });

  const loadOlder = () => {
    if (loading || reachedStart) return;
    setLoading(true);
    heightBeforeLoad.current = scroller.current?.scrollHeight;
    client
      .paginateEventTimeline(room.getLiveTimeline(), { backwards: true, limit: 30 })
      .then((more) => setReachedStart(!more || !room.getLiveTimeline().getPaginationToken(Direction.Backward)))
      .catch(() => undefined)
      .finally(() => setLoading(false));
  };

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 80) loadOlder();
  };

  // Read receipt for the newest message from someone else, once the page is actually visible.
  useEffect(() => {
    const send = () => {
      if (document.visibilityState !== 'visible') return;
      const events = room.getLiveTimeline().getEvents();
      const newest = [...events].reverse().find((e) => e.getSender() !== me && !e.status && e.getId());
      if (!newest || receipted.current === newest.getId()) return;
      receipted.current = newest.getId();
      client.sendReadReceipt(newest).catch(() => (receipted.current = undefined));
    };
    send();
    document.addEventListener('visibilitychange', send);
    return () => document.removeEventListener('visibilitychange', send);
  }, [client, room, me, tick]);

  return (
    <div className="timeline" ref={scroller} onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite" tabIndex={0}>
      <div className="timeline-start">
        {reachedStart ? (
          <span className="muted small">Start of the conversation</span>
        ) : (
          <button type="button" className="link" onClick={loadOlder} disabled={loading}>
            {loading ? 'Loading…' : 'Load earlier messages'}
          </button>
        )}
      </div>
      {items.map((item) => {
        if (item.kind === 'day')
          return (
            <div key={item.key} className="day-separator" role="separator" aria-label={item.label}>
              <span>{item.label}</span>
            </div>
          );
        if (item.kind === 'notice')
          return (
            <p key={item.key} className="notice-line">
              {item.text}
            </p>
          );
        return <EventTile key={item.key} client={client} room={room} event={item.event} readBy={item.readBy} onReply={() => onReply(item.event)} onEdit={() => onEdit(item.event)} />;
      })}
      <p className="typing" aria-live="polite">
        {typing.length > 0 ? `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…` : ''}
      </p>
    </div>
  );
}
