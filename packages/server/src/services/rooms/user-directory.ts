/**
 * The user directory (spec: "User directory"): it finds only people the caller shares a room with,
 * or who are in a room published in the directory, plus departments, and never deactivated accounts;
 * the contact policy narrows that for patients (see ContactPolicyService.directoryCandidates).
 */
import type { DirectoryEntry } from '../../storage/users.ts';
import type { ContactPolicyService } from '../contact-policy.ts';
import type { Principal } from '../sessions.ts';
import { compareStrings, normalise } from './directory-shared.ts';

export interface UserDirectoryResult {
  user_id: string;
  display_name?: string;
  avatar_url?: string;
}

export const DEFAULT_USER_SEARCH_LIMIT = 10;
export const MAX_USER_SEARCH_LIMIT = 50;

export class UserDirectoryService {
  readonly #contactPolicy: ContactPolicyService;

  constructor(contactPolicy: ContactPolicyService) {
    this.#contactPolicy = contactPolicy;
  }

  /**
   * POST /user_directory/search: users sharing a room with the caller or in a published room,
   * matched case-insensitively on every word of the term against the localpart and display name
   * (and the whole user id when a word looks like one). Best matches first, then people with a
   * display name, then alphabetically.
   */
  async search(principal: Principal, searchTerm: string, limit = DEFAULT_USER_SEARCH_LIMIT): Promise<{ results: UserDirectoryResult[]; limited: boolean }> {
    const words = normalise(searchTerm).split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) return { results: [], limited: false };
    const max = Math.max(0, Math.min(limit, MAX_USER_SEARCH_LIMIT));
    const candidates = await this.#contactPolicy.directoryCandidates(principal.userId);
    const ranked = candidates
      .map((user) => ({ user, rank: rankUser(user, words) }))
      .filter((m) => m.rank > 0)
      .sort(
        (a, b) =>
          b.rank - a.rank ||
          Number(b.user.displayname !== null) - Number(a.user.displayname !== null) ||
          compareStrings(normalise(a.user.displayname ?? a.user.localpart), normalise(b.user.displayname ?? b.user.localpart)) ||
          compareStrings(a.user.userId, b.user.userId),
      );
    return {
      results: ranked.slice(0, max).map(({ user }) => ({
        user_id: user.userId,
        ...(user.displayname !== null ? { display_name: user.displayname } : {}),
        ...(user.avatarUrl !== null ? { avatar_url: user.avatarUrl } : {}),
      })),
      limited: ranked.length > max,
    };
  }
}

/**
 * How well `words` match the user: per word 3 for a whole field or display-name word, 2 for a
 * prefix of one, 1 for a substring; 0 when any word does not match at all.
 */
function rankUser(user: DirectoryEntry, words: readonly string[]): number {
  const localpart = normalise(user.localpart);
  const displayname = normalise(user.displayname ?? '');
  const userId = normalise(user.userId);
  const fields = [localpart, ...(displayname !== '' ? [displayname, ...displayname.split(/\s+/)] : [])];
  let rank = 0;
  for (const word of words) {
    // The server name is in every local user id: compare the whole id only when the word looks like one.
    const candidates = word.startsWith('@') || word.includes(':') ? [...fields, userId] : fields;
    let best = 0;
    for (const field of candidates) {
      if (field === word) best = 3;
      else if (field.startsWith(word)) best = Math.max(best, 2);
      else if (field.includes(word)) best = Math.max(best, 1);
    }
    if (best === 0) return 0;
    rank += best;
  }
  return rank;
}
