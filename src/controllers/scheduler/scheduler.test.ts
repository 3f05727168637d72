import { afterEach, describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import type { Authorizer } from '../../apiserver/auth/authz.js';
import type { ServiceAccountTokens } from '../../apiserver/auth/sa-token.js';
import type { Rest } from '../../apiserver/rest.js';
import { VirtualResources } from '../../apiserver/virtual.js';
import { InProcessClient } from '../../client/in-process.js';
import { InformerFactory } from '../../client/informer.js';
import type { ResourceRef, WriteOpts } from '../../client/interface.js';
import { ManualClock } from '../../client/workqueue.js';
import { type Poll, startInProcessApi, tryGet, waitFor } from '../../testing/in-process.js';
import { EVENTS } from '../events.js';
import { NODES, PODS, PVCS, PVS, STORAGECLASSES } from '../util/resources.js';
import { Scheduler } from './scheduler.js';

/**
 * InProcessClient does not route create(..., {subresource: 'binding'}) to the
 * API server's pods/binding handler (the HTTP server does): the tests send it
 * there, as the HTTP client would.
 */
class BindingClient extends InProcessClient {
  private readonly virtual: VirtualResources;

  constructor(private readonly api: Rest) {
    super(api);
    this.virtual = new VirtualResources(
      api,
      {} as unknown as Authorizer,
      {} as unknown as ServiceAccountTokens,
      async () => undefined,
    );
  }

  override async create(
    res: ResourceRef,
    namespace: string | undefined,
    obj: KObject,
    opts: WriteOpts = {},
  ): Promise<KObject> {
    if (opts.subresource !== 'binding') return super.create(res, namespace, obj, opts);
    const def = this.api.resource('', 'v1', 'pods')!;
    const out = await this.virtual.lookup(def, 'binding')!.handle({
      def,
      namespace,
      name: obj.metadata.name,
      body: structuredClone(obj),
      user: { username: 'system:kube-scheduler', groups: [] },
      ctx: { fieldManager: 'kube-scheduler' },
      method: 'POST',
    });
    return out.body as KObject;
  }
}

const until = <T>(fn: Poll<T>, timeoutMs = 15_000): Promise<T> => waitFor(fn, { timeoutMs });

/** Polls `fn`, advancing the clock a second before each try so that backoffs and periodic retries pass. */
const untilTicking = <T>(e: Env, fn: Poll<T>): Promise<T> =>
  until(async () => {
    await e.clock.advance(1000);
    return fn();
  });

interface Env {
  client: InProcessClient;
  clock: ManualClock;
  scheduler: Scheduler;
  informers: InformerFactory;
  node(name: string, opts?: NodeOpts): Promise<KObject>;
  setNode(name: string, opts: NodeOpts): Promise<KObject>;
  pod(name: string, spec?: Record<string, unknown>, meta?: Partial<KObject['metadata']>): Promise<KObject>;
  getPod(name: string): Promise<KObject | undefined>;
  nodeOf(name: string): Promise<string | undefined>;
  condition(name: string): Promise<Record<string, unknown> | undefined>;
  /** Waits for the pod's PodScheduled=False message. */
  unschedulable(name: string): Promise<string>;
  events(name: string, reason: string): Promise<KObject[]>;
}

interface NodeOpts {
  labels?: Record<string, string>;
  taints?: unknown[];
  unschedulable?: boolean;
  ready?: 'True' | 'False' | 'Unknown';
  allocatable?: Record<string, string>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const NS = 'ns';

async function env(opts: { schedulerName?: string; bindTimeoutMs?: number } = {}): Promise<Env> {
  const { rest } = await startInProcessApi({ namespaces: [NS] });
  const client = new BindingClient(rest);
  const clock = new ManualClock(Date.parse('2025-01-01T00:00:00Z'));
  const informers = new InformerFactory(client);
  const scheduler = new Scheduler(client, informers, { clock, ...opts });
  scheduler.start();
  informers.start();
  cleanups.push(async () => {
    await scheduler.stop();
    await informers.stop();
  });

  const nodeBody = (name: string, o: NodeOpts): KObject => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
  });
  const nodeStatus = (o: NodeOpts) => ({
    capacity: o.allocatable ?? { cpu: '4', memory: '8Gi', pods: '110' },
    allocatable: o.allocatable ?? { cpu: '4', memory: '8Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: o.ready ?? 'True', reason: 'KubeletReady', message: '' }],
  });
  const getPod = (name: string) => tryGet(client, PODS, NS, name);
  const condition = async (name: string) => {
    const p = await getPod(name);
    const conds = (p?.status as { conditions?: Record<string, unknown>[] } | undefined)?.conditions ?? [];
    return conds.find((c) => c.type === 'PodScheduled');
  };
  const e: Env = {
    client,
    clock,
    scheduler,
    informers,
    async node(name, o = {}) {
      const n = await client.create(NODES, undefined, nodeBody(name, o));
      return client.update(NODES, undefined, { ...n, status: nodeStatus(o) }, { subresource: 'status' });
    },
    async setNode(name, o) {
      const cur = await client.get(NODES, undefined, name);
      const updated = await client.update(NODES, undefined, {
        ...cur,
        ...nodeBody(name, o),
        metadata: { ...cur.metadata, labels: nodeBody(name, o).metadata.labels },
      });
      return client.update(
        NODES,
        undefined,
        { ...updated, status: nodeStatus(o) },
        { subresource: 'status' },
      );
    },
    pod(name, spec = {}, meta = {}) {
      return client.create(PODS, NS, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, ...meta },
        spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
      });
    },
    getPod,
    async nodeOf(name) {
      const p = await getPod(name);
      const n = (p?.spec as { nodeName?: string } | undefined)?.nodeName;
      return n || undefined;
    },
    condition,
    unschedulable: (name) =>
      until(async () => {
        const c = await condition(name);
        return c?.status === 'False' && typeof c.message === 'string' ? c.message : undefined;
      }),
    async events(name, reason) {
      const list = await client.list(EVENTS, NS);
      return list.items.filter(
        (ev) => (ev.involvedObject as { name?: string }).name === name && ev.reason === reason,
      );
    },
  };
  return e;
}

