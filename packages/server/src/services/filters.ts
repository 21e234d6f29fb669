/**
 * Sync filters (spec: "Filtering"). A client uploads a filter once and names it by id in /sync, or
 * sends it inline as JSON (matrix-js-sdk does that on its first /sync). The same filter from the
 * same user always gets the same id. Fields the spec does not define are allowed and kept.
 */
import { createHash, randomInt } from 'node:crypto';
import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { CanonicalJsonError, MatrixError, canonicalJson } from '@caduceus/core';
import type { FilterStore } from '../storage/index.ts';
import type { ServiceDeps } from './index.ts';

// Bounds that keep a filter small; the spec sets none.
const MAX_LIST = 1000;
const MAX_ROOM_LIST = 10_000;
const Id = Type.String({ maxLength: 255 });
const List = (maxItems: number) => Type.Optional(Type.Array(Id, { maxItems }));
const Flag = Type.Optional(Type.Boolean());

const eventFilterFields = {
  /** Servers apply their own maximum when they use it; here it only has to be a positive integer. */
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  types: List(MAX_LIST),
  not_types: List(MAX_LIST),
  senders: List(MAX_LIST),
  not_senders: List(MAX_LIST),
};

/** EventFilter (definitions/event_filter.yaml). */
export const EventFilterSchema = Type.Object(eventFilterFields);

/** RoomEventFilter (definitions/room_event_filter.yaml): an EventFilter plus room-specific fields. */
export const RoomEventFilterSchema = Type.Object({
  ...eventFilterFields,
  rooms: List(MAX_ROOM_LIST),
  not_rooms: List(MAX_ROOM_LIST),
  lazy_load_members: Flag,
  include_redundant_members: Flag,
  contains_url: Flag,
  unread_thread_notifications: Flag,
});

/** RoomFilter (the `room` part of definitions/sync_filter.yaml). */
export const RoomFilterSchema = Type.Object({
  rooms: List(MAX_ROOM_LIST),
  not_rooms: List(MAX_ROOM_LIST),
  ephemeral: Type.Optional(RoomEventFilterSchema),
  include_leave: Flag,
  state: Type.Optional(RoomEventFilterSchema),
  timeline: Type.Optional(RoomEventFilterSchema),
  account_data: Type.Optional(RoomEventFilterSchema),
});

/** Filter (definitions/sync_filter.yaml). */
export const FilterSchema = Type.Object({
  event_fields: List(MAX_LIST),
  event_format: Type.Optional(Type.Enum(['client', 'federation'])),
  presence: Type.Optional(EventFilterSchema),
  account_data: Type.Optional(EventFilterSchema),
  room: Type.Optional(RoomFilterSchema),
});

/** A validated filter; fields beyond the spec's are kept as sent. */
export type Filter = Static<typeof FilterSchema> & Record<string, unknown>;

const filterCheck = Compile(FilterSchema as TSchema);

/** Validates a parsed JSON value as a Filter, or throws M_BAD_JSON naming the first bad field. */
export function validateFilter(value: unknown): Filter {
  if (filterCheck.Check(value)) return value as Filter;
  const first = filterCheck.Errors(value)[0];
  const field = first?.instancePath.replace(/^\//, '').replace(/\//g, '.') ?? '';
  throw new MatrixError('M_BAD_JSON', `Invalid filter: ${field ? `${field} ` : ''}${first?.message ?? 'is invalid'}`);
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 10;

/** A short random id of [A-Za-z0-9]: never starts with "{", so it cannot be taken for inline JSON. */
function newFilterId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** The canonical form of a filter, which is what is stored and hashed. */
function canonicalFilter(filter: Filter): string {
  try {
    return canonicalJson(filter);
  } catch (error) {
    if (error instanceof CanonicalJsonError) throw new MatrixError('M_BAD_JSON', 'Invalid filter: numbers in a filter must be integers');
    // Only extra fields can nest deeply enough to exhaust the stack.
    throw new MatrixError('M_BAD_JSON', 'Invalid filter: nested too deeply');
  }
}

const filterNotFound = () => new MatrixError('M_NOT_FOUND', 'No such filter');

export class FilterService {
  readonly #filters: FilterStore;
  readonly #resolved = new Map<string, Filter>();

  constructor(deps: ServiceDeps) {
    this.#filters = deps.storage.filters;
  }

  /** Stores the caller's filter and returns its id; an identical earlier filter keeps its id. */
  async create(callerId: string, userId: string, filter: Filter): Promise<string> {
    checkOwner(callerId, userId);
    const json = canonicalFilter(filter);
    const hash = createHash('sha256').update(json).digest('base64url');
    const existing = await this.#filters.findByHash(userId, hash);
    if (existing !== undefined) return existing;
    for (let attempt = 0; attempt < 5; attempt++) {
      const filterId = newFilterId();
      if (await this.#filters.insert(userId, filterId, hash, json)) return filterId;
      // Either the id was taken, or the same filter was stored meanwhile by a concurrent request.
      const stored = await this.#filters.findByHash(userId, hash);
      if (stored !== undefined) return stored;
    }
    throw new Error('could not allocate a filter id');
  }

  /** The caller's filter with this id. */
  async get(callerId: string, userId: string, filterId: string): Promise<Filter> {
    checkOwner(callerId, userId);
    return this.#load(userId, filterId);
  }

  /**
   * The filter a /sync `filter` parameter names: inline JSON when it starts with "{" (validated like
   * an upload; M_NOT_JSON / M_BAD_JSON when bad), otherwise the id of one of the user's filters
   * (M_NOT_FOUND when there is none).
   */
  async resolve(userId: string, filterParam: string): Promise<Filter> {
    // Clients send the same filter with every long-poll: parse and validate each distinct one once.
    // Stored filters never change once created, so a cached one is still right.
    const cacheKey = filterParam.startsWith('{') ? filterParam : `${userId}\u0000${filterParam}`;
    const cached = this.#resolved.get(cacheKey);
    if (cached) return cached;
    const filter = filterParam.startsWith('{') ? parseInlineFilter(filterParam) : await this.#load(userId, filterParam);
    if (this.#resolved.size >= MAX_RESOLVED_FILTERS) this.#resolved.clear();
    this.#resolved.set(cacheKey, filter);
    return filter;
  }

  async #load(userId: string, filterId: string): Promise<Filter> {
    const json = await this.#filters.get(userId, filterId);
    if (json === undefined) throw filterNotFound();
    return JSON.parse(json) as Filter;
  }
}

function parseInlineFilter(filterParam: string): Filter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(filterParam);
  } catch {
    throw new MatrixError('M_NOT_JSON', 'The filter parameter is not valid JSON');
  }
  return validateFilter(parsed);
}

/** Distinct filters kept parsed; clearing the cache only costs a re-parse. */
const MAX_RESOLVED_FILTERS = 10_000;

function checkOwner(callerId: string, userId: string) {
  if (callerId !== userId) throw new MatrixError('M_FORBIDDEN', 'You may only use your own filters');
}
