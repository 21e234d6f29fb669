/**
 * Organisation policies at run time. The configuration gives each policy its default; a value an
 * administrator sets is kept in the database (server_settings, `policy.<key>`) and wins over it
 * until cleared (set to null). Stored values are applied to the live configuration at start-up,
 * at once when changed, and — for other processes sharing a PostgreSQL database — within
 * REFRESH_INTERVAL_MS.
 */
import { MatrixError } from '@caduceus/core';
import Value from 'typebox/value';
import type { Config } from '../../config/config.ts';
import type { Storage } from '../../storage/index.ts';
import { AdminAuditor, type AdminCaller } from './access.ts';
import { POLICY_DEFINITIONS, type PolicyDefinition } from './policy-definitions.ts';

const PREFIX = 'policy.';
export const REFRESH_INTERVAL_MS = 15_000;

export interface PolicyView {
  value: unknown;
  /** The configuration's value, used when nothing is stored. */
  default: unknown;
  source: 'config' | 'stored';
  description: string;
}

export class PolicyService {
  readonly #config: Config;
  readonly #storage: Storage;
  readonly #auditor: AdminAuditor;
  /** The configuration's own values, before any stored policy was applied. */
  readonly #defaults: Map<string, unknown>;
  #stored = new Map<string, unknown>();
  #timer: NodeJS.Timeout | undefined;

  constructor(config: Config, storage: Storage, auditor: AdminAuditor) {
    this.#config = config;
    this.#storage = storage;
    this.#auditor = auditor;
    this.#defaults = new Map(POLICY_DEFINITIONS.map((d) => [d.key, structuredClone(d.read(config))]));
  }

  /** Reads the stored policies and applies them; a stored value that no longer validates is ignored (and reported). */
  async load(): Promise<string[]> {
    const rows = await this.#storage.settings.withPrefix(PREFIX);
    const stored = new Map<string, unknown>();
    const ignored: string[] = [];
    for (const [name, text] of rows) {
      const definition = POLICY_DEFINITIONS.find((d) => PREFIX + d.key === name);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        value = undefined;
      }
      if (!definition || !Value.Check(definition.schema, value)) ignored.push(name);
      else stored.set(definition.key, value);
    }
    this.#stored = stored;
    for (const definition of POLICY_DEFINITIONS) this.#applyEffective(definition);
    return ignored;
  }

  /** Other processes may change the policies in a shared database: look again now and then. */
  startRefreshing(onError: (err: unknown) => void): void {
    this.#timer ??= setInterval(() => void this.load().catch(onError), REFRESH_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Every policy with its effective value, default and source. */
  view(): Record<string, PolicyView> {
    return Object.fromEntries(
      POLICY_DEFINITIONS.map((d) => [
        d.key,
        { value: d.read(this.#config), default: this.#defaults.get(d.key), source: this.#stored.has(d.key) ? 'stored' : 'config', description: d.description },
      ]),
    );
  }

  async get(caller: AdminCaller): Promise<Record<string, PolicyView>> {
    return this.#auditor.run(caller, 'policies', 'get', {}, async () => this.view());
  }

  /** Sets (or, with null, clears) the named policies; all of them or none. */
  async update(caller: AdminCaller, changes: Record<string, unknown>): Promise<Record<string, PolicyView>> {
    const entries = Object.entries(changes);
    if (entries.length === 0) throw new MatrixError('M_BAD_JSON', 'Name at least one policy to change');
    const resolved = entries.map(([key, value]) => {
      const definition = POLICY_DEFINITIONS.find((d) => d.key === key);
      if (!definition) throw new MatrixError('M_BAD_JSON', `Unknown policy: ${key}`);
      if (value !== null && !Value.Check(definition.schema, value)) throw new MatrixError('M_BAD_JSON', `Invalid value for ${key}`);
      return { definition, value };
    });
    const changed = Object.fromEntries(resolved.map(({ definition, value }) => [definition.key, value === null ? 'default' : JSON.stringify(value)]));
    return this.#auditor.run(caller, 'policies', 'update', {}, async (record) => {
      await this.#auditor.transaction(async (stores) => {
        for (const { definition, value } of resolved) {
          if (value === null) await stores.settings.delete(PREFIX + definition.key);
          else await stores.settings.set(PREFIX + definition.key, JSON.stringify(value));
        }
        await record(changed, stores);
      });
      for (const { definition, value } of resolved) {
        if (value === null) this.#stored.delete(definition.key);
        else this.#stored.set(definition.key, value);
        this.#applyEffective(definition);
      }
      return this.view();
    });
  }

  #applyEffective(definition: PolicyDefinition) {
    const value = this.#stored.has(definition.key) ? this.#stored.get(definition.key) : this.#defaults.get(definition.key);
    definition.apply(this.#config, structuredClone(value));
  }
}