const cpu = (c: string) => ({
  containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: c } } }],
});

describe('scheduler: binding', () => {
  it('binds a pending pod to a ready node and records Scheduled', async () => {
    const e = await env();
    await e.node('n1');
    await e.pod('web');
    expect(await until(() => e.nodeOf('web'))).toBe('n1');
    const cond = await e.condition('web');
    expect(cond?.status).toBe('True');
    const evs = await until(async () => {
      const l = await e.events('web', 'Scheduled');
      return l.length > 0 ? l : undefined;
    });
    expect(evs[0]?.message).toBe('Successfully assigned ns/web to n1');
    expect(evs[0]?.type).toBe('Normal');
    expect((evs[0]?.source as { component?: string } | undefined)?.component).toBe('default-scheduler');
  });

  it('leaves pods of other schedulers, pods with a nodeName, and gated pods alone', async () => {
    const e = await env();
    await e.node('n1');
    await e.node('n2');
    await e.pod('mine-later');
    await e.pod('other', { schedulerName: 'my-scheduler' });
    await e.pod('pinned', { nodeName: 'n2' });
    await e.pod('gated', { schedulingGates: [{ name: 'example.com/wait' }] });
    await e.pod('marker');
    await until(() => e.nodeOf('marker'));
    await until(() => e.nodeOf('mine-later'));
    expect(await e.nodeOf('other')).toBeUndefined();
    expect(await e.nodeOf('pinned')).toBe('n2');
    expect(await e.events('pinned', 'Scheduled')).toHaveLength(0);
    expect(await e.nodeOf('gated')).toBeUndefined();
    // Removing the gate makes it schedulable.
    const gated = (await e.getPod('gated'))!;
    await e.client.update(PODS, NS, { ...gated, spec: { ...(gated.spec as object), schedulingGates: [] } });
    expect(await until(() => e.nodeOf('gated'))).toBeDefined();
  });

  it('serves a scheduler with another name', async () => {
    const e = await env({ schedulerName: 'my-scheduler' });
    await e.node('n1');
    await e.pod('default-one');
    await e.pod('mine', { schedulerName: 'my-scheduler' });
    expect(await until(() => e.nodeOf('mine'))).toBe('n1');
    const evs = await until(async () => {
      const l = await e.events('mine', 'Scheduled');
      return l.length > 0 ? l : undefined;
    });
    expect((evs[0]?.source as { component?: string } | undefined)?.component).toBe('my-scheduler');
    expect(await e.nodeOf('default-one')).toBeUndefined();
  });

  it('honours nodeSelector and prefers nodes by preferred affinity', async () => {
    const e = await env();
    await e.node('n1', { labels: { disk: 'hdd' } });
    await e.node('n2', { labels: { disk: 'ssd' } });
    await e.node('n3');
    await e.pod('sel', { nodeSelector: { disk: 'ssd' } });
    expect(await until(() => e.nodeOf('sel'))).toBe('n2');
    await e.pod('pref', {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['hdd'] }] },
            },
          ],
        },
      },
    });
    expect(await until(() => e.nodeOf('pref'))).toBe('n1');
  });
});

