import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { proportionalScalePlan } from './sync.js';
import {
  computeHash,
  DESIRED_REPLICAS_ANNOTATION,
  equalIgnoreHash,
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  fnv32a,
  getProportion,
  isSaturated,
  MAX_REPLICAS_ANNOTATION,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  resolveFenceposts,
  safeEncodeString,
  scaledValue,
  setNewReplicaSetAnnotations,
} from './util.js';

function deployment(
  replicas: number,
  o: { surge?: unknown; unavailable?: unknown; type?: string; annotations?: Record<string, string> } = {},
): KObject {
  const type = o.type ?? 'RollingUpdate';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'ns', uid: 'd-uid', generation: 1, annotations: o.annotations },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'd' } },
      template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'v2' }] } },
      strategy:
        type === 'RollingUpdate'
          ? { type, rollingUpdate: { maxSurge: o.surge ?? '25%', maxUnavailable: o.unavailable ?? '25%' } }
          : { type },
    },
    status: {},
  };
}

let seq = 0;
function replicaSet(
  name: string,
  replicas: number,
  o: { image?: string; created?: string; annotations?: Record<string, string>; available?: number } = {},
): KObject {
  seq++;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'ns',
      uid: `${name}-uid`,
      creationTimestamp: o.created ?? `2024-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`,
      annotations: o.annotations ?? {},
    },
    spec: {
      replicas,
      template: {
        metadata: { labels: { app: 'd', 'pod-template-hash': name } },
        spec: { containers: [{ name: 'c', image: o.image ?? 'v1' }] },
      },
    },
    status: { replicas, availableReplicas: o.available ?? replicas },
  };
}

describe('maxSurge / maxUnavailable', () => {
  it('scales percentages: surge rounds up, unavailable rounds down', () => {
    expect(scaledValue('25%', 10, true)).toBe(3);
    expect(scaledValue('25%', 10, false)).toBe(2);
    expect(scaledValue(4, 10, true)).toBe(4);
    expect(scaledValue('0%', 10, true)).toBe(0);
    expect(scaledValue('abc', 10, true)).toBe(0);
    expect(scaledValue('7', 10, true)).toBe(0); // not a percentage
    expect(resolveFenceposts('25%', '25%', 10)).toEqual({ surge: 3, unavailable: 2 });
    expect(resolveFenceposts('25%', '25%', 1)).toEqual({ surge: 1, unavailable: 0 });
  });

  it('turns 0/0 into maxUnavailable 1 and caps unavailable at replicas', () => {
    expect(resolveFenceposts(0, '10%', 3)).toEqual({ surge: 0, unavailable: 1 });
    expect(maxUnavailable(deployment(3, { surge: 0, unavailable: 5 }))).toBe(3);
    expect(maxUnavailable(deployment(0, { surge: 1, unavailable: 1 }))).toBe(0);
    expect(maxSurge(deployment(10))).toBe(3);
    expect(maxUnavailable(deployment(10))).toBe(2);
  });

  it('is zero for Recreate', () => {
    const d = deployment(10, { type: 'Recreate' });
    expect(maxSurge(d)).toBe(0);
    expect(maxUnavailable(d)).toBe(0);
  });
});

describe('pod-template-hash', () => {
  it('uses FNV-32a and the SafeEncodeString alphabet', () => {
    const enc = new TextEncoder();
    expect(fnv32a(enc.encode(''))).toBe(0x811c9dc5);
    expect(fnv32a(enc.encode('a'))).toBe(0xe40c292c);
    expect(fnv32a(enc.encode('foobar'))).toBe(0xbf9cf968);
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
  });

  it('is stable, independent of key order, and changes with the template and the collision count', () => {
    const t1 = {
      metadata: { labels: { a: '1', b: '2' } },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    };
    const t2 = {
      spec: { containers: [{ image: 'x', name: 'c' }] },
      metadata: { labels: { b: '2', a: '1' } },
    };
    const h = computeHash(t1);
    expect(h).toMatch(/^[456789bcdf]{1,10}$/);
    expect(computeHash(t2)).toBe(h);
    expect(computeHash(t1, 0)).not.toBe(h);
    expect(computeHash(t1, 1)).not.toBe(computeHash(t1, 0));
    expect(computeHash({ ...t1, spec: { containers: [{ name: 'c', image: 'y' }] } })).not.toBe(h);
  });
});

