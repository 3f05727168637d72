import { afterEach, describe, expect, it } from 'vitest';
import { isNotFound } from '../api/errors.js';
import type { KObject, OwnerReference } from '../api/types.js';
import { Rest } from '../apiserver/rest.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { resources } from '../registry/index.js';
import { MemoryStore } from '../storage/memory.js';
import { type Controllers, startControllers } from './index.js';

const NS: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const CM: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const EVENTS: ResourceRef = { group: '', version: 'v1', resource: 'events' };
const CLUSTERROLE: ResourceRef = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  resource: 'clusterroles',
};

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let controllers: Controllers | undefined;
afterEach(async () => {
  await controllers?.stop();
  controllers = undefined;
});

interface Env {
  client: InProcessClient;
  get(res: ResourceRef, ns: string | undefined, name: string): Promise<KObject | undefined>;
  gone(res: ResourceRef, ns: string | undefined, name: string): Promise<void>;
  cm(ns: string, name: string, owners?: OwnerReference[], finalizers?: string[]): Promise<KObject>;
}

async function env(): Promise<Env> {
  const rest = new Rest(new MemoryStore(), resources);
  const client = new InProcessClient(rest);
  for (const name of ['default', 'a', 'b']) {
    await client.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  controllers = await startControllers(client, rest);
  const get = async (res: ResourceRef, ns: string | undefined, name: string) => {
    try {
      return await client.get(res, ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  return {
    client,
    get,
    gone: async (res, ns, name) => {
      await until(async () => ((await get(res, ns, name)) === undefined ? true : undefined));
    },
    cm: (ns, name, owners, finalizers) =>
      client.create(CM, ns, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, ownerReferences: owners, finalizers },
      }),
  };
}

function ownerRef(o: KObject, extra: Partial<OwnerReference> = {}): OwnerReference {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, uid: o.metadata.uid!, ...extra };
}

describe('garbage collector', () => {
  it('background: deleting an owner deletes its dependents', async () => {
    const e = await env();
    const owner = await e.cm('a', 'owner');
    await e.cm('a', 'dep1', [ownerRef(owner)]);
    await e.cm('a', 'dep2', [ownerRef(owner, { controller: true, blockOwnerDeletion: true })]);
    await e.cm('a', 'bystander');
    await e.client.delete(CM, 'a', 'owner');
    await e.gone(CM, 'a', 'dep1');
    await e.gone(CM, 'a', 'dep2');
    expect(await e.get(CM, 'a', 'bystander')).toBeDefined();
  });

  it('background: a dependent with one live owner stays, losing the reference to the dead one', async () => {
    const e = await env();
    const o1 = await e.cm('a', 'o1');
    const o2 = await e.cm('a', 'o2');
    await e.cm('a', 'dep', [ownerRef(o1), ownerRef(o2)]);
    await e.client.delete(CM, 'a', 'o1');
    const dep = await until(async () => {
      const d = await e.get(CM, 'a', 'dep');
      return d && d.metadata.ownerReferences?.length === 1 ? d : undefined;
    });
    expect(dep.metadata.ownerReferences?.[0]?.uid).toBe(o2.metadata.uid);
    await e.client.delete(CM, 'a', 'o2');
    await e.gone(CM, 'a', 'dep');
  });

  it('background: a cluster-scoped owner can own namespaced dependents', async () => {
    const e = await env();
    const role = await e.client.create(CLUSTERROLE, undefined, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'owner' },
      rules: [],
    });
    await e.cm('a', 'dep', [ownerRef(role)]);
    await e.cm('b', 'dep', [ownerRef(role)]);
    await e.client.delete(CLUSTERROLE, undefined, 'owner');
    await e.gone(CM, 'a', 'dep');
    await e.gone(CM, 'b', 'dep');
  });

  it('uid mismatch: an owner recreated under the same name does not keep dependents alive', async () => {
    const e = await env();
    const owner = await e.cm('a', 'owner');
    // A dependent naming the owner with a uid that never existed is collected at once.
    await e.cm('a', 'stale', [{ ...ownerRef(owner), uid: 'no-such-uid' }]);
    await e.gone(CM, 'a', 'stale');
    expect(await e.get(CM, 'a', 'owner')).toBeDefined();

    await e.cm('a', 'dep', [ownerRef(owner)]);
    await e.client.delete(CM, 'a', 'owner');
    const again = await e.cm('a', 'owner');
    expect(again.metadata.uid).not.toBe(owner.metadata.uid);
    await e.gone(CM, 'a', 'dep');
    expect(await e.get(CM, 'a', 'owner')).toBeDefined();
  });

  it('namespaces: an owner in another namespace does not count, and is reported', async () => {
    const e = await env();
    const owner = await e.cm('a', 'owner');
    await e.cm('b', 'dep', [ownerRef(owner)]);
    await e.gone(CM, 'b', 'dep');
    expect(await e.get(CM, 'a', 'owner')).toBeDefined();
    const ev = await until(async () => {
      const list = await e.client.list(EVENTS, 'b');
      return list.items.find((x) => x.reason === 'OwnerRefInvalidNamespace');
    });
    expect(ev).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'ConfigMap', namespace: 'b', name: 'dep' },
      source: { component: 'garbage-collector-controller' },
    });
    expect(ev.message).toBe(
      `ownerRef [v1/ConfigMap, namespace: b, name: owner, uid: ${owner.metadata.uid}] does not exist in namespace "b"`,
    );
  });

  it('namespaces: a cluster-scoped dependent of a namespaced kind is unresolvable and kept', async () => {
    const e = await env();
    const owner = await e.cm('a', 'owner');
    await e.client.create(CLUSTERROLE, undefined, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'dep', ownerReferences: [ownerRef(owner)] },
      rules: [],
    });
    // The warning event is written after the pass decided; then the dependent must still be there.
    await until(async () => {
      const list = await e.client.list(EVENTS, 'default');
      return list.items.find((x) => x.reason === 'OwnerRefInvalidNamespace');
    });
    expect(await e.get(CLUSTERROLE, undefined, 'dep')).toBeDefined();
  });

  it('foreground: the owner stays until blocking dependents are gone, then disappears', async () => {
    const e = await env();
    const owner = await e.cm('a', 'owner');
    await e.cm('a', 'blocker', [ownerRef(owner, { blockOwnerDeletion: true })], ['example.com/hold']);
    await e.cm('a', 'plain', [ownerRef(owner)]);
    await e.client.delete(CM, 'a', 'owner', { propagationPolicy: 'Foreground' });

    // Dependents are deleted; the blocker lingers on its own finalizer, so the owner waits.
    await e.gone(CM, 'a', 'plain');
    const blocker = await until(async () => {
      const b = await e.get(CM, 'a', 'blocker');
      return b?.metadata.deletionTimestamp ? b : undefined;
    });
    const waiting = await e.get(CM, 'a', 'owner');
    expect(waiting?.metadata.deletionTimestamp).toBeDefined();
    expect(waiting?.metadata.finalizers).toContain('foregroundDeletion');

    await e.client.update(CM, 'a', { ...blocker, metadata: { ...blocker.metadata, finalizers: [] } });
    await e.gone(CM, 'a', 'blocker');
    await e.gone(CM, 'a', 'owner');
  });

  it('foreground: an owner without blocking dependents goes at once; non-blocking dependents still go', async () => {
    const e = await env();
    const owner = await e.cm('a', 'owner');
    await e.cm('a', 'dep', [ownerRef(owner, { blockOwnerDeletion: false })]);
    await e.client.delete(CM, 'a', 'owner', { propagationPolicy: 'Foreground' });
    await e.gone(CM, 'a', 'owner');
    await e.gone(CM, 'a', 'dep');
  });

  it('foreground cascades through several levels', async () => {
    const e = await env();
    const top = await e.cm('a', 'top');
    const mid = await e.cm('a', 'mid', [ownerRef(top, { blockOwnerDeletion: true })]);
    await e.cm('a', 'leaf', [ownerRef(mid, { blockOwnerDeletion: true })]);
    await e.client.delete(CM, 'a', 'top', { propagationPolicy: 'Foreground' });
    await e.gone(CM, 'a', 'leaf');
    await e.gone(CM, 'a', 'mid');
    await e.gone(CM, 'a', 'top');
  });

  it('orphan: dependents live on without the reference to the deleted owner', async () => {
    const e = await env();
    const owner = await e.cm('a', 'owner');
    const other = await e.cm('a', 'other');
    await e.cm('a', 'dep1', [ownerRef(owner, { controller: true, blockOwnerDeletion: true })]);
    await e.cm('a', 'dep2', [ownerRef(owner), ownerRef(other)]);
    await e.client.delete(CM, 'a', 'owner', { propagationPolicy: 'Orphan' });
    await e.gone(CM, 'a', 'owner');
    const dep1 = await e.get(CM, 'a', 'dep1');
    const dep2 = await e.get(CM, 'a', 'dep2');
    expect(dep1?.metadata.ownerReferences ?? []).toEqual([]);
    expect(dep2?.metadata.ownerReferences?.map((r) => r.uid)).toEqual([other.metadata.uid]);
    // Orphans are not collected later either: once a later dangling dependent is collected, dep1 is still here.
    await e.cm('a', 'probe', [ownerRef(owner)]);
    await e.gone(CM, 'a', 'probe');
    expect(await e.get(CM, 'a', 'dep1')).toBeDefined();
  });
});
