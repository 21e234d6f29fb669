/**
 * The worker threads of a server started with `workers` > 1: each runs the whole HTTP server
 * (server-thread.ts) on the same port, so requests are parsed, authenticated and answered on
 * several cores. The first thread starts them once it has migrated the database and listens.
 */
import { Worker } from 'node:worker_threads';
import type { ThreadServerData } from './server.ts';

export interface WorkerThreads {
  /** Each thread's URL (differs from the first thread's only with separate ports). */
  urls: string[];
  /** Stops every thread's server (in-flight requests finish; long-polls are answered) and waits for them. */
  stop(): Promise<void>;
}

type FromThread = { kind: 'listening'; url: string } | { kind: 'stopped' };

/** How long a thread may take to start (open the database, build the app, listen). */
const START_TIMEOUT_MS = 30_000;

export async function startWorkerThreads(count: number, data: ThreadServerData, onFailure: (err: Error) => void): Promise<WorkerThreads> {
  const started: Array<{ worker: Worker; url: string; exited: Promise<void> }> = [];
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    await Promise.all(started.map(({ worker, exited }) => stopThread(worker, exited)));
  };
  try {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./server-thread.ts', import.meta.url), { workerData: data });
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const url = await untilListening(worker);
      started.push({ worker, url, exited });
      // From now on a thread that dies takes the server down with it (as an uncaught error in a
      // single-threaded server would): a supervisor restarts the whole, in a known state.
      worker.on('error', (err) => {
        if (!stopping) onFailure(err);
      });
      worker.on('exit', (code) => {
        if (!stopping) onFailure(new Error(`worker thread exited with code ${code}`));
      });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { urls: started.map((s) => s.url), stop: stopAll };
}

function untilListening(worker: Worker): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error('a worker thread did not start in time'));
    }, START_TIMEOUT_MS);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      settle();
    };
    const onMessage = (message: FromThread) => {
      if (message.kind === 'listening') done(() => resolve(message.url));
    };
    const onError = (err: Error) => done(() => reject(err));
    const onExit = (code: number) => done(() => reject(new Error(`worker thread exited with code ${code} while starting`)));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

async function stopThread(worker: Worker, exited: Promise<void>): Promise<void> {
  worker.postMessage({ kind: 'stop' });
  // A thread that cannot close its server in time is ended.
  const timer = setTimeout(() => void worker.terminate(), 10_000);
  await exited;
  clearTimeout(timer);
}
