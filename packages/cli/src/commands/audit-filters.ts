/** The filters `audit export` (on the database) and `audit search` (admin API) both take. */
export const AUDIT_FILTER_OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  user: { type: 'string' },
  room: { type: 'string' },
  action: { type: 'string' },
  outcome: { type: 'string' },
} as const;
