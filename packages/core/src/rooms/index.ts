/** Room-version logic (v10, v11): event shapes, auth rules, redaction, power levels. Runtime-free. */
export type { AuthResult, Membership, PersistedEvent, RoomVersion, StateEvent, StateKeyPair, StateLookup, StateMap } from './types.ts';
export { stateMapKey, stateMapOf, toStateLookup } from './types.ts';
export * from './versions.ts';
export * from './power-levels.ts';
export * from './redaction.ts';
export * from './auth-rules.ts';
