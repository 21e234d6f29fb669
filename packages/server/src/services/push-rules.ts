/**
 * A user's push rules (spec: "Push Rules"): the server defaults composed with the user's changes.
 * The rule logic is pure and lives in @caduceus/core; this service loads and saves the user's
 * document through the stream writer, which makes each change atomic across server processes and
 * wakes the user's /sync (clients see the new rules as m.push_rules account data).
 */
import {
  composePushRuleset,
  deletePushRule,
  getPushRule,
  parsePushRulesDocument,
  putPushRule,
  setPushRuleActions,
  setPushRuleEnabled,
  type PushAction,
  type PushRule,
  type PushRuleInput,
  type PushRuleKind,
  type PushRulePosition,
  type PushRuleset,
  type PushRulesDocument,
} from '@caduceus/core';
import type { Storage } from '../storage/index.ts';
import type { StreamWriter } from './stream-writer.ts';
import type { ServiceDeps } from './index.ts';

export class PushRuleService {
  readonly #storage: Storage;
  readonly #writer: StreamWriter;

  constructor(deps: ServiceDeps) {
    this.#storage = deps.storage;
    this.#writer = deps.writer;
  }

  /** The user's `global` ruleset, as clients and /sync (`m.push_rules` account data) see it. */
  async ruleset(userId: string): Promise<PushRuleset> {
    return composePushRuleset(parsePushRulesDocument(await this.#storage.pushRules.get(userId)), userId);
  }

  async get(userId: string, kind: PushRuleKind, ruleId: string): Promise<PushRule> {
    return getPushRule(parsePushRulesDocument(await this.#storage.pushRules.get(userId)), userId, kind, ruleId);
  }

  /** Adds or replaces a user-defined rule. */
  async put(userId: string, kind: PushRuleKind, ruleId: string, input: PushRuleInput, position: PushRulePosition): Promise<void> {
    await this.#change(userId, (doc) => putPushRule(doc, kind, ruleId, input, position));
  }

  async delete(userId: string, kind: PushRuleKind, ruleId: string): Promise<void> {
    await this.#change(userId, (doc) => deletePushRule(doc, kind, ruleId));
  }

  async setEnabled(userId: string, kind: PushRuleKind, ruleId: string, enabled: boolean): Promise<void> {
    await this.#change(userId, (doc) => setPushRuleEnabled(doc, kind, ruleId, enabled));
  }

  async setActions(userId: string, kind: PushRuleKind, ruleId: string, actions: PushAction[]): Promise<void> {
    await this.#change(userId, (doc) => setPushRuleActions(doc, kind, ruleId, actions));
  }

  /** Applies a change to the user's document; the new stream position tells /sync the rules changed. */
  async #change(userId: string, change: (doc: PushRulesDocument) => PushRulesDocument): Promise<void> {
    await this.#writer.write(async ({ stores, nextPosition, touch, mark }) => {
      await stores.pushRules.update(userId, (current) => change(parsePushRulesDocument(current)), await nextPosition());
      touch([], [userId]);
      mark('accountData', [userId]);
    });
  }
}
