import { afterEach, describe, expect, it } from 'vitest';
import type { KObject } from '../api/types.js';
import { ManualClock } from '../client/workqueue.js';
import { type ApiEnv, apiEnv, headlessStatefulSet, pod, service, until } from './endpoint-test-helpers.js';
import { ANNOTATION_TRIGGER_TIME, LABEL_HEADLESS } from './endpoint-util.js';
import {
  CONTROLLER_NAME,
  EndpointSliceController,
  EndpointSliceTracker,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  type PlanOptions,
  planEndpointSlices,
  type SliceEndpoint,
} from './endpointslice.js';
import { EVENTS as EVENTS_FOR_TEST } from './events.js';
import { ENDPOINTSLICES, PODS, SERVICES } from './util/resources.js';

const node = (name: string, zone?: string): KObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} },
});

const nodes: Record<string, KObject> = {
  'node-1': node('node-1', 'zone-a'),
  'node-2': node('node-2'),
};
const opts = (extra: Partial<PlanOptions> = {}): PlanOptions => ({ getNode: (n) => nodes[n], ...extra });

let seq = 0;
/** Gives planned slices the identity the API server would (name, uid, resourceVersion, generation). */
function persist(slices: KObject[]): KObject[] {
  return slices.map((s) => {
    const c = structuredClone(s);
    if (!c.metadata.name) {
      seq++;
      c.metadata.name = `${c.metadata.generateName}${seq}`;
      c.metadata.uid = `slice-uid-${seq}`;
    }
    c.metadata.resourceVersion = String(seq);
    c.metadata.generation = (c.metadata.generation ?? 0) + 1;
    return c;
  });
}

const eps = (s: KObject | undefined): SliceEndpoint[] => (s?.endpoints as SliceEndpoint[] | undefined) ?? [];
const names = (s: KObject | undefined): string[] =>
  eps(s)
    .map((e) => e.targetRef?.name ?? '')
    .sort();

