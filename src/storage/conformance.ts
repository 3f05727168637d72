/**
 * The behaviour every Store backend must share. Backend test files call
 * `runStoreConformance(name, open)` with a factory returning a fresh, empty store.
 */

import { afterEach, describe, expect, it } from 'vitest';
import {
  StorageError,
  type StorageErrorCode,
  type Store,
  type StoreEvent,
  type WatchHandlers,
} from './interface.js';

/** Collects watch callbacks and lets a test wait for a condition on them. */
export class EventCollector implements WatchHandlers {
  readonly events: StoreEvent[] = [];
  error: Error | undefined;
  private waiters: (() => void)[] = [];

  onEvent(e: StoreEvent): void {
    this.events.push(e);
    this.notify();
  }

  onError(err: Error): void {
    if (this.error) throw new Error('onError called twice');
    this.error = err;
    this.notify();
  }

  /** Resolves once `predicate` holds; rejects after `timeoutMs`. */
  async until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`timed out waiting; got ${this.events.length} events, error=${this.error?.message}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  untilCount(n: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.events.length >= n, timeoutMs);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Lets pending callbacks (microtasks and a couple of macrotasks) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export async function expectStorageError(
  promise: Promise<unknown>,
  code: StorageErrorCode,
  revision?: number,
): Promise<StorageError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected StorageError ${code}`).toBeInstanceOf(StorageError);
  const err = caught as StorageError;
  expect(err.code).toBe(code);
  if (revision !== undefined) expect(err.revision).toBe(revision);
  return err;
}

function summary(events: readonly StoreEvent[]): string[] {
  return events.map((e) => `${e.revision} ${e.type} ${e.kv.key}=${e.kv.value}`);
}

