/** Opaque page tokens for admin lists: the last id of a page, base64url-encoded. */
import { MatrixError } from '@caduceus/core';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export const encodeFrom = (lastId: string) => Buffer.from(lastId, 'utf8').toString('base64url');

export function decodeFrom(from: string | undefined): string | undefined {
  if (from === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(from)) throw new MatrixError('M_INVALID_PARAM', 'Invalid from token');
  return Buffer.from(from, 'base64url').toString('utf8');
}

/** One more row than the page asks for tells whether there is a next page. */
export function page<T>(rows: T[], limit: number, idOf: (row: T) => string): { items: T[]; next: string | undefined } {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? encodeFrom(idOf(items[items.length - 1]!)) : undefined };
}
