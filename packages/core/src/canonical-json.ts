/**
 * Canonical JSON (spec appendices, "Canonical JSON"): object keys sorted by Unicode code point,
 * no insignificant whitespace, UTF-8, integers only in the IEEE-754 safe range.
 * Used for signing and hashing, so the same value always yields the same bytes.
 */

const MAX_SAFE = 2 ** 53 - 1;

export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

/**
 * Compares two strings by Unicode code point (not UTF-16 code unit, which orders astral characters
 * wrongly). The orders differ only where a surrogate meets a unit in U+E000..U+FFFF: there the
 * surrogate (half of a code point above U+FFFF) must sort last.
 */
export function compareCodePoints(a: string, b: string): number {
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    return ca >= 0xd800 && cb >= 0xd800 ? codePointRank(ca) - codePointRank(cb) : ca - cb;
  }
  return a.length - b.length;
}

/** Orders a UTF-16 unit at or above U+D800 by the code point it belongs to: surrogates after U+E000..U+FFFF. */
const codePointRank = (unit: number) => (unit >= 0xe000 ? unit - 0x800 : unit + 0x2000);

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
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        return `${out}]`;
      }
      // Every event hashed and signed and every audit entry passes here: plain loops, no entry arrays.
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object).sort(compareCodePoints);
      let out = '{';
      for (const key of keys) {
        const field = object[key];
        if (field === undefined) continue;
        out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(field)}`;
      }
      return `${out}}`;
    }
    default:
      throw new CanonicalJsonError(`cannot encode a ${typeof value} as canonical JSON`);
  }
}
