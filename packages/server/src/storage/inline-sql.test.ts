/** Parameters written into SQL text as literals: only where placeholders are, and always escaped. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompiledQuery } from 'kysely';
import pg from 'pg';
import { inlineParameters } from './inline-sql.ts';

const query = (sql: string, ...parameters: unknown[]) => ({ sql, parameters, query: undefined }) as unknown as CompiledQuery;

test('placeholders become literals; text is quoted with its quotes doubled, backslashes in E strings', () => {
  assert.equal(inlineParameters(query('insert into t (a, b, c) values ($1, $2, $3)', "O'Brien", 'C:\\path', null)), `insert into t (a, b, c) values ('O''Brien',  E'C:\\\\path', null)`);
  assert.equal(inlineParameters(query('select $1, $2, $10', 1, true, ...Array(7).fill(0), 'ten')), "select 1, true, 'ten'");
});

test('a "$1" inside quoted text or a quoted identifier is left alone', () => {
  assert.equal(inlineParameters(query(`select '$1 it''s $2', "col$1" from t where x = $1`, 'v')), `select '$1 it''s $2', "col$1" from t where x = 'v'`);
});

test('a value that looks like SQL or a placeholder stays inside its literal', () => {
  const hostile = `'); drop table events; -- $1 \\' "`;
  const text = inlineParameters(query('select $1, $2', hostile, 'x'));
  assert.equal(text, `select  E'''); drop table events; -- $1 \\\\'' "', 'x'`);
});

test('negative numbers are parenthesised, so a minus before them cannot make a comment', () => {
  assert.equal(inlineParameters(query('select 5 -$1, $2', -3, 2.5)), 'select 5 -(-3), 2.5');
});

test('values that have no safe literal are refused', () => {
  assert.throws(() => inlineParameters(query('select $1', Number.NaN)), /not finite/);
  assert.throws(() => inlineParameters(query('select $1', { a: 1 })), /cannot be written/);
  assert.throws(() => inlineParameters(query('select $1', Buffer.from('x'))), /cannot be written/);
  assert.throws(() => inlineParameters(query('select $2', 'only one')), /no parameter/);
  assert.throws(() => inlineParameters(query("select 'open", 'x')), /unterminated/);
});

test("text literals are exactly the driver's escapeLiteral, on 2,000 random strings of quotes, backslashes and any script", () => {
  const alphabet = ["'", '\\', '"', '$', '1', 'a', ' ', '\n', 'é', '患', '🩺', '\u2028', 'E', ';', '-'];
  for (let n = 0; n < 2000; n++) {
    let value = '';
    for (let length = Math.floor(Math.random() * 24); length > 0; length--) value += alphabet[Math.floor(Math.random() * alphabet.length)];
    assert.equal(inlineParameters(query('select $1', value)), `select ${pg.escapeLiteral(value)}`, JSON.stringify(value));
  }
});
