import { afterEach, describe, expect, it } from 'vitest';
import { type SimNodes, startSimNodes } from '../agent/sim/index.js';
import type { KObject } from '../api/types.js';
import type { InProcessClient } from '../client/in-process.js';
import { InformerFactory } from '../client/informer.js';
import { ManualClock } from '../client/workqueue.js';
import { type Poll, sleep, startInProcessApi, Teardown, tryGet, waitFor } from '../testing/in-process.js';
import { EVENTS } from './events.js';
import {
  computeZoneState,
  matchingTolerations,
  minTolerationMs,
  NodeLifecycleController,
  type Taint,
  toleratesTaint,
} from './node-lifecycle.js';
import { NODES, PODS } from './util/resources.js';

type Json = Record<string, unknown>;

const until = <T>(fn: Poll<T>, what?: string): Promise<T> => waitFor(fn, { what });

const settle = () => sleep(15);

const stops = new Teardown();
afterEach(() => stops.run());

interface Env {
  client: InProcessClient;
  clock: ManualClock;
  sim: SimNodes;
  nlc: NodeLifecycleController;
  /** Advances the clock in monitor-period steps, letting heartbeats land and running a monitor pass each step. */
  tick(ms: number): Promise<void>;
  node(name: string): Promise<KObject>;
  pod(name: string): Promise<KObject | undefined>;
  createPod(name: string, node: string, spec?: Json): Promise<KObject>;
  events(name: string): Promise<KObject[]>;
}

async function env(nodes = 2): Promise<Env> {
  const clock = new ManualClock(Date.parse('2025-03-01T10:00:00Z'));
  const { client } = await startInProcessApi({ now: () => new Date(clock.now()) });
  const sim = await startSimNodes(client, { nodes, clock });
  stops.add(() => sim.stop());
  const informers = new InformerFactory(client, { clock });
  const nlc = new NodeLifecycleController(client, informers, {
    clock,
    gracePeriodMs: 40_000,
    monitorPeriodMs: 5_000,
  });
  nlc.start();
  informers.start();
  stops.add(async () => {
    await nlc.stop();
    await informers.stop();
  });
  await informers.waitForSync();
  await settle();
  await nlc.monitorNodeHealth();
  const pod = (name: string) => tryGet(client, PODS, 'default', name);
  return {
    client,
    clock,
    sim,
    nlc,
    async tick(ms) {
      for (let t = 0; t < ms; t += 5_000) {
        await clock.advance(Math.min(5_000, ms - t));
        await settle();
        await nlc.monitorNodeHealth();
        await settle();
      }
    },
    node: (name) => client.get(NODES, undefined, name),
    pod,
    createPod: (name, node, spec = {}) =>
      client.create(PODS, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { nodeName: node, containers: [{ name: 'app', image: 'nginx' }], ...spec },
      }),
    events: async (name) =>
      (await client.list(EVENTS, 'default')).items.filter((e) => (e.involvedObject as Json).name === name),
  };
}

function conditions(obj: KObject): Json[] {
  return ((obj.status as Json).conditions as Json[] | undefined) ?? [];
}

function cond(obj: KObject, type: string): Json | undefined {
  return conditions(obj).find((c) => c.type === type);
}

function taints(node: KObject): Taint[] {
  return ((node.spec as Json).taints as Taint[] | undefined) ?? [];
}

async function runningPod(e: Env, name: string, node: string, spec: Json = {}): Promise<KObject> {
  await e.createPod(name, node, spec);
  return until(async () => {
    const p = await e.pod(name);
    return p && cond(p, 'Ready')?.status === 'True' && p;
  }, `${name} ready`);
}

