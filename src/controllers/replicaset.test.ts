import { afterEach, describe, expect, it } from 'vitest';
import { alreadyExists, forbidden } from '../api/errors.js';
import type { KObject, WatchEvent } from '../api/types.js';
import type { InProcessClient } from '../client/in-process.js';
import type { Client } from '../client/interface.js';
import { ManualClock } from '../client/workqueue.js';
import {
  clientWith,
  eventsFor,
  type Harness,
  listPods,
  markReady,
  podTemplate,
  rfc3339,
  setPhase,
  startHarness,
  waitFor,
} from './deployment/testing/harness.js';
import {
  ControllerExpectations,
  calculateReplicaSetStatus,
  getPodsToDelete,
  POD_DELETION_COST,
  podDeletionLess,
  podFromTemplate,
  rankPodsForDeletion,
  replicaSetStatusChanged,
  slowStartBatch,
} from './replicaset.js';
import { PODS, REPLICASETS } from './util/resources.js';

// ---------------------------------------------------------------------------
// pure parts

describe('slowStartBatch', () => {
  it('runs 1, 2, 4, … calls in parallel batches', async () => {
    const batches: number[] = [];
    let inFlight = 0;
    let calls = 0;
    const res = await slowStartBatch(10, 1, async () => {
      calls++;
      inFlight++;
      // A call starting with nothing else in flight opens a new batch.
      if (inFlight === 1) batches.push(0);
      batches[batches.length - 1]! += 1;
      await Promise.resolve();
      inFlight--;
    });
    expect(res).toEqual({ successes: 10, error: undefined });
    expect(calls).toBe(10);
    expect(batches).toEqual([1, 2, 4, 3]);
  });

  it('stops after the first batch with a failure', async () => {
    let calls = 0;
    const res = await slowStartBatch(10, 1, async () => {
      calls++;
      if (calls === 5) throw new Error('boom');
    });
    // batches 1, 2, 4: the 5th call is in the third batch, which still runs to completion
    expect(calls).toBe(7);
    expect(res.successes).toBe(6);
    expect((res.error as Error).message).toBe('boom');
  });
});

function pod(
  name: string,
  o: Partial<{
    node: string;
    phase: string;
    ready: boolean;
    readyAt: number;
    created: number;
    restarts: number;
    cost: string;
    uid: string;
    labels: Record<string, string>;
  }> = {},
): KObject {
  const conditions = o.ready
    ? [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(o.readyAt ?? 1_000_000) }]
    : [{ type: 'Ready', status: 'False' }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'ns',
      uid: o.uid ?? name,
      labels: o.labels ?? { app: 'x' },
      creationTimestamp: rfc3339(o.created ?? 1_000_000),
      ...(o.cost !== undefined ? { annotations: { [POD_DELETION_COST]: o.cost } } : {}),
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'c', image: 'x' }] },
    status: {
      phase: o.phase ?? 'Running',
      conditions,
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0 }],
    },
  };
}

