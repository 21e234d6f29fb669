/** Organisation policy: who may contact whom, as pure decisions (see contact.ts). */
export * from './contact.ts';
export * from './permission-config.ts';