describe('node lifecycle: health', () => {
  it('turns a silent node Unknown, taints it, marks its pods not ready, and heals when heartbeats resume', async () => {
    const e = await env(2);
    await runningPod(e, 'web', 'sim-0');
    await runningPod(e, 'other', 'sim-1');
    await e.tick(30_000);
    expect(cond(await e.node('sim-0'), 'Ready')?.status).toBe('True');

    e.sim.stopHeartbeats('sim-0');
    const lastBeat = cond(await e.node('sim-0'), 'Ready')?.lastHeartbeatTime;
    await e.tick(35_000);
    expect(cond(await e.node('sim-0'), 'Ready')?.status).toBe('True'); // within the grace period
    await e.tick(10_000);
    const node = await until(async () => {
      const n = await e.node('sim-0');
      return cond(n, 'Ready')?.status === 'Unknown' && n;
    }, 'node Unknown');
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      expect(cond(node, type)).toMatchObject({
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
      });
    }
    expect(cond(node, 'Ready')?.lastHeartbeatTime).toBe(lastBeat);
    expect(cond(node, 'Ready')?.lastTransitionTime).not.toBe(lastBeat);
    expect(cond(await e.node('sim-1'), 'Ready')?.status).toBe('True');

    const pod = await until(async () => {
      const p = await e.pod('web');
      return p && cond(p, 'Ready')?.status === 'False' && p;
    }, 'pod not ready');
    // Only Ready changes (upstream MarkPodsNotReady); the frozen kubelet changed nothing else.
    expect(cond(pod, 'ContainersReady')?.status).toBe('True');
    expect(cond((await e.pod('other'))!, 'Ready')?.status).toBe('True');
    const podEvents = await until(async () => {
      const evs = await e.events('web');
      return evs.some((x) => x.reason === 'NodeNotReady') && evs;
    });
    expect(podEvents.find((x) => x.reason === 'NodeNotReady')).toMatchObject({
      type: 'Warning',
      message: 'Node is not ready',
      source: { component: 'node-controller' },
    });
    const nodeEvents = await e.events('sim-0');
    expect(nodeEvents.map((x) => [x.reason, x.message])).toContainEqual([
      'NodeNotReady',
      'Node sim-0 status is now: NodeNotReady',
    ]);
    expect(nodeEvents.map((x) => x.reason)).toContain('RegisteredNode');

    // NoSchedule at once; NoExecute from the next monitor pass.
    await e.tick(5_000);
    const tainted = await until(async () => {
      const n = await e.node('sim-0');
      return taints(n).length === 2 && n;
    }, 'taints');
    expect(taints(tainted).map((t) => [t.key, t.effect])).toEqual([
      ['node.kubernetes.io/unreachable', 'NoSchedule'],
      ['node.kubernetes.io/unreachable', 'NoExecute'],
    ]);
    for (const t of taints(tainted)) expect(t.timeAdded).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(taints(await e.node('sim-1'))).toEqual([]);

    e.sim.resumeHeartbeats('sim-0');
    await until(async () => cond(await e.node('sim-0'), 'Ready')?.status === 'True', 'kubelet posts Ready');
    await e.tick(5_000);
    await until(async () => taints(await e.node('sim-0')).length === 0, 'taints removed');
    // The kubelet reports its pod ready again.
    await until(async () => cond((await e.pod('web'))!, 'Ready')?.status === 'True', 'pod ready again');
  });

  it('a node that never posted status turns Unknown after the startup grace period', async () => {
    const e = await env(1);
    await e.client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'ghost' } });
    await e.tick(55_000);
    expect(conditions(await e.node('ghost'))).toEqual([]);
    await e.tick(10_000);
    const ghost = await until(async () => {
      const n = await e.node('ghost');
      return conditions(n).length > 0 && n;
    }, 'conditions');
    expect(conditions(ghost).map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ['Ready', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
      ['MemoryPressure', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
      ['DiskPressure', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
      ['PIDPressure', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
    ]);
    expect(cond(ghost, 'Ready')?.lastHeartbeatTime).toBe(ghost.metadata.creationTimestamp);
    await until(async () =>
      taints(await e.node('ghost')).some(
        (t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule',
      ),
    );
    // The healthy node is untouched.
    expect(cond(await e.node('sim-0'), 'Ready')?.status).toBe('True');
  });

  it('a cordoned node gets the unschedulable taint, removed on uncordon', async () => {
    const e = await env(1);
    await e.client.patch(NODES, undefined, 'sim-0', 'merge', { spec: { unschedulable: true } });
    await until(async () =>
      taints(await e.node('sim-0')).some(
        (t) => t.key === 'node.kubernetes.io/unschedulable' && t.effect === 'NoSchedule',
      ),
    );
    await e.client.patch(NODES, undefined, 'sim-0', 'merge', { spec: { unschedulable: null } });
    await until(async () => taints(await e.node('sim-0')).length === 0);
  });

  it('when every node is down it stops NoExecute tainting (upstream full disruption)', async () => {
    const e = await env(1);
    await runningPod(e, 'solo', 'sim-0');
    e.sim.stopHeartbeats('sim-0');
    await e.tick(60_000);
    const node = await until(async () => {
      const n = await e.node('sim-0');
      return cond(n, 'Ready')?.status === 'Unknown' && taints(n).length > 0 && n;
    });
    await e.tick(20_000);
    expect(taints(await e.node('sim-0')).map((t) => [t.key, t.effect])).toEqual([
      ['node.kubernetes.io/unreachable', 'NoSchedule'],
    ]);
    expect(cond(node, 'Ready')?.reason).toBe('NodeStatusUnknown');
    await e.tick(400_000);
    const pod = await e.pod('solo');
    expect(pod?.metadata.deletionTimestamp).toBeUndefined();
    expect(cond(pod!, 'Ready')?.status).toBe('False');
  });
});