describe('deletion ranking (ActivePodsWithRanks)', () => {
  const now = 10_000_000_000;
  const base = { node: 'n1', ready: true };

  it('prefers unscheduled, then pending < unknown < running, then not ready', () => {
    const s = pod('s', base);
    expect(podDeletionLess(pod('u', { ...base, node: '' }), 0, s, 0, now)).toBe(true);
    expect(podDeletionLess(s, 0, pod('u', { ...base, node: '' }), 0, now)).toBe(false);
    expect(
      podDeletionLess(
        pod('p', { ...base, phase: 'Pending' }),
        0,
        pod('k', { ...base, phase: 'Unknown' }),
        0,
        now,
      ),
    ).toBe(true);
    expect(podDeletionLess(pod('k', { ...base, phase: 'Unknown' }), 0, s, 0, now)).toBe(true);
    expect(podDeletionLess(pod('nr', { ...base, ready: false }), 0, s, 0, now)).toBe(true);
    expect(podDeletionLess(s, 0, pod('nr', { ...base, ready: false }), 0, now)).toBe(false);
  });

  it('then lower deletion cost, more co-located pods, shorter readiness, more restarts, newer', () => {
    const a = pod('a', base);
    expect(podDeletionLess(pod('c', { ...base, cost: '-5' }), 0, a, 0, now)).toBe(true);
    expect(podDeletionLess(pod('c', { ...base, cost: '5' }), 0, a, 0, now)).toBe(false);
    expect(podDeletionLess(pod('c', { ...base, cost: 'junk' }), 0, a, 0, now)).toBe(false);
    expect(podDeletionLess(a, 3, pod('b', base), 1, now)).toBe(true);
    // ready 10 s ago vs 10 000 s ago: different log2 buckets, the recently ready one goes first
    expect(
      podDeletionLess(
        pod('r', { ...base, readyAt: now - 10_000 }),
        0,
        pod('o', { ...base, readyAt: now - 10_000_000 }),
        0,
        now,
      ),
    ).toBe(true);
    expect(podDeletionLess(pod('r', { ...base, restarts: 5 }), 0, a, 0, now)).toBe(true);
    expect(
      podDeletionLess(
        pod('n', { ...base, created: now - 5_000 }),
        0,
        pod('o', { ...base, created: now - 5_000_000 }),
        0,
        now,
      ),
    ).toBe(true);
    // same log2 bucket: uid decides (pseudo-random but deterministic)
    const x = pod('x', { ...base, created: now - 1_000_000, uid: 'aaa' });
    const y = pod('y', { ...base, created: now - 1_001_000, uid: 'bbb' });
    expect(podDeletionLess(x, 0, y, 0, now)).toBe(true);
    expect(podDeletionLess(y, 0, x, 0, now)).toBe(false);
  });

  it('ranks by related active pods on the same node and picks the first diff', () => {
    const p1 = pod('p1', { node: 'a', ready: true });
    const p2 = pod('p2', { node: 'b', ready: true });
    const p3 = pod('p3', { node: 'b', ready: true });
    const sibling = pod('s', { node: 'a', ready: true });
    const gone = { ...pod('g', { node: 'a', ready: true }), status: { phase: 'Failed' } };
    // node b has 2 related pods, node a has 2 (p1 + sibling; the failed one does not count)
    const ranked = rankPodsForDeletion([p1, p2, p3], [p1, p2, p3, sibling, gone], now);
    expect(
      ranked
        .map((p) => p.metadata.name)
        .slice(0, 3)
        .sort(),
    ).toEqual(['p1', 'p2', 'p3']);
    const extra = pod('e', { node: 'b', ready: true });
    const ranked2 = rankPodsForDeletion([p1, p2], [p1, p2, p3, extra], now);
    expect(ranked2[0]?.metadata.name).toBe('p2');
    const unready = pod('u', { node: 'a', ready: false });
    expect(getPodsToDelete([p1, p2, unready], [p1, p2, unready], 1, now).map((p) => p.metadata.name)).toEqual(
      ['u'],
    );
    // deleting them all: no ranking needed, order kept
    expect(getPodsToDelete([p1, p2], [], 2, now).map((p) => p.metadata.name)).toEqual(['p1', 'p2']);
  });
});

describe('ControllerExpectations', () => {
  it('waits for observed creations and deletions, counts a deletion once, and expires', async () => {
    const clock = new ManualClock(0);
    const e = new ControllerExpectations(clock, 1000);
    expect(e.satisfied('k')).toBe(true);
    e.expectCreations('k', 2);
    expect(e.satisfied('k')).toBe(false);
    e.creationObserved('k');
    expect(e.satisfied('k')).toBe(false);
    e.creationObserved('k');
    expect(e.satisfied('k')).toBe(true);
    e.expectDeletions('k', ['ns/a', 'ns/b']);
    e.deletionObserved('k', 'ns/a');
    e.deletionObserved('k', 'ns/a'); // graceful delete, then removal: counted once
    e.deletionObserved('k', 'ns/zzz'); // not expected
    expect(e.get('k')).toEqual([0, 1]);
    expect(e.satisfied('k')).toBe(false);
    await clock.advance(1001);
    expect(e.satisfied('k')).toBe(true);
    e.delete('k');
    expect(e.get('k')).toBeUndefined();
  });
});

