import { describe, expect, it } from 'vitest';
import { ExponentialRateLimiter, ManualClock, WorkQueue } from './workqueue.js';

/** A promise with its resolver, to hold a handler open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('ExponentialRateLimiter', () => {
  it('doubles per failure from the base, caps, and forgets', () => {
    const rl = new ExponentialRateLimiter(5, 1_000_000);
    expect([rl.when('a'), rl.when('a'), rl.when('a'), rl.when('a')]).toEqual([5, 10, 20, 40]);
    expect(rl.when('b')).toBe(5);
    expect(rl.retries('a')).toBe(4);
    for (let i = 0; i < 40; i++) rl.when('a');
    expect(rl.when('a')).toBe(1_000_000);
    rl.forget('a');
    expect(rl.retries('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
  });
});

describe('WorkQueue', () => {
  it('dedupes a key added while queued', async () => {
    const seen: string[] = [];
    const g = gate();
    const q = new WorkQueue(
      async (k) => {
        seen.push(k);
        if (k === 'block') await g.promise;
      },
      { clock: new ManualClock() },
    );
    q.add('block'); // occupies the single worker
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    g.open();
    await q.whenDrained();
    expect(seen).toEqual(['block', 'a', 'b']);
  });

  it('never runs one key twice at once, and re-runs a key added while it ran', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const gates = [gate(), gate()];
    const q = new WorkQueue(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await gates[runs++]?.promise;
        running--;
      },
      { concurrency: 4, clock: new ManualClock() },
    );
    q.add('k');
    await settle();
    q.add('k');
    q.add('k');
    await settle();
    expect(runs).toBe(1);
    gates[0]!.open();
    await settle();
    expect(runs).toBe(2);
    gates[1]!.open();
    await q.whenDrained();
    expect(runs).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it('runs different keys concurrently up to the limit', async () => {
    let running = 0;
    let maxRunning = 0;
    const g = gate();
    const q = new WorkQueue(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await g.promise;
        running--;
      },
      { concurrency: 3, clock: new ManualClock() },
    );
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await settle();
    expect(running).toBe(3);
    expect(q.len()).toBe(2);
    g.open();
    await q.whenDrained();
    expect(maxRunning).toBe(3);
  });

  it('re-queues failures with exponential backoff and forgets on success', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const errors: unknown[] = [];
    const q = new WorkQueue(
      async () => {
        calls++;
        if (calls <= 3) throw new Error(`fail ${calls}`);
      },
      { clock, onError: (_k, e) => errors.push(e) },
    );
    q.add('k');
    await settle();
    expect(calls).toBe(1);
    expect(q.numRequeues('k')).toBe(1);
    await clock.advance(4);
    expect(calls).toBe(1);
    await clock.advance(1); // 5 ms
    expect(calls).toBe(2);
    await clock.advance(9);
    expect(calls).toBe(2);
    await clock.advance(1); // 10 ms
    expect(calls).toBe(3);
    await clock.advance(20); // 20 ms: succeeds
    expect(calls).toBe(4);
    expect(q.numRequeues('k')).toBe(0);
    expect(errors).toHaveLength(3);
    expect(q.isIdle()).toBe(true);
  });

  it('addAfter delays a key, keeps the earliest due time, and honours requeueAfterMs', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const q = new WorkQueue(
      async (k) => {
        seen.push(k);
        return k === 'again' && seen.filter((s) => s === 'again').length === 1
          ? { requeueAfterMs: 50 }
          : undefined;
      },
      { clock },
    );
    q.addAfter('x', 100);
    q.addAfter('x', 30);
    q.addAfter('x', 200);
    await clock.advance(29);
    expect(seen).toEqual([]);
    await clock.advance(1);
    expect(seen).toEqual(['x']);
    await clock.advance(500);
    expect(seen).toEqual(['x']);

    q.add('again');
    await settle();
    expect(seen).toEqual(['x', 'again']);
    await clock.advance(50);
    expect(seen).toEqual(['x', 'again', 'again']);
  });

  it('shutdown waits for in-flight work and drops the rest', async () => {
    const clock = new ManualClock();
    const g = gate();
    const seen: string[] = [];
    let finished = false;
    const q = new WorkQueue(
      async (k) => {
        seen.push(k);
        await g.promise;
        finished = true;
      },
      { clock },
    );
    q.add('a');
    q.add('b');
    q.addAfter('c', 10);
    await settle();
    let done = false;
    const p = q.shutdown().then(() => {
      done = true;
    });
    await settle();
    expect(done).toBe(false);
    g.open();
    await p;
    expect(finished).toBe(true);
    await clock.advance(100);
    q.add('d');
    await settle();
    expect(seen).toEqual(['a']);
    expect(clock.pending()).toBe(0);
  });
});