describe('scheduler: unschedulable pods', () => {
  it('sets PodScheduled=False with upstream message and a FailedScheduling event', async () => {
    const e = await env();
    await e.node('n1', { allocatable: { cpu: '1', memory: '8Gi', pods: '110' } });
    const cp = [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
    await e.node('n2', { taints: cp });
    await e.node('n3', { taints: cp });
    await e.pod('big', cpu('2'));
    const expected =
      '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.';
    expect(await e.unschedulable('big')).toBe(expected);
    const cond = await e.condition('big');
    expect(cond).toMatchObject({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      lastProbeTime: null,
    });
    const evs = await until(async () => {
      const l = await e.events('big', 'FailedScheduling');
      return l.length > 0 ? l : undefined;
    });
    expect(evs[0]).toMatchObject({ type: 'Warning', message: expected });
    expect((evs[0]?.source as { component?: string } | undefined)?.component).toBe('default-scheduler');
    expect(await e.nodeOf('big')).toBeUndefined();
    expect((await e.getPod('big'))?.status).toMatchObject({ phase: 'Pending' });
  });

  it('reports "No preemption victims" for nodes that are merely full, and preemptionPolicy=Never', async () => {
    const e = await env();
    await e.node('n1', { allocatable: { cpu: '1', memory: '8Gi', pods: '110' } });
    await e.node('n2', { unschedulable: true });
    await e.pod('filler', cpu('800m'));
    await until(() => e.nodeOf('filler'));
    await e.pod('p', cpu('500m'));
    expect(await e.unschedulable('p')).toBe(
      '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.',
    );
    await e.pod('never', { ...cpu('500m'), preemptionPolicy: 'Never' });
    expect(await e.unschedulable('never')).toBe(
      '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. preemption: not eligible due to preemptionPolicy=Never.',
    );
  });

  it('reports nodes outside a matchFields node name as not satisfying NodeAffinity (daemon pods)', async () => {
    const e = await env();
    await e.node('n1', { allocatable: { cpu: '1', memory: '8Gi', pods: '110' } });
    await e.node('n2');
    await e.node('n3');
    await e.pod('daemon', {
      ...cpu('2'),
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
          },
        },
      },
    });
    expect(await e.unschedulable('daemon')).toBe(
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
  });

  it('accounts for lower-priority pods in the preemption message', async () => {
    const e = await env();
    await e.node('n1', { allocatable: { cpu: '1', memory: '8Gi', pods: '110' } });
    await e.node('n2', { allocatable: { cpu: '1', memory: '8Gi', pods: '110' } });
    await e.pod('low1', { ...cpu('800m'), priority: 0 });
    await e.pod('low2', { ...cpu('800m'), priority: 0 });
    await until(() => e.nodeOf('low1'));
    await until(() => e.nodeOf('low2'));
    // Evicting a lower-priority pod would make room for 900m: upstream preempts then and reports no
    // PostFilter message (this scheduler does not evict).
    await e.pod('high', { ...cpu('900m'), priority: 1000 });
    expect(await e.unschedulable('high')).toBe('0/2 nodes are available: 2 Insufficient cpu.');
    // A pod of the same priority has no victims.
    await e.pod('same', { ...cpu('900m'), priority: 0 });
    expect(await e.unschedulable('same')).toBe(
      '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.',
    );
  });

  it('says "no nodes available" without nodes and schedules once a node appears', async () => {
    const e = await env();
    await e.pod('early');
    expect(await e.unschedulable('early')).toBe('no nodes available to schedule pods');
    await e.node('late');
    // The node event sends the pod back once its backoff (1 s) has passed.
    await untilTicking(e, () => e.nodeOf('early'));
    expect(await e.nodeOf('early')).toBe('late');
  });

  it('retries periodically without any event', async () => {
    const e = await env();
    await e.node('n1', { labels: { zone: 'a' } });
    await e.pod('z', { nodeSelector: { zone: 'b' } });
    expect(await e.unschedulable('z')).toBe(
      "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    );
    const evs = () => e.events('z', 'FailedScheduling');
    await until(async () => ((await evs()).length === 1 ? true : undefined));
    // A second attempt happens after the periodic retry (5 s), with no cluster event.
    await e.clock.advance(5000);
    await until(async () => ((await evs())[0]?.count === 2 ? true : undefined));
  });

  it('does not schedule onto NotReady or cordoned nodes; schedules when they recover', async () => {
    const e = await env();
    await e.node('n1', { ready: 'False' });
    await e.node('n2', { unschedulable: true });
    await e.pod('p');
    expect(await e.unschedulable('p')).toBe(
      '0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
    await e.setNode('n1', { ready: 'True' });
    await untilTicking(e, () => e.nodeOf('p'));
    expect(await e.nodeOf('p')).toBe('n1');
  });

  it('detects host port conflicts', async () => {
    const e = await env();
    await e.node('n1');
    const spec = { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }] };
    await e.pod('a', spec);
    await until(() => e.nodeOf('a'));
    await e.pod('b', spec);
    expect(await e.unschedulable('b')).toBe(
      "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    );
  });

  it('schedules a waiting pod when a pod is deleted or finishes and frees resources', async () => {
    const e = await env();
    await e.node('n1', { allocatable: { cpu: '1', memory: '8Gi', pods: '2' } });
    await e.pod('a', cpu('600m'));
    await e.pod('b', cpu('100m'));
    await until(() => e.nodeOf('a'));
    await until(() => e.nodeOf('b'));
    await e.pod('c', cpu('600m'));
    expect(await e.unschedulable('c')).toContain('1 Insufficient cpu, 1 Too many pods');
    // "a" finishes: terminal pods free their resources; "c" still does not fit because of... nothing: it fits.
    const a = (await e.getPod('a'))!;
    await e.client.update(
      PODS,
      NS,
      { ...a, status: { ...(a.status as object), phase: 'Succeeded' } },
      { subresource: 'status' },
    );
    await untilTicking(e, () => e.nodeOf('c'));
    expect(await e.nodeOf('c')).toBe('n1');
    await e.pod('d', cpu('100m'));
    expect(await e.unschedulable('d')).toContain('1 Too many pods');
    await e.client.delete(PODS, NS, 'b', { gracePeriodSeconds: 0 });
    await untilTicking(e, () => e.nodeOf('d'));
  });
});

