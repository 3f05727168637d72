import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { oldPodsRunning, rolloutRecreate } from './recreate.js';
import {
  cleanupUnhealthyReplicas,
  reconcileNewReplicaSet,
  reconcileOldReplicaSets,
  rolloutRolling,
  scaleDownOldReplicaSetsForRollingUpdate,
} from './rolling.js';
import { cleanupDeployment, type RolloutOps, scale } from './sync.js';
import {
  findNewReplicaSet,
  findOldReplicaSets,
  REVISION_ANNOTATION,
  replicaCount,
  setReplicasAnnotations,
  specReplicas,
} from './util.js';

function deployment(replicas: number, surge: unknown, unavailable: unknown, image = 'v2'): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'ns', uid: 'd-uid', generation: 1 },
    spec: {
      replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'd' } },
      template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image }] } },
      strategy:
        surge === 'Recreate'
          ? { type: 'Recreate' }
          : { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } },
    },
    status: {},
  };
}

function rs(name: string, image: string, replicas: number, available = replicas, created = 0): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'ns',
      uid: `${name}-uid`,
      generation: 1,
      creationTimestamp: new Date(Date.UTC(2024, 0, 1) + created * 1000).toISOString().replace('.000', ''),
      annotations: { [REVISION_ANNOTATION]: String(created + 1) },
    },
    spec: {
      replicas,
      template: {
        metadata: { labels: { app: 'd', 'pod-template-hash': name } },
        spec: { containers: [{ name: 'c', image }] },
      },
    },
    status: { replicas, availableReplicas: available, observedGeneration: 1 },
  };
}

/** A fake cluster: ReplicaSets by name; scaling changes spec only (status follows in `settle`). */
class FakeOps implements RolloutOps {
  readonly sets = new Map<string, KObject>();
  readonly log: string[] = [];
  statusSyncs = 0;
  deleted: string[] = [];
  created = 0;

  constructor(...rss: KObject[]) {
    for (const r of rss) this.sets.set(r.metadata.name ?? '', r);
  }

  list(): KObject[] {
    return [...this.sets.values()];
  }

  get(name: string): KObject {
    const r = this.sets.get(name);
    if (!r) throw new Error(`no ${name}`);
    return r;
  }