describe('new and old ReplicaSets', () => {
  it('matches templates ignoring pod-template-hash and empty collections', () => {
    const a = {
      metadata: { labels: { app: 'd', 'pod-template-hash': 'abc' } },
      spec: { containers: [{ name: 'c' }] },
    };
    const b = {
      metadata: { labels: { app: 'd' }, annotations: {} },
      spec: { containers: [{ name: 'c' }], volumes: [] },
    };
    expect(equalIgnoreHash(a, b)).toBe(true);
    expect(equalIgnoreHash(a, { ...b, spec: { containers: [{ name: 'other' }] } })).toBe(false);
  });

  it('picks the oldest matching ReplicaSet as new; the rest are old', () => {
    const d = deployment(3);
    const old = replicaSet('old', 3, { image: 'v1', created: '2024-01-01T00:00:00Z' });
    const newer = replicaSet('newer', 0, { image: 'v2', created: '2024-01-03T00:00:00Z' });
    const oldest = replicaSet('oldest', 0, { image: 'v2', created: '2024-01-02T00:00:00Z' });
    expect(findNewReplicaSet(d, [old, newer, oldest])?.metadata.name).toBe('oldest');
    const { required, all } = findOldReplicaSets(d, [old, newer, oldest]);
    expect(all.map((r) => r.metadata.name)).toEqual(['old', 'newer']);
    expect(required.map((r) => r.metadata.name)).toEqual(['old']);
    expect(findNewReplicaSet(d, [old])).toBeUndefined();
  });
});

describe('setNewReplicaSetAnnotations', () => {
  it('copies deployment annotations except the controller-owned ones and sets the revision', () => {
    const d = deployment(4, {
      surge: 1,
      annotations: {
        'kubernetes.io/change-cause': 'v2',
        [REVISION_ANNOTATION]: '9',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
      },
    });
    const rs = replicaSet('new', 0, { annotations: {} });
    expect(setNewReplicaSetAnnotations(d, rs, '3', false)).toBe(true);
    expect(rs.metadata.annotations).toEqual({
      'kubernetes.io/change-cause': 'v2',
      [REVISION_ANNOTATION]: '3',
      [DESIRED_REPLICAS_ANNOTATION]: '4',
      [MAX_REPLICAS_ANNOTATION]: '5',
    });
    expect(setNewReplicaSetAnnotations(d, rs, '3', true)).toBe(false);
  });

  it('records the previous revision in revision-history when an old ReplicaSet is brought back', () => {
    const d = deployment(1);
    const rs = replicaSet('back', 0, { annotations: { [REVISION_ANNOTATION]: '1' } });
    expect(setNewReplicaSetAnnotations(d, rs, '3', true)).toBe(true);
    expect(rs.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION]).toBe('1');
    setNewReplicaSetAnnotations(d, rs, '5', true);
    expect(rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION]).toBe('1,3');
    // never lowered
    expect(setNewReplicaSetAnnotations(d, rs, '4', true)).toBe(false);
    expect(rs.metadata.annotations?.[REVISION_ANNOTATION]).toBe('5');
  });

  it('drops the oldest history entries beyond the length limit', () => {
    const d = deployment(1);
    const rs = replicaSet('back', 0, {
      annotations: { [REVISION_ANNOTATION]: '30', [REVISION_HISTORY_ANNOTATION]: '10,20' },
    });
    setNewReplicaSetAnnotations(d, rs, '40', true, 6);
    expect(rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION]).toBe('20,30');
  });
});

