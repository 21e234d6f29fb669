/** TODO: being written. */
import type { ServiceDeps } from './index.ts';

export class ProfileService {
  constructor(_deps: ServiceDeps) {}
}