describe('planEndpointSlices', () => {
  const svc = service({
    name: 'web',
    labels: { team: 'a' },
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
  });

  it('creates one slice with labels, owner, ports, conditions, node, zone, hostname', () => {
    const pods = [
      pod({ name: 'a', ip: '10.0.0.1', node: 'node-1' }),
      pod({ name: 'b', ip: '10.0.0.2', node: 'node-2', ready: false }),
      pod({ name: 'c', ip: '10.0.0.3', node: 'node-1', terminating: true }),
      pod({ name: 'd', ip: '10.0.0.4', node: 'node-1', hostname: 'd', subdomain: 'web' }),
      pod({ name: 'noip', node: 'node-1' }),
    ];
    const plan = planEndpointSlices(svc, pods, [], opts({ triggerMs: Date.parse('2024-01-01T00:00:00Z') }));
    expect(plan.toUpdate).toEqual([]);
    expect(plan.toDelete).toEqual([]);
    expect(plan.errors).toEqual([]);
    expect(plan.toCreate).toHaveLength(1);
    const s = plan.toCreate[0]!;
    expect(s.metadata).toEqual({
      generateName: 'web-',
      namespace: 'default',
      labels: { team: 'a', [LABEL_SERVICE_NAME]: 'web', [LABEL_MANAGED_BY]: CONTROLLER_NAME },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: 'web',
          uid: 'uid-svc-web',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      annotations: { [ANNOTATION_TRIGGER_TIME]: '2024-01-01T00:00:00Z' },
    });
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
    const byName = Object.fromEntries(eps(s).map((e) => [e.targetRef?.name, e]));
    expect(byName.a).toEqual({
      addresses: ['10.0.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' },
      nodeName: 'node-1',
      zone: 'zone-a',
    });
    expect(byName.b?.conditions).toEqual({ ready: false, serving: false, terminating: false });
    expect(byName.b?.zone).toBeUndefined();
    expect(byName.c?.conditions).toEqual({ ready: false, serving: true, terminating: true });
    expect(byName.d?.hostname).toBe('d');
    expect(byName.noip).toBeUndefined();
  });

  it('publishNotReadyAddresses makes every endpoint ready; headless services get the headless label', () => {
    const h = service({ name: 'db', headless: true, publishNotReadyAddresses: true });
    const plan = planEndpointSlices(
      h,
      [
        pod({ name: 'a', ip: '10.0.0.1', ready: false }),
        pod({ name: 'b', ip: '10.0.0.2', terminating: true }),
      ],
      [],
      opts(),
    );
    const s = plan.toCreate[0]!;
    expect(s.metadata.labels?.[LABEL_HEADLESS]).toBe('');
    expect(eps(s).map((e) => e.conditions.ready)).toEqual([true, true]);
  });

  it('a service without endpoints keeps one placeholder slice, reused once pods appear', () => {
    const first = planEndpointSlices(svc, [], [], opts());
    expect(first.toCreate).toHaveLength(1);
    expect(first.toCreate[0]?.endpoints).toEqual([]);
    expect(first.toCreate[0]?.ports).toEqual([]);
    const existing = persist(first.toCreate);
    // Stable: nothing to do while there are still no pods.
    const again = planEndpointSlices(svc, [pod({ name: 'noip' })], existing, opts());
    expect([again.toCreate, again.toUpdate, again.toDelete]).toEqual([[], [], []]);
    // Pods appear: the placeholder is updated into the real slice instead of delete + create.
    const next = planEndpointSlices(svc, [pod({ name: 'a', ip: '10.0.0.1' })], existing, opts());
    expect(next.toCreate).toEqual([]);
    expect(next.toDelete).toEqual([]);
    expect(next.toUpdate).toHaveLength(1);
    expect(next.toUpdate[0]?.metadata.name).toBe(existing[0]?.metadata.name);
    expect(next.toUpdate[0]?.metadata.uid).toBe(existing[0]?.metadata.uid);
    expect(next.toUpdate[0]?.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
    expect(names(next.toUpdate[0])).toEqual(['a']);
  });

  it('splits into slices of at most 100 and changes only the slices that hold changed endpoints', () => {
    const pods = Array.from({ length: 250 }, (_, i) =>
      pod({ name: `p${i}`, ip: `10.1.${i >> 8}.${i & 255}`, node: 'node-2' }),
    );
    const first = planEndpointSlices(svc, pods, [], opts());
    expect(first.toCreate.map((s) => eps(s).length)).toEqual([100, 100, 50]);
    const existing = persist(first.toCreate);
    expect(planEndpointSlices(svc, pods, existing, opts()).toUpdate).toEqual([]);

    // p0 turns not ready: only its slice is updated.
    const changed = pods.map((p, i) =>
      i === 0 ? pod({ name: 'p0', ip: '10.1.0.0', node: 'node-2', ready: false }) : p,
    );
    const plan = planEndpointSlices(svc, changed, existing, opts());
    expect(plan.toCreate).toEqual([]);
    expect(plan.toDelete).toEqual([]);
    expect(plan.toUpdate).toHaveLength(1);
    const holder = existing.find((s) => names(s).includes('p0'))!;
    expect(plan.toUpdate[0]?.metadata.name).toBe(holder.metadata.name);
    expect(eps(plan.toUpdate[0]).find((e) => e.targetRef?.name === 'p0')?.conditions.ready).toBe(false);

    // Remove 20 pods from the half-full slice and add 5: the new ones go into the slice being updated.
    const small = existing.find((s) => eps(s).length === 50)!;
    const removed = new Set(names(small).slice(0, 20));
    const fewer = pods.filter((p) => !removed.has(p.metadata.name ?? ''));
    for (let i = 0; i < 5; i++) fewer.push(pod({ name: `new${i}`, ip: `10.2.0.${i}`, node: 'node-2' }));
    const plan2 = planEndpointSlices(svc, fewer, existing, opts());
    expect(plan2.toCreate).toEqual([]);
    expect(plan2.toUpdate.map((s) => [s.metadata.name, eps(s).length])).toEqual([[small.metadata.name, 35]]);

    // Remove everything from one slice: it is deleted.
    const full = existing.find((s) => eps(s).length === 100)!;
    const gone = new Set(names(full));
    const plan3 = planEndpointSlices(
      svc,
      pods.filter((p) => !gone.has(p.metadata.name ?? '')),
      existing,
      opts(),
    );
    expect(plan3.toDelete.map((s) => s.metadata.name)).toEqual([full.metadata.name]);
    expect(plan3.toUpdate).toEqual([]);
  });

  it('groups endpoints by resolved port set', () => {
    const named = service({ name: 'web', ports: [{ name: 'http', port: 80, targetPort: 'web' }] });
    const pods = [
      pod({ name: 'a', ip: '10.0.0.1', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod({ name: 'b', ip: '10.0.0.2', ports: [{ name: 'web', containerPort: 9090 }] }),
      pod({ name: 'c', ip: '10.0.0.3', ports: [{ name: 'web', containerPort: 8080 }] }),
    ];
    const plan = planEndpointSlices(named, pods, [], opts());
    const summary = plan.toCreate
      .map((s) => `${(s.ports as Array<{ port: number }>)[0]?.port}:${names(s).join(',')}`)
      .sort();
    expect(summary).toEqual(['8080:a,c', '9090:b']);
  });

  it('skips pods on unknown nodes with upstream’s error, unless publishNotReadyAddresses', () => {
    const p = pod({ name: 'x', ip: '10.0.0.9', node: 'ghost' });
    const plan = planEndpointSlices(svc, [p], [], opts());
    expect(plan.errors).toEqual(['skipping Pod x for Service default/web: Node ghost Not Found']);
    expect([...plan.missingNodes]).toEqual(['ghost']);
    expect(eps(plan.toCreate[0])).toEqual([]);
    const pub = service({ name: 'web', publishNotReadyAddresses: true });
    expect(names(planEndpointSlices(pub, [p], [], opts()).toCreate[0])).toEqual(['x']);
  });

  it('updates labels when the service labels change and deletes slices owned by another service', () => {
    const existing = persist(
      planEndpointSlices(svc, [pod({ name: 'a', ip: '10.0.0.1' })], [], opts()).toCreate,
    );
    const relabeled = service({
      name: 'web',
      labels: { team: 'b' },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    const plan = planEndpointSlices(relabeled, [pod({ name: 'a', ip: '10.0.0.1' })], existing, opts());
    expect(plan.toUpdate).toHaveLength(1);
    expect(plan.toUpdate[0]?.metadata.labels?.team).toBe('b');

    // Same name, new uid (service re-created): the old slice is replaced, never updated.
    const recreated = structuredClone(svc);
    recreated.metadata.uid = 'uid-svc-web-2';
    const plan2 = planEndpointSlices(recreated, [pod({ name: 'a', ip: '10.0.0.1' })], existing, opts());
    expect(plan2.toDelete.map((s) => s.metadata.name)).toEqual([existing[0]?.metadata.name]);
    expect(plan2.toCreate).toHaveLength(1);
    expect(plan2.toCreate[0]?.metadata.ownerReferences?.[0]?.uid).toBe('uid-svc-web-2');
  });

  it('PreferClose adds same-zone hints to ready endpoints; otherwise hints are removed', () => {
    const pc = service({ name: 'web', trafficDistribution: 'PreferClose' });
    const pods = [
      pod({ name: 'a', ip: '10.0.0.1', node: 'node-1' }),
      pod({ name: 'b', ip: '10.0.0.2', node: 'node-2' }),
    ];
    const s = planEndpointSlices(pc, pods, [], opts()).toCreate[0]!;
    const byName = Object.fromEntries(eps(s).map((e) => [e.targetRef?.name, e]));
    expect(byName.a?.hints).toEqual({ forZones: [{ name: 'zone-a' }] });
    expect(byName.b?.hints).toBeUndefined();
    // Dropping trafficDistribution removes the hints from the unchanged slice.
    const existing = persist([s]);
    const plain = service({ name: 'web' });
    const plan = planEndpointSlices(plain, pods, existing, opts());
    expect(plan.toUpdate).toHaveLength(1);
    expect(eps(plan.toUpdate[0]).every((e) => e.hints === undefined)).toBe(true);
  });
});

describe('EndpointSliceTracker', () => {
  const slice = (uid: string, generation: number): KObject => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: uid, namespace: 'ns', uid, generation, labels: { [LABEL_SERVICE_NAME]: 'svc' } },
  });
  it('detects a lagging cache and tells own writes from others', () => {
    const t = new EndpointSliceTracker();
    expect(t.staleSlices('ns/svc', [])).toBe(false);
    expect(t.shouldSync(slice('a', 1))).toBe(true);
    t.update(slice('a', 2));
    expect(t.shouldSync(slice('a', 2))).toBe(false);
    expect(t.shouldSync(slice('a', 3))).toBe(true);
    // The cache has not seen our write (older generation, or missing entirely).
    expect(t.staleSlices('ns/svc', [slice('a', 1)])).toBe(true);
    expect(t.staleSlices('ns/svc', [])).toBe(true);
    expect(t.staleSlices('ns/svc', [slice('a', 2)])).toBe(false);
    // A slice we deleted still in the cache is stale; once gone, fine.
    t.expectDeletion(slice('a', 2));
    expect(t.staleSlices('ns/svc', [slice('a', 2)])).toBe(true);
    expect(t.staleSlices('ns/svc', [])).toBe(false);
    expect(t.handleDeletion(slice('a', 2))).toBe(true);
    t.update(slice('b', 1));
    expect(t.handleDeletion(slice('b', 1))).toBe(false);
    expect(t.has(slice('b', 1))).toBe(false);
  });
});

describe('EndpointSliceController (in process)', () => {
  let env: ApiEnv | undefined;
  let ctrl: EndpointSliceController | undefined;
  afterEach(async () => {
    await ctrl?.stop();
    await env?.close();
    ctrl = undefined;
    env = undefined;
  });

  async function start(): Promise<ApiEnv> {
    const e = await apiEnv();
    ctrl = new EndpointSliceController(e.client, e.informers);
    ctrl.start();
    e.informers.start();
    env = e;
    return e;
  }

  const slicesOf = async (e: ApiEnv, ns: string, svc: string): Promise<KObject[]> =>
    (await e.client.list(ENDPOINTSLICES, ns, { labelSelector: `${LABEL_SERVICE_NAME}=${svc}` })).items;
  const allEndpoints = (slices: KObject[]): SliceEndpoint[] => slices.flatMap((s) => eps(s));

  it('headless StatefulSet service: slices follow readiness and graceful deletion', async () => {
    const e = await start();
    await e.ns('sts');
    await e.node('node-1', 'z1');
    await headlessStatefulSet(e, 'sts');
    const slices = await until(async () => {
      const s = await slicesOf(e, 'sts', 'db');
      return allEndpoints(s).length === 3 ? s : undefined;
    }, 'slices for db');
    expect(slices).toHaveLength(1);
    const s = slices[0]!;
    expect(s.metadata.name).toMatch(/^db-[a-z0-9]{5}$/);
    expect(s.metadata.labels).toEqual({
      [LABEL_SERVICE_NAME]: 'db',
      [LABEL_MANAGED_BY]: CONTROLLER_NAME,
      [LABEL_HEADLESS]: '',
    });
    expect(s.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Service', name: 'db', controller: true, blockOwnerDeletion: true }),
    ]);
    expect(s.ports).toEqual([{ name: 'pg', protocol: 'TCP', port: 5432 }]);
    const db2 = allEndpoints(slices).find((x) => x.targetRef?.name === 'db-2');
    expect(db2).toMatchObject({
      addresses: ['10.1.0.3'],
      conditions: { ready: false, serving: false, terminating: false },
      hostname: 'db-2',
      nodeName: 'node-1',
      zone: 'z1',
    });

    await e.setStatus('sts', 'db-2', { ip: '10.1.0.3', ready: true });
    await until(
      async () => allEndpoints(await slicesOf(e, 'sts', 'db')).every((x) => x.conditions.ready),
      'db-2 ready',
    );
    const afterReady = await slicesOf(e, 'sts', 'db');
    expect(afterReady.map((x) => x.metadata.uid)).toEqual([s.metadata.uid]);

    // Graceful deletion (pod bound to a node, still running): terminating, still serving, not ready.
    await e.client.delete(PODS, 'sts', 'db-1');
    const term = await until(async () => {
      const x = allEndpoints(await slicesOf(e, 'sts', 'db')).find((ep) => ep.targetRef?.name === 'db-1');
      return x?.conditions.terminating ? x : undefined;
    }, 'db-1 terminating');
    expect(term.conditions).toEqual({ ready: false, serving: true, terminating: true });
    // The node agent finishes the deletion: the endpoint goes away.
    await e.client.delete(PODS, 'sts', 'db-1', { gracePeriodSeconds: 0 });
    await until(
      async () => allEndpoints(await slicesOf(e, 'sts', 'db')).every((ep) => ep.targetRef?.name !== 'db-1'),
      'db-1 removed',
    );
  });

  it('placeholder, recreation of a deleted slice, and cleanup with the service', async () => {
    const e = await start();
    await e.ns('app');
    await e.node('node-1');
    await e.svc('app', { name: 'web' });
    const placeholder = await until(async () => (await slicesOf(e, 'app', 'web'))[0], 'placeholder');
    expect(placeholder.endpoints).toBeNull();
    expect(placeholder.ports).toBeNull();

    await e.createPod('app', { name: 'w1', ip: '10.2.0.1' });
    const filled = await until(async () => {
      const s = await slicesOf(e, 'app', 'web');
      return s.length === 1 && allEndpoints(s).length === 1 ? s[0] : undefined;
    }, 'filled');
    // The placeholder became the real slice.
    expect(filled.metadata.uid).toBe(placeholder.metadata.uid);
    expect(filled.ports).toEqual([{ name: '', protocol: 'TCP', port: 8080 }]);

    // Someone deletes our slice: it comes back.
    await e.client.delete(ENDPOINTSLICES, 'app', filled.metadata.name!);
    const back = await until(async () => {
      const s = await slicesOf(e, 'app', 'web');
      return s.length === 1 && s[0]!.metadata.uid !== filled.metadata.uid && allEndpoints(s).length === 1
        ? s[0]
        : undefined;
    }, 'recreated');
    expect(allEndpoints([back])[0]?.addresses).toEqual(['10.2.0.1']);

    await e.client.delete(SERVICES, 'app', 'web');
    await until(async () => (await slicesOf(e, 'app', 'web')).length === 0, 'slices removed with service');
  });

  it('never creates duplicates while its slice cache lags behind its own writes', async () => {
    const e = await start();
    await e.ns('lag');
    await e.node('node-1');
    // Freeze the slice cache: the controller's own creates never show up in it.
    await e.informers.forResource(ENDPOINTSLICES).stop();
    await e.svc('lag', { name: 'web' });
    await until(async () => (await slicesOf(e, 'lag', 'web')).length === 1, 'first slice');
    // More work for the service: each pass must notice the cache is stale and wait.
    await e.createPod('lag', { name: 'w1', ip: '10.6.0.1' });
    await e.createPod('lag', { name: 'w2', ip: '10.6.0.2' });
    ctrl!.queue.add('lag/web');
    await new Promise((r) => setTimeout(r, 200));
    expect(await slicesOf(e, 'lag', 'web')).toHaveLength(1);
    expect(ctrl!.tracker.staleSlices('lag/web', [])).toBe(true);
  });

  it('needs no timers for ordinary changes (works under a ManualClock)', async () => {
    const e = await apiEnv();
    env = e;
    ctrl = new EndpointSliceController(e.client, e.informers, { clock: new ManualClock() });
    ctrl.start();
    e.informers.start();
    await e.ns('mc');
    await e.node('node-1');
    await e.svc('mc', { name: 'web' });
    await e.createPod('mc', { name: 'w1', ip: '10.7.0.1', ready: false });
    await until(async () => allEndpoints(await slicesOf(e, 'mc', 'web')).length === 1, 'endpoint');
    await e.setStatus('mc', 'w1', { ip: '10.7.0.1', ready: true });
    await until(
      async () => allEndpoints(await slicesOf(e, 'mc', 'web'))[0]?.conditions.ready === true,
      'ready without advancing the clock',
    );
  });

  it('a pod on a node that appears later is added once the node exists; the failure is reported as an event', async () => {
    const e = await start();
    await e.ns('late');
    await e.svc('late', { name: 'web' });
    await e.createPod('late', { name: 'w1', ip: '10.4.0.1', node: 'node-late' });
    const ev = await until(async () => {
      const list = await e.client.list(EVENTS_FOR_TEST, 'late');
      return list.items.find((x) => x.reason === 'FailedToUpdateEndpointSlices');
    }, 'warning event');
    expect(ev.message).toBe(
      'Error updating Endpoint Slices for Service late/web: skipping Pod w1 for Service late/web: Node node-late Not Found',
    );
    expect((ev.source as { component?: string }).component).toBe('endpoint-slice-controller');
    expect(allEndpoints(await slicesOf(e, 'late', 'web'))).toEqual([]);
    await e.node('node-late');
    await until(async () => allEndpoints(await slicesOf(e, 'late', 'web')).length === 1, 'added after node');
  });

  it('spreads 230 pods over slices of at most 100', async () => {
    const e = await start();
    await e.ns('big');
    await e.node('node-1');
    await e.svc('big', { name: 'web' });
    for (let i = 0; i < 230; i++)
      await e.createPod('big', { name: `p${i}`, ip: `10.5.${i >> 8}.${i & 255}` });
    const slices = await until(async () => {
      const s = await slicesOf(e, 'big', 'web');
      return allEndpoints(s).length === 230 ? s : undefined;
    }, '230 endpoints');
    // How endpoints are packed depends on how pod changes were batched; the bounds do not.
    const sizes = slices.map((s) => eps(s).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(slices.length).toBeGreaterThanOrEqual(3);
    expect(slices.length).toBeLessThanOrEqual(5);
    const ips = new Set(allEndpoints(slices).flatMap((x) => x.addresses));
    expect(ips.size).toBe(230);
  });
});