describe('scheduler: burst accounting', () => {
  it('never over-commits a node under a burst of 1,000 pods (assumed pods count at once)', async () => {
    const e = await env();
    for (const n of ['n1', 'n2', 'n3'])
      await e.node(n, { allocatable: { cpu: '10', memory: '64Gi', pods: '500' } });
    const total = 1000;
    const creates: Promise<KObject>[] = [];
    for (let i = 0; i < total; i++) creates.push(e.pod(`p${i}`, cpu('100m')));
    await Promise.all(creates);
    // 3 × 10 cpu / 100m = 300 fit; the other 700 are reported unschedulable.
    const result = await until(async () => {
      const list = (await e.client.list(PODS, NS)).items;
      let bound = 0;
      let failed = 0;
      for (const p of list) {
        if ((p.spec as { nodeName?: string }).nodeName) bound++;
        else if (
          ((p.status as { conditions?: Array<{ type: string; status: string }> }).conditions ?? []).some(
            (c) => c.type === 'PodScheduled' && c.status === 'False',
          )
        )
          failed++;
      }
      return bound + failed === total ? { list, bound, failed } : undefined;
    }, 60_000);
    expect(result.bound).toBe(300);
    expect(result.failed).toBe(700);
    const perNode = new Map<string, number>();
    for (const p of result.list) {
      const n = (p.spec as { nodeName?: string }).nodeName;
      if (n) perNode.set(n, (perNode.get(n) ?? 0) + 1);
    }
    expect([...perNode.values()]).toEqual([100, 100, 100]);
    const pending = result.list.find((p) => !(p.spec as { nodeName?: string }).nodeName)!;
    expect(await e.unschedulable(pending.metadata.name!)).toBe(
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
    );
    // The cache agrees with the API.
    for (const n of ['n1', 'n2', 'n3']) expect(e.scheduler.cache.node(n)?.requested.milliCpu).toBe(10_000);
  });

  it('spreads pods without requests evenly', async () => {
    const e = await env();
    for (let i = 1; i <= 5; i++) await e.node(`n${i}`);
    const creates: Promise<KObject>[] = [];
    for (let i = 0; i < 200; i++) creates.push(e.pod(`q${i}`));
    await Promise.all(creates);
    const counts = await until(async () => {
      const list = (await e.client.list(PODS, NS)).items;
      if (list.some((p) => !(p.spec as { nodeName?: string }).nodeName)) return undefined;
      const m = new Map<string, number>();
      for (const p of list) {
        const n = (p.spec as { nodeName: string }).nodeName;
        m.set(n, (m.get(n) ?? 0) + 1);
      }
      return m;
    }, 30_000);
    expect([...counts.values()].sort()).toEqual([40, 40, 40, 40, 40]);
  });
});