describe('calculateReplicaSetStatus', () => {
  const rs: KObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'rs', namespace: 'ns', generation: 3 },
    spec: { replicas: 3, minReadySeconds: 10, template: { metadata: { labels: { app: 'x', tier: 'web' } } } },
    status: { replicas: 2, observedGeneration: 2 },
  };
  const now = 1_000_000_000;

  it('counts labelled, ready and available pods', () => {
    const pods = [
      pod('a', { ready: true, readyAt: now - 60_000, labels: { app: 'x', tier: 'web' } }),
      pod('b', { ready: true, readyAt: now - 1_000, labels: { app: 'x', tier: 'web' } }),
      pod('c', { ready: false, labels: { app: 'x' } }),
    ];
    const st = calculateReplicaSetStatus(rs, pods, undefined, now);
    expect(st).toEqual({
      replicas: 3,
      fullyLabeledReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 1,
      observedGeneration: 2,
    });
    expect(replicaSetStatusChanged(rs, st)).toBe(true);
    const same = { ...rs, metadata: { ...rs.metadata, generation: 2 }, status: { ...st } };
    expect(replicaSetStatusChanged(same, st)).toBe(false);
  });

  it('adds ReplicaFailure on a manage error and removes it after a clean pass', () => {
    const st = calculateReplicaSetStatus(rs, [], new Error('quota exceeded'), now);
    expect(st.conditions).toEqual([
      {
        type: 'ReplicaFailure',
        status: 'True',
        lastTransitionTime: rfc3339(now),
        reason: 'FailedCreate',
        message: 'quota exceeded',
      },
    ]);
    expect(st.replicas).toBe(0);
    expect(st.readyReplicas).toBeUndefined();
    const failing = { ...rs, status: st };
    // an existing failure condition is kept as is while errors continue
    expect(calculateReplicaSetStatus(failing, [], new Error('other'), now + 5000).conditions).toEqual(
      st.conditions,
    );
    expect(calculateReplicaSetStatus(failing, [], undefined, now).conditions).toBeUndefined();
  });
});