describe('node lifecycle: taint-based eviction', () => {
  it('evicts after tolerationSeconds; pods on the unreachable node stay Terminating until force-deleted', async () => {
    const e = await env(2);
    const toleration = (seconds?: number) => ({
      tolerations: [
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          ...(seconds === undefined ? {} : { tolerationSeconds: seconds }),
        },
      ],
    });
    await runningPod(e, 'quick', 'sim-0', toleration(30));
    await runningPod(e, 'default', 'sim-0'); // admission added 300 s
    await runningPod(e, 'forever', 'sim-0', toleration());
    await runningPod(e, 'safe', 'sim-1', toleration(30));
    e.sim.stopHeartbeats('sim-0');
    await e.tick(50_000);
    const noExecute = await until(
      async () => taints(await e.node('sim-0')).find((t) => t.effect === 'NoExecute'),
      'NoExecute',
    );
    // Toleration time counts from when the taint was noticed (with the taint, at a monitor pass).
    const taintedAt = Date.parse(String(noExecute.timeAdded));
    await e.clock.advance(taintedAt + 29_000 - e.clock.now());
    await settle();
    expect((await e.pod('quick'))?.metadata.deletionTimestamp).toBeUndefined();
    await e.clock.advance(1_000);
    const quick = await until(async () => {
      const p = await e.pod('quick');
      return p?.metadata.deletionTimestamp ? p : undefined;
    }, 'quick evicted');
    expect(cond(quick, 'DisruptionTarget')).toMatchObject({
      status: 'True',
      reason: 'DeletionByTaintManager',
      message: 'Taint manager: deleting due to NoExecute taint',
    });
    const ev = await until(async () =>
      (await e.events('quick')).find((x) => x.reason === 'TaintManagerEviction'),
    );
    expect(ev).toMatchObject({
      type: 'Normal',
      message: 'Marking for deletion Pod default/quick',
      source: { component: 'taint-eviction-controller' },
    });
    expect((await e.pod('default'))?.metadata.deletionTimestamp).toBeUndefined();
    expect((await e.pod('safe'))?.metadata.deletionTimestamp).toBeUndefined();

    // Nothing finishes the deletion while the kubelet is away: at most one pod per identity.
    await e.tick(300_000);
    await until(
      async () => (await e.pod('default'))?.metadata.deletionTimestamp,
      'default evicted after 300 s',
    );
    const stuck = await e.pod('quick');
    expect(stuck?.metadata.deletionTimestamp).toBeDefined();
    expect((await e.pod('default'))?.metadata.deletionTimestamp).toBeDefined();
    expect((await e.pod('forever'))?.metadata.deletionTimestamp).toBeUndefined();

    // A force delete (kubectl delete --grace-period=0 --force) removes it.
    await e.client.delete(PODS, 'default', 'quick', { gracePeriodSeconds: 0 });
    expect(await e.pod('quick')).toBeUndefined();

    // The kubelet comes back: it finishes the pending deletion, taints go.
    e.sim.resumeHeartbeats('sim-0');
    await until(async () => (await e.pod('default')) === undefined, 'kubelet finishes the eviction');
    await e.tick(5_000);
    await until(async () => taints(await e.node('sim-0')).length === 0, 'taints removed');
    expect((await e.pod('forever'))?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('evicts at once a pod that does not tolerate a NoExecute taint, and cancels when the taint goes', async () => {
    const e = await env(2);
    await runningPod(e, 'victim', 'sim-1');
    await runningPod(e, 'patient', 'sim-1', {
      tolerations: [{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }],
    });
    await e.client.patch(NODES, undefined, 'sim-1', 'merge', {
      spec: { taints: [{ key: 'maintenance', value: 'now', effect: 'NoExecute' }] },
    });
    // The victim goes at once (and the kubelet, alive, finishes the graceful deletion).
    await until(async () => (await e.pod('victim')) === undefined, 'victim evicted');
    await e.tick(30_000);
    await e.client.patch(NODES, undefined, 'sim-1', 'merge', { spec: { taints: null } });
    await until(async () =>
      (await e.events('patient')).some((x) => x.message === 'Cancelling deletion of Pod default/patient'),
    );
    await e.tick(60_000);
    expect((await e.pod('patient'))?.metadata.deletionTimestamp).toBeUndefined();
  });
});

describe('node lifecycle: pure helpers', () => {
  const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };

  it('matches tolerations as v1.Toleration.ToleratesTaint', () => {
    expect(toleratesTaint({ operator: 'Exists' }, unreachable)).toBe(true);
    expect(
      toleratesTaint({ key: unreachable.key, operator: 'Exists', effect: 'NoSchedule' }, unreachable),
    ).toBe(false);
    expect(toleratesTaint({ key: 'k', value: 'v' }, { key: 'k', value: 'v', effect: 'NoExecute' })).toBe(
      true,
    );
    expect(toleratesTaint({ key: 'k', value: 'w' }, { key: 'k', value: 'v', effect: 'NoExecute' })).toBe(
      false,
    );
    expect(toleratesTaint({ key: 'k', operator: 'Lt' }, { key: 'k', effect: 'NoExecute' })).toBe(false);
  });

  it('takes the shortest toleration of the taints in force', () => {
    const taints: Taint[] = [unreachable, { key: 'x', effect: 'NoExecute' }];
    const m = matchingTolerations(taints, [
      { key: unreachable.key, operator: 'Exists', tolerationSeconds: 300 },
      { key: 'x', operator: 'Exists', tolerationSeconds: 20 },
    ]);
    expect(m.all).toBe(true);
    expect(minTolerationMs(m.used)).toBe(20_000);
    expect(matchingTolerations(taints, [{ key: 'x', operator: 'Exists' }]).all).toBe(false);
    expect(minTolerationMs([{ operator: 'Exists' }])).toBe(-1);
    expect(minTolerationMs([{ operator: 'Exists', tolerationSeconds: -5 }])).toBe(0);
  });

  it('computes zone states as upstream', () => {
    const r = (status: string) => ({ type: 'Ready', status });
    expect(computeZoneState([r('False')]).state).toBe('FullDisruption');
    expect(computeZoneState([r('True'), r('Unknown')]).state).toBe('Normal');
    expect(computeZoneState([r('True'), r('False'), r('False'), r('Unknown')]).state).toBe(
      'PartialDisruption',
    );
    expect(computeZoneState([r('True'), r('True'), r('False'), r('False'), r('Unknown')]).state).toBe(
      'PartialDisruption',
    );
    expect(
      computeZoneState([r('True'), r('True'), r('True'), r('False'), r('False'), r('Unknown')]).state,
    ).toBe('Normal');
  });
});
