/** Request fields shared by several endpoints, with the limits that keep bad input small. */
import { Type } from 'typebox';

export const PasswordField = Type.String({ maxLength: 1024 });
export const DeviceIdField = Type.String({ minLength: 1, maxLength: 255, pattern: '^[!-~]+$' });
export const DeviceNameField = Type.String({ maxLength: 512 });
export const AuthField = Type.Optional(Type.Unknown());
export const UserIdField = Type.String({ minLength: 3, maxLength: 255, pattern: '^@' });
export const RoomIdParam = Type.Object({ roomId: Type.String({ minLength: 3, maxLength: 255, pattern: '^!' }) });
export const EventTypeField = Type.String({ minLength: 1, maxLength: 255 });
export const TxnIdField = Type.String({ minLength: 1, maxLength: 255 });
export const EventContent = Type.Record(Type.String(), Type.Unknown());
