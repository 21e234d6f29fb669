/**
 * A compiled query with its parameters written into the text as literals, for the few places that
 * send several statements in one round trip (PostgreSQL's simple query protocol takes no parameters;
 * postgres-batch.ts). Values are the ones our stores pass: text, finite numbers, booleans and null.
 * Text is quoted as the driver's `escapeLiteral` does it; anything else is refused rather than guessed.
 */
import type { CompiledQuery } from 'kysely';

export function inlineParameters(query: CompiledQuery): string {
  const { sql: text, parameters } = query;
  const parts: string[] = [];
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    // Quoted text and identifiers are copied as they are: a "$1" inside them is not a placeholder.
    if (c === SINGLE_QUOTE || c === DOUBLE_QUOTE) {
      i = closingQuote(text, i);
    } else if (c === DOLLAR && isDigit(text.charCodeAt(i + 1))) {
      let j = i + 1;
      while (j < text.length && isDigit(text.charCodeAt(j))) j++;
      const index = Number(text.slice(i + 1, j)) - 1;
      if (index < 0 || index >= parameters.length) throw new Error(`no parameter for $${index + 1}`);
      parts.push(text.slice(copied, i), literal(parameters[index]));
      copied = i = j;
    } else {
      i++;
    }
  }
  parts.push(text.slice(copied));
  return parts.join('');
}

const SINGLE_QUOTE = 39;
const DOUBLE_QUOTE = 34;
const DOLLAR = 36;

/** The position just after the quote that closes the one at `start` (a doubled quote is part of the text). */
function closingQuote(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  for (;;) {
    const next = text.indexOf(quote!, i);
    if (next < 0) throw new Error('unterminated quote in SQL text');
    if (text[next + 1] === quote) i = next + 2;
    else return next + 1;
  }
}

const isDigit = (code: number) => code >= 48 && code <= 57;

/**
 * A string literal, as the driver's `escapeLiteral` writes it (quotes doubled; with a backslash, an
 * E'' string with backslashes doubled, right whatever standard_conforming_strings says), but with
 * the engine's own replaceAll: event JSON makes these long, and a character-by-character copy cost
 * a millisecond per batch.
 */
function quoted(value: string): string {
  const inner = value.replaceAll("'", "''");
  return value.includes('\\') ? ` E'${inner.replaceAll('\\', '\\\\')}'` : `'${inner}'`;
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error('a number parameter that is not finite');
      // In parentheses when negative: after a minus in the text, "-5" would start a comment.
      return value < 0 ? `(${value})` : String(value);
    case 'bigint':
      return value < 0n ? `(${value})` : value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      throw new Error(`a ${typeof value} parameter cannot be written into SQL text`);
  }
}
