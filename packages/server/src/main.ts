/** `node src/main.ts`: load config → open storage → migrate → build app → listen. */
import { runServer } from './run.ts';

await runServer();
