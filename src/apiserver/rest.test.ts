import { beforeEach, describe, expect, it, vi } from 'vitest';
import { isStatusError, type StatusError } from '../api/errors.js';
import type { KObject, WatchEvent } from '../api/types.js';
import { resources } from '../registry/index.js';
import type { ResourceDef } from '../registry/types.js';
import { MemoryStore } from '../storage/memory.js';
import { Rest } from './rest.js';

let rest: Rest;
let cm: ResourceDef;
let ns: ResourceDef;
let sts: ResourceDef;
let pods: ResourceDef;
const t = Date.parse('2026-01-01T00:00:00Z');

async function fails(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    if (isStatusError(e)) return e;
    throw e;
  }
  throw new Error('expected a StatusError');
}

function configMap(
  name: string,
  data: Record<string, string> = {},
  extra: Partial<KObject['metadata']> = {},
): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data };
}

const statefulSet = (name: string): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name },
  spec: {
    serviceName: name,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image: 'mongo:3.3' }] },
    },
  },
});

beforeEach(async () => {
  rest = new Rest(new MemoryStore(), resources, { now: () => new Date(t) });
  cm = rest.resource('', 'v1', 'configmaps')!;
  ns = rest.resource('', 'v1', 'namespaces')!;
  sts = rest.resource('apps', 'v1', 'statefulsets')!;
  pods = rest.resource('', 'v1', 'pods')!;
  await rest.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } });
});

