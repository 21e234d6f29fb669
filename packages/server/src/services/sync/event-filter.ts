/** Applying sync filters (spec: "Filtering") to events: types, senders and rooms, with "*" wildcards. */

export interface EventFilterLike {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
  rooms?: string[];
  not_rooms?: string[];
  lazy_load_members?: boolean;
  include_redundant_members?: boolean;
  contains_url?: boolean;
}

export interface SyncFilterLike {
  account_data?: EventFilterLike;
  presence?: EventFilterLike;
  room?: {
    rooms?: string[];
    not_rooms?: string[];
    include_leave?: boolean;
    timeline?: EventFilterLike;
    state?: EventFilterLike;
    ephemeral?: EventFilterLike;
    account_data?: EventFilterLike;
  };
}

const patternCache = new Map<string, RegExp>();

function matchesPattern(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  let regex = patternCache.get(pattern);
  if (!regex) {
    regex = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (patternCache.size > 1000) patternCache.clear();
    patternCache.set(pattern, regex);
  }
  return regex.test(value);
}

const anyMatches = (patterns: string[] | undefined, value: string) => patterns?.some((p) => matchesPattern(p, value)) ?? false;

/** Whether an event passes a filter's type and sender conditions. */
export function eventPasses(filter: EventFilterLike | undefined, event: { type: string; sender?: string; content?: Record<string, unknown> }): boolean {
  if (!filter) return true;
  if (anyMatches(filter.not_types, event.type)) return false;
  if (filter.types && !anyMatches(filter.types, event.type)) return false;
  if (event.sender !== undefined) {
    if (filter.not_senders?.includes(event.sender)) return false;
    if (filter.senders && !filter.senders.includes(event.sender)) return false;
  }
  if (filter.contains_url !== undefined && event.content) {
    if (filter.contains_url !== (typeof event.content.url === 'string')) return false;
  }
  return true;
}

/** Whether a room passes room-level rooms/not_rooms conditions. */
export function roomPasses(filter: { rooms?: string[]; not_rooms?: string[] } | undefined, roomId: string): boolean {
  if (!filter) return true;
  if (filter.not_rooms?.includes(roomId)) return false;
  if (filter.rooms && !filter.rooms.includes(roomId)) return false;
  return true;
}
