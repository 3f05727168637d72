import { afterEach, describe, expect, it } from 'vitest';
import { isNotFound } from '../api/errors.js';
import type { KObject, WatchEvent } from '../api/types.js';
import { Rest } from '../apiserver/rest.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { resources } from '../registry/index.js';
import { MemoryStore } from '../storage/memory.js';
import { type Controllers, startControllers } from './index.js';
import {
  type ContentReport,
  deletableNamespacedKinds,
  mergeConditions,
  type NamespaceCondition,
  namespaceConditions,
} from './namespace.js';

const NS: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const CM: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const SECRET: ResourceRef = { group: '', version: 'v1', resource: 'secrets' };
const POD: ResourceRef = { group: '', version: 'v1', resource: 'pods' };

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function exists(client: InProcessClient, res: ResourceRef, ns: string | undefined, name: string) {
  try {
    return await client.get(res, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

function pod(name: string, nodeName?: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) },
  };
}

function conditions(ns: KObject): NamespaceCondition[] {
  const s = ns.status as { conditions?: NamespaceCondition[] } | undefined;
  return s?.conditions ?? [];
}

let controllers: Controllers | undefined;
afterEach(async () => {
  await controllers?.stop();
  controllers = undefined;
});

async function cluster(): Promise<InProcessClient> {
  const rest = new Rest(new MemoryStore(), resources);
  const client = new InProcessClient(rest);
  controllers = await startControllers(client, rest, { namespacePollMs: 50 });
  return client;
}

describe('namespace conditions (pure)', () => {
  it('reports success conditions as upstream', () => {
    const r: ContentReport = { deleteErrors: [], remaining: new Map(), finalizers: new Map() };
    expect(namespaceConditions(r).map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      [
        'NamespaceDeletionDiscoveryFailure',
        'False',
        'ResourcesDiscovered',
        'All resources successfully discovered',
      ],
      [
        'NamespaceDeletionGroupVersionParsingFailure',
        'False',
        'ParsedGroupVersions',
        'All legacy kube types successfully parsed',
      ],
      [
        'NamespaceDeletionContentFailure',
        'False',
        'ContentDeleted',
        'All content successfully deleted, may be waiting on finalization',
      ],
      ['NamespaceContentRemaining', 'False', 'ContentRemoved', 'All content successfully removed'],
      [
        'NamespaceFinalizersRemaining',
        'False',
        'ContentHasNoFinalizers',
        'All content-preserving finalizers finished',
      ],
    ]);
  });

  it('reports remaining content, finalizers and failures', () => {
    const r: ContentReport = {
      deleteErrors: ['b failed', 'a failed'],
      remaining: new Map([
        ['pods.', 2],
        ['configmaps.', 1],
      ]),
      finalizers: new Map([['example.com/x', 1]]),
    };
    const byType = new Map(namespaceConditions(r).map((c) => [c.type, c]));
    expect(byType.get('NamespaceContentRemaining')).toMatchObject({
      status: 'True',
      reason: 'SomeResourcesRemain',
      message:
        'Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances',
    });
    expect(byType.get('NamespaceFinalizersRemaining')).toMatchObject({
      status: 'True',
      reason: 'SomeFinalizersRemain',
      message:
        'Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances',
    });
    expect(byType.get('NamespaceDeletionContentFailure')).toMatchObject({
      status: 'True',
      reason: 'ContentDeletionFailed',
      message: 'Failed to delete all resource types, 2 remaining: a failed, b failed',
    });
  });

  it('moves lastTransitionTime only when the status flips', () => {
    const first = mergeConditions([], [{ type: 'T', status: 'True', reason: 'R', message: 'm1' }], 't1');
    expect(first.changed).toBe(true);
    const same = mergeConditions(
      first.conditions,
      [{ type: 'T', status: 'True', reason: 'R', message: 'm1' }],
      't2',
    );
    expect(same.changed).toBe(false);
    const msg = mergeConditions(
      first.conditions,
      [{ type: 'T', status: 'True', reason: 'R', message: 'm2' }],
      't3',
    );
    expect(msg.conditions[0]).toMatchObject({ message: 'm2', lastTransitionTime: 't1' });
    const flip = mergeConditions(
      msg.conditions,
      [{ type: 'T', status: 'False', reason: 'R', message: 'm2' }],
      't4',
    );
    expect(flip.conditions[0]).toMatchObject({ status: 'False', lastTransitionTime: 't4' });
  });

  it('deletes only namespaced kinds that can be listed and deleted', () => {
    const names = deletableNamespacedKinds(resources).map((d) => d.plural);
    expect(names).toContain('pods');
    expect(names).toContain('configmaps');
    expect(names).not.toContain('namespaces');
    expect(names).not.toContain('selfsubjectaccessreviews');
    expect(names).not.toContain('tokenreviews');
  });
});

