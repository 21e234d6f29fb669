/** The Caduceus version recorded in backups: the server package's version. */
import { readFileSync } from 'node:fs';

let version: string | undefined;

export function caduceusVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
