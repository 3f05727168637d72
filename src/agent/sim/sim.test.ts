import { afterEach, describe, expect, it } from 'vitest';
import type { KObject, WatchEvent } from '../../api/types.js';
import type { InProcessClient } from '../../client/in-process.js';
import { type Clock, ManualClock } from '../../client/workqueue.js';
import { EVENTS } from '../../controllers/events.js';
import { LEASES, NODES, PODS } from '../../controllers/util/resources.js';
import { podStatusCells } from '../../registry/core/pods.js';
import { MemoryStore } from '../../storage/memory.js';
import { type Poll, startInProcessApi, Teardown, tryGet, waitFor } from '../../testing/in-process.js';
import { ANN, type SimNodes, type SimOptions, startSimNodes } from './index.js';

type Json = Record<string, unknown>;

const until = <T>(fn: Poll<T>, what?: string): Promise<T> => waitFor(fn, { what });

/**
 * Upstream's Store.Update deletes an object with a deletionTimestamp and no
 * finalizers only when its deletionGracePeriodSeconds is 0 (or unset); a
 * gracefully terminating pod survives status updates until the kubelet deletes
 * it. Ordinal's default hooks delete on any such update, which hides the
 * terminal phase the kubelet reports before the delete; these tests run with
 * the upstream rule (see the report: the API server needs this change).
 */
const stops = new Teardown();
afterEach(() => stops.run());

interface Env {
  client: InProcessClient;
  store: MemoryStore;
  sim: SimNodes;
  clock: Clock;
  pod(name: string, spec?: Json, annotations?: Record<string, string>): Promise<KObject>;
  get(name: string): Promise<KObject | undefined>;
  status(name: string): Promise<Json>;
  events(name: string): Promise<KObject[]>;
}

async function env(opts: Partial<SimOptions> = {}, store = new MemoryStore()): Promise<Env> {
  // Bootstraps `default` and `kube-node-lease` (leaving them be on a restart on the same store).
  const { client } = await startInProcessApi({ store });
  const clock = opts.clock ?? new ManualClock(Date.parse('2025-03-01T10:00:00Z'));
  const sim = await startSimNodes(client, { nodes: 2, clock, ...opts });
  stops.add(() => sim.stop());
  const get = (name: string) => tryGet(client, PODS, 'default', name);
  return {
    client,
    store,
    sim,
    clock,
    pod: (name, spec = {}, annotations) =>
      client.create(PODS, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, ...(annotations ? { annotations } : {}) },
        spec: { nodeName: 'sim-0', containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec },
      }),
    get,
    status: async (name) => ((await get(name))?.status ?? {}) as Json,
    events: async (name) =>
      (await client.list(EVENTS, 'default')).items.filter(
        (e) => (e.involvedObject as Json | undefined)?.name === name,
      ),
  };
}

function cond(status: Json, type: string): Json | undefined {
  return (status.conditions as Json[] | undefined)?.find((c) => c.type === type);
}

function container(status: Json, i = 0, field = 'containerStatuses'): Json {
  return ((status[field] as Json[] | undefined) ?? [])[i] ?? {};
}

async function annotate(e: Env, name: string, annotations: Record<string, string | null>): Promise<void> {
  await e.client.patch(PODS, 'default', name, 'merge', { metadata: { annotations } });
}

