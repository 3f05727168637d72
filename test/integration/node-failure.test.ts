/**
 * Upstream's at-most-one guarantee when a node dies: its StatefulSet pod is
 * marked not ready, evicted (deletionTimestamp set) and then stays
 * Terminating, because nobody can confirm its containers stopped; the
 * StatefulSet does not create a replacement until the pod is gone. A force
 * delete (grace 0) removes it, and the replacement comes back under the same
 * name on the surviving node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KObject } from '../../src/api/types.js';
import { getPodCondition, podSpec } from '../../src/controllers/util/pods.js';
import { NODES, PODS, STATEFULSETS } from '../../src/controllers/util/resources.js';
import { recordEvents, startTestCluster, type TestCluster, waitFor } from './harness.js';

describe('a node whose heartbeats stop', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await startTestCluster({
      nodes: 2,
      sim: { heartbeatMs: 100, nodeStatusMs: 200 },
      controllers: { nodeMonitorGracePeriodMs: 1_000, nodeMonitorPeriodMs: 200 },
    });
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('turns Unknown, its StatefulSet pod is not replaced until it is gone, force delete lets it move', async () => {
    const ns = await c.namespace('nodefail');
    const set: KObject = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            containers: [{ name: 'db', image: 'mongo' }],
            tolerations: [
              {
                key: 'node.kubernetes.io/unreachable',
                operator: 'Exists',
                effect: 'NoExecute',
                tolerationSeconds: 1,
              },
            ],
          },
        },
      },
    };
    await c.client.create(STATEFULSETS, ns, set);
    const first = await waitFor(async () => {
      const p = await c.client.get(PODS, ns, 'db-0').catch(() => undefined);
      return p && getPodCondition(p, 'Ready')?.status === 'True' ? p : undefined;
    }, 15_000);
    const node = String(podSpec(first).nodeName);
    const rec = await recordEvents(c.client, PODS, ns);
    c.sim?.stopHeartbeats(node);

    // The node goes Unknown and is tainted; the pod turns not ready, then is evicted.
    await waitFor(async () => {
      const n = await c.client.get(NODES, undefined, node);
      const ready = (
        (n.status as { conditions?: { type: string; status: string; reason?: string }[] }).conditions ?? []
      ).find((x) => x.type === 'Ready');
      return ready?.status === 'Unknown' && ready.reason === 'NodeStatusUnknown';
    }, 15_000);
    const evicted = await waitFor(async () => {
      const p = await c.client.get(PODS, ns, 'db-0');
      return p.metadata.deletionTimestamp && p.metadata.uid === first.metadata.uid ? p : undefined;
    }, 15_000);
    expect(getPodCondition(evicted, 'Ready')?.status).toBe('False');

    // It stays Terminating: no second db-0 while the first cannot be confirmed stopped.
    await new Promise((r) => setTimeout(r, 1_500));
    const still = await c.client.get(PODS, ns, 'db-0');
    expect(still.metadata.uid).toBe(first.metadata.uid);
    expect(still.metadata.deletionTimestamp).toBeDefined();

    // Force deletion, as `kubectl delete pod db-0 --grace-period=0 --force` does.
    await c.client.delete(PODS, ns, 'db-0', { gracePeriodSeconds: 0 });
    const second = await waitFor(async () => {
      const p = await c.client.get(PODS, ns, 'db-0').catch(() => undefined);
      return p && p.metadata.uid !== first.metadata.uid && getPodCondition(p, 'Ready')?.status === 'True'
        ? p
        : undefined;
    }, 15_000);
    expect(podSpec(second).nodeName).not.toBe(node);
    rec.stop();
    // At no point were two db-0 pods alive.
    const live = new Set<string>();
    for (const e of rec.events) {
      const uid = e.object.metadata.uid ?? '';
      if (e.type === 'DELETED') live.delete(uid);
      else live.add(uid);
      expect(live.size).toBeLessThanOrEqual(1);
    }
    c.sim?.resumeHeartbeats(node);
  }, 60_000);
});
