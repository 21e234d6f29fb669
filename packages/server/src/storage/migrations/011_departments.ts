/**
 * Departments ("Cardiology", "Front desk"): a named group of staff with, optionally, a functional
 * account — an ordinary user account that stands for the department in rooms and in the directory.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('departments')
    .addColumn('department_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('functional_user_id', 'text', (c) => c.references('users.user_id').unique())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('department_members')
    .addColumn('department_id', 'text', (c) => c.notNull().references('departments.department_id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id'))
    .addPrimaryKeyConstraint('department_members_pk', ['department_id', 'user_id'])
    .execute();
  await db.schema.createIndex('department_members_user').on('department_members').columns(['user_id', 'department_id']).execute();
}
