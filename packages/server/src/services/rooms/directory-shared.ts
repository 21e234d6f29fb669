/** What the alias, public-room and user directories share: a caller's standing in a room, and text matching. */
import { MatrixError, isSupportedRoomVersion, requiredEventLevel, userPowerLevel, type RoomVersion } from '@caduceus/core';
import type { Stores } from '../../storage/index.ts';
import { parseEvent } from './append.ts';

export const roomNotFound = () => new MatrixError('M_NOT_FOUND', 'Room not found');
export const notInRoom = () => new MatrixError('M_FORBIDDEN', 'You are not in this room');

/** The user's current membership of the room ('join', 'leave', ...), if they ever had one. */
export async function membershipOf(stores: Stores, roomId: string, userId: string): Promise<string | undefined> {
  const row = await stores.events.currentStateEvent(roomId, 'm.room.member', userId);
  const membership = row ? parseEvent(row).content.membership : undefined;
  return typeof membership === 'string' ? membership : undefined;
}

/** Server admins see and manage every room's directory entries; deactivated ones do not. */
export async function isActiveAdmin(stores: Stores, userId: string): Promise<boolean> {
  const user = await stores.users.get(userId);
  return user !== undefined && user.isAdmin && !user.deactivated;
}

export async function roomVersionOf(stores: Stores, roomId: string): Promise<RoomVersion | undefined> {
  const room = await stores.rooms.get(roomId);
  return room && isSupportedRoomVersion(room.roomVersion) ? room.roomVersion : undefined;
}

/** Whether the user's power level lets them send m.room.canonical_alias in the room. */
export async function mayChangeCanonicalAlias(stores: Stores, roomId: string, userId: string, version: RoomVersion): Promise<boolean> {
  const state = async (type: string) => {
    const row = await stores.events.currentStateEvent(roomId, type, '');
    return row ? parseEvent(row) : undefined;
  };
  const powerLevels = await state('m.room.power_levels');
  return userPowerLevel(userId, powerLevels, await state('m.room.create'), version) >= requiredEventLevel('m.room.canonical_alias', true, powerLevels);
}

/** Case- and form-insensitive text for matching (so "É" matches "é" however it was typed). */
export const normalise = (text: string) => text.normalize('NFKC').toLowerCase();

export const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
