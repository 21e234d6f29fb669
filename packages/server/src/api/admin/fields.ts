/** Request fields the admin routes share. */
import { Type } from 'typebox';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../services/admin/paging.ts';

export const UserIdParam = Type.Object({ userId: Type.String({ minLength: 3, maxLength: 255, pattern: '^@', description: 'A user id, e.g. @alice:example.org' }) });
export const RoomIdParam = Type.Object({ roomId: Type.String({ minLength: 3, maxLength: 255, pattern: '^!', description: 'A room id' }) });
export const Limit = Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Page size' });
export const From = Type.String({ minLength: 1, maxLength: 2000, description: 'next_from of the previous page' });
export const RoleList = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16, description: 'admin, security_officer, clinician, staff, patient, service' });
