/** Turns the SDK's live timeline into what the screen lists: messages, notices and day separators. */
import { EventType, KnownMembership, RelationType, type MatrixEvent, type Room } from 'matrix-js-sdk';

export type TimelineItem =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'message'; key: string; event: MatrixEvent; readBy: string[] | undefined }
  | { kind: 'notice'; key: string; text: string };

function dayLabel(ts: number): string {
  const day = new Date(ts);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  if (day.toDateString() === today.toDateString()) return 'Today';
  if (day.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return day.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

function noticeFor(event: MatrixEvent): string | undefined {
  const who = event.sender?.name ?? event.getSender();
  switch (event.getType()) {
    case EventType.RoomCreate:
      return `${who} created the conversation`;
    case EventType.RoomEncryption:
      return 'Messages here are end-to-end encrypted';
    case EventType.RoomMember: {
      const target = event.target?.name ?? event.getStateKey();
      const membership = event.getContent().membership;
      const before = event.getPrevContent().membership;
      if (membership === KnownMembership.Join && before !== KnownMembership.Join) return `${target} joined`;
      if (membership === KnownMembership.Invite) return `${who} invited ${target}`;
      if (membership === KnownMembership.Leave) return event.getSender() === event.getStateKey() ? `${target} left` : `${who} removed ${target}`;
      return undefined;
    }
    case EventType.RoomMessage:
      // An in-room verification request: its body is a fallback for other clients, not a message.
      if (event.getContent().msgtype === VERIFICATION_REQUEST) return `${who} asked to verify ${event.target?.name ?? event.getContent().to ?? 'a member'}`;
      return undefined;
    default:
      return undefined;
  }
}

const VERIFICATION_REQUEST = 'm.key.verification.request';

function isMessage(event: MatrixEvent): boolean {
  const type = event.getType();
  if (type !== EventType.RoomMessage && type !== EventType.RoomMessageEncrypted) return false;
  if (event.getContent().msgtype === VERIFICATION_REQUEST) return false;
  // Edits are shown on the message they replace, not as messages of their own.
  return !event.isRelation(RelationType.Replace);
}

/** Who (other than me) has read up to each of my messages, from their read receipts. */
function readersByIndex(room: Room, events: MatrixEvent[], me: string): Map<number, string[]> {
  const indexOf = new Map(events.map((e, i) => [e.getId(), i]));
  const upTo: { name: string; index: number }[] = [];
  for (const member of room.getJoinedMembers()) {
    if (member.userId === me) continue;
    const readId = room.getEventReadUpTo(member.userId);
    const index = readId ? indexOf.get(readId) : undefined;
    if (index !== undefined) upTo.push({ name: member.name, index });
  }
  const result = new Map<number, string[]>();
  events.forEach((event, i) => {
    if (event.getSender() !== me) return;
    result.set(
      i,
      upTo.filter((r) => r.index >= i).map((r) => r.name),
    );
  });
  return result;
}

export function timelineItems(room: Room, me: string): TimelineItem[] {
  const events = room.getLiveTimeline().getEvents();
  const readers = readersByIndex(room, events, me);
  const items: TimelineItem[] = [];
  let lastDay = '';
  events.forEach((event, i) => {
    const message = isMessage(event);
    const notice = message ? undefined : noticeFor(event);
    if (!message && !notice) return;
    const day = new Date(event.getTs()).toDateString();
    if (day !== lastDay) {
      lastDay = day;
      items.push({ kind: 'day', key: `day-${day}`, label: dayLabel(event.getTs()) });
    }
    const key = event.getId() ?? event.getTxnId() ?? `i${i}`;
    if (message) items.push({ kind: 'message', key, event, readBy: readers.get(i) });
    else items.push({ kind: 'notice', key, text: notice! });
  });
  return items;
}

export function typingNames(room: Room, me: string): string[] {
  return room
    .getMembers()
    .filter((m) => m.typing && m.userId !== me)
    .map((m) => m.name);
}
