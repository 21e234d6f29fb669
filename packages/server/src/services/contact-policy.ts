/**
 * The contact policy as the room and directory services use it: gathers the facts (roles, the
 * invitee's permissionConfig, shared rooms, departments), asks the pure decisions in
 * compliance/policy, and turns a refusal into an audit entry and a 403 M_FORBIDDEN.
 */
import { MatrixError, type Role } from '@caduceus/core';
import {
  PERMISSION_CONFIG_TYPE,
  actsAsPatient,
  mayCreateRoom,
  mayFindInDirectory,
  mayInvite,
  mayJoin,
  parsePermissionConfig,
  type ContactSettings,
  type Decision,
  type Invitee,
  type Person,
} from '../compliance/policy/index.ts';
import type { AuditTrail } from '../compliance/audit/index.ts';
import { GLOBAL_ROOM, type Storage } from '../storage/index.ts';
import type { DirectoryEntry } from '../storage/users.ts';
import type { ServiceDeps } from './index.ts';

/** What the refused user attempted, for the audit entry. */
type Attempt = 'invite' | 'create_room' | 'direct_chat' | 'join';

export class ContactPolicyService {
  readonly #storage: Storage;
  readonly #audit: AuditTrail;
  readonly #config: ServiceDeps['config'];

  constructor(deps: ServiceDeps) {
    this.#storage = deps.storage;
    this.#audit = deps.audit;
    this.#config = deps.config;
  }

  /** The live settings: an administrator changes them at run time (admin policies), so never a copy. */
  get #settings(): ContactSettings {
    return this.#config.contactPolicy;
  }

  /** POST /rooms/{roomId}/invite: throws 403 (and audits) when the policy refuses. */
  async checkInvite(inviterId: string, inviteeId: string, roomId: string): Promise<void> {
    const [inviter, invitee, sharesRoom] = await Promise.all([this.#person(inviterId), this.#invitee(inviteeId), this.#sharesRoom(inviterId, inviteeId)]);
    await this.#enforce(mayInvite(inviter, invitee, { sharesRoom }, this.#settings), 'invite', inviterId, { userId: inviteeId, roomId });
  }

  /** POST /createRoom with `invite` (and `is_direct`): every invitee must be allowed. */
  async checkCreateRoom(creatorId: string, inviteeIds: readonly string[], isDirect: boolean): Promise<void> {
    // Naming oneself is not contact with anyone (the auth rules deal with it).
    const others = inviteeIds.filter((id) => id !== creatorId);
    if (others.length === 0) return;
    const creator = await this.#person(creatorId);
    const invitees = await Promise.all(
      others.map(async (id) => ({ invitee: await this.#invitee(id), sharesRoom: await this.#sharesRoom(creatorId, id) })),
    );
    const { decision, refusedUserId } = mayCreateRoom(creator, invitees, this.#settings);
    await this.#enforce(decision, isDirect ? 'direct_chat' : 'create_room', creatorId, refusedUserId !== undefined ? { userId: refusedUserId } : {});
  }

  /** POST /join: `invited` is the joiner's current membership being an invitation. */
  async checkJoin(userId: string, roomId: string, invited: boolean): Promise<void> {
    await this.#enforce(mayJoin(await this.#person(userId), { invited }, this.#settings), 'join', userId, { roomId });
  }

  /**
   * The people `searcherId` may find in the user directory: room-mates, members of published
   * rooms and departments' functional accounts (shown under the department's name), as the
   * policy allows. Directory filtering is not audited: hiding someone is not a refused action.
   */
  async directoryCandidates(searcherId: string): Promise<DirectoryEntry[]> {
    const searcher = await this.#person(searcherId);
    const patient = this.#settings.enforceRoles && actsAsPatient(searcher.roles, this.#settings);
    const roomMates = await this.#storage.users.sharingRoomsWith(searcherId, { publishedRooms: false });
    const mateIds = new Set(roomMates.map((u) => u.userId));
    // A patient sees room-mates only, so the wider lists need not be read for them.
    const published = patient ? [] : (await this.#storage.users.sharingRoomsWith(searcherId)).filter((u) => !mateIds.has(u.userId));
    const departments = patient ? [] : await this.#storage.departments.functionalAccounts();
    const departmentNames = new Map(departments.map((d) => [d.userId, d.departmentName]));

    const entries = new Map<string, DirectoryEntry>();
    for (const user of [...roomMates, ...published]) entries.set(user.userId, user);
    for (const d of departments) {
      if (d.userId !== searcherId && !entries.has(d.userId)) entries.set(d.userId, { userId: d.userId, localpart: d.localpart, displayname: null, avatarUrl: d.avatarUrl });
    }
    const roles = patient ? await this.#storage.roles.rolesOfMany([...entries.keys()]) : new Map<string, Role[]>();

    const visible: DirectoryEntry[] = [];
    for (const entry of entries.values()) {
      const candidate: Person = { userId: entry.userId, roles: roles.get(entry.userId) ?? [], functional: departmentNames.has(entry.userId) };
      // Roles of candidates matter only to a patient searcher; others get the plain Matrix rules.
      const decision = mayFindInDirectory(searcher, candidate, { sharesRoom: mateIds.has(entry.userId), inPublishedRoom: !mateIds.has(entry.userId) }, this.#settings);
      if (!decision.allowed) continue;
      const department = departmentNames.get(entry.userId);
      visible.push(department !== undefined ? { ...entry, displayname: department } : entry);
    }
    return visible;
  }

  async #enforce(decision: Decision, attempt: Attempt, actorId: string, target: Record<string, string>): Promise<void> {
    if (decision.allowed) return;
    await this.#audit.record({
      action: 'policy.refuse',
      outcome: 'refused',
      actor: { userId: actorId },
      target,
      details: { rule: decision.reason, attempt },
    });
    throw new MatrixError('M_FORBIDDEN', decision.message);
  }

  async #person(userId: string): Promise<Person> {
    const [roles, department] = await Promise.all([this.#storage.roles.rolesOf(userId), this.#storage.departments.byFunctionalAccount(userId)]);
    return { userId, roles, functional: department !== undefined };
  }

  async #invitee(userId: string): Promise<Invitee> {
    const [person, content] = await Promise.all([this.#person(userId), this.#storage.accountData.get(userId, GLOBAL_ROOM, PERMISSION_CONFIG_TYPE)]);
    // Content is validated when written; anything unreadable (written before, or `{}` to clear it)
    // counts as no setting rather than locking the owner out.
    const parsed = content === undefined ? undefined : parsePermissionConfig(content);
    return { ...person, permissionConfig: parsed?.ok ? parsed.config : undefined };
  }

  /** Whether both users are joined to at least one common room. */
  async #sharesRoom(a: string, b: string): Promise<boolean> {
    const joined = async (userId: string) => (await this.#storage.events.roomsOf(userId)).filter((m) => m.membership === 'join').map((m) => m.roomId);
    const [mine, theirs] = await Promise.all([joined(a), joined(b)]);
    const set = new Set(mine);
    return theirs.some((roomId) => set.has(roomId));
  }
}
