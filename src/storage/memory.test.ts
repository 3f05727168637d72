import { describe, expect, it } from 'vitest';
import { EventCollector, expectStorageError, runStoreConformance } from './conformance.js';
import { MemoryStore } from './memory.js';

runStoreConformance('memory', async () => new MemoryStore());

runStoreConformance(
  'memory with generous historyLimit',
  async () => new MemoryStore({ historyLimit: 1_000_000 }),
);

describe('MemoryStore historyLimit', () => {
  it('compacts itself to keep only the last historyLimit revisions', async () => {
    const s = new MemoryStore({ historyLimit: 3 });
    await s.create('/a', '1'); // 1
    await s.create('/b', '1'); // 2
    await s.update('/a', '2', 1); // 3
    await s.delete('/b'); // 4
    expect(await s.compactedRevision()).toBe(1);
    await s.create('/c', '1'); // 5
    await s.update('/a', '3', 3); // 6
    expect(await s.compactedRevision()).toBe(3);
    await expectStorageError(s.get('/a', 2), 'Compacted', 3);
    expect((await s.get('/a', 3))?.value).toBe('2');
    expect((await s.list('', { revision: 4 })).items.map((kv) => kv.key)).toEqual(['/a']);
    const w = new EventCollector();
    const watcher = await s.watch('', 3, w);
    await w.untilCount(3);
    expect(w.events.map((e) => e.revision)).toEqual([4, 5, 6]);
    watcher.stop();
    await s.close();
  });

  it('stays consistent over many writes with a small limit', async () => {
    const s = new MemoryStore({ historyLimit: 10 });
    for (let i = 0; i < 5000; i++) {
      const key = `/k/${i % 37}`;
      const cur = await s.get(key);
      if (!cur) await s.create(key, String(i));
      else if (i % 5 === 0) await s.delete(key, cur.modRevision);
      else await s.update(key, String(i), cur.modRevision);
    }
    const rev = await s.currentRevision();
    expect(await s.compactedRevision()).toBe(rev - 10);
    const latest = await s.list('/k/');
    const past = await s.list('/k/', { revision: rev - 10 });
    expect(latest.items.length).toBe(await s.count('/k/'));
    expect(past.items.length).toBeGreaterThan(0);
    await s.close();
  });
});
