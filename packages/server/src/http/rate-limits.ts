/**
 * Request rate limits per route (on by default; CADUCEUS_RATE_LIMITS=off for load tests).
 * Over the limit: 429 M_LIMIT_EXCEEDED with Retry-After and retry_after_ms. Counters are per process.
 */
import type { FastifyRequest } from 'fastify';
import { limitExceeded } from '@caduceus/core';

export interface RouteLimit {
  max: number;
  timeWindow: number;
  keyGenerator: (request: FastifyRequest) => string;
}

const byAddress = (request: FastifyRequest) => `ip:${request.ip}`;
const byUserOrAddress = (request: FastifyRequest) => (request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`);

/** Named limits, each a budget per time window. */
export const limits = {
  login: { max: 30, timeWindow: 60_000, keyGenerator: byAddress },
  register: { max: 10, timeWindow: 60_000, keyGenerator: byAddress },
  registrationTokenValidity: { max: 30, timeWindow: 60_000, keyGenerator: byAddress },
  refresh: { max: 60, timeWindow: 60_000, keyGenerator: byAddress },
  accountChange: { max: 20, timeWindow: 60_000, keyGenerator: byUserOrAddress },
  send: { max: 600, timeWindow: 60_000, keyGenerator: byUserOrAddress },
} satisfies Record<string, RouteLimit>;

/** Builds the error @fastify/rate-limit throws when a budget is spent. */
export function rateLimitError(_request: FastifyRequest, context: { ttl: number }) {
  return limitExceeded(context.ttl);
}
