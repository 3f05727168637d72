import { type Informer, splitKey } from '../../client/informer.js';
import type { Clock } from '../../client/workqueue.js';

/**
 * Spaces out syncs of an expensive key: after a sync that took `c` ms, the
 * next sync of that key waits until `factor * c` ms after it ended (at most
 * `maxDelayMs`), so a burst of pod changes behind a Service or StatefulSet
 * with thousands of pods is handled in batches rather than one full
 * recomputation per change. Cheap keys (and any key under a ManualClock,
 * where syncs take no time) are not delayed. This stands in for the natural
 * batching of upstream's concurrent workers; an explicit batch period
 * (upstream's --endpoint-updates-batch-period) still applies on top.
 */
export class SyncPacer {
  private readonly last = new Map<string, { end: number; cost: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly factor = 3,
    private readonly maxDelayMs = 1000,
  ) {}

  /** Delay for a pod-triggered sync of `key`. */
  delay(key: string, batchPeriodMs: number): number {
    const l = this.last.get(key);
    if (!l) return batchPeriodMs;
    const spacing = Math.min(l.end + l.cost * this.factor - this.clock.now(), this.maxDelayMs);
    return Math.max(batchPeriodMs, spacing);
  }

  /** Runs one sync of `key`, recording how long it took. */
  async time<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const start = this.clock.now();
    try {
      return await fn();
    } finally {
      const end = this.clock.now();
      this.last.set(key, { end, cost: end - start });
    }
  }

  forget(key: string): void {
    this.last.delete(key);
  }

  /**
   * Runs one sync of `key` ("namespace/name"): timed while `objects` holds
   * the object; once it is gone its pacing is forgotten.
   */
  run<T>(key: string, objects: Pick<Informer, 'get'> | undefined, fn: () => Promise<T>): Promise<T> {
    const { namespace, name } = splitKey(key);
    if (objects?.get(namespace ?? '', name)) return this.time(key, fn);
    this.forget(key);
    return fn();
  }
}
