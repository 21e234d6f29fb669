/** A worker thread of a server with `workers` > 1 (see worker-threads.ts): serves until told to stop. */
import { parentPort, workerData } from 'node:worker_threads';
import { startThreadServer, type ThreadServerData } from './server.ts';

const port = parentPort!;
const server = await startThreadServer(workerData as ThreadServerData);
port.on('message', (message: { kind: string }) => {
  if (message.kind !== 'stop') return;
  // Ends the thread once the server has closed (its database flushed), whatever timers remain.
  void server.close().finally(() => process.exit(0));
});
port.postMessage({ kind: 'listening', url: server.url });
