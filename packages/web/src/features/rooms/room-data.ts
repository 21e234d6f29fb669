/** What the room list and headers show about a room, read from the SDK's room model. */
import { EventType, KnownMembership, NotificationCountType, Preset, type MatrixClient, type Room } from 'matrix-js-sdk';

export interface RoomSummary {
  roomId: string;
  name: string;
  direct: boolean;
  invited: boolean;
  unread: number;
  encrypted: boolean;
  lastActive: number;
}

/** Room ids marked as direct chats in `m.direct` account data. */
export function directRoomIds(client: MatrixClient): Set<string> {
  const content = (client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, string[]>;
  return new Set(Object.values(content).flat());
}

export function isEncrypted(room: Room): boolean {
  return room.hasEncryptionStateEvent();
}

export function summarize(client: MatrixClient): RoomSummary[] {
  const direct = directRoomIds(client);
  return client
    .getRooms()
    .filter((room) => room.getMyMembership() === KnownMembership.Join || room.getMyMembership() === KnownMembership.Invite)
    .map((room) => {
      const invited = room.getMyMembership() === KnownMembership.Invite;
      const inviteIsDirect = invited && room.getMember(client.getUserId() ?? '')?.events.member?.getContent().is_direct === true;
      return {
        roomId: room.roomId,
        name: room.name,
        direct: direct.has(room.roomId) || inviteIsDirect,
        invited,
        unread: room.getUnreadNotificationCount(NotificationCountType.Total),
        encrypted: isEncrypted(room),
        lastActive: room.getLastActiveTimestamp(),
      };
    })
    .sort((a, b) => Number(b.invited) - Number(a.invited) || b.lastActive - a.lastActive);
}

const ENCRYPTION_STATE = { type: EventType.RoomEncryption, state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } };

/** Every room this app creates is end-to-end encrypted from its first event. */
export async function createDirectChat(client: MatrixClient, userId: string): Promise<string> {
  const { room_id: roomId } = await client.createRoom({
    is_direct: true,
    invite: [userId],
    preset: Preset.TrustedPrivateChat,
    initial_state: [ENCRYPTION_STATE],
  });
  const content = { ...((client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, string[]>) };
  content[userId] = [...(content[userId] ?? []), roomId];
  await client.setAccountData(EventType.Direct, content);
  return roomId;
}

export async function createGroupRoom(client: MatrixClient, name: string, invite: string[]): Promise<string> {
  const { room_id: roomId } = await client.createRoom({ name, invite, preset: Preset.PrivateChat, initial_state: [ENCRYPTION_STATE] });
  return roomId;
}

/** Accepting a direct-chat invite also records the room in our own `m.direct`. */
export async function acceptInvite(client: MatrixClient, room: Room): Promise<void> {
  const me = room.getMember(client.getUserId() ?? '');
  const inviter = me?.events.member?.getSender();
  await client.joinRoom(room.roomId);
  if (me?.events.member?.getContent().is_direct === true && inviter) {
    const content = { ...((client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, string[]>) };
    content[inviter] = [...(content[inviter] ?? []), room.roomId];
    await client.setAccountData(EventType.Direct, content);
  }
}

export function totalUnread(rooms: RoomSummary[]): number {
  return rooms.reduce((sum, room) => sum + room.unread + (room.invited ? 1 : 0), 0);
}
