/** Request fields shared by several endpoints, with the limits that keep bad input small. */
import { Type } from 'typebox';

export const PasswordField = Type.String({ maxLength: 1024 });
export const DeviceIdField = Type.String({ minLength: 1, maxLength: 255, pattern: '^[!-~]+$' });
export const DeviceNameField = Type.String({ maxLength: 512 });
export const AuthField = Type.Optional(Type.Unknown());
