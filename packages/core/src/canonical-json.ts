/**
 * Canonical JSON (spec appendices, "Canonical JSON"): object keys sorted by Unicode code point,
 * no insignificant whitespace, UTF-8, integers only in the IEEE-754 safe range.
 * Used for signing and hashing, so the same value always yields the same bytes.
 */

const MAX_SAFE = 2 ** 53 - 1;

export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

/** Compares two strings by Unicode code point (not UTF-16 code unit, which orders astral characters wrongly). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done || cb.done) return ca.done === cb.done ? 0 : ca.done ? -1 : 1;
    const d = (ca.value.codePointAt(0) ?? 0) - (cb.value.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
}

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isInteger(value) || Math.abs(value) > MAX_SAFE) {
        throw new CanonicalJsonError('canonical JSON allows only integers in [-(2^53)+1, 2^53-1]');
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => compareCodePoints(a, b));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(`cannot encode a ${typeof value} as canonical JSON`);
  }
}
