import { afterEach, describe, expect, it } from 'vitest';
import { ANN, type SimNodes, startSimNodes } from '../agent/sim/index.js';
import type { KObject } from '../api/types.js';
import type { InProcessClient } from '../client/in-process.js';
import { InformerFactory } from '../client/informer.js';
import { ManualClock } from '../client/workqueue.js';
import { type Poll, sleep, startInProcessApi, Teardown, tryGet, waitFor } from '../testing/in-process.js';
import { PodGCController } from './podgc.js';
import { NODES, PODS } from './util/resources.js';

type Json = Record<string, unknown>;

const until = <T>(fn: Poll<T>, what?: string): Promise<T> => waitFor(fn, { what, retryErrors: false });

const settle = () => sleep(15);
const stops = new Teardown();
afterEach(() => stops.run());

interface Env {
  client: InProcessClient;
  clock: ManualClock;
  sim: SimNodes;
  gc: PodGCController;
  pod(name: string): Promise<KObject | undefined>;
  running(name: string, node: string, spec?: Json, annotations?: Record<string, string>): Promise<KObject>;
}

async function env(threshold = 12_500): Promise<Env> {
  const { client } = await startInProcessApi();
  const clock = new ManualClock(Date.parse('2025-03-01T10:00:00Z'));
  const sim = await startSimNodes(client, { nodes: 2, clock });
  stops.add(() => sim.stop());
  const informers = new InformerFactory(client, { clock });
  const gc = new PodGCController(client, informers, { clock, terminatedPodThreshold: threshold });
  gc.start();
  informers.start();
  stops.add(async () => {
    await gc.stop();
    await informers.stop();
  });
  const pod = (name: string) => tryGet(client, PODS, 'default', name);
  return {
    client,
    clock,
    sim,
    gc,
    pod,
    async running(name, node, spec = {}, annotations) {
      await client.create(PODS, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, ...(annotations ? { annotations } : {}) },
        spec: {
          nodeName: node,
          restartPolicy: 'Never',
          containers: [{ name: 'app', image: 'nginx' }],
          ...spec,
        },
      });
      return until(async () => {
        const p = await pod(name);
        const phase = (p?.status as Json | undefined)?.phase;
        return p && phase !== 'Pending' && p;
      }, `${name} started`);
    },
  };
}

describe('pod GC', () => {
  it('force-deletes pods of a deleted Node after the quarantine, marking them Failed first', async () => {
    const e = await env();
    await e.running('orphan', 'sim-0');
    await e.running('fine', 'sim-1');
    e.sim.stopHeartbeats('sim-0');
    // Graceful deletion that the dead kubelet never finishes.
    await e.client.delete(PODS, 'default', 'orphan');
    await e.client.delete(NODES, undefined, 'sim-0');
    await settle();
    await e.gc.gc();
    await e.clock.advance(30_000);
    await settle();
    await e.gc.gc();
    expect((await e.pod('orphan'))?.metadata.deletionTimestamp).toBeDefined();
    const seen: KObject[] = [];
    const list = await e.client.list(PODS, 'default');
    const w = await e.client.watch(
      PODS,
      'default',
      { resourceVersion: list.metadata.resourceVersion },
      (ev) => seen.push(ev.object),
    );
    stops.add(async () => w.stop());
    await e.clock.advance(11_000);
    await settle();
    await e.gc.gc();
    await until(async () => (await e.pod('orphan')) === undefined, 'orphan deleted');
    const last = seen.filter((p) => p.metadata.name === 'orphan').pop()!;
    expect((last.status as Json).phase).toBe('Failed');
    expect(
      ((last.status as Json).conditions as Json[]).find((c) => c.type === 'DisruptionTarget'),
    ).toMatchObject({
      status: 'True',
      reason: 'DeletionByPodGC',
      message: 'PodGC: node no longer exists',
    });
    expect(await e.pod('fine')).toBeDefined();
  });

  it('leaves terminating pods on a silent node alone, unless the node is marked out-of-service', async () => {
    const e = await env();
    await e.running('stuck', 'sim-0');
    e.sim.stopHeartbeats('sim-0');
    await e.client.delete(PODS, 'default', 'stuck');
    await e.clock.advance(120_000);
    await settle();
    await e.gc.gc();
    expect((await e.pod('stuck'))?.metadata.deletionTimestamp).toBeDefined();

    // Non-graceful node shutdown: the node is NotReady and tainted out-of-service.
    const node = await e.client.get(NODES, undefined, 'sim-0');
    const status = node.status as Json;
    status.conditions = (status.conditions as Json[]).map((c) =>
      c.type === 'Ready' ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown' } : c,
    );
    await e.client.update(NODES, undefined, node, { subresource: 'status' });
    await e.client.patch(NODES, undefined, 'sim-0', 'merge', {
      spec: {
        taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }],
      },
    });
    await settle();
    await e.gc.gc();
    await until(async () => (await e.pod('stuck')) === undefined, 'force-deleted');
  });

  it('deletes the oldest terminated pods beyond the threshold', async () => {
    const e = await env(2);
    for (const name of ['t1', 't2', 't3']) {
      await e.running(name, 'sim-1', {}, { [ANN.fail]: '1' });
      await until(async () => ((await e.pod(name))?.status as Json | undefined)?.phase === 'Failed');
    }
    await e.running('alive', 'sim-1');
    await settle();
    await e.gc.gc();
    await until(async () => (await e.pod('t1')) === undefined, 'oldest collected');
    expect(await e.pod('t2')).toBeDefined();
    expect(await e.pod('t3')).toBeDefined();
    expect(await e.pod('alive')).toBeDefined();
  });
});
