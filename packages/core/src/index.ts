export * from './errors.ts';
export * from './ids.ts';
export * from './canonical-json.ts';
export * from './base64.ts';
export * from './push-rules.ts';
export * from './rooms/index.ts';
export * from './roles.ts';
