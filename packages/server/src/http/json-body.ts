/**
 * The request body parser: every body is read as JSON (Matrix clients do not always send a
 * Content-Type), an empty body counts as {}, prototype-poisoning keys are refused, and nesting is
 * bounded so no later step (canonical JSON, storage) can be driven into a stack overflow.
 */
import type { FastifyInstance } from 'fastify';
import { MatrixError } from '@caduceus/core';

/** Deepest nesting of objects and arrays accepted in a request body. */
export const MAX_JSON_DEPTH = 100;

/** Whether objects and arrays in `value` nest deeper than `maxDepth`; iterative, so any input is safe. */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

export function installJsonBodyParser(app: FastifyInstance) {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, {});
    parseJson(request, body as string, (err, value) => {
      if (err) return done(err, undefined);
      if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
        return done(new MatrixError('M_BAD_JSON', `JSON may nest at most ${MAX_JSON_DEPTH} levels deep`), undefined);
      }
      done(null, value);
    });
  });
}
