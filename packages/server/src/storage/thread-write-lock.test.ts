/** The worker threads' write lock: a second thread waits while the first holds it, and goes on the moment it is let go. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ThreadWriteLock } from './thread-write-lock.ts';

/** Runs in a worker: takes the lock (blocking), reports how long that took, lets go. */
const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const cell = new Int32Array(workerData, 0, 1);
  parentPort.postMessage('ready');
  const started = performance.now();
  while (Atomics.compareExchange(cell, 0, 0, 99) !== 0) Atomics.wait(cell, 0, Atomics.load(cell, 0), 5000);
  const waited = performance.now() - started;
  Atomics.store(cell, 0, 0);
  Atomics.notify(cell, 0);
  parentPort.postMessage(waited);
`;

test('another thread waits for the lock until it is released, then takes it at once', async () => {
  const buffer = new SharedArrayBuffer(4);
  const lock = new ThreadWriteLock(buffer);
  assert.equal(lock.acquire(), true);
  const worker = new Worker(WORKER, { eval: true, workerData: buffer });
  const next = () => new Promise((resolve) => worker.once('message', resolve));
  assert.equal(await next(), 'ready');
  const answered = next();
  await new Promise((resolve) => setTimeout(resolve, 100));
  lock.release();
  const waited = (await answered) as number;
  assert.ok(waited >= 90, `the other thread waited while the lock was held (${waited.toFixed(0)} ms)`);
  assert.ok(waited < 1_000, `and got it promptly once released (${waited.toFixed(0)} ms)`);
  await worker.terminate();
});

test('free() resolves without taking the lock, once the holder lets go', async () => {
  const buffer = new SharedArrayBuffer(4);
  const cell = new Int32Array(buffer, 0, 1);
  // Another thread (mark 99) holds it.
  Atomics.store(cell, 0, 99);
  const lock = new ThreadWriteLock(buffer);
  let freed = false;
  const waiting = lock.free().then(() => (freed = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(freed, false, 'still held by the other thread');
  Atomics.store(cell, 0, 0);
  Atomics.notify(cell, 0);
  await waiting;
  assert.equal(Atomics.load(cell, 0), 0, 'free() did not take it');
  assert.equal(lock.acquire(), true);
  lock.release();
  assert.equal(Atomics.load(cell, 0), 0);
});
