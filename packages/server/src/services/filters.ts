/** TODO: being written. */
import type { ServiceDeps } from './index.ts';

export class FilterService {
  constructor(_deps: ServiceDeps) {}
}
