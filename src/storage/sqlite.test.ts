import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventCollector, expectStorageError, runStoreConformance } from './conformance.js';
import { openStore } from './index.js';
import { SqliteStore } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'ordinal-sqlite-'));
let n = 0;
const freshPath = () => join(dir, `store-${n++}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

runStoreConformance('sqlite', async () => SqliteStore.open(freshPath()));

describe('SqliteStore', () => {
  it('restores revision, data, history and compaction point on reopen', async () => {
    const path = freshPath();
    const s1 = SqliteStore.open(path);
    await s1.create('/a', '1'); // 1
    await s1.create('/b', '1'); // 2
    await s1.update('/a', '2', 1); // 3
    await s1.delete('/b'); // 4
    await s1.create('/c', '1'); // 5
    await s1.compact(2);
    await s1.delete('/c'); // 6
    await s1.close();

    const s2 = SqliteStore.open(path);
    expect(await s2.currentRevision()).toBe(6);
    expect(await s2.compactedRevision()).toBe(2);
    expect((await s2.list('')).items.map((kv) => `${kv.key}=${kv.value}@${kv.modRevision}`)).toEqual([
      '/a=2@3',
    ]);
    expect((await s2.list('', { revision: 2 })).items.map((kv) => kv.key)).toEqual(['/a', '/b']);
    expect((await s2.get('/c', 5))?.value).toBe('1');
    await expectStorageError(s2.get('/a', 1), 'Compacted', 2);
    const w = new EventCollector();
    const watcher = await s2.watch('', 2, w);
    await w.untilCount(4);
    expect(w.events.map((e) => `${e.revision} ${e.type} ${e.kv.key}`)).toEqual([
      '3 PUT /a',
      '4 DELETE /b',
      '5 PUT /c',
      '6 DELETE /c',
    ]);
    watcher.stop();
    expect((await s2.create('/d', '1')).modRevision).toBe(7);
    await s2.close();
  });

  it('restores the revision when compaction removed the newest rows', async () => {
    const path = freshPath();
    const s1 = SqliteStore.open(path);
    await s1.create('/a', '1');
    await s1.delete('/a');
    await s1.compact(2);
    await s1.close();
    const s2 = SqliteStore.open(path);
    expect(await s2.currentRevision()).toBe(2);
    expect((await s2.create('/a', '2')).modRevision).toBe(3);
    await s2.close();
  });

  it('refuses a second open of a file in use', async () => {
    const path = freshPath();
    const s1 = SqliteStore.open(path);
    await s1.create('/a', '1');
    expect(() => SqliteStore.open(path)).toThrow();
    await s1.close();
    const s2 = SqliteStore.open(path);
    expect((await s2.get('/a'))?.value).toBe('1');
    await s2.close();
  });

  it('commits pending writes on close', async () => {
    const path = freshPath();
    const s1 = SqliteStore.open(path);
    const writes = Array.from({ length: 10 }, (_, i) => s1.create(`/p/${i}`, String(i)));
    await s1.close();
    expect((await Promise.all(writes)).map((kv) => kv.modRevision)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const s2 = SqliteStore.open(path);
    expect(await s2.count('/p/')).toBe(10);
    await s2.close();
  });

  it('is reachable through openStore', async () => {
    const s = await openStore('sqlite', freshPath());
    expect(await s.currentRevision()).toBe(0);
    await s.close();
    await expect(openStore('sqlite')).rejects.toThrow();
    const m = await openStore('memory');
    expect(await m.currentRevision()).toBe(0);
    await m.close();
  });
});
