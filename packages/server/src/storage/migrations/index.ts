/**
 * Numbered, forward-only migrations, applied in order at start-up. Never edit a released one:
 * add the next number instead. Data backfills go in their own migration, apart from schema changes.
 */
import type { Migration } from 'kysely/migration';
import * as m001 from './001_accounts.ts';
import * as m002 from './002_rooms.ts';
import * as m003 from './003_keys.ts';
import * as m004 from './004_key_backup.ts';
import * as m005 from './005_media.ts';
import * as m006 from './006_to_device.ts';
import * as m007 from './007_roles.ts';
import * as m008 from './008_audit.ts';
import * as m009 from './009_mfa.ts';
import * as m010 from './010_session_policy.ts';
import * as m011 from './011_departments.ts';
import * as m012 from './012_media_references.ts';
import * as m013 from './013_room_blocks.ts';
import * as m014 from './014_oauth.ts';
import * as m015 from './015_upstream_idp.ts';
import * as m016 from './016_retention.ts';
import * as m017 from './017_audit_search.ts';

export const migrations: Record<string, Migration> = {
  '001_accounts': m001,
  '002_rooms': m002,
  '003_keys': m003,
  '004_key_backup': m004,
  '005_media': m005,
  '006_to_device': m006,
  '007_roles': m007,
  '008_audit': m008,
  '009_mfa': m009,
  '010_session_policy': m010,
  '011_departments': m011,
  '012_media_references': m012,
  '013_room_blocks': m013,
  '014_oauth': m014,
  '015_upstream_idp': m015,
  '016_retention': m016,
  '017_audit_search': m017,
};
