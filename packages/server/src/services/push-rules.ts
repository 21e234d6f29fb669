/** TODO: being written. */
import type { ServiceDeps } from './index.ts';

export class PushRuleService {
  constructor(_deps: ServiceDeps) {}
}