describe('create', () => {
  it('sets system metadata and rejects duplicates with 409 AlreadyExists', async () => {
    const o = await rest.create(cm, 'a', configMap('x', { k: 'v' }));
    expect(o.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(o.metadata.creationTimestamp).toBe('2026-01-01T00:00:00Z');
    expect(o.metadata.namespace).toBe('a');
    expect(Number(o.metadata.resourceVersion)).toBeGreaterThan(0);
    const e = await fails(rest.create(cm, 'a', configMap('x')));
    expect(e.code).toBe(409);
    expect(e.status.message).toBe('configmaps "x" already exists');
  });

  it('fills generateName and refuses a missing namespace or a mismatched one', async () => {
    const o = await rest.create(cm, 'a', configMap('', {}, { generateName: 'gen-' }));
    expect(o.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    const missing = await fails(rest.create(cm, 'nope', configMap('x')));
    expect(missing.code).toBe(404);
    expect(missing.status.message).toBe('namespaces "nope" not found');
    const mismatch = await fails(rest.create(cm, 'a', configMap('y', {}, { namespace: 'b' })));
    expect(mismatch.code).toBe(400);
    expect(mismatch.status.message).toBe(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  });

  it('rejects unknown fields under Strict and only warns under Warn', async () => {
    const bad = { ...configMap('x'), bogus: 1 };
    const e = await fails(rest.create(cm, 'a', structuredClone(bad), { fieldValidation: 'Strict' }));
    expect(e.code).toBe(400);
    expect(e.status.message).toBe('strict decoding error: unknown field "bogus"');
    const ctx = { fieldValidation: 'Warn' as const, warnings: [] as string[] };
    await rest.create(cm, 'a', structuredClone(bad), ctx);
    expect(ctx.warnings).toEqual(['unknown field "bogus"']);
  });

  it('dryRun stores nothing', async () => {
    await rest.create(cm, 'a', configMap('dry'), { dryRun: true });
    expect((await fails(rest.get(cm, 'a', 'dry'))).code).toBe(404);
  });

  it('applies StatefulSet defaults and generation 1, and returns 422 for invalid objects', async () => {
    const o = await rest.create(sts, 'a', statefulSet('db'));
    expect(o.metadata.generation).toBe(1);
    expect((o.spec as Record<string, unknown>).podManagementPolicy).toBe('OrderedReady');
    const bad = statefulSet('bad');
    (bad.spec as Record<string, unknown>).replicas = -1;
    const e = await fails(rest.create(sts, 'a', bad));
    expect(e.code).toBe(422);
    expect(e.status.message).toContain('StatefulSet.apps "bad" is invalid');
    expect(e.status.details?.causes?.[0]?.field).toBe('spec.replicas');
  });
});

describe('update and patch', () => {
  it('enforces optimistic concurrency with the upstream conflict message', async () => {
    const o = await rest.create(cm, 'a', configMap('x', { k: '1' }));
    const u = await rest.update(cm, 'a', 'x', { ...o, data: { k: '2' } });
    expect(Number(u.metadata.resourceVersion)).toBeGreaterThan(Number(o.metadata.resourceVersion));
    const e = await fails(rest.update(cm, 'a', 'x', { ...o, data: { k: '3' } }));
    expect(e.code).toBe(409);
    expect(e.status.message).toBe(
      'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('bumps generation on spec changes only, and keeps status on the main resource', async () => {
    const o = await rest.create(sts, 'a', statefulSet('db'));
    const labelled = await rest.patch(sts, 'a', 'db', 'merge', { metadata: { labels: { x: 'y' } } });
    expect(labelled.metadata.generation).toBe(1);
    const scaled = await rest.patch(sts, 'a', 'db', 'merge', {
      spec: { replicas: 3 },
      status: { replicas: 9 },
    });
    expect(scaled.metadata.generation).toBe(2);
    expect((scaled.status as Record<string, unknown>).replicas).toBe(0);
    const st = await rest.update(
      sts,
      'a',
      'db',
      { ...scaled, status: { replicas: 2 }, spec: o.spec },
      {},
      'status',
    );
    expect((st.status as Record<string, unknown>).replicas).toBe(2);
    expect((st.spec as Record<string, unknown>).replicas).toBe(3);
    expect(st.metadata.generation).toBe(2);
  });

  it('rejects immutable StatefulSet fields with the upstream message', async () => {
    await rest.create(sts, 'a', statefulSet('db'));
    const e = await fails(rest.patch(sts, 'a', 'db', 'merge', { spec: { serviceName: 'other' } }));
    expect(e.code).toBe(422);
    expect(e.status.message).toContain(
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
  });

  it('applies strategic merge patches by merge key', async () => {
    await rest.create(sts, 'a', statefulSet('db'));
    const p = await rest.patch(sts, 'a', 'db', 'strategic', {
      spec: { template: { spec: { containers: [{ name: 'c', image: 'mongo:3.4' }] } } },
    });
    const c = ((p.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers[0] ?? {}) as Record<string, unknown>;
    expect(c.image).toBe('mongo:3.4');
    expect(c.imagePullPolicy).toBe('IfNotPresent');
  });

  it('server-side apply creates, then conflicts with another manager unless forced', async () => {
    const applied = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data: { a: '1' } };
    const created = await rest.patch(cm, 'a', 'ssa', 'apply', structuredClone(applied), {
      fieldManager: 'one',
    });
    expect(created.data).toEqual({ a: '1' });
    expect(created.metadata.managedFields?.[0]).toMatchObject({ manager: 'one', operation: 'Apply' });
    const other = { ...applied, data: { a: '2' } };
    const e = await fails(
      rest.patch(cm, 'a', 'ssa', 'apply', structuredClone(other), { fieldManager: 'two' }),
    );
    expect(e.code).toBe(409);
    expect(e.status.message).toContain('conflict with "one"');
    const forced = await rest.patch(cm, 'a', 'ssa', 'apply', structuredClone(other), {
      fieldManager: 'two',
      force: true,
    });
    expect(forced.data).toEqual({ a: '2' });
  });

  it('patching a missing object is 404', async () => {
    const e = await fails(rest.patch(cm, 'a', 'none', 'merge', { data: { a: 'b' } }));
    expect(e.code).toBe(404);
  });

  it('scale subresource reads and writes spec.replicas', async () => {
    await rest.create(sts, 'a', statefulSet('db'));
    const s = await rest.patch(sts, 'a', 'db', 'merge', { spec: { replicas: 5 } }, {}, 'scale');
    expect(s).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 5 } });
    expect((await rest.getScale(sts, 'a', 'db')).status).toEqual({ replicas: 0, selector: 'app=db' });
  });
});

describe('delete', () => {
  it('keeps objects with finalizers until the last one is removed', async () => {
    await rest.create(cm, 'a', configMap('f', {}, { finalizers: ['example.com/x'] }));
    const r = await rest.delete(cm, 'a', 'f');
    expect(r.deleted).toBe(false);
    expect(r.object.metadata.deletionTimestamp).toBe('2026-01-01T00:00:00Z');
    const cur = await rest.get(cm, 'a', 'f');
    await rest.update(cm, 'a', 'f', { ...cur, metadata: { ...cur.metadata, finalizers: [] } });
    expect((await fails(rest.get(cm, 'a', 'f'))).code).toBe(404);
  });

  it('Foreground and Orphan add their finalizers; preconditions are checked', async () => {
    await rest.create(cm, 'a', configMap('fg'));
    const fg = await rest.delete(cm, 'a', 'fg', { propagationPolicy: 'Foreground' });
    expect(fg.object.metadata.finalizers).toEqual(['foregroundDeletion']);
    await rest.create(cm, 'a', configMap('or'));
    const or = await rest.delete(cm, 'a', 'or', { propagationPolicy: 'Orphan' });
    expect(or.object.metadata.finalizers).toEqual(['orphan']);
    await rest.create(cm, 'a', configMap('pc'));
    const e = await fails(rest.delete(cm, 'a', 'pc', { preconditions: { uid: 'nope' } }));
    expect(e.code).toBe(409);
    const bad = await fails(rest.delete(cm, 'a', 'pc', { propagationPolicy: 'Sideways' }));
    expect(bad.code).toBe(422);
  });

  it('keeps annotation changes on Deployment /status, not on other kinds', async () => {
    const deploy = rest.resource('apps', 'v1', 'deployments')!;
    const d = await rest.create(deploy, 'a', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    });
    const withRev = structuredClone(d);
    withRev.metadata.annotations = { 'deployment.kubernetes.io/revision': '1' };
    withRev.metadata.labels = { ignored: 'yes' };
    withRev.status = { observedGeneration: 1 };
    const out = await rest.update(deploy, 'a', 'd', withRev, {}, 'status');
    expect(out.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '1' });
    expect(out.metadata.labels).toBeUndefined();
    const pod = await rest.create(pods, 'a', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'annotated' },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    });
    const t = structuredClone(pod);
    t.metadata.annotations = { x: 'y' };
    expect((await rest.update(pods, 'a', 'annotated', t, {}, 'status')).metadata.annotations).toBeUndefined();
  });

  it('drops unknown fields (Warn warns, Ignore is silent, Strict refuses)', async () => {
    const warn = { fieldValidation: 'Warn' as const, warnings: [] as string[] };
    const made = await rest.create(
      cm,
      'a',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u1' }, data: { a: 'b' }, extra: 1 },
      warn,
    );
    expect(made).not.toHaveProperty('extra');
    expect(await rest.get(cm, 'a', 'u1')).not.toHaveProperty('extra');
    expect(warn.warnings).toEqual(['unknown field "extra"']);
    const quiet = { fieldValidation: 'Ignore' as const, warnings: [] as string[] };
    const patched = await rest.patch(cm, 'a', 'u1', 'merge', { extra: 2, data: { c: 'd' } }, quiet);
    expect(patched).not.toHaveProperty('extra');
    expect(patched.data).toEqual({ a: 'b', c: 'd' });
    expect(quiet.warnings).toEqual([]);
    const e = await fails(
      rest.create(
        cm,
        'a',
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u2' }, extra: 1 },
        { fieldValidation: 'Strict' },
      ),
    );
    expect(e.code).toBe(400);
  });

  it('retries a generated name that is already taken', async () => {
    const first = await rest.create(cm, 'a', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { generateName: 'g-' },
    });
    // The next two suffixes repeat the first name's, then a fresh one follows.
    const spy = vi.spyOn(Math, 'random');
    const suffix = first.metadata.name!.slice(2);
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    const seq = [...suffix, ...suffix].map((ch) => (alphabet.indexOf(ch) + 0.5) / alphabet.length);
    for (const v of seq) spy.mockReturnValueOnce(v);
    try {
      const second = await rest.create(cm, 'a', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { generateName: 'g-' },
      });
      expect(second.metadata.name).not.toBe(first.metadata.name);
      expect(second.metadata.name).toMatch(/^g-[a-z0-9]{5}$/);
      expect(spy.mock.calls.length).toBeGreaterThan(10);
    } finally {
      spy.mockRestore();
    }
  });

  it('scheduled pods are deleted gracefully, unscheduled pods at once', async () => {
    const pod = (name: string, nodeName?: string): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: [{ name: 'c', image: 'x' }], ...(nodeName ? { nodeName } : {}) },
    });
    await rest.create(pods, 'a', pod('p1'));
    expect((await rest.delete(pods, 'a', 'p1')).deleted).toBe(true);
    await rest.create(pods, 'a', pod('p2', 'node-1'));
    const r = await rest.delete(pods, 'a', 'p2');
    expect(r.deleted).toBe(false);
    expect(r.object.metadata.deletionGracePeriodSeconds).toBe(30);
    // The kubelet's final status write (phase Failed) leaves the terminating pod in place.
    const dying = structuredClone(r.object);
    dying.status = { phase: 'Failed' };
    const after = await rest.update(pods, 'a', 'p2', dying, {}, 'status');
    expect(after.metadata.deletionTimestamp).toBeDefined();
    expect((await rest.get(pods, 'a', 'p2')).status).toMatchObject({ phase: 'Failed' });
    expect((await rest.delete(pods, 'a', 'p2', { gracePeriodSeconds: 0 })).deleted).toBe(true);
  });

  it('namespaces go Terminating and refuse new content', async () => {
    const r = await rest.delete(ns, undefined, 'a');
    expect(r.deleted).toBe(false);
    expect((r.object.status as Record<string, unknown>).phase).toBe('Terminating');
    const e = await fails(rest.create(cm, 'a', configMap('late')));
    expect(e.code).toBe(403);
    expect(e.status.message).toBe(
      'unable to create new content in namespace a because it is being terminated',
    );
    const cur = await rest.get(ns, undefined, 'a');
    await rest.update(ns, undefined, 'a', { ...cur, spec: { finalizers: [] } }, {}, 'finalize');
    expect((await fails(rest.get(ns, undefined, 'a'))).code).toBe(404);
  });
});