describe('scheduler: scoring', () => {
  it("spreads a workload's replicas even onto a busier node", async () => {
    const e = await env();
    await e.node('n1');
    await e.node('n2');
    const owned = (uid: string) => ({
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rs-${uid}`, uid, controller: true },
      ],
    });
    for (let i = 0; i < 3; i++) await e.pod(`a${i}`, { nodeName: 'n1' }, owned('A'));
    for (let i = 0; i < 5; i++) await e.pod(`b${i}`, { nodeName: 'n2' }, owned('B'));
    await until(() => e.scheduler.cache.node('n2')?.podCount === 5);
    await until(() => e.scheduler.cache.node('n1')?.podCount === 3);
    await e.pod('a-new', {}, owned('A'));
    expect(await until(() => e.nodeOf('a-new'))).toBe('n2');
    // Without an owner, the emptier node wins.
    await e.pod('loose');
    expect(await until(() => e.nodeOf('loose'))).toBe('n1');
  });

  it('avoids PreferNoSchedule taints the pod does not tolerate', async () => {
    const e = await env();
    await e.node('n1', { taints: [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }] });
    await e.node('n2');
    for (let i = 0; i < 3; i++) await e.pod(`x${i}`, { nodeName: 'n2' });
    await until(() => e.scheduler.cache.node('n2')?.podCount === 3);
    await e.pod('p');
    expect(await until(() => e.nodeOf('p'))).toBe('n2');
  });
});

describe('scheduler: inter-pod affinity', () => {
  const term = (app: string, topologyKey = 'kubernetes.io/hostname') => ({
    labelSelector: { matchLabels: { app } },
    topologyKey,
  });

  it('places replicas with required anti-affinity one per node', async () => {
    const e = await env();
    await e.node('n1');
    await e.node('n2');
    const spec = {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db')] } },
    };
    for (let i = 0; i < 3; i++) await e.pod(`db-${i}`, spec, { labels: { app: 'db' } });
    const placed = await until(async () => {
      const nodes = await Promise.all([0, 1, 2].map((i) => e.nodeOf(`db-${i}`)));
      const bound = nodes.filter((n) => n !== undefined);
      return bound.length === 2 ? bound : undefined;
    });
    expect(new Set(placed).size).toBe(2);
    let waiting = '';
    for (let i = 0; i < 3; i++) if (!(await e.nodeOf(`db-${i}`))) waiting = `db-${i}`;
    expect(await e.unschedulable(waiting)).toBe(
      "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
    );
    // A pod the others' anti-affinity rejects, though it has no rules itself.
    await e.pod('intruder', {}, { labels: { app: 'db' } });
    expect(await e.unschedulable('intruder')).toBe(
      "0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
    );
    // A third node takes one of them.
    await e.node('n3');
    await untilTicking(e, () => e.nodeOf(waiting));
  });

  it('co-locates with required pod affinity once a matching pod runs', async () => {
    const e = await env();
    await e.node('n1');
    await e.node('n2');
    await e.pod('web', {
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('cache')] } },
    });
    expect(await e.unschedulable('web')).toBe(
      "0/2 nodes are available: 2 node(s) didn't match pod affinity rules. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
    await e.pod('cache', { nodeName: 'n2' }, { labels: { app: 'cache' } });
    await untilTicking(e, () => e.nodeOf('web'));
    expect(await e.nodeOf('web')).toBe('n2');
    // The first pod of a group with affinity to itself may go anywhere.
    await e.pod(
      'self',
      { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('self')] } } },
      {
        labels: { app: 'self' },
      },
    );
    expect(await until(() => e.nodeOf('self'))).toBeDefined();
  });
});

describe('scheduler: volumes', () => {
  async function storageClass(
    e: Env,
    name: string,
    mode: string,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await e.client.create(STORAGECLASSES, undefined, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name },
      provisioner: 'example.com/test',
      volumeBindingMode: mode,
      ...extra,
    });
  }
  function claim(e: Env, name: string, className?: string): Promise<KObject> {
    return e.client.create(PVCS, NS, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        ...(className ? { storageClassName: className } : {}),
      },
    });
  }
  /** The node the scheduler picked for a WaitForFirstConsumer claim (its selected-node annotation). */
  async function selectedNode(e: Env, claimName: string): Promise<string | undefined> {
    const c = await e.client.get(PVCS, NS, claimName);
    return c.metadata.annotations?.['volume.kubernetes.io/selected-node'];
  }
  const withClaim = (...names: string[]) => ({
    volumes: names.map((n, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: n } })),
  });

  /** Plays the PV controller: creates a PV pinned to `node` and binds the claim to it. */
  async function bindClaim(e: Env, claimName: string, node: string): Promise<void> {
    const pvName = `pv-${claimName}`;
    const c = await e.client.get(PVCS, NS, claimName);
    await e.client.create(PVS, undefined, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        hostPath: { path: `/tmp/${pvName}` },
        storageClassName: (c.spec as { storageClassName?: string }).storageClassName,
        claimRef: { kind: 'PersistentVolumeClaim', namespace: NS, name: claimName, uid: c.metadata.uid },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
            ],
          },
        },
      },
    });
    const bound = await e.client.update(PVCS, NS, {
      ...c,
      metadata: {
        ...c.metadata,
        annotations: { ...c.metadata.annotations, 'pv.kubernetes.io/bind-completed': 'yes' },
      },
      spec: { ...(c.spec as object), volumeName: pvName },
    });
    await e.client.update(PVCS, NS, { ...bound, status: { phase: 'Bound' } }, { subresource: 'status' });
  }

  it('reports missing claims and schedules once the claim exists and is bound', async () => {
    const e = await env();
    await e.node('n1');
    await e.pod('p', withClaim('data'));
    expect(await e.unschedulable('p')).toBe(
      '0/1 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
    );
    await claim(e, 'data');
    // The claim's arrival sends the pod back after its backoff.
    expect(
      await untilTicking(e, async () => {
        const m = await e.unschedulable('p');
        return m.includes('unbound immediate') ? m : undefined;
      }),
    ).toBe(
      '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
    );
    await bindClaim(e, 'data', 'n1');
    await untilTicking(e, () => e.nodeOf('p'));
    expect(await e.nodeOf('p')).toBe('n1');
  });

  it('filters nodes by the node affinity of bound volumes', async () => {
    const e = await env();
    await e.node('n1');
    await e.node('n2');
    await claim(e, 'data');
    await bindClaim(e, 'data', 'n2');
    await e.pod('p', withClaim('data'));
    expect(await until(() => e.nodeOf('p'))).toBe('n2');
    await claim(e, 'elsewhere');
    await bindClaim(e, 'elsewhere', 'gone-node');
    await e.pod('q', withClaim('elsewhere'));
    expect(await e.unschedulable('q')).toBe(
      '0/2 nodes are available: 2 node(s) had volume node affinity conflict. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
  });

  it('WaitForFirstConsumer: selects a node on the claim, waits for binding, then binds the pod there', async () => {
    const e = await env();
    await e.node('n1', { labels: { zone: 'a' } });
    await e.node('n2', { labels: { zone: 'b' } });
    await storageClass(e, 'wffc', 'WaitForFirstConsumer', {
      allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: ['b'] }] }],
    });
    await claim(e, 'data', 'wffc');
    await e.pod('db', withClaim('data'));
    const selected = await until(() => selectedNode(e, 'data'));
    expect(selected).toBe('n2');
    // Not bound while the claim is unbound, but its resources are held on n2.
    expect(await e.nodeOf('db')).toBeUndefined();
    expect(e.scheduler.cache.node('n2')?.podCount).toBe(1);
    await bindClaim(e, 'data', selected);
    expect(await until(() => e.nodeOf('db'))).toBe('n2');

    // A claim whose class allows no node at all.
    await storageClass(e, 'nowhere', 'WaitForFirstConsumer', {
      allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: ['z'] }] }],
    });
    await claim(e, 'lost', 'nowhere');
    await e.pod('stuck', withClaim('lost'));
    expect(await e.unschedulable('stuck')).toBe(
      "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
  });

  it('WaitForFirstConsumer: reschedules when the provisioner gives the node back', async () => {
    const e = await env();
    await e.node('n1');
    await storageClass(e, 'wffc', 'WaitForFirstConsumer');
    await claim(e, 'data', 'wffc');
    await e.pod('db', withClaim('data'));
    await until(() => selectedNode(e, 'data'));
    // Provisioning failed: the annotation is removed (as external provisioners signal it).
    const c = await e.client.get(PVCS, NS, 'data');
    await e.client.update(PVCS, NS, { ...c, metadata: { ...c.metadata, annotations: {} } });
    const msg = await e.unschedulable('db');
    expect(msg).toBe(
      'running PreBind plugin "VolumeBinding": binding volumes: provisioning failed for PVC "data"',
    );
    expect((await e.condition('db'))?.reason).toBe('SchedulerError');
    expect(e.scheduler.cache.node('n1')?.podCount).toBe(0);
    // After the backoff it selects the node again.
    await untilTicking(e, () => selectedNode(e, 'data'));
    await bindClaim(e, 'data', 'n1');
    expect(await until(() => e.nodeOf('db'))).toBe('n1');
  });

  it('WaitForFirstConsumer: gives up waiting after the bind timeout and tries again', async () => {
    const e = await env({ bindTimeoutMs: 30_000 });
    await e.node('n1');
    await storageClass(e, 'wffc', 'WaitForFirstConsumer');
    await claim(e, 'data', 'wffc');
    await e.pod('db', withClaim('data'));
    await until(() => selectedNode(e, 'data'));
    expect(e.scheduler.cache.node('n1')?.podCount).toBe(1);
    await e.clock.advance(30_000);
    expect(await e.unschedulable('db')).toBe(
      'running PreBind plugin "VolumeBinding": binding volumes: context deadline exceeded',
    );
    expect(e.scheduler.cache.node('n1')?.podCount).toBe(0);
    // Retried after the backoff: the node is selected (and held) again.
    await untilTicking(e, () => e.scheduler.cache.node('n1')?.podCount === 1);
    await bindClaim(e, 'data', 'n1');
    expect(await until(() => e.nodeOf('db'))).toBe('n1');
  });

  it('pre-binds a matching Available PV for a WaitForFirstConsumer claim', async () => {
    const e = await env();
    await e.node('n1');
    await e.node('n2');
    await storageClass(e, 'local', 'WaitForFirstConsumer', { provisioner: 'kubernetes.io/no-provisioner' });
    const pv = await e.client.create(PVS, undefined, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'local-n2' },
      spec: {
        capacity: { storage: '5Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'local',
        local: { path: '/mnt/disk' },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n2'] }] },
            ],
          },
        },
      },
    });
    await e.client.update(
      PVS,
      undefined,
      { ...pv, status: { phase: 'Available' } },
      { subresource: 'status' },
    );
    await claim(e, 'data', 'local');
    await e.pod('db', withClaim('data'));
    const ref = await until(async () => {
      const v = await e.client.get(PVS, undefined, 'local-n2');
      return (v.spec as { claimRef?: { name?: string } }).claimRef;
    });
    expect(ref).toMatchObject({ kind: 'PersistentVolumeClaim', namespace: NS, name: 'data' });
    expect(await e.nodeOf('db')).toBeUndefined();
    // The PV controller completes the binding.
    const c = await e.client.get(PVCS, NS, 'data');
    const bound = await e.client.update(PVCS, NS, {
      ...c,
      metadata: { ...c.metadata, annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } },
      spec: { ...(c.spec as object), volumeName: 'local-n2' },
    });
    await e.client.update(PVCS, NS, { ...bound, status: { phase: 'Bound' } }, { subresource: 'status' });
    expect(await until(() => e.nodeOf('db'))).toBe('n2');
  });

  it('refuses a second pod on a ReadWriteOncePod claim', async () => {
    const e = await env();
    await e.node('n1');
    const c = await e.client.create(PVCS, NS, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'solo' },
      spec: { accessModes: ['ReadWriteOncePod'], resources: { requests: { storage: '1Gi' } } },
    });
    expect(c.metadata.name).toBe('solo');
    await bindClaimRwop(e);
    await e.pod('first', withClaim('solo'));
    await until(() => e.nodeOf('first'));
    await e.pod('second', withClaim('solo'));
    expect(await e.unschedulable('second')).toBe(
      '0/1 nodes are available: 1 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
    );

    async function bindClaimRwop(env: Env): Promise<void> {
      await env.client.create(PVS, undefined, {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'pv-solo' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOncePod'],
          hostPath: { path: '/tmp/solo' },
          claimRef: { kind: 'PersistentVolumeClaim', namespace: NS, name: 'solo', uid: c.metadata.uid },
        },
      });
      const cur = await env.client.get(PVCS, NS, 'solo');
      const b = await env.client.update(PVCS, NS, {
        ...cur,
        spec: { ...(cur.spec as object), volumeName: 'pv-solo' },
      });
      await env.client.update(PVCS, NS, { ...b, status: { phase: 'Bound' } }, { subresource: 'status' });
    }
  });
});
