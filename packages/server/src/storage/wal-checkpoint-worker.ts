/** The thread of wal-checkpointer.ts: PASSIVE checkpoints of one database, on its own connection. */
import { DatabaseSync } from 'node:sqlite';
import { workerData } from 'node:worker_threads';

const { databasePath, intervalMs } = workerData as { databasePath: string; intervalMs: number };
const database = new DatabaseSync(databasePath);
database.exec('PRAGMA busy_timeout = 5000');
const checkpoint = database.prepare('PRAGMA wal_checkpoint(PASSIVE)');

/** At most this many checkpoints in a row: a log that keeps growing is caught up with next time. */
const MAX_ROUNDS = 16;

setInterval(() => {
  // A checkpoint copies the frames that were in the log when it started; the server's commits go on
  // meanwhile. The log starts over (at the next commit) only once a checkpoint has copied everything,
  // so repeat, each round shorter, until one finds nothing new.
  let previous = -1;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // `log`: frames in the log (-1 when not in WAL mode); `checkpointed`: frames copied into the database.
    const { log } = checkpoint.all()[0] as { busy: number; log: number; checkpointed: number };
    if (log <= 0 || log === previous) break;
    previous = log;
  }
}, intervalMs);