describe('simulated nodes: registration and heartbeats', () => {
  it('registers Nodes with kubelet labels, pod CIDRs, status and a Lease renewed every heartbeat', async () => {
    const clock = new ManualClock(Date.parse('2025-03-01T10:00:00Z'));
    const e = await env({ clock, heartbeatMs: 10_000 });
    expect(e.sim.names).toEqual(['sim-0', 'sim-1']);
    const node = await e.client.get(NODES, undefined, 'sim-1');
    expect(node.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': 'sim-1',
      'kubernetes.io/os': 'linux',
      type: 'sim',
    });
    expect(node.spec).toMatchObject({ podCIDR: '10.244.4.0/22', podCIDRs: ['10.244.4.0/22'] });
    const status = node.status as Json;
    expect((status.conditions as Json[]).map((c) => [c.type, c.status, c.reason])).toEqual([
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
      ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
      ['Ready', 'True', 'KubeletReady'],
    ]);
    expect(cond(status, 'Ready')?.message).toBe('kubelet is posting ready status');
    expect(status.capacity).toMatchObject({ cpu: '32', memory: '256Gi', pods: '1000' });
    expect(status.addresses).toEqual([
      { type: 'InternalIP', address: '127.0.0.2' },
      { type: 'Hostname', address: 'sim-1' },
    ]);
    expect(status.nodeInfo).toMatchObject({ kubeletVersion: 'v1.33.1', operatingSystem: 'linux' });
    expect(String((status.nodeInfo as Json).containerRuntimeVersion)).toMatch(/^sim:\/\//);
    expect(status.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });

    const lease = await e.client.get(LEASES, 'kube-node-lease', 'sim-1');
    expect(lease.spec).toEqual({
      holderIdentity: 'sim-1',
      leaseDurationSeconds: 40,
      renewTime: '2025-03-01T10:00:00.000000Z',
    });
    expect(lease.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Node', name: 'sim-1', uid: node.metadata.uid },
    ]);
    await clock.advance(10_000);
    await until(
      async () =>
        ((await e.client.get(LEASES, 'kube-node-lease', 'sim-1')).spec as Json).renewTime ===
        '2025-03-01T10:00:10.000000Z',
      'lease renewal',
    );

    // A dead kubelet renews nothing.
    e.sim.stopHeartbeats('sim-1');
    await clock.advance(30_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(((await e.client.get(LEASES, 'kube-node-lease', 'sim-1')).spec as Json).renewTime).toBe(
      '2025-03-01T10:00:10.000000Z',
    );
    expect(((await e.client.get(LEASES, 'kube-node-lease', 'sim-0')).spec as Json).renewTime).toBe(
      '2025-03-01T10:00:40.000000Z',
    );
  });
});

