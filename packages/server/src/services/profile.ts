/**
 * Users' profiles: display name and avatar (spec: "Profiles").
 *
 * Every read needs a signed-in caller (checked by the route): in a healthcare deployment the user
 * directory is not public. Unknown, remote and deactivated users all answer 404 alike.
 *
 * Not yet done: when rooms exist, a change must also be sent as a new `m.room.member` event (with
 * the new displayname/avatar_url) into every room the user has joined, as the spec requires.
 */
import { MatrixError, isValidServerName, parseUserId } from '@caduceus/core';
import type { UserRecord, UserStore } from '../storage/index.ts';
import type { ServiceDeps } from './index.ts';

/** A profile as the API shows it; unset fields are left out. */
export interface Profile {
  displayname?: string;
  avatar_url?: string;
}

export type ProfileField = keyof Profile;

/** Longest display name, in characters (Unicode code points). */
export const MAX_DISPLAYNAME_LENGTH = 256;
const MAX_MEDIA_ID_LENGTH = 255;
const MXC_URI = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/;

/** Whether `uri` is `mxc://<server name>/<media id>` with a media id of [A-Za-z0-9_-]. */
export function isValidMxcUri(uri: string): boolean {
  const match = MXC_URI.exec(uri);
  return match !== null && isValidServerName(match[1]!) && match[2]!.length <= MAX_MEDIA_ID_LENGTH;
}

const profileNotFound = () => new MatrixError('M_NOT_FOUND', 'Profile not found');

export class ProfileService {
  readonly #users: UserStore;

  constructor(deps: ServiceDeps) {
    this.#users = deps.storage.users;
  }

  /** The whole profile of a local, active user. */
  async get(userId: string): Promise<Profile> {
    const user = await this.#activeUser(userId);
    return {
      ...(user.displayname !== null ? { displayname: user.displayname } : {}),
      ...(user.avatarUrl !== null ? { avatar_url: user.avatarUrl } : {}),
    };
  }

  /** One field of the profile: `{field: value}`, or `{}` when it is unset. */
  async getField(userId: string, field: ProfileField): Promise<Profile> {
    const profile = await this.get(userId);
    return profile[field] !== undefined ? { [field]: profile[field] } : {};
  }

  /** Sets the caller's own display name; "" removes it. */
  async setDisplayname(callerId: string, userId: string, displayname: string): Promise<void> {
    this.#checkOwnProfile(callerId, userId);
    if ([...displayname].length > MAX_DISPLAYNAME_LENGTH) {
      throw new MatrixError('M_INVALID_PARAM', `displayname may have at most ${MAX_DISPLAYNAME_LENGTH} characters`);
    }
    await this.#users.setProfile(userId, { displayname: displayname === '' ? null : displayname });
  }

  /** Sets the caller's own avatar; "" removes it. */
  async setAvatarUrl(callerId: string, userId: string, avatarUrl: string): Promise<void> {
    this.#checkOwnProfile(callerId, userId);
    if (avatarUrl !== '' && !isValidMxcUri(avatarUrl)) {
      throw new MatrixError('M_INVALID_PARAM', 'avatar_url must be an mxc:// URI (mxc://<server>/<media id>)');
    }
    await this.#users.setProfile(userId, { avatarUrl: avatarUrl === '' ? null : avatarUrl });
  }

  async #activeUser(userId: string): Promise<UserRecord> {
    checkUserId(userId);
    const user = await this.#users.get(userId);
    if (!user || user.deactivated) throw profileNotFound();
    return user;
  }

  #checkOwnProfile(callerId: string, userId: string) {
    checkUserId(userId);
    if (callerId !== userId) throw new MatrixError('M_FORBIDDEN', "You may not change another user's profile");
  }
}

function checkUserId(userId: string) {
  if (!parseUserId(userId)) throw new MatrixError('M_INVALID_PARAM', 'Invalid user id');
}
