/**
 * Room aliases, the public room directory and the user directory (spec: "Room aliases", "Listing
 * rooms", "User directory"), one service each.
 *
 * Healthcare choices, beyond the spec:
 * - every endpoint needs a signed-in caller (the routes check it): nothing is listed anonymously;
 * - a room the caller cannot see (not joined, not published, not a server admin) answers "not found",
 *   so room ids cannot be probed;
 * - the user directory finds only people the caller shares a room with, or who are in a room
 *   published in the directory, plus departments, and never deactivated accounts; the contact
 *   policy narrows that for patients (see ContactPolicyService.directoryCandidates).
 */
import type { Config } from '../../config/config.ts';
import type { Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { ContactPolicyService } from '../contact-policy.ts';
import type { StreamWriter } from '../stream-writer.ts';
import { RoomAliasService } from './aliases.ts';
import type { EventAppender } from './append.ts';
import { PublicRoomService } from './public-rooms.ts';
import { UserDirectoryService } from './user-directory.ts';

export interface DirectoryServices {
  aliases: RoomAliasService;
  /** Which rooms are published, and the list of them. */
  publicRooms: PublicRoomService;
  users: UserDirectoryService;
}

export function createDirectoryServices(
  config: Config,
  clock: Clock,
  storage: Storage,
  writer: StreamWriter,
  appender: EventAppender,
  contactPolicy: ContactPolicyService,
): DirectoryServices {
  return {
    aliases: new RoomAliasService(config, clock, storage, writer, appender),
    publicRooms: new PublicRoomService(config, storage),
    users: new UserDirectoryService(contactPolicy),
  };
}