export function runStoreConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    const opened: Store[] = [];
    const newStore = async (): Promise<Store> => {
      const s = await open();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    describe('revisions and writes', () => {
      it('starts empty at revision 0', async () => {
        const s = await newStore();
        expect(await s.currentRevision()).toBe(0);
        expect(await s.compactedRevision()).toBe(0);
        expect(await s.get('/a')).toBeUndefined();
        expect(await s.list('')).toEqual({ items: [], revision: 0, more: false, remaining: 0 });
        expect(await s.count('')).toBe(0);
      });

      it('bumps the revision by exactly one per successful write, not for failed ones', async () => {
        const s = await newStore();
        const a = await s.create('/k/a', '1');
        expect(a).toEqual({ key: '/k/a', value: '1', createRevision: 1, modRevision: 1 });
        expect(await s.currentRevision()).toBe(1);
        const b = await s.update('/k/a', '2', 1);
        expect(b).toEqual({ key: '/k/a', value: '2', createRevision: 1, modRevision: 2 });
        await expectStorageError(s.create('/k/a', 'x'), 'KeyExists');
        await expectStorageError(s.update('/k/a', 'x', 1), 'Conflict');
        await expectStorageError(s.update('/k/missing', 'x', 1), 'KeyNotFound');
        await expectStorageError(s.delete('/k/missing'), 'KeyNotFound');
        expect(await s.currentRevision()).toBe(2);
        const c = await s.create('/k/b', '3');
        expect(c.modRevision).toBe(3);
        const d = await s.delete('/k/a');
        expect(d.modRevision).toBe(4);
        expect(await s.currentRevision()).toBe(4);
      });

      it('create fails with KeyExists on a live key and succeeds again after deletion', async () => {
        const s = await newStore();
        await s.create('/x', 'one');
        const err = await expectStorageError(s.create('/x', 'two'), 'KeyExists');
        expect(err.message).toContain('/x');
        expect((await s.get('/x'))?.value).toBe('one');
        await s.delete('/x');
        const again = await s.create('/x', 'three');
        expect(again).toEqual({ key: '/x', value: 'three', createRevision: 3, modRevision: 3 });
      });

      it('update checks the expected modRevision', async () => {
        const s = await newStore();
        await s.create('/other', 'o');
        const created = await s.create('/u', 'v1');
        const updated = await s.update('/u', 'v2', created.modRevision);
        expect(updated).toEqual({ key: '/u', value: 'v2', createRevision: 2, modRevision: 3 });
        await expectStorageError(s.update('/u', 'v3', created.modRevision), 'Conflict', 3);
        expect(await s.get('/u')).toEqual(updated);
        await s.delete('/u');
        await expectStorageError(s.update('/u', 'v4', 3), 'KeyNotFound');
      });

      it('delete returns the deleted value at the deleting revision, with optional precondition', async () => {
        const s = await newStore();
        await s.create('/d/1', 'a');
        await s.update('/d/1', 'b', 1);
        await expectStorageError(s.delete('/d/1', 1), 'Conflict', 2);
        expect((await s.get('/d/1'))?.value).toBe('b');
        const deleted = await s.delete('/d/1', 2);
        expect(deleted).toEqual({ key: '/d/1', value: 'b', createRevision: 1, modRevision: 3 });
        expect(await s.get('/d/1')).toBeUndefined();
        await expectStorageError(s.delete('/d/1'), 'KeyNotFound');
        await s.create('/d/2', 'c');
        expect(await s.delete('/d/2')).toEqual({
          key: '/d/2',
          value: 'c',
          createRevision: 4,
          modRevision: 5,
        });
      });

      it('returns copies that callers may mutate', async () => {
        const s = await newStore();
        const kv = await s.create('/m', 'v');
        kv.value = 'changed';
        const got = await s.get('/m');
        expect(got?.value).toBe('v');
        got!.value = 'changed';
        (await s.list('/')).items[0]!.value = 'changed';
        expect((await s.get('/m'))?.value).toBe('v');
      });

      it('keeps values verbatim (unicode, empty, large)', async () => {
        const s = await newStore();
        const big = 'x'.repeat(1 << 20);
        await s.create('/v/empty', '');
        await s.create('/v/uni', '{"name":"ünïcødé ✓ 😀"}');
        await s.create('/v/big', big);
        expect((await s.get('/v/empty'))?.value).toBe('');
        expect((await s.get('/v/uni'))?.value).toBe('{"name":"ünïcødé ✓ 😀"}');
        expect((await s.get('/v/big'))?.value).toBe(big);
      });
    });

    describe('concurrency', () => {
      it('gives concurrent writes distinct consecutive revisions', async () => {
        const s = await newStore();
        const n = 300;
        const results = await Promise.all(Array.from({ length: n }, (_, i) => s.create(`/c/${i}`, `v${i}`)));
        const revs = results.map((r) => r.modRevision).sort((a, b) => a - b);
        expect(revs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        expect(await s.currentRevision()).toBe(n);
        expect(await s.count('/c/')).toBe(n);
        for (const r of results) expect((await s.get(r.key))?.modRevision).toBe(r.modRevision);
      });

      it('applies writes issued together in call order', async () => {
        const s = await newStore();
        const p1 = s.create('/o', 'a');
        const p2 = s.create('/o', 'b');
        const p3 = s.update('/o', 'c', 1);
        const p4 = s.delete('/o', 2);
        const p5 = s.create('/o', 'd');
        const results = await Promise.allSettled([p1, p2, p3, p4, p5]);
        expect(results.map((r) => r.status)).toEqual([
          'fulfilled',
          'rejected',
          'fulfilled',
          'fulfilled',
          'fulfilled',
        ]);
        await expectStorageError(p2, 'KeyExists');
        expect(await p3).toMatchObject({ value: 'c', modRevision: 2 });
        expect(await p4).toMatchObject({ value: 'c', modRevision: 3 });
        expect(await s.get('/o')).toEqual({ key: '/o', value: 'd', createRevision: 4, modRevision: 4 });
      });

      it('lets exactly one of many racing updates with the same precondition win', async () => {
        const s = await newStore();
        const kv = await s.create('/race', '0');
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => s.update('/race', String(i + 1), kv.modRevision)),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') expect((r.reason as StorageError).code).toBe('Conflict');
        }
        expect(await s.currentRevision()).toBe(2);
      });

      it('reads see every acknowledged write', async () => {
        const s = await newStore();
        for (let i = 0; i < 50; i++) {
          const kv = await s.create(`/r/${i}`, String(i));
          expect(await s.get(`/r/${i}`)).toEqual(kv);
          expect(await s.currentRevision()).toBeGreaterThanOrEqual(kv.modRevision);
        }
      });
    });

    describe('reads', () => {
      it('reads keys and lists at older revisions', async () => {
        const s = await newStore();
        await s.create('/h/a', 'a1'); // 1
        await s.create('/h/b', 'b1'); // 2
        await s.update('/h/a', 'a2', 1); // 3
        await s.delete('/h/b'); // 4
        await s.create('/h/c', 'c1'); // 5
        await s.create('/h/b', 'b2'); // 6
        expect(await s.get('/h/a', 1)).toEqual({
          key: '/h/a',
          value: 'a1',
          createRevision: 1,
          modRevision: 1,
        });
        expect(await s.get('/h/a', 2)).toEqual({
          key: '/h/a',
          value: 'a1',
          createRevision: 1,
          modRevision: 1,
        });
        expect(await s.get('/h/a', 3)).toEqual({
          key: '/h/a',
          value: 'a2',
          createRevision: 1,
          modRevision: 3,
        });
        expect(await s.get('/h/b', 1)).toBeUndefined();
        expect((await s.get('/h/b', 3))?.value).toBe('b1');
        expect(await s.get('/h/b', 5)).toBeUndefined();
        expect(await s.get('/h/b', 6)).toEqual({
          key: '/h/b',
          value: 'b2',
          createRevision: 6,
          modRevision: 6,
        });
        const at = async (rev: number) =>
          (await s.list('/h/', { revision: rev })).items.map(
            (kv) => `${kv.key}=${kv.value}@${kv.modRevision}`,
          );
        expect(await at(1)).toEqual(['/h/a=a1@1']);
        expect(await at(2)).toEqual(['/h/a=a1@1', '/h/b=b1@2']);
        expect(await at(4)).toEqual(['/h/a=a2@3']);
        expect(await at(5)).toEqual(['/h/a=a2@3', '/h/c=c1@5']);
        expect(await at(6)).toEqual(['/h/a=a2@3', '/h/b=b2@6', '/h/c=c1@5']);
        expect((await s.list('/h/', { revision: 4 })).revision).toBe(4);
        expect((await s.list('/h/')).revision).toBe(6);
      });

      it('matches prefixes exactly and lists in ascending key order', async () => {
        const s = await newStore();
        for (const k of ['/b/1', '/ab/1', '/a/2', '/a', '/a/1', '/a/1/x', '/a0', '/a/']) await s.create(k, k);
        const keys = async (prefix: string, revision?: number) =>
          (await s.list(prefix, { revision })).items.map((kv) => kv.key);
        expect(await keys('/a/')).toEqual(['/a/', '/a/1', '/a/1/x', '/a/2']);
        expect(await keys('/a/', 3)).toEqual(['/a/2']);
        expect(await keys('/ab/')).toEqual(['/ab/1']);
        expect(await keys('/a/1/')).toEqual(['/a/1/x']);
        expect(await keys('/c/')).toEqual([]);
        expect(await keys('')).toEqual(['/a', '/a/', '/a/1', '/a/1/x', '/a/2', '/a0', '/ab/1', '/b/1']);
        expect(await s.count('/a/')).toBe(4);
        expect(await s.count('/a')).toBe(7);
        expect(await s.count('')).toBe(8);
        expect(await s.count('/z')).toBe(0);
      });

      it('handles prefixes ending in the highest characters', async () => {
        const s = await newStore();
        await s.create('/p/\uffff/1', 'a');
        await s.create('/p/\uffff\uffff', 'b');
        await s.create('/p/😀/1', 'c');
        await s.create('/q', 'd');
        expect((await s.list('/p/\uffff')).items.map((kv) => kv.value)).toEqual(['a', 'b']);
        expect((await s.list('/p/😀')).items.map((kv) => kv.value)).toEqual(['c']);
        expect((await s.list('/p/')).items.map((kv) => kv.value)).toEqual(['a', 'b', 'c']);
      });

      it('paginates with limit and startAfter, reporting more and remaining', async () => {
        const s = await newStore();
        for (const k of ['e', 'a', 'd', 'b', 'c']) await s.create(`/p/${k}`, k);
        await s.create('/pz', 'outside');
        await s.create('/o', 'outside');
        const page1 = await s.list('/p/', { limit: 2 });
        expect(page1.items.map((kv) => kv.value)).toEqual(['a', 'b']);
        expect(page1).toMatchObject({ more: true, remaining: 3, revision: 7 });
        const page2 = await s.list('/p/', { limit: 2, startAfter: '/p/b' });
        expect(page2.items.map((kv) => kv.value)).toEqual(['c', 'd']);
        expect(page2).toMatchObject({ more: true, remaining: 1 });
        const page3 = await s.list('/p/', { limit: 2, startAfter: '/p/d' });
        expect(page3.items.map((kv) => kv.value)).toEqual(['e']);
        expect(page3).toMatchObject({ more: false, remaining: 0 });
        const exact = await s.list('/p/', { limit: 5 });
        expect(exact).toMatchObject({ more: false, remaining: 0 });
        expect(exact.items).toHaveLength(5);
        expect((await s.list('/p/', { startAfter: '/p/e' })).items).toEqual([]);
        expect((await s.list('/p/', { startAfter: '/a' })).items).toHaveLength(5);
        expect((await s.list('/p/', { startAfter: '/z' })).items).toEqual([]);
        expect((await s.list('/p/', { limit: 0 })).items).toHaveLength(5);
      });

      it('paginates consistently at a fixed revision while writes continue', async () => {
        const s = await newStore();
        for (let i = 0; i < 6; i++) await s.create(`/pg/${i}`, `v${i}`);
        const first = await s.list('/pg/', { limit: 3 });
        expect(first.revision).toBe(6);
        await s.delete('/pg/4');
        await s.create('/pg/7', 'v7');
        await s.update('/pg/5', 'changed', 6);
        const second = await s.list('/pg/', { limit: 3, startAfter: '/pg/2', revision: first.revision });
        expect(second.items.map((kv) => `${kv.key}=${kv.value}`)).toEqual([
          '/pg/3=v3',
          '/pg/4=v4',
          '/pg/5=v5',
        ]);
        expect(second).toMatchObject({ more: false, remaining: 0, revision: 6 });
        const head = await s.list('/pg/', { limit: 2, revision: first.revision });
        expect(head).toMatchObject({ more: true, remaining: 4 });
        const latest = await s.list('/pg/', { startAfter: '/pg/2' });
        expect(latest.items.map((kv) => `${kv.key}=${kv.value}`)).toEqual([
          '/pg/3=v3',
          '/pg/5=changed',
          '/pg/7=v7',
        ]);
      });

      it('rejects future revisions', async () => {
        const s = await newStore();
        await s.create('/f', '1');
        await expectStorageError(s.get('/f', 2), 'FutureRevision');
        await expectStorageError(s.list('/', { revision: 5 }), 'FutureRevision');
        await expectStorageError(s.compact(2), 'FutureRevision');
        expect((await s.get('/f', 1))?.value).toBe('1');
      });
    });

    describe('compaction', () => {
      it('rejects reads below the compacted revision and keeps everything at or above it', async () => {
        const s = await newStore();
        await s.create('/k/a', 'a1'); // 1
        await s.create('/k/b', 'b1'); // 2
        await s.update('/k/a', 'a2', 1); // 3
        await s.delete('/k/b'); // 4
        await s.create('/k/c', 'c1'); // 5
        await s.update('/k/a', 'a3', 3); // 6
        await s.compact(4);
        expect(await s.compactedRevision()).toBe(4);
        expect(await s.currentRevision()).toBe(6);
        await expectStorageError(s.get('/k/a', 3), 'Compacted', 4);
        await expectStorageError(s.list('/k/', { revision: 1 }), 'Compacted', 4);
        expect(await s.get('/k/a', 4)).toEqual({
          key: '/k/a',
          value: 'a2',
          createRevision: 1,
          modRevision: 3,
        });
        expect(await s.get('/k/b', 4)).toBeUndefined();
        expect((await s.list('/k/', { revision: 4 })).items.map((kv) => kv.value)).toEqual(['a2']);
        expect((await s.list('/k/', { revision: 5 })).items.map((kv) => kv.value)).toEqual(['a2', 'c1']);
        expect((await s.list('/k/')).items.map((kv) => kv.value)).toEqual(['a3', 'c1']);
        expect(await s.count('/k/')).toBe(2);
        // Compacting to an older revision is a no-op.
        await s.compact(2);
        expect(await s.compactedRevision()).toBe(4);
        await s.compact(6);
        expect(await s.get('/k/a', 6)).toEqual({
          key: '/k/a',
          value: 'a3',
          createRevision: 1,
          modRevision: 6,
        });
        expect((await s.list('/k/', { revision: 6 })).items.map((kv) => kv.value)).toEqual(['a3', 'c1']);
        await expectStorageError(s.get('/k/a', 5), 'Compacted', 6);
      });

      it('keeps live keys readable after compaction at the current revision', async () => {
        const s = await newStore();
        await s.create('/x/1', 'a');
        await s.create('/x/2', 'b');
        await s.delete('/x/2');
        await s.compact(3);
        expect((await s.list('/x/', { revision: 3 })).items.map((kv) => kv.key)).toEqual(['/x/1']);
        await s.create('/x/2', 'c');
        expect((await s.list('/x/', { revision: 3 })).items.map((kv) => kv.key)).toEqual(['/x/1']);
        expect((await s.list('/x/')).items.map((kv) => kv.key)).toEqual(['/x/1', '/x/2']);
        const w = new EventCollector();
        const watcher = await s.watch('/x/', 3, w);
        await s.update('/x/1', 'a2', 1);
        await w.untilCount(2);
        expect(summary(w.events)).toEqual(['4 PUT /x/2=c', '5 PUT /x/1=a2']);
        expect(w.events[1]!.prevKv).toEqual({ key: '/x/1', value: 'a', createRevision: 1, modRevision: 1 });
        watcher.stop();
      });

      it('rejects watches from below the compacted revision', async () => {
        const s = await newStore();
        for (let i = 0; i < 5; i++) await s.create(`/w/${i}`, String(i));
        await s.compact(3);
        await expectStorageError(s.watch('/w/', 2, new EventCollector()), 'Compacted', 3);
        await expectStorageError(s.watch('/w/', 0, new EventCollector()), 'Compacted', 3);
        const w = new EventCollector();
        const watcher = await s.watch('/w/', 3, w);
        await w.untilCount(2);
        expect(summary(w.events)).toEqual(['4 PUT /w/3=3', '5 PUT /w/4=4']);
        watcher.stop();
      });
    });

    describe('watch', () => {
      it('replays history after fromRevision, then streams live events, with prevKv', async () => {
        const s = await newStore();
        await s.create('/w/a', '1'); // 1
        await s.create('/other/x', 'x'); // 2
        await s.update('/w/a', '2', 1); // 3
        await s.create('/wx', 'no'); // 4
        await s.create('/w/b', '3'); // 5
        const w = new EventCollector();
        const watcher = await s.watch('/w/', 1, w);
        await w.untilCount(2);
        await s.delete('/w/a'); // 6
        await s.create('/other/y', 'y'); // 7
        await s.update('/w/b', '4', 5); // 8
        await w.untilCount(4);
        await settle();
        expect(summary(w.events)).toEqual([
          '3 PUT /w/a=2',
          '5 PUT /w/b=3',
          '6 DELETE /w/a=2',
          '8 PUT /w/b=4',
        ]);
        const [update, create, del, update2] = w.events;
        expect(update!.kv).toEqual({ key: '/w/a', value: '2', createRevision: 1, modRevision: 3 });
        expect(update!.prevKv).toEqual({ key: '/w/a', value: '1', createRevision: 1, modRevision: 1 });
        expect(create!.prevKv).toBeUndefined();
        expect(del!.kv).toEqual({ key: '/w/a', value: '2', createRevision: 1, modRevision: 6 });
        expect(del!.prevKv).toEqual({ key: '/w/a', value: '2', createRevision: 1, modRevision: 3 });
        expect(update2!.prevKv).toEqual({ key: '/w/b', value: '3', createRevision: 5, modRevision: 5 });
        expect(w.error).toBeUndefined();
        watcher.stop();
      });

      it('replays identical events to live ones', async () => {
        const s = await newStore();
        const live = new EventCollector();
        const liveWatcher = await s.watch('', 0, live);
        await s.create('/e/1', 'a');
        await s.update('/e/1', 'b', 1);
        await s.create('/e/2', 'c');
        await s.delete('/e/1', 2);
        await live.untilCount(4);
        const replay = new EventCollector();
        const replayWatcher = await s.watch('', 0, replay);
        await replay.untilCount(4);
        expect(replay.events).toEqual(live.events);
        liveWatcher.stop();
        replayWatcher.stop();
      });

      it('delivers only live events when watching from the current revision', async () => {
        const s = await newStore();
        await s.create('/l/old', 'x');
        const w = new EventCollector();
        const watcher = await s.watch('/l/', await s.currentRevision(), w);
        await settle();
        expect(w.events).toEqual([]);
        await s.create('/l/new', 'y');
        await w.untilCount(1);
        expect(summary(w.events)).toEqual(['2 PUT /l/new=y']);
        watcher.stop();
      });

      it('waits for a future fromRevision', async () => {
        const s = await newStore();
        const w = new EventCollector();
        const watcher = await s.watch('', 2, w);
        await s.create('/a', '1');
        await s.create('/b', '2');
        await s.create('/c', '3');
        await w.untilCount(1);
        await settle();
        expect(summary(w.events)).toEqual(['3 PUT /c=3']);
        watcher.stop();
      });

      it('keeps strict revision order without gaps or duplicates when writes race a long replay', async () => {
        const s = await newStore();
        const history = 2500;
        await Promise.all(Array.from({ length: history }, (_, i) => s.create(`/big/${i}`, String(i))));
        const watchers = [new EventCollector(), new EventCollector(), new EventCollector()];
        const handles = [];
        const writes: Promise<unknown>[] = [];
        for (let round = 0; round < 3; round++) {
          handles.push(await s.watch('/big/', round * 1000, watchers[round]!));
          for (let i = 0; i < 200; i++)
            writes.push(s.update(`/big/${round * 200 + i}`, 'u', round * 200 + i + 1));
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await Promise.all(writes);
        const total = history + 600;
        expect(await s.currentRevision()).toBe(total);
        for (let round = 0; round < 3; round++) {
          const w = watchers[round]!;
          await w.untilCount(total - round * 1000);
          await settle();
          expect(w.events.map((e) => e.revision)).toEqual(
            Array.from({ length: total - round * 1000 }, (_, i) => round * 1000 + i + 1),
          );
        }
        for (const h of handles) h.stop();
      });

      it('filters by prefix during replay and live delivery', async () => {
        const s = await newStore();
        await s.create('/a/1', 'x');
        await s.create('/ab/1', 'x');
        await s.create('/a', 'x');
        const w = new EventCollector();
        const watcher = await s.watch('/a/', 0, w);
        await s.create('/ab/2', 'x');
        await s.create('/a/2', 'x');
        await s.create('/b', 'x');
        await w.untilCount(2);
        await settle();
        expect(summary(w.events)).toEqual(['1 PUT /a/1=x', '5 PUT /a/2=x']);
        watcher.stop();
      });

      it('ends a replaying watch overtaken by compaction with Compacted, without gaps', async () => {
        const s = await newStore();
        await Promise.all(Array.from({ length: 3000 }, (_, i) => s.create(`/oc/${i}`, 'x')));
        const w = new EventCollector();
        await s.watch('/oc/', 0, w);
        await s.compact(3000);
        await w.until(() => w.error !== undefined);
        expect(w.error).toBeInstanceOf(StorageError);
        expect((w.error as StorageError).code).toBe('Compacted');
        expect(w.events.length).toBeLessThan(3000);
        expect(w.events.map((e) => e.revision)).toEqual(
          Array.from({ length: w.events.length }, (_, i) => i + 1),
        );
      });

      it('ends only the watch whose handler throws', async () => {
        const s = await newStore();
        const boom = new Error('boom');
        let errorSeen: Error | undefined;
        let calls = 0;
        await s.watch('', 0, {
          onEvent: () => {
            calls++;
            throw boom;
          },
          onError: (err) => {
            errorSeen = err;
          },
        });
        const other = new EventCollector();
        await s.watch('', 0, other);
        await s.create('/t/1', 'x');
        await s.create('/t/2', 'x');
        await other.untilCount(2);
        await settle();
        expect(calls).toBe(1);
        expect(errorSeen).toBe(boom);
        expect(other.error).toBeUndefined();
      });

      it('stops delivery on stop(), idempotently', async () => {
        const s = await newStore();
        const w = new EventCollector();
        const watcher = await s.watch('', 0, w);
        await s.create('/s/1', 'x');
        await w.untilCount(1);
        watcher.stop();
        watcher.stop();
        await s.create('/s/2', 'x');
        await settle();
        expect(w.events).toHaveLength(1);
        expect(w.error).toBeUndefined();
      });

      it('lets handlers write to the store without breaking order', async () => {
        const s = await newStore();
        const seen: number[] = [];
        const other = new EventCollector();
        const otherWatcher = await s.watch('', 0, other);
        const watcher = await s.watch('/chain/', 0, {
          onEvent: (e) => {
            seen.push(e.revision);
            const n = Number(e.kv.key.slice('/chain/'.length));
            if (n < 5) void s.create(`/chain/${n + 1}`, 'x');
          },
        });
        await s.create('/chain/0', 'x');
        await other.untilCount(6);
        await settle();
        expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
        expect(other.events.map((e) => e.revision)).toEqual([1, 2, 3, 4, 5, 6]);
        watcher.stop();
        otherWatcher.stop();
      });

      it('ends watches with onError on close() and rejects later calls', async () => {
        const s = await newStore();
        await s.create('/z/1', 'x');
        const w1 = new EventCollector();
        const w2 = new EventCollector();
        await s.watch('/z/', 0, w1);
        await s.watch('/', 1, w2);
        await w1.untilCount(1);
        await s.close();
        await w1.until(() => w1.error !== undefined);
        await w2.until(() => w2.error !== undefined);
        expect(w1.events).toHaveLength(1);
        await expect(s.get('/z/1')).rejects.toThrow();
        await expect(s.create('/z/2', 'x')).rejects.toThrow();
        await expect(s.watch('/', 0, new EventCollector())).rejects.toThrow();
        await s.close();
      });
    });
  });
}
