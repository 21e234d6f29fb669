/**
 * Numbered, forward-only migrations, applied in order at start-up. Never edit a released one:
 * add the next number instead. Data backfills go in their own migration, apart from schema changes.
 */
import type { Migration } from 'kysely/migration';
import * as m001 from './001_accounts.ts';
import * as m002 from './002_rooms.ts';
import * as m003 from './003_keys.ts';

export const migrations: Record<string, Migration> = {
  '001_accounts': m001,
  '002_rooms': m002,
  '003_keys': m003,
};