  async getAllReplicaSetsAndSyncRevision(d: KObject, rsList: KObject[], create: boolean) {
    let newRS = findNewReplicaSet(d, rsList);
    const { all } = findOldReplicaSets(d, rsList);
    if (!newRS && create) {
      this.created++;
      const image = (d.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec
        .containers[0]?.image;
      newRS = rs(`new${this.created}`, image ?? '', 0, 0, 100 + this.created);
      this.sets.set(newRS.metadata.name ?? '', newRS);
    }
    return { newRS, oldRSs: all };
  }

  async scaleReplicaSet(r: KObject, newScale: number, d: KObject, operation: string) {
    const cur = this.get(r.metadata.name ?? '');
    const next = structuredClone(cur);
    (next.spec as { replicas: number }).replicas = newScale;
    setReplicasAnnotations(next, specReplicas(d), specReplicas(d));
    this.sets.set(r.metadata.name ?? '', next);
    const scaled = specReplicas(cur) !== newScale;
    if (scaled) this.log.push(`${operation} ${r.metadata.name} ${specReplicas(cur)}->${newScale}`);
    return { scaled, rs: next };
  }

  async deleteReplicaSet(r: KObject) {
    this.deleted.push(r.metadata.name ?? '');
    this.sets.delete(r.metadata.name ?? '');
  }

  async syncRolloutStatus() {
    this.statusSyncs++;
  }

  async syncDeploymentStatus() {
    this.statusSyncs++;
  }

  /** The ReplicaSet controller + kubelet: pods follow spec; `ready` more new pods per step become available. */
  settle(newName: string, ready: number): void {
    for (const [name, r] of this.sets) {
      const st = r.status as { replicas: number; availableReplicas: number };
      const want = specReplicas(r);
      st.replicas = want;
      if (name === newName) st.availableReplicas = Math.min(want, st.availableReplicas + ready);
      else st.availableReplicas = Math.min(want, st.availableReplicas);
    }
  }

  available(): number {
    let n = 0;
    for (const r of this.sets.values()) n += (r.status as { availableReplicas: number }).availableReplicas;
    return n;
  }
}

describe('rolling update steps', () => {
  it('scales the new ReplicaSet up to maxSurge first', async () => {
    const d = deployment(10, 3, 2);
    const ops = new FakeOps(rs('old', 'v1', 10), rs('new', 'v2', 0, 0, 1));
    expect(await reconcileNewReplicaSet(ops, ops.list(), ops.get('new'), d)).toBe(true);
    expect(ops.log).toEqual(['up new 0->3']);
    // surge used up: nothing more
    expect(await reconcileNewReplicaSet(ops, ops.list(), ops.get('new'), d)).toBe(false);
  });

  it('scales old ReplicaSets down within maxUnavailable, counting unavailable new pods', async () => {
    const d = deployment(10, 3, 2);
    const ops = new FakeOps(rs('old', 'v1', 10), rs('new', 'v2', 3, 0, 1));
    // 13 pods, min available 8, 3 new unavailable: 2 may go
    expect(await reconcileOldReplicaSets(ops, ops.list(), [ops.get('old')], ops.get('new'), d)).toBe(true);
    expect(ops.log).toEqual(['down old 10->8']);
    ops.settle('new', 0);
    // new pods still unavailable: no further scale down
    expect(await reconcileOldReplicaSets(ops, ops.list(), [ops.get('old')], ops.get('new'), d)).toBe(false);
    // with 5 old pods unhealthy, still only 13 - 8 - 3 = 2 go (the unhealthy ones)
    const sick = new FakeOps(rs('old', 'v1', 10, 5), rs('new', 'v2', 3, 0, 1));
    expect(await reconcileOldReplicaSets(sick, sick.list(), [sick.get('old')], sick.get('new'), d)).toBe(
      true,
    );
    expect(sick.log).toEqual(['down old 10->8']);
  });

  it('removes unhealthy old replicas first, oldest ReplicaSet first', async () => {
    const d = deployment(10, 0, 3);
    const a = rs('a', 'v0', 4, 2, 0);
    const b = rs('b', 'v1', 6, 3, 1);
    const ops = new FakeOps(a, b);
    const res = await cleanupUnhealthyReplicas(ops, [b, a], d, 3);
    expect(res.count).toBe(3);
    expect(ops.log).toEqual(['down a 4->2', 'down b 6->5']);
    expect(res.oldRSs.map((r) => [r.metadata.name, specReplicas(r)])).toEqual([
      ['a', 2],
      ['b', 5],
    ]);
  });

  it('never scales below replicas - maxUnavailable available', async () => {
    const d = deployment(10, 0, 2);
    const ops = new FakeOps(rs('a', 'v0', 4, 4, 0), rs('b', 'v1', 6, 6, 1), rs('new', 'v2', 0, 0, 2));
    expect(
      await scaleDownOldReplicaSetsForRollingUpdate(ops, ops.list(), [ops.get('b'), ops.get('a')], d),
    ).toBe(2);
    expect(ops.log).toEqual(['down a 4->2']);
  });

  for (const [surge, unavailable, replicas] of [
    [3, 2, 10],
    ['25%', '25%', 4],
    [0, 1, 5],
    [1, 0, 3],
    ['50%', 0, 7],
  ] as const) {
    it(`keeps every step within bounds (replicas ${replicas}, maxSurge ${surge}, maxUnavailable ${unavailable})`, async () => {
      const d = deployment(replicas, surge, unavailable);
      const ops = new FakeOps(rs('old', 'v1', replicas));
      const { surge: maxSurgeN, unavailable: maxUnavailableN } = {
        surge: Math.ceil(typeof surge === 'number' ? surge : (Number.parseInt(surge, 10) * replicas) / 100),
        unavailable: Math.floor(
          typeof unavailable === 'number'
            ? unavailable
            : (Number.parseInt(String(unavailable), 10) * replicas) / 100,
        ),
      };
      for (let step = 0; step < 100; step++) {
        await rolloutRolling(ops, d, ops.list());
        expect(replicaCount(ops.list())).toBeLessThanOrEqual(replicas + maxSurgeN);
        ops.settle('new1', 1);
        expect(ops.available()).toBeGreaterThanOrEqual(
          replicas - Math.max(maxUnavailableN, maxSurgeN === 0 ? 1 : 0),
        );
        const n = ops.sets.get('new1');
        if (
          n &&
          specReplicas(n) === replicas &&
          specReplicas(ops.get('old')) === 0 &&
          ops.available() === replicas
        )
          break;
      }
      expect(specReplicas(ops.get('new1'))).toBe(replicas);
      expect(specReplicas(ops.get('old'))).toBe(0);
      expect(ops.created).toBe(1);
    });
  }
});

describe('scale (resize outside a rollout step)', () => {
  it('resizes the only active ReplicaSet, or empties old ones once the new one is saturated', async () => {
    const d = deployment(5, 1, 1, 'v1');
    const ops = new FakeOps(rs('only', 'v1', 3), rs('idle', 'v0', 0, 0, 1));
    await scale(ops, d, ops.get('only'), [ops.get('idle')]);
    expect(ops.log).toEqual(['up only 3->5']);
    const sat = new FakeOps(rs('new', 'v1', 5, 5, 2), rs('old', 'v0', 2, 2, 1));
    setReplicasAnnotations(sat.get('new'), 5, 6);
    await scale(sat, d, sat.get('new'), [sat.get('old')]);
    expect(sat.log).toEqual(['down old 2->0']);
  });
});

describe('history cleanup', () => {
  it('deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit', async () => {
    const d = deployment(1, 1, 0);
    (d.spec as Record<string, unknown>).revisionHistoryLimit = 1;
    const r1 = rs('r1', 'v1', 0, 0, 1);
    const r2 = rs('r2', 'v2', 0, 0, 2);
    const r3 = rs('r3', 'v3', 1, 1, 3); // still has replicas: kept
    const r4 = rs('r4', 'v4', 0, 0, 4);
    (r1.status as Record<string, unknown>).replicas = 1; // pods still going away: kept this time
    const ops = new FakeOps(r1, r2, r3, r4);
    await cleanupDeployment(ops, [r4, r3, r2, r1], d);
    expect(ops.deleted).toEqual(['r2']);
  });
});

describe('recreate', () => {
  it('scales old ReplicaSets to 0, waits for their pods, then creates the new one', async () => {
    const d = deployment(3, 'Recreate', undefined, 'v2');
    const ops = new FakeOps(rs('old', 'v1', 3));
    const pod = (phase: string): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      status: { phase },
    });
    await rolloutRecreate(ops, d, ops.list(), new Map());
    expect(ops.log).toEqual(['down old 3->0']);
    expect(ops.created).toBe(0);
    // status still reports replicas: wait
    await rolloutRecreate(ops, d, ops.list(), new Map([['old-uid', [pod('Running')]]]));
    expect(ops.created).toBe(0);
    ops.settle('none', 0);
    // a terminating pod is still running
    expect(oldPodsRunning(undefined, ops.list(), new Map([['old-uid', [pod('Running')]]]))).toBe(true);
    await rolloutRecreate(ops, d, ops.list(), new Map([['old-uid', [pod('Running')]]]));
    expect(ops.created).toBe(0);
    // only finished pods left: go
    await rolloutRecreate(ops, d, ops.list(), new Map([['old-uid', [pod('Succeeded')]]]));
    expect(ops.created).toBe(1);
    expect(ops.log).toEqual(['down old 3->0', 'up new1 0->3']);
  });
});
