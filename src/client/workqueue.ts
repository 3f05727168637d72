/**
 * A rate-limited work queue keyed by string, with the semantics of client-go's
 * workqueue as controller-runtime drives it:
 *
 * - a key added while queued is queued once (dedupe);
 * - a key is never handled by two workers at once: adding it while it is being
 *   handled marks it dirty, and it is queued again when the handler returns;
 * - a handler that throws re-queues its key with per-key exponential backoff;
 *   a handler that returns normally forgets the key's failures;
 * - `addAfter` delays a key (the earliest pending delay wins);
 * - `shutdown()` stops taking work and resolves once in-flight handlers return.
 *
 * Time comes from an injectable `Clock` so tests never sleep.
 */

/** Timers and "now", injectable so queues and controllers can be tested without sleeping. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * A clock that only moves when told to. `advance(ms)` runs due timers in time
 * order (awaiting microtasks between them, so async work they start can settle).
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Number of timers not yet fired. */
  pending(): number {
    return this.timers.size;
  }

  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await flushMicrotasks();
    }
    this.t = end;
    await flushMicrotasks();
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Decides how long a failing key waits before its next attempt. */
export interface RateLimiter {
  /** Delay for the key's next retry; counts one more failure. */
  when(key: string): number;
  /** Clears the key's failure count. */
  forget(key: string): void;
  /** Failures counted for the key since it was last forgotten. */
  retries(key: string): number;
}

/** Per-key exponential backoff: base * 2^failures, capped (client-go: 5 ms → 1000 s). */
export class ExponentialRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** Math.min(n, 60), this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** What a handler may ask for after a successful pass. */
export interface Result {
  /** Handle the key again after this many milliseconds (failures are still forgotten). */
  requeueAfterMs?: number;
  /** Handle the key again with rate-limited backoff (failures are kept). */
  requeue?: boolean;
}

export type Handler = (key: string) => Promise<Result | undefined> | Promise<void>;

export interface WorkQueueOptions {
  /** For messages only. */
  name?: string;
  /** Keys handled in parallel (default 1). */
  concurrency?: number;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  /** Called when a handler throws (default: console.error). The key is re-queued with backoff either way. */
  onError?: (key: string, err: unknown) => void;
}

export class WorkQueue {
  readonly name: string;
  private readonly concurrency: number;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private readonly onError: (key: string, err: unknown) => void;
  /** Keys waiting for a worker, in FIFO order (a Set keeps insertion order). */
  private readonly queue = new Set<string>();
  /** Keys being handled right now. */
  private readonly processing = new Set<string>();
  /** Keys added while being handled: queued again when their handler returns. */
  private readonly dirty = new Set<string>();
  /** Delayed adds: key → due time and timer. */
  private readonly waiting = new Map<string, { at: number; timer: unknown }>();
  private shuttingDown = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly handler: Handler,
    opts: WorkQueueOptions = {},
  ) {
    this.name = opts.name ?? 'queue';
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? new ExponentialRateLimiter();
    this.onError =
      opts.onError ??
      ((key, err) => console.error(`${this.name}: error handling ${JSON.stringify(key)}:`, err));
  }

  /** Queues the key now (no-op if already queued, or after shutdown). */
  add(key: string): void {
    if (this.shuttingDown) return;
    // A pending delayed add stays pending (client-go semantics): the key runs now and again when it is due.
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queue.has(key)) return;
    this.queue.add(key);
    this.pump();
  }

  /** Queues the key after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const w = this.waiting.get(key);
    if (w) {
      if (w.at <= at) return;
      this.clock.clearTimeout(w.timer);
    }
    const timer = this.clock.setTimeout(() => {
      const cur = this.waiting.get(key);
      if (cur?.timer !== timer) return;
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Queues the key after its rate limiter's backoff (counts one failure). */
  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears the key's failure count (done automatically after a successful pass). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.retries(key);
  }

  /** Keys waiting for a worker (not counting in-flight or delayed keys). */
  len(): number {
    return this.queue.size;
  }

  /** True when nothing is queued, in flight, or delayed. */
  isIdle(): boolean {
    return this.queue.size === 0 && this.processing.size === 0 && this.waiting.size === 0;
  }

  /** Resolves once nothing is queued or in flight (delayed keys do not count). */
  whenDrained(): Promise<void> {
    if (this.queue.size === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting and starting work, drops queued and delayed keys, and waits for in-flight handlers. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const w of this.waiting.values()) this.clock.clearTimeout(w.timer);
    this.waiting.clear();
    this.queue.clear();
    this.dirty.clear();
    await this.whenDrained();
  }

  private pump(): void {
    while (!this.shuttingDown && this.processing.size < this.concurrency && this.queue.size > 0) {
      const key = this.queue.values().next().value as string;
      this.queue.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
    this.notifyIdle();
  }

  private async run(key: string): Promise<void> {
    try {
      const result = await this.handler(key);
      if (result?.requeue) {
        this.addRateLimited(key);
      } else {
        this.limiter.forget(key);
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      }
    } catch (err) {
      try {
        this.onError(key, err);
      } catch {
        // A broken error hook must not wedge the queue.
      }
      this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key) && !this.shuttingDown) this.queue.add(key);
      this.pump();
    }
  }

  private notifyIdle(): void {
    if (this.queue.size > 0 || this.processing.size > 0) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }
}
