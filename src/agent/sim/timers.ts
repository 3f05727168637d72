/**
 * One clock timer for many keyed deadlines: a min-heap of (time, key) with lazy
 * deletion. `schedule` replaces the key's deadline; due keys are handed to
 * `fire` in time order. Thousands of pods waiting for their ready delay or
 * crash back-off cost one pending timer, not one each.
 */
import type { Clock } from '../../client/workqueue.js';

interface Entry {
  at: number;
  key: string;
}

export class TimerQueue {
  private heap: Entry[] = [];
  private readonly due = new Map<string, number>();
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (key: string) => void,
  ) {}

  /** Number of keys with a pending deadline. */
  get size(): number {
    return this.due.size;
  }

  /** The key's pending deadline, if any. */
  deadline(key: string): number | undefined {
    return this.due.get(key);
  }

  /** Sets (or replaces) the key's deadline. */
  schedule(key: string, at: number): void {
    if (this.stopped) return;
    if (this.due.get(key) === at) return;
    this.due.set(key, at);
    if (this.heap.length > 2 * this.due.size + 1024) {
      // Too many stale entries: rebuild from the live deadlines.
      this.heap = [];
      for (const [k, t] of this.due) this.push({ at: t, key: k });
    } else {
      this.push({ at, key });
    }
    this.arm();
  }

  cancel(key: string): void {
    this.due.delete(key);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.heap = [];
    this.due.clear();
  }

  private arm(): void {
    // Drop stale heads so the timer targets a live deadline.
    while (this.heap.length > 0) {
      const head = this.heap[0] as Entry;
      if (this.due.get(head.key) === head.at) break;
      this.pop();
    }
    const head = this.heap[0];
    if (!head) {
      if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer !== undefined && this.timerAt <= head.at) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = head.at;
    this.timer = this.clock.setTimeout(() => this.run(), Math.max(0, head.at - this.clock.now()));
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    const now = this.clock.now();
    const fired: string[] = [];
    while (this.heap.length > 0) {
      const head = this.heap[0] as Entry;
      if (head.at > now) break;
      this.pop();
      if (this.due.get(head.key) !== head.at) continue;
      this.due.delete(head.key);
      fired.push(head.key);
    }
    this.arm();
    for (const key of fired) this.fire(key);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Entry;
      if (parent.at <= e.at) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let mAt = last.at;
      if (l < h.length && (h[l] as Entry).at < mAt) {
        m = l;
        mAt = (h[l] as Entry).at;
      }
      if (r < h.length && (h[r] as Entry).at < mAt) m = r;
      if (m === i) break;
      h[i] = h[m] as Entry;
      i = m;
    }
    h[i] = last;
  }
}