describe('namespace controller', () => {
  it('deletes configmaps, pods and secrets, then the namespace (Terminating → gone)', async () => {
    const client = await cluster();
    await client.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await client.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'spared' } });
    for (const n of ['c1', 'c2']) {
      await client.create(CM, 'doomed', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n } });
    }
    await client.create(CM, 'spared', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' } });
    await client.create(SECRET, 'doomed', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { k: 'dg==' },
    });
    await client.create(POD, 'doomed', pod('p'));

    const phases: string[] = [];
    let deleted = false;
    const w = await client.watch(
      NS,
      undefined,
      { fieldSelector: 'metadata.name=doomed' },
      (e: WatchEvent) => {
        if (e.type === 'DELETED') deleted = true;
        else phases.push(String((e.object.status as { phase?: string } | undefined)?.phase));
      },
    );
    try {
      await client.delete(NS, undefined, 'doomed');
      await until(() => deleted);
    } finally {
      w.stop();
    }
    expect(phases[0]).toBe('Active');
    expect(phases).toContain('Terminating');
    for (const [res, name] of [
      [CM, 'c1'],
      [CM, 'c2'],
      [SECRET, 's'],
      [POD, 'p'],
    ] as const) {
      expect(await exists(client, res, 'doomed', name)).toBeUndefined();
    }
    expect(await exists(client, CM, 'spared', 'c1')).toBeDefined();
    expect(await exists(client, NS, undefined, 'spared')).toBeDefined();
  });

  it('waits for gracefully terminating pods and finalizers, reporting them in conditions', async () => {
    const client = await cluster();
    await client.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'slow' } });
    await client.create(POD, 'slow', pod('running', 'node-1'));
    await client.create(CM, 'slow', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'held', finalizers: ['example.com/hold'] },
    });
    await client.delete(NS, undefined, 'slow');

    const ns = await until(async () => {
      const n = await client.get(NS, undefined, 'slow');
      const c = conditions(n).find((x) => x.type === 'NamespaceFinalizersRemaining');
      return c?.status === 'True' ? n : undefined;
    });
    const byType = new Map(conditions(ns).map((c) => [c.type, c]));
    expect(byType.get('NamespaceContentRemaining')?.message).toBe(
      'Some resources are remaining: configmaps. has 1 resource instances, pods. has 1 resource instances',
    );
    expect(byType.get('NamespaceFinalizersRemaining')?.message).toBe(
      'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
    );
    expect(byType.get('NamespaceDeletionDiscoveryFailure')?.status).toBe('False');
    expect((ns.status as { phase?: string }).phase).toBe('Terminating');
    // The pod got its deletionTimestamp (grace period) and the configmap is waiting on its finalizer.
    expect((await client.get(POD, 'slow', 'running')).metadata.deletionTimestamp).toBeDefined();
    expect((await client.get(CM, 'slow', 'held')).metadata.deletionTimestamp).toBeDefined();
    // New content is refused meanwhile.
    await expect(
      client.create(CM, 'slow', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' } }),
    ).rejects.toMatchObject({ code: 403 });

    // The "kubelet" finishes the pod; someone releases the finalizer.
    await client.delete(POD, 'slow', 'running', { gracePeriodSeconds: 0 });
    const held = await client.get(CM, 'slow', 'held');
    await client.update(CM, 'slow', { ...held, metadata: { ...held.metadata, finalizers: [] } });

    await until(async () => ((await exists(client, NS, undefined, 'slow')) === undefined ? true : undefined));
  });

  it('leaves other spec finalizers in place', async () => {
    const client = await cluster();
    await client.create(NS, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'extra' },
      spec: { finalizers: ['kubernetes', 'example.com/other'] },
    });
    await client.delete(NS, undefined, 'extra');
    const ns = await until(async () => {
      const n = await client.get(NS, undefined, 'extra');
      const f = (n.spec as { finalizers?: string[] }).finalizers ?? [];
      return f.includes('kubernetes') ? undefined : n;
    });
    expect((ns.spec as { finalizers?: string[] }).finalizers).toEqual(['example.com/other']);
    await client.update(NS, undefined, { ...ns, spec: { finalizers: [] } }, { subresource: 'finalize' });
    expect(await exists(client, NS, undefined, 'extra')).toBeUndefined();
  });
});