describe('list and watch', () => {
  it('pages with limit/continue and filters by label and field selectors', async () => {
    for (let i = 0; i < 7; i++)
      await rest.create(cm, 'a', configMap(`c${i}`, {}, { labels: { odd: String(i % 2) } }));
    const first = await rest.list(cm, 'a', { limit: 3 });
    expect(first.items.map((o) => o.metadata.name)).toEqual(['c0', 'c1', 'c2']);
    expect(first.metadata.remainingItemCount).toBe(4);
    const second = await rest.list(cm, 'a', { limit: 10, continue: first.metadata.continue });
    expect(second.items.map((o) => o.metadata.name)).toEqual(['c3', 'c4', 'c5', 'c6']);
    expect(second.metadata.continue).toBeUndefined();
    const odd = await rest.list(cm, 'a', { labelSelector: 'odd=1' });
    expect(odd.items.map((o) => o.metadata.name)).toEqual(['c1', 'c3', 'c5']);
    const byName = await rest.list(cm, undefined, { fieldSelector: 'metadata.name=c4' });
    expect(byName.items.map((o) => o.metadata.name)).toEqual(['c4']);
    expect((await fails(rest.list(cm, 'a', { labelSelector: 'a in (' }))).code).toBe(400);
    expect((await fails(rest.list(cm, 'a', { fieldSelector: 'spec.nope=1' }))).code).toBe(400);
    expect((await fails(rest.list(cm, 'a', { continue: 'garbage' }))).code).toBe(400);
  });

  it('replays from a resourceVersion and reports selector transitions', async () => {
    const o = await rest.create(cm, 'a', configMap('w', {}, { labels: { app: 'x' } }));
    const events: WatchEvent[] = [];
    const w = await rest.watch(
      cm,
      'a',
      { resourceVersion: o.metadata.resourceVersion, labelSelector: 'app=x' },
      (e) => events.push(e),
    );
    await rest.create(cm, 'a', configMap('w2', {}, { labels: { app: 'x' } }));
    await rest.patch(cm, 'a', 'w', 'merge', { metadata: { labels: { app: 'y' } } });
    await rest.delete(cm, 'a', 'w2');
    const deadline = Date.now() + 2000;
    while (events.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    w.stop();
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED w2',
      'DELETED w',
      'DELETED w2',
    ]);
  });

  it('a compacted resourceVersion is 410 Expired', async () => {
    await rest.create(cm, 'a', configMap('x'));
    await rest.create(cm, 'a', configMap('y'));
    const rv = await rest.store.currentRevision();
    await rest.store.compact(rv);
    const e = await fails(rest.watch(cm, 'a', { resourceVersion: '1' }, () => undefined));
    expect(e.code).toBe(410);
    expect(e.reason).toBe('Expired');
  });
});
