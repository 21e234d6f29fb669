/** TODO: being written. */
import type { ServiceDeps } from './index.ts';

export class AccountDataService {
  constructor(_deps: ServiceDeps) {}
}