describe('podFromTemplate', () => {
  it('copies labels, annotations, finalizers and spec, and points at the owner', () => {
    const rs: KObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-abc', namespace: 'ns', uid: 'u1' },
      spec: {
        template: {
          metadata: { labels: { app: 'web' }, annotations: { a: 'b' }, finalizers: ['f'] },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    };
    const p = podFromTemplate(rs);
    expect(p.metadata).toEqual({
      generateName: 'web-abc-',
      namespace: 'ns',
      labels: { app: 'web' },
      annotations: { a: 'b' },
      finalizers: ['f'],
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-abc',
          uid: 'u1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(p.spec).toEqual({ containers: [{ name: 'c', image: 'nginx' }] });
    // a copy, not shared with the template
    (p.spec as { containers: unknown[] }).containers.length = 0;
    expect(
      (rs.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers,
    ).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------
// against the API

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function replicaSet(
  name: string,
  replicas: number,
  labels = { app: name },
  extra: Record<string, unknown> = {},
): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels), ...extra },
  };
}

async function scaleTo(api: Client, ns: string, name: string, replicas: number): Promise<void> {
  await api.patch(REPLICASETS, ns, name, 'merge', { spec: { replicas } });
}

async function rsStatus(api: Client, ns: string, name: string): Promise<Record<string, unknown>> {
  return ((await api.get(REPLICASETS, ns, name)).status ?? {}) as Record<string, unknown>;
}

function ownedBy(p: KObject, rs: KObject): boolean {
  return (p.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === rs.metadata.uid);
}

describe('ReplicaSetController', () => {
  it('scales up with generated names and owner refs, and scales down the least valuable pods', async () => {
    h = await startHarness({ deployments: false });
    const { api, ns } = h;
    const rs = await api.create(REPLICASETS, ns, replicaSet('web', 4));
    const pods = await waitFor(async () => {
      const p = await listPods(api, ns);
      return p.length === 4 && p;
    }, '4 pods');
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(p.metadata.labels).toEqual({ app: 'web' });
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web',
          uid: rs.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const st = await waitFor(async () => {
      const s = await rsStatus(api, ns, 'web');
      return s.replicas === 4 && s;
    }, 'status');
    expect(st).toEqual({ replicas: 4, fullyLabeledReplicas: 4, observedGeneration: 1 });
    const created = await eventsFor(api, ns, 'web');
    expect(created.sort()).toEqual(
      pods.map((p) => `SuccessfulCreate: Created pod: ${p.metadata.name}`).sort(),
    );

    // two become ready; scaling to 2 must delete the two that are not
    const ready = [pods[0]!, pods[2]!];
    for (const p of ready) await markReady(api, p, Date.now() - 60_000);
    await waitFor(async () => (await rsStatus(api, ns, 'web')).readyReplicas === 2, 'ready 2');
    await scaleTo(api, ns, 'web', 2);
    const left = await waitFor(async () => {
      const p = await listPods(api, ns);
      return p.length === 2 && p;
    }, '2 pods');
    expect(left.map((p) => p.metadata.name).sort()).toEqual(ready.map((p) => p.metadata.name).sort());
    await waitFor(async () => {
      const s = await rsStatus(api, ns, 'web');
      return (
        s.replicas === 2 && s.readyReplicas === 2 && s.availableReplicas === 2 && s.observedGeneration === 2
      );
    }, 'status after scale down');
    const deleted = (await eventsFor(api, ns, 'web')).filter((e) => e.startsWith('SuccessfulDelete'));
    expect(deleted.sort()).toEqual(
      [pods[1]!, pods[3]!].map((p) => `SuccessfulDelete: Deleted pod: ${p.metadata.name}`).sort(),
    );
  });

  it('adopts matching orphans and releases pods that stop matching', async () => {
    h = await startHarness({ deployments: false });
    const { api, ns } = h;
    const orphan = await api.create(PODS, ns, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'orphan', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    });
    const rs = await api.create(REPLICASETS, ns, replicaSet('web', 2));
    const pods = await waitFor(async () => {
      const p = await listPods(api, ns);
      return p.length === 2 && p.every((x) => ownedBy(x, rs)) && p;
    }, 'adoption');
    expect(pods.map((p) => p.metadata.name)).toContain('orphan');
    expect(pods.find((p) => p.metadata.name === 'orphan')?.metadata.uid).toBe(orphan.metadata.uid);

    // relabel the adopted pod: it is released and replaced
    await api.patch(PODS, ns, 'orphan', 'merge', { metadata: { labels: { app: 'other' } } });
    const after = await waitFor(async () => {
      const p = await listPods(api, ns);
      const released = p.find((x) => x.metadata.name === 'orphan');
      const owned = p.filter((x) => ownedBy(x, rs));
      return released && !ownedBy(released, rs) && owned.length === 2 && p;
    }, 'release and replacement');
    expect(after).toHaveLength(3);
    expect(after.find((x) => x.metadata.name === 'orphan')?.metadata.ownerReferences).toBeUndefined();
  });

  it('never creates twice while its pod cache lags (expectations)', async () => {
    const lag = { hold: false, buffered: [] as Array<() => void> };
    const wrap = (c: InProcessClient): Client =>
      clientWith(c, {
        watch: (res, ns, opts, onEvent) =>
          c.watch(res, ns, opts, (e: WatchEvent) => {
            if (res.resource === 'pods' && lag.hold) lag.buffered.push(() => onEvent(e));
            else onEvent(e);
          }),
      });
    h = await startHarness({ deployments: false, wrap });
    const { api, ns, rs: ctrl } = h;
    await h.informers.waitForSync();
    lag.hold = true;
    await api.create(REPLICASETS, ns, replicaSet('web', 3));
    await waitFor(async () => (await listPods(api, ns)).length === 3, '3 pods created');
    await ctrl.queue.whenDrained();
    expect(ctrl.expectations.get('test/web')).toEqual([3, 0]);
    // more passes while the cache still shows no pods: nothing more is created
    for (let i = 0; i < 3; i++) {
      ctrl.queue.add('test/web');
      await ctrl.queue.whenDrained();
    }
    expect(await listPods(api, ns)).toHaveLength(3);
    lag.hold = false;
    for (const f of lag.buffered.splice(0)) f();
    await waitFor(async () => (await rsStatus(api, ns, 'web')).replicas === 3, 'status 3');
    await ctrl.queue.whenDrained();
    expect(await listPods(api, ns)).toHaveLength(3);
    expect(ctrl.expectations.get('test/web')).toEqual([0, 0]);
  });

  it('replaces Failed pods without deleting them', async () => {
    h = await startHarness({ deployments: false });
    const { api, ns } = h;
    await api.create(REPLICASETS, ns, replicaSet('job', 2));
    const pods = await waitFor(async () => {
      const p = await listPods(api, ns);
      return p.length === 2 && p;
    }, '2 pods');
    await setPhase(api, pods[0]!, 'Failed');
    const all = await waitFor(async () => {
      const p = await listPods(api, ns);
      return p.length === 3 && p;
    }, 'replacement');
    expect(all.map((p) => p.metadata.name)).toContain(pods[0]!.metadata.name);
    await waitFor(
      async () => (await rsStatus(api, ns, 'job')).replicas === 2,
      'status counts active pods only',
    );
  });

  it('reports ReplicaFailure and FailedCreate while pods cannot be created', async () => {
    const state = { fail: true };
    const wrap = (c: InProcessClient): Client =>
      clientWith(c, {
        create: (res, ns, obj, opts) => {
          if (res.resource === 'pods' && state.fail)
            return Promise.reject(forbidden('pods "web-" is forbidden: exceeded quota: q'));
          return c.create(res, ns, obj, opts);
        },
      });
    h = await startHarness({ deployments: false, wrap });
    const { api, ns } = h;
    await api.create(REPLICASETS, ns, replicaSet('web', 2));
    const cond = await waitFor(async () => {
      const c = (await rsStatus(api, ns, 'web')).conditions as Array<Record<string, string>> | undefined;
      return c?.[0];
    }, 'ReplicaFailure');
    expect(cond).toMatchObject({
      type: 'ReplicaFailure',
      status: 'True',
      reason: 'FailedCreate',
      message: 'pods "web-" is forbidden: exceeded quota: q',
    });
    expect(await eventsFor(api, ns, 'web')).toContain(
      'FailedCreate: Error creating: pods "web-" is forbidden: exceeded quota: q',
    );
    state.fail = false;
    await waitFor(async () => {
      const s = await rsStatus(api, ns, 'web');
      return s.replicas === 2 && s.conditions === undefined;
    }, 'recovery');
  });

  it('retries a pod whose generated name is already taken', async () => {
    let collisions = 2;
    const wrap = (c: InProcessClient): Client =>
      clientWith(c, {
        create: (res, ns, obj, opts) => {
          if (res.resource === 'pods' && collisions > 0) {
            collisions--;
            return Promise.reject(alreadyExists({ group: '', resource: 'pods' }, 'web-xxxxx'));
          }
          return c.create(res, ns, obj, opts);
        },
      });
    h = await startHarness({ deployments: false, wrap });
    const { api, ns } = h;
    await api.create(REPLICASETS, ns, replicaSet('web', 1));
    await waitFor(async () => (await rsStatus(api, ns, 'web')).replicas === 1, 'one pod');
    expect(collisions).toBe(0);
    expect(await listPods(api, ns)).toHaveLength(1);
    expect((await eventsFor(api, ns, 'web')).filter((e) => e.startsWith('FailedCreate'))).toEqual([]);
    expect((await rsStatus(api, ns, 'web')).conditions).toBeUndefined();
  });

  it('counts pods available once minReadySeconds passed', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({ deployments: false, clock });
    const { api, ns } = h;
    await api.create(REPLICASETS, ns, replicaSet('slow', 2, { app: 'slow' }, { minReadySeconds: 30 }));
    const pods = await waitFor(async () => {
      const p = await listPods(api, ns);
      return p.length === 2 && p;
    }, '2 pods');
    for (const p of pods) await markReady(api, p, clock.now());
    await waitFor(async () => (await rsStatus(api, ns, 'slow')).readyReplicas === 2, 'ready');
    await h.rs.queue.whenDrained();
    expect((await rsStatus(api, ns, 'slow')).availableReplicas).toBeUndefined();
    await clock.advance(31_000);
    await waitFor(
      async () => (await rsStatus(api, ns, 'slow')).availableReplicas === 2,
      'available after 30 s',
    );
  });
});
