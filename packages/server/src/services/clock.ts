/** Time as the services see it; tests swap in a controllable clock for expiry, logoff and retention. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = Date.now()) {
    this.#now = start;
  }
  now() {
    return this.#now;
  }
  advance(ms: number) {
    this.#now += ms;
  }
}