describe('scaling arithmetic', () => {
  it('grows the new ReplicaSet within maxSurge (NewRSNewReplicas)', () => {
    const d = deployment(10, { surge: 3, unavailable: 2 });
    const oldRS = replicaSet('old', 10);
    const newRS = replicaSet('new', 0);
    expect(newRSNewReplicas(d, [oldRS, newRS], newRS)).toBe(3);
    const newRS2 = replicaSet('new', 3);
    expect(newRSNewReplicas(d, [replicaSet('old', 8), newRS2], newRS2)).toBe(5);
    expect(newRSNewReplicas(d, [replicaSet('old', 10), newRS2], newRS2)).toBe(3);
    const full = replicaSet('new', 9);
    expect(newRSNewReplicas(d, [replicaSet('old', 0), full], full)).toBe(10);
    expect(newRSNewReplicas(deployment(10, { type: 'Recreate' }), [oldRS, newRS], newRS)).toBe(10);
  });

  it('spreads a resize proportionally (5 → 10 and 10 → 5)', () => {
    const ann = (max: number) => ({
      [MAX_REPLICAS_ANNOTATION]: String(max),
      [DESIRED_REPLICAS_ANNOTATION]: '5',
    });
    const up = deployment(10, { surge: 0, unavailable: 1 });
    const newRS = replicaSet('new', 2, { image: 'v2', annotations: ann(5) });
    const oldRS = replicaSet('old', 3, { annotations: ann(5) });
    const plan = proportionalScalePlan(up, newRS, [oldRS]);
    expect(plan.operation).toBe('up');
    expect(plan.sizes.map((s) => [s.rs.metadata.name, s.size])).toEqual([
      ['old', 6],
      ['new', 4],
    ]);
    const down = deployment(5, { surge: 0, unavailable: 1 });
    const n = replicaSet('new', 4, { image: 'v2', annotations: ann(10) });
    const o = replicaSet('old', 6, { annotations: ann(10) });
    const plan2 = proportionalScalePlan(down, n, [o]);
    expect(plan2.operation).toBe('down');
    expect(plan2.sizes.map((s) => [s.rs.metadata.name, s.size])).toEqual([
      ['old', 3],
      ['new', 2],
    ]);
  });

  it('gives rounding leftovers to the first ReplicaSet (newest when growing)', () => {
    const ann = { [MAX_REPLICAS_ANNOTATION]: '3' };
    const d = deployment(4, { surge: 0, unavailable: 1 });
    const a = replicaSet('a', 1, { created: '2024-01-01T00:00:00Z', annotations: ann });
    const b = replicaSet('b', 1, { created: '2024-01-02T00:00:00Z', annotations: ann });
    const c = replicaSet('c', 1, { image: 'v2', created: '2024-01-03T00:00:00Z', annotations: ann });
    const plan = proportionalScalePlan(d, c, [a, b]);
    expect(plan.sizes.map((s) => [s.rs.metadata.name, s.size])).toEqual([
      ['c', 2],
      ['b', 1],
      ['a', 1],
    ]);
    expect(getProportion(a, d, 1, 0)).toBe(0);
    expect(getProportion(undefined, d, 1, 0)).toBe(0);
  });

  it('finds the single active ReplicaSet and saturation', () => {
    const d = deployment(3);
    const a = replicaSet('a', 0, { created: '2024-01-01T00:00:00Z' });
    const b = replicaSet('b', 0, { created: '2024-01-02T00:00:00Z' });
    expect(findActiveOrLatest(undefined, [a, b])?.metadata.name).toBe('b');
    expect(findActiveOrLatest(replicaSet('n', 0, { image: 'v2' }), [a, b])?.metadata.name).toBe('n');
    expect(findActiveOrLatest(undefined, [a, replicaSet('c', 2)])?.metadata.name).toBe('c');
    expect(findActiveOrLatest(replicaSet('n', 1), [replicaSet('c', 2)])).toBeUndefined();
    const sat = replicaSet('n', 3, { image: 'v2', annotations: { [DESIRED_REPLICAS_ANNOTATION]: '3' } });
    expect(isSaturated(d, sat)).toBe(true);
    expect(
      isSaturated(
        d,
        replicaSet('n', 3, {
          image: 'v2',
          available: 2,
          annotations: { [DESIRED_REPLICAS_ANNOTATION]: '3' },
        }),
      ),
    ).toBe(false);
    expect(isSaturated(d, replicaSet('n', 3, { image: 'v2' }))).toBe(false);
  });
});
