/** TODO: being written. */
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';

export function profileRoutes(_app: App, _services: Services) {}
