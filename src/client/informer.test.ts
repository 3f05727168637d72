import { afterEach, describe, expect, it } from 'vitest';
import { expired } from '../api/errors.js';
import type { KObject, WatchEvent } from '../api/types.js';
import { Rest } from '../apiserver/rest.js';
import { resources } from '../registry/index.js';
import { MemoryStore } from '../storage/memory.js';
import { InProcessClient } from './in-process.js';
import { Informer, InformerFactory, matchesLabelSelector } from './informer.js';
import type { Client, ResourceRef, WatchHandle, WatchOpts } from './interface.js';

const NS: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const CM: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

function cm(name: string, labels?: Record<string, string>, data?: Record<string, string>): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stack(): Promise<{ rest: Rest; store: MemoryStore; client: InProcessClient }> {
  const store = new MemoryStore();
  const rest = new Rest(store, resources);
  const client = new InProcessClient(rest);
  for (const name of ['a', 'b']) {
    await client.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  return { rest, store, client };
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

describe('matchesLabelSelector', () => {
  it('implements matchLabels and every operator', () => {
    const l = { app: 'web', tier: 'front' };
    expect(matchesLabelSelector({}, l)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { app: 'web' } }, l)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { app: 'db' } }, l)).toBe(false);
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }, l),
    ).toBe(true);
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] }, l),
    ).toBe(true);
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, l),
    ).toBe(false);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, l)).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, l)).toBe(
      false,
    );
  });
});

describe('Informer (in-process stack)', () => {
  it('lists, then follows adds, updates and deletes through the watch', async () => {
    const { client } = await stack();
    await client.create(CM, 'a', cm('pre', { app: 'x' }));
    const inf = new Informer(client, CM);
    const log: string[] = [];
    inf.addEventHandler({
      onAdd: (o) => log.push(`add ${o.metadata.namespace}/${o.metadata.name}`),
      onUpdate: (old, o) =>
        log.push(`update ${o.metadata.name} ${String(old.data)}->${JSON.stringify(o.data)}`),
      onDelete: (o) => log.push(`delete ${o.metadata.name}`),
    });
    inf.start();
    stops.push(() => inf.stop());
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.get('a', 'pre')?.metadata.labels).toEqual({ app: 'x' });

    await client.create(CM, 'b', cm('new', { app: 'y' }));
    const cur = await client.get(CM, 'a', 'pre');
    await client.update(CM, 'a', { ...cur, data: { k: 'v' } });
    await client.delete(CM, 'a', 'pre');
    await until(() => log.length === 4);
    expect(log).toEqual(['add a/pre', 'add b/new', 'update pre undefined->{"k":"v"}', 'delete pre']);
    expect(inf.get('a', 'pre')).toBeUndefined();
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['new']);
    expect(inf.list('a')).toEqual([]);
    expect(inf.list('b', { matchLabels: { app: 'y' } })).toHaveLength(1);
    expect(inf.list(undefined, { matchLabels: { app: 'z' } })).toHaveLength(0);
    expect(inf.list(undefined, (o) => o.metadata.name === 'new')).toHaveLength(1);
  });

  it('replays the cache to handlers added late', async () => {
    const { client } = await stack();
    await client.create(CM, 'a', cm('one'));
    const inf = new Informer(client, CM);
    inf.start();
    stops.push(() => inf.stop());
    await inf.waitForSync();
    const added: string[] = [];
    const off = inf.onAdd((o) => added.push(o.metadata.name!));
    expect(added).toEqual(['one']);
    off();
    await client.create(CM, 'a', cm('two'));
    await until(() => inf.get('a', 'two') !== undefined);
    expect(added).toEqual(['one']);
  });

  it('re-lists after the watch history is compacted and catches up on missed changes', async () => {
    const { client, store } = await stack();
    await client.create(CM, 'a', cm('keep'));
    await client.create(CM, 'a', cm('gone'));
    // A client whose watches we can end with a 410, as an HTTP server does after compaction.
    const handles: Array<{ emit: (e: WatchEvent) => void; handle: WatchHandle }> = [];
    let watchesStarted = 0;
    let paused = false;
    const wrapped: Client = Object.create(client) as Client;
    wrapped.watch = async (res, ns, opts: WatchOpts, onEvent) => {
      watchesStarted++;
      const handle = await client.watch(res, ns, opts, (e) => {
        if (!paused) onEvent(e);
      });
      handles.push({ emit: onEvent, handle });
      return handle;
    };
    const inf = new Informer(wrapped, CM, { minBackoffMs: 1 });
    const deleted: string[] = [];
    const updated: string[] = [];
    inf.addEventHandler({
      onDelete: (o) => deleted.push(o.metadata.name!),
      onUpdate: (_o, n) => updated.push(n.metadata.name!),
    });
    inf.start();
    stops.push(() => inf.stop());
    await inf.waitForSync();
    await until(() => handles.length === 1);

    // Hold delivery back, change things, compact, then report 410 the way the API does.
    paused = true;
    await client.delete(CM, 'a', 'gone');
    const keep = await client.get(CM, 'a', 'keep');
    await client.update(CM, 'a', { ...keep, data: { x: '1' } });
    await client.create(CM, 'b', cm('born'));
    await store.compact(await store.currentRevision());
    let ended = false;
    void handles[0]!.handle.done.then(() => {
      ended = true;
    });
    paused = false;
    handles[0]!.emit({
      type: 'ERROR',
      object: expired('too old resource version: 1 (9)').status as unknown as KObject,
    });
    await until(() => ended);

    await until(() => watchesStarted >= 2 && inf.get('b', 'born') !== undefined);
    expect(deleted).toEqual(['gone']);
    expect(updated).toEqual(['keep']);
    expect(inf.get('a', 'keep')?.data).toEqual({ x: '1' });
    expect(inf.get('a', 'gone')).toBeUndefined();
  });

  it('retries a failing list with backoff and syncs once it works', async () => {
    const { client } = await stack();
    let failures = 2;
    const flaky: Client = Object.create(client) as Client;
    flaky.list = async (res, ns, opts) => {
      if (failures-- > 0) throw new Error('boom');
      return client.list(res, ns, opts);
    };
    const errors: unknown[] = [];
    const inf = new Informer(flaky, CM, { minBackoffMs: 1, onError: (e) => errors.push(e) });
    inf.start();
    stops.push(() => inf.stop());
    await inf.waitForSync();
    expect(errors).toHaveLength(2);
  });

  it('waitForSync rejects when stopped first', async () => {
    const { client } = await stack();
    const never: Client = Object.create(client) as Client;
    never.list = () => new Promise(() => undefined);
    const inf = new Informer(never, CM);
    inf.start();
    const p = inf.waitForSync();
    void inf.stop();
    await expect(p).rejects.toThrow(/stopped before syncing/);
  });
});

describe('InformerFactory', () => {
  it('shares one informer per resource and syncs them together', async () => {
    const { client } = await stack();
    const f = new InformerFactory(client);
    const a = f.forResource(CM);
    expect(f.forResource({ ...CM })).toBe(a);
    const n = f.forResource(NS);
    expect(n).not.toBe(a);
    f.start();
    stops.push(() => f.stop());
    await f.waitForSync();
    expect(f.hasSynced()).toBe(true);
    expect(
      n
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['a', 'b']);
    // Created after start: started at once.
    const late = f.forResource({ group: '', version: 'v1', resource: 'secrets' });
    await late.waitForSync();
  });
});