describe('simulated nodes: pods', () => {
  it('takes a bound pod to Running and Ready as the kubelet reports it', async () => {
    const e = await env();
    const created = await e.pod('web', {
      containers: [
        { name: 'app', image: 'nginx:1.27', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
    });
    const pod = await until(async () => {
      const p = await e.get('web');
      return (p?.status as Json | undefined)?.phase === 'Running' && p;
    }, 'Running');
    const status = pod.status as Json;
    expect((status.conditions as Json[]).map((c) => [c.type, c.status])).toEqual([
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ]);
    expect(cond(status, 'Ready')?.lastProbeTime).toBeNull();
    expect(status).toMatchObject({
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '10.244.0.2',
      podIPs: [{ ip: '10.244.0.2' }],
      startTime: '2025-03-01T10:00:00Z',
      qosClass: 'BestEffort',
    });
    const cs = container(status);
    expect(cs).toMatchObject({
      name: 'app',
      image: 'nginx:1.27',
      imageID: 'sim://nginx:1.27',
      ready: true,
      started: true,
      restartCount: 0,
      lastState: {},
      state: { running: { startedAt: '2025-03-01T10:00:00Z' } },
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    });
    expect(String(cs.containerID)).toMatch(/^sim:\/\/[0-9a-f]{64}$/);
    expect(podStatusCells(pod, new Date(e.clock.now()))).toEqual({
      ready: '1/1',
      status: 'Running',
      restarts: '0',
    });
    // Writes go through the status subresource: the spec and its generation are untouched.
    expect(pod.metadata.generation).toBe(created.metadata.generation);

    const evs = await until(async () => {
      const list = await e.events('web');
      return list.length >= 3 && list;
    }, 'kubelet events');
    expect(
      evs.map((x) => [x.reason, x.message, (x.source as Json).component, (x.source as Json).host]),
    ).toEqual([
      ['Pulled', 'Container image "nginx:1.27" already present on machine', 'kubelet', 'sim-0'],
      ['Created', 'Created container: app', 'kubelet', 'sim-0'],
      ['Started', 'Started container app', 'kubelet', 'sim-0'],
    ]);
  });

  it('reports Pending/ContainerCreating until the ready delay passes, per-pod overrides included', async () => {
    const e = await env({ readyDelayMs: 5_000 });
    await e.pod('slow');
    await e.pod('fast', {}, { [ANN.readyDelayMs]: '0' });
    const st = await until(async () => {
      const s = await e.status('slow');
      return s.startTime !== undefined && s;
    }, 'first status');
    expect(st.phase).toBe('Pending');
    expect(container(st).state).toEqual({ waiting: { reason: 'ContainerCreating' } });
    expect(container(st).imageID).toBe('');
    expect(cond(st, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [app]',
    });
    expect(podStatusCells((await e.get('slow'))!, new Date()).status).toBe('ContainerCreating');
    await until(async () => (await e.status('fast')).phase === 'Running', 'fast pod Running');
    expect((await e.status('slow')).phase).toBe('Pending');
    await (e.clock as ManualClock).advance(5_000);
    const running = await until(async () => {
      const s = await e.status('slow');
      return s.phase === 'Running' && s;
    }, 'slow pod Running');
    expect(cond(running, 'Ready')?.lastTransitionTime).toBe('2025-03-01T10:00:05Z');
    expect(cond(running, 'PodScheduled')?.lastTransitionTime).toBe('2025-03-01T10:00:00Z');
  });

  it('runs init containers to completion before the main containers', async () => {
    const e = await env({ readyDelayMs: 1_000 });
    await e.pod('init', { initContainers: [{ name: 'setup', image: 'busybox' }] });
    const pending = await until(async () => {
      const s = await e.status('init');
      return s.startTime !== undefined && s;
    }, 'pending');
    expect(podStatusCells((await e.get('init'))!, new Date()).status).toBe('Init:0/1');
    expect(cond(pending, 'Initialized')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: 'containers with incomplete status: [setup]',
    });
    await (e.clock as ManualClock).advance(1_000);
    const s = await until(async () => {
      const x = await e.status('init');
      return x.phase === 'Running' && x;
    }, 'Running');
    expect(container(s, 0, 'initContainerStatuses')).toMatchObject({
      name: 'setup',
      ready: false,
      state: { terminated: { exitCode: 0, reason: 'Completed' } },
    });
    expect(cond(s, 'Initialized')?.status).toBe('True');
    expect(container(s).ready).toBe(true);
  });

  it('follows the ready annotation: not ready with an Unhealthy event, then ready again', async () => {
    const e = await env();
    await e.pod('r');
    const first = await until(async () => {
      const s = await e.status('r');
      return cond(s, 'Ready')?.status === 'True' && s;
    }, 'ready');
    await (e.clock as ManualClock).advance(60_000);
    await annotate(e, 'r', { [ANN.ready]: 'false' });
    const unready = await until(async () => {
      const s = await e.status('r');
      return cond(s, 'Ready')?.status === 'False' && s;
    }, 'not ready');
    expect(cond(unready, 'Ready')).toMatchObject({
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [app]',
    });
    expect(container(unready)).toMatchObject({ ready: false, started: true, state: { running: {} } });
    expect(unready.phase).toBe('Running');
    const pod = (await e.get('r'))!;
    expect(podStatusCells(pod, new Date()).ready).toBe('0/1');
    await until(async () =>
      (await e.events('r')).some((x) => x.reason === 'Unhealthy' && x.type === 'Warning'),
    );
    await (e.clock as ManualClock).advance(60_000);
    await annotate(e, 'r', { [ANN.ready]: null });
    const again = await until(async () => {
      const s = await e.status('r');
      return cond(s, 'Ready')?.status === 'True' && s;
    }, 'ready again');
    expect(cond(again, 'Ready')?.lastTransitionTime).toBe('2025-03-01T10:02:00Z');
    expect(cond(again, 'Ready')?.lastTransitionTime).not.toBe(cond(first, 'Ready')?.lastTransitionTime);
  });

  it('fail annotation: Never → Failed/Succeeded with the exit code', async () => {
    const e = await env();
    await e.pod('bad', { restartPolicy: 'Never' }, { [ANN.fail]: '3' });
    await e.pod('good', { restartPolicy: 'Never' }, { [ANN.fail]: '0' });
    const bad = await until(async () => {
      const s = await e.status('bad');
      return s.phase === 'Failed' && s;
    }, 'Failed');
    expect(container(bad).state).toMatchObject({ terminated: { exitCode: 3, reason: 'Error' } });
    expect(cond(bad, 'Ready')).toMatchObject({ status: 'False', reason: 'PodFailed' });
    expect(cond(bad, 'PodReadyToStartContainers')?.status).toBe('False');
    expect(podStatusCells((await e.get('bad'))!, new Date()).status).toBe('Error');
    const good = await until(async () => {
      const s = await e.status('good');
      return s.phase === 'Succeeded' && s;
    }, 'Succeeded');
    expect(container(good).state).toMatchObject({ terminated: { exitCode: 0, reason: 'Completed' } });
    expect(cond(good, 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    // Never-restarted pods stay as they are (no deletion without a deletionTimestamp).
    expect(await e.get('good')).toBeDefined();
  });

  it('crash annotation: CrashLoopBackOff with upstream back-off, restart counts and last state', async () => {
    const clock = new ManualClock(Date.parse('2025-03-01T10:00:00Z'));
    const e = await env({ clock, crashBackoffMs: 10_000 });
    const p = await e.pod('crash', {}, { [ANN.crash]: 'true' });
    const uid = p.metadata.uid;
    const first = await until(async () => {
      const s = await e.status('crash');
      return container(s).restartCount === 1 && s;
    }, 'first restart');
    expect(first.phase).toBe('Running');
    expect(container(first)).toMatchObject({
      ready: false,
      started: false,
      state: {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off 10s restarting failed container=app pod=crash_default(${uid})`,
        },
      },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });
    expect(cond(first, 'Ready')?.status).toBe('False');
    expect(podStatusCells((await e.get('crash'))!, new Date(clock.now())).status).toBe('CrashLoopBackOff');
    await clock.advance(9_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(container(await e.status('crash')).restartCount).toBe(1);
    await clock.advance(1_000);
    const second = await until(async () => {
      const s = await e.status('crash');
      return container(s).restartCount === 2 && s;
    }, 'second restart');
    expect((container(second).state as Json).waiting).toMatchObject({
      message: `back-off 20s restarting failed container=app pod=crash_default(${uid})`,
    });
    const evs = await until(async () => {
      const list = await e.events('crash');
      return list.some((x) => x.reason === 'BackOff') && list;
    });
    expect(evs.find((x) => x.reason === 'BackOff')).toMatchObject({
      type: 'Warning',
      message: `Back-off restarting failed container app in pod crash_default(${uid})`,
    });
    // Stop crashing: the next restart sticks.
    await annotate(e, 'crash', { [ANN.crash]: null });
    await clock.advance(20_000);
    const healed = await until(async () => {
      const s = await e.status('crash');
      return cond(s, 'Ready')?.status === 'True' && s;
    }, 'healed');
    expect(container(healed)).toMatchObject({ restartCount: 3, state: { running: {} } });
  });

  it('fail annotation under OnFailure restarts on non-zero exits and completes on zero', async () => {
    const e = await env();
    await e.pod('retry', { restartPolicy: 'OnFailure' }, { [ANN.fail]: '2' });
    await e.pod('done', { restartPolicy: 'OnFailure' }, { [ANN.fail]: '0' });
    const retry = await until(async () => {
      const s = await e.status('retry');
      return container(s).restartCount === 1 && s;
    });
    expect(retry.phase).toBe('Running');
    expect(container(retry).lastState).toMatchObject({ terminated: { exitCode: 2 } });
    await until(async () => (await e.status('done')).phase === 'Succeeded', 'Succeeded');
  });

  it('forced phase annotation stops the containers', async () => {
    const e = await env();
    await e.pod('evicted');
    await until(async () => (await e.status('evicted')).phase === 'Running');
    await annotate(e, 'evicted', {
      [ANN.phase]: 'Failed',
      [ANN.reason]: 'Evicted',
      [ANN.message]: 'The node was low on resource: memory.',
    });
    const s = await until(async () => {
      const x = await e.status('evicted');
      return x.phase === 'Failed' && x;
    }, 'Failed');
    expect(s).toMatchObject({ reason: 'Evicted', message: 'The node was low on resource: memory.' });
    expect(container(s).state).toMatchObject({ terminated: { exitCode: 137 } });
    // kubectl shows the container's terminated reason over status.reason, as upstream printPod.
    expect(podStatusCells((await e.get('evicted'))!, new Date()).status).toBe('Error');
  });
});

describe('simulated nodes: deletion', () => {
  it('finishes a graceful deletion: SIGTERM, delay, terminal phase, then delete with grace 0', async () => {
    const e = await env();
    await e.pod('sts-0', {}, { [ANN.exitOnSigterm]: '1', [ANN.terminationDelayMs]: '3000' });
    await until(async () => (await e.status('sts-0')).phase === 'Running');
    const seen: WatchEvent[] = [];
    const list = await e.client.list(PODS, 'default');
    const w = await e.client.watch(
      PODS,
      'default',
      { resourceVersion: list.metadata.resourceVersion },
      (ev) => seen.push(ev),
    );
    stops.add(async () => w.stop());
    await e.client.delete(PODS, 'default', 'sts-0');
    const killing = await until(async () => (await e.events('sts-0')).find((x) => x.reason === 'Killing'));
    expect(killing.message).toBe('Stopping container app');
    await new Promise((r) => setTimeout(r, 20));
    expect((await e.get('sts-0'))?.metadata.deletionTimestamp).toBeDefined();
    expect((await e.status('sts-0')).phase).toBe('Running');
    await (e.clock as ManualClock).advance(3_000);
    await until(async () => (await e.get('sts-0')) === undefined, 'pod gone');
    const phases = seen.map((ev) => [ev.type, (ev.object.status as Json).phase]);
    expect(phases).toContainEqual(['MODIFIED', 'Failed']);
    expect(phases[phases.length - 1]).toEqual(['DELETED', 'Failed']);
    const last = seen[seen.length - 1]!.object.status as Json;
    expect(container(last).state).toMatchObject({ terminated: { exitCode: 1, reason: 'Error' } });
  });

  it('exit code 0 on SIGTERM ends Succeeded; a never-started pod ends Failed with ContainerStatusUnknown', async () => {
    const e = await env({ readyDelayMs: 60_000 });
    await e.pod('ok', {}, { [ANN.readyDelayMs]: '0' });
    await until(async () => (await e.status('ok')).phase === 'Running');
    await e.pod('never');
    await until(async () => (await e.status('never')).startTime !== undefined);
    const finals = new Map<string, Json>();
    const list = await e.client.list(PODS, 'default');
    const w = await e.client.watch(
      PODS,
      'default',
      { resourceVersion: list.metadata.resourceVersion },
      (ev) => {
        if (ev.type === 'DELETED') finals.set(ev.object.metadata.name ?? '', ev.object.status as Json);
      },
    );
    stops.add(async () => w.stop());
    await e.client.delete(PODS, 'default', 'ok');
    await e.client.delete(PODS, 'default', 'never');
    await until(() => finals.size === 2, 'both deleted');
    expect(finals.get('ok')?.phase).toBe('Succeeded');
    expect(container(finals.get('ok')!).state).toMatchObject({
      terminated: { exitCode: 0, reason: 'Completed' },
    });
    expect(finals.get('never')?.phase).toBe('Failed');
    expect(container(finals.get('never')!).state).toEqual({
      terminated: {
        exitCode: 137,
        finishedAt: null,
        message: 'The container could not be located when the pod was terminated',
        reason: 'ContainerStatusUnknown',
        startedAt: null,
      },
    });
  });

  it('a node without heartbeats freezes its pods and never finishes their deletion', async () => {
    const e = await env();
    await e.pod('frozen');
    await until(async () => (await e.status('frozen')).phase === 'Running');
    e.sim.stopHeartbeats('sim-0');
    await annotate(e, 'frozen', { [ANN.ready]: 'false' });
    await e.client.delete(PODS, 'default', 'frozen');
    await (e.clock as ManualClock).advance(120_000);
    await new Promise((r) => setTimeout(r, 50));
    const stuck = await e.get('frozen');
    expect(stuck?.metadata.deletionTimestamp).toBeDefined();
    expect(cond(stuck?.status as Json, 'Ready')?.status).toBe('True');
    // New pods on the dead node are not started either.
    await e.pod('late');
    await new Promise((r) => setTimeout(r, 50));
    expect((await e.status('late')).startTime).toBeUndefined();
    e.sim.resumeHeartbeats('sim-0');
    await until(async () => (await e.get('frozen')) === undefined, 'deletion finished after resume');
    await until(async () => (await e.status('late')).phase === 'Running', 'late pod running');
  });
});

describe('simulated nodes: admission', () => {
  it('rejects a pod whose hostPort is taken on the node, as the kubelet NodePorts predicate', async () => {
    const e = await env();
    const ports = {
      containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80, hostPort: 8080 }] }],
    };
    await e.pod('holder', ports);
    await until(async () => (await e.status('holder')).phase === 'Running');
    await e.pod('other-node', { ...ports, nodeName: 'sim-1' });
    await e.pod('udp', {
      containers: [
        { name: 'app', image: 'nginx', ports: [{ containerPort: 80, hostPort: 8080, protocol: 'UDP' }] },
      ],
    });
    await e.pod('loser', ports);
    const rejected = await until(async () => {
      const s = await e.status('loser');
      return s.phase === 'Failed' && s;
    }, 'rejection');
    expect(rejected).toMatchObject({
      phase: 'Failed',
      reason: 'NodePorts',
      message:
        "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
    });
    expect(rejected.containerStatuses).toBeUndefined();
    expect(rejected.conditions).toBeUndefined();
    expect(podStatusCells((await e.get('loser'))!, new Date()).status).toBe('NodePorts');
    const ev = await until(async () => (await e.events('loser')).find((x) => x.reason === 'NodePorts'));
    expect(ev).toMatchObject({
      type: 'Warning',
      message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
    });
    await until(async () => (await e.status('other-node')).phase === 'Running');
    await until(async () => (await e.status('udp')).phase === 'Running');
    // Once the holder is gone the port is free again.
    await e.client.delete(PODS, 'default', 'holder');
    await until(async () => (await e.get('holder')) === undefined);
    await e.pod('winner', ports);
    await until(async () => (await e.status('winner')).phase === 'Running', 'port reused');
  });

  it('gives unique pod IPs from the node CIDR and does not reuse a freed one at once', async () => {
    const e = await env();
    for (const n of ['a', 'b', 'c']) await e.pod(n);
    await e.pod('d', { nodeName: 'sim-1' });
    const ips = await until(async () => {
      const got = await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => (await e.status(n)).podIP));
      return got.every((x) => x !== undefined) && got;
    });
    expect(new Set(ips).size).toBe(4);
    expect(ips.slice(0, 3).every((ip) => String(ip).startsWith('10.244.'))).toBe(true);
    expect(ips[3]).toBe('10.244.4.2');
    await e.client.delete(PODS, 'default', 'a');
    await until(async () => (await e.get('a')) === undefined);
    await e.pod('e');
    const ip = await until(async () => (await e.status('e')).podIP);
    expect(ips).not.toContain(ip);
  });

  it('a hostNetwork pod uses the node address', async () => {
    const e = await env();
    await e.pod('hn', { hostNetwork: true });
    const s = await until(async () => {
      const x = await e.status('hn');
      return x.phase === 'Running' && x;
    });
    expect(s.podIP).toBe('127.0.0.1');
  });
});

describe('simulated nodes: restart', () => {
  it('adopts existing Nodes and running pods without restarting them', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(Date.parse('2025-03-01T10:00:00Z'));
    const e1 = await env({ clock, crashBackoffMs: 1_000 }, store);
    await e1.pod('keep');
    await e1.pod('crashy', {}, { [ANN.crash]: 'true' });
    const before = await until(async () => {
      const s = await e1.status('keep');
      return s.phase === 'Running' && s;
    });
    await until(async () => container(await e1.status('crashy')).restartCount === 1);
    const nodeBefore = await e1.client.get(NODES, undefined, 'sim-0');
    await e1.sim.stop();

    await clock.advance(3_600_000);
    const e2 = await env({ clock, crashBackoffMs: 1_000 }, store);
    const nodeAfter = await e2.client.get(NODES, undefined, 'sim-0');
    expect(nodeAfter.metadata.uid).toBe(nodeBefore.metadata.uid);
    expect(nodeAfter.spec).toEqual(nodeBefore.spec);
    await until(async () =>
      String(((await e2.client.get(LEASES, 'kube-node-lease', 'sim-0')).spec as Json).renewTime).startsWith(
        '2025-03-01T11:00:00',
      ),
    );
    // The crashing pod keeps counting from where it was.
    await clock.advance(1_000);
    await until(
      async () => Number(container(await e2.status('crashy')).restartCount) >= 2,
      'crash count continues',
    );
    const after = await e2.status('keep');
    expect(after.startTime).toBe(before.startTime);
    expect(container(after).containerID).toBe(container(before).containerID);
    expect(container(after).restartCount).toBe(0);
    expect(cond(after, 'Ready')?.lastTransitionTime).toBe(cond(before, 'Ready')?.lastTransitionTime);
    // A new pod does not get an IP that is still in use.
    await e2.pod('new');
    const ip = await until(async () => (await e2.status('new')).podIP);
    expect(ip).not.toBe(before.podIP);
  });
});

describe('simulated nodes: scale', () => {
  it('takes 2,000 pods on 4 nodes to Running', async () => {
    const e = await env({ nodes: 4 });
    const n = 2_000;
    for (let i = 0; i < n; i += 100) {
      const batch: Promise<KObject>[] = [];
      for (let j = i; j < i + 100; j++) batch.push(e.pod(`p-${j}`, { nodeName: `sim-${j % 4}` }));
      await Promise.all(batch);
    }
    const pods = await until(async () => {
      const items = (await e.client.list(PODS, 'default')).items;
      return items.length === n && items.every((p) => (p.status as Json).phase === 'Running') && items;
    }, 'all pods Running');
    const ips = new Set(pods.map((p) => (p.status as Json).podIP));
    expect(ips.size).toBe(n);
    for (const p of pods) expect(cond(p.status as Json, 'Ready')?.status).toBe('True');
  }, 60_000);
});
