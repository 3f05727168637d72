import { afterEach, describe, expect, it } from 'vitest';
import type { KObject, WatchEvent } from '../../api/types.js';
import type { Client, WatchHandle } from '../../client/interface.js';
import { ManualClock } from '../../client/workqueue.js';
import { isPodReady } from '../util/pods.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../util/resources.js';
import {
  eventsFor,
  type FakeKubelet,
  type Harness,
  kubectlRolloutStatus,
  listPods,
  podTemplate,
  startHarness,
  startKubelet,
  waitFor,
} from './testing/harness.js';
import { computeHash, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION } from './util.js';

let h: Harness | undefined;
let kubelet: FakeKubelet | undefined;
const watches: WatchHandle[] = [];
afterEach(async () => {
  for (const w of watches.splice(0)) w.stop();
  kubelet?.stop();
  kubelet = undefined;
  await h?.stop();
  h = undefined;
});

function deployment(
  name: string,
  replicas: number,
  image: string,
  spec: Record<string, unknown> = {},
): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: podTemplate({ app: name }, image),
      ...spec,
    },
  };
}

async function getD(api: Client, ns: string, name: string): Promise<KObject> {
  return api.get(DEPLOYMENTS, ns, name);
}

/** Waits until kubectl rollout status would report success, returning the Deployment. */
async function rolledOut(
  api: Client,
  ns: string,
  name: string,
  what = `${name} rolled out`,
): Promise<KObject> {
  return waitFor(async () => {
    const d = await getD(api, ns, name);
    return kubectlRolloutStatus(d).done && d;
  }, what);
}

async function replicaSets(api: Client, ns: string): Promise<KObject[]> {
  return (await api.list(REPLICASETS, ns)).items;
}

function image(obj: KObject): string | undefined {
  const spec = (obj.spec ?? {}) as {
    containers?: Array<{ image?: string }>;
    template?: { spec?: { containers?: Array<{ image?: string }> } };
  };
  return (spec.template?.spec?.containers ?? spec.containers ?? [])[0]?.image;
}

function replicas(rs: KObject): number {
  return (rs.spec as { replicas?: number }).replicas ?? 0;
}

function condition(d: KObject, type: string): Record<string, string> | undefined {
  const conds = ((d.status ?? {}) as { conditions?: Array<Record<string, string>> }).conditions ?? [];
  return conds.find((c) => c.type === type);
}

async function setImage(api: Client, ns: string, name: string, img: string): Promise<void> {
  await api.patch(DEPLOYMENTS, ns, name, 'strategic', {
    spec: { template: { spec: { containers: [{ name: 'c', image: img }] } } },
  });
}

describe('DeploymentController', () => {
  it('creates a hashed ReplicaSet and pods, and reports a finished rollout', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns);
    const created = await api.create(DEPLOYMENTS, ns, {
      ...deployment('web', 3, 'nginx:1'),
      metadata: { name: 'web', annotations: { 'kubernetes.io/change-cause': 'first' } },
    });
    const hash = computeHash((created.spec as { template: unknown }).template);
    const d = await rolledOut(api, ns, 'web');
    const sets = await replicaSets(api, ns);
    expect(sets).toHaveLength(1);
    const rs = sets[0]!;
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect((rs.spec as { selector: unknown }).selector).toEqual({
      matchLabels: { app: 'web', 'pod-template-hash': hash },
    });
    expect(rs.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      controller: true,
    });
    expect(rs.metadata.annotations).toEqual({
      'kubernetes.io/change-cause': 'first',
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    const pods = await listPods(api, ns);
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      expect(p.metadata.labels?.['pod-template-hash']).toBe(hash);
    }
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    const done = await waitFor(async () => {
      const x = await getD(api, ns, 'web');
      return condition(x, 'Progressing')?.reason === 'NewReplicaSetAvailable' && x;
    }, 'NewReplicaSetAvailable');
    expect(condition(done, 'Available')).toMatchObject({
      status: 'True',
      reason: 'MinimumReplicasAvailable',
      message: 'Deployment has minimum availability.',
    });
    expect(condition(done, 'Progressing')).toMatchObject({
      status: 'True',
      message: `ReplicaSet "web-${hash}" has successfully progressed.`,
    });
    expect(await eventsFor(api, ns, 'web')).toEqual([
      `ScalingReplicaSet: Scaled up replica set web-${hash} from 0 to 3`,
    ]);
    expect(kubectlRolloutStatus(done).message).toBe('deployment "web" successfully rolled out');
  });

  it('rolls out a new template within maxSurge and maxUnavailable at every step', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns, { maxDelayMs: 15 });
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
    await api.create(DEPLOYMENTS, ns, deployment('web', 4, 'v1', { strategy }));
    await rolledOut(api, ns, 'web');
    await waitFor(async () => (await listPods(api, ns)).filter(isPodReady).length === 4, '4 ready');

    // Watch ReplicaSets and pods from here on and check the bounds on every event.
    const violations: string[] = [];
    const specs = new Map<string, number>();
    const rsList = await api.list(REPLICASETS, ns);
    for (const r of rsList.items) specs.set(r.metadata.name ?? '', replicas(r));
    watches.push(
      await api.watch(
        REPLICASETS,
        ns,
        { resourceVersion: rsList.metadata.resourceVersion },
        (e: WatchEvent) => {
          if (e.type === 'DELETED') specs.delete(e.object.metadata.name ?? '');
          else specs.set(e.object.metadata.name ?? '', replicas(e.object));
          const total = [...specs.values()].reduce((a, b) => a + b, 0);
          if (total > 5) violations.push(`ReplicaSets want ${total} pods > 4 + maxSurge 1`);
        },
      ),
    );
    const ready = new Map<string, boolean>();
    const podList = await api.list(PODS, ns);
    for (const p of podList.items) ready.set(p.metadata.name ?? '', isPodReady(p));
    watches.push(
      await api.watch(PODS, ns, { resourceVersion: podList.metadata.resourceVersion }, (e: WatchEvent) => {
        const n = e.object.metadata.name ?? '';
        if (e.type === 'DELETED' || e.object.metadata.deletionTimestamp) ready.delete(n);
        else ready.set(n, isPodReady(e.object));
        const available = [...ready.values()].filter(Boolean).length;
        if (available < 3) violations.push(`${available} ready pods < 4 - maxUnavailable 1`);
        if (ready.size > 5) violations.push(`${ready.size} pods > 4 + maxSurge 1`);
      }),
    );

    await setImage(api, ns, 'web', 'v2');
    const d = await rolledOut(api, ns, 'web', 'v2 rolled out');
    expect(d.status).toMatchObject({
      observedGeneration: 2,
      replicas: 4,
      updatedReplicas: 4,
      availableReplicas: 4,
    });
    expect(violations).toEqual([]);
    const pods = await listPods(api, ns);
    expect(pods.map(image)).toEqual(['v2', 'v2', 'v2', 'v2']);
    const sets = await replicaSets(api, ns);
    expect(sets).toHaveLength(2);
    const newRS = sets.find((r) => image(r) === 'v2')!;
    const oldRS = sets.find((r) => image(r) === 'v1')!;
    expect(replicas(oldRS)).toBe(0);
    expect(newRS.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    const events = await eventsFor(api, ns, 'web');
    expect(events).toContain(`ScalingReplicaSet: Scaled up replica set ${newRS.metadata.name} from 0 to 1`);
    expect(events).toContain(`ScalingReplicaSet: Scaled down replica set ${oldRS.metadata.name} from 4 to 3`);
    expect(events).toContain(`ScalingReplicaSet: Scaled down replica set ${oldRS.metadata.name} from 1 to 0`);
    await waitFor(
      async () =>
        condition(await getD(api, ns, 'web'), 'Progressing')?.message ===
        `ReplicaSet "${newRS.metadata.name}" has successfully progressed.`,
      'progressed',
    );

    // kubectl rollout restart: a template annotation is a new template
    await api.patch(DEPLOYMENTS, ns, 'web', 'strategic', {
      spec: {
        template: {
          metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } },
        },
      },
    });
    await rolledOut(api, ns, 'web', 'restart rolled out');
    const names = new Set(pods.map((p) => p.metadata.name));
    await waitFor(async () => {
      const now = await listPods(api, ns);
      return now.length === 4 && now.every((p) => !names.has(p.metadata.name)) && now;
    }, 'all pods replaced');
    expect(await replicaSets(api, ns)).toHaveLength(3);
    expect(violations).toEqual([]);
  });

  it('Recreate removes every old pod before creating the new ReplicaSet', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns);
    // Pods on a node: deleting them is graceful, they stay until the kubelet finishes.
    const d0 = deployment('db', 3, 'v1', { strategy: { type: 'Recreate' } });
    (d0.spec as { template: { spec: Record<string, unknown> } }).template.spec.nodeName = 'node-1';
    await api.create(DEPLOYMENTS, ns, d0);
    await rolledOut(api, ns, 'db');
    const [oldRS] = await replicaSets(api, ns);
    await setImage(api, ns, 'db', 'v2');
    // Old pods are bound, so deleting them only marks them terminating; the kubelet has not finished yet.
    const terminating = await waitFor(async () => {
      const p = await listPods(api, ns);
      return p.length === 3 && p.every((x) => x.metadata.deletionTimestamp) && p;
    }, 'old pods terminating');
    await h.deployments?.queue.whenDrained();
    await h.rs.queue.whenDrained();
    const during = await replicaSets(api, ns);
    expect(during.map((r) => r.metadata.name)).toEqual([oldRS?.metadata.name]);
    expect(replicas(during[0]!)).toBe(0);
    expect(kubectlRolloutStatus(await getD(api, ns, 'db')).done).toBe(false);
    // The kubelet finishes the graceful deletions.
    for (const p of terminating) await api.delete(PODS, ns, p.metadata.name ?? '', { gracePeriodSeconds: 0 });
    const d = await rolledOut(api, ns, 'db', 'v2 rolled out');
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    expect((await listPods(api, ns)).map(image)).toEqual(['v2', 'v2', 'v2']);
    const newRS = (await replicaSets(api, ns)).find((r) => image(r) === 'v2')!;
    const events = await eventsFor(api, ns, 'db');
    expect(events).toEqual([
      `ScalingReplicaSet: Scaled up replica set ${oldRS?.metadata.name} from 0 to 3`,
      `ScalingReplicaSet: Scaled down replica set ${oldRS?.metadata.name} from 3 to 0`,
      `ScalingReplicaSet: Scaled up replica set ${newRS.metadata.name} from 0 to 3`,
    ]);
  });

  it('does not roll out while paused, still scales, and resumes', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns);
    await api.create(DEPLOYMENTS, ns, deployment('web', 2, 'v1'));
    await rolledOut(api, ns, 'web');
    const seen: string[] = [];
    const list = await api.list(DEPLOYMENTS, ns);
    watches.push(
      await api.watch(DEPLOYMENTS, ns, { resourceVersion: list.metadata.resourceVersion }, (e) => {
        const c = condition(e.object, 'Progressing');
        const entry = `${c?.status}/${c?.reason}/${c?.message}`;
        if (c && seen.at(-1) !== entry) seen.push(entry);
      }),
    );
    await api.patch(DEPLOYMENTS, ns, 'web', 'merge', { spec: { paused: true } });
    await waitFor(
      async () => condition(await getD(api, ns, 'web'), 'Progressing')?.reason === 'DeploymentPaused',
      'paused condition',
    );
    await setImage(api, ns, 'web', 'v2');
    await api.patch(DEPLOYMENTS, ns, 'web', 'merge', { spec: { replicas: 3 } });
    const paused = await waitFor(async () => {
      const d = await getD(api, ns, 'web');
      const st = d.status as { observedGeneration?: number; replicas?: number };
      return st.observedGeneration === d.metadata.generation && st.replicas === 3 && d;
    }, 'paused scale observed');
    expect(condition(paused, 'Progressing')).toMatchObject({
      status: 'Unknown',
      message: 'Deployment is paused',
    });
    await h.deployments?.queue.whenDrained();
    expect((await replicaSets(api, ns)).map(image)).toEqual(['v1']);
    expect((await listPods(api, ns)).map(image)).toEqual(['v1', 'v1', 'v1']);

    await api.patch(DEPLOYMENTS, ns, 'web', 'merge', { spec: { paused: false } });
    await rolledOut(api, ns, 'web', 'resumed rollout');
    await waitFor(async () => (await listPods(api, ns)).map(image).join() === 'v2,v2,v2', 'v2 pods');
    await waitFor(
      async () => condition(await getD(api, ns, 'web'), 'Progressing')?.reason === 'NewReplicaSetAvailable',
      'complete',
    );
    expect(seen).toContain('Unknown/DeploymentPaused/Deployment is paused');
    expect(seen).toContain('Unknown/DeploymentResumed/Deployment is resumed');
    expect(seen.indexOf('Unknown/DeploymentResumed/Deployment is resumed')).toBeGreaterThan(
      seen.indexOf('Unknown/DeploymentPaused/Deployment is paused'),
    );
  });

  it('rolls back (kubectl rollout undo) by reusing the old ReplicaSet with the next revision', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns);
    await api.create(DEPLOYMENTS, ns, deployment('web', 3, 'v1'));
    await rolledOut(api, ns, 'web');
    await setImage(api, ns, 'web', 'v2');
    await rolledOut(api, ns, 'web', 'v2');
    await waitFor(async () => (await listPods(api, ns)).map(image).join() === 'v2,v2,v2', 'v2 pods');

    // What kubectl's DeploymentRollbacker sends: the revision-1 template (without the hash label)
    // and the ReplicaSet's annotations, keeping the Deployment's controller-owned ones.
    const sets = await replicaSets(api, ns);
    const rev1 = sets.find((r) => r.metadata.annotations?.[REVISION_ANNOTATION] === '1')!;
    const template = structuredClone(
      (rev1.spec as { template: { metadata: { labels: Record<string, string> } } }).template,
    );
    delete template.metadata.labels['pod-template-hash'];
    const d = await getD(api, ns, 'web');
    const skip = [
      'kubectl.kubernetes.io/last-applied-configuration',
      REVISION_ANNOTATION,
      REVISION_HISTORY_ANNOTATION,
      'deployment.kubernetes.io/desired-replicas',
      'deployment.kubernetes.io/max-replicas',
      'deprecated.deployment.rollback.to',
    ];
    const annotations: Record<string, string> = {};
    for (const k of skip) {
      const v = d.metadata.annotations?.[k];
      if (v !== undefined) annotations[k] = v;
    }
    for (const [k, v] of Object.entries(rev1.metadata.annotations ?? {}))
      if (!skip.includes(k)) annotations[k] = v;
    await api.patch(DEPLOYMENTS, ns, 'web', 'json', [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ]);

    const back = await rolledOut(api, ns, 'web', 'rolled back');
    await waitFor(async () => (await listPods(api, ns)).map(image).join() === 'v1,v1,v1', 'v1 pods');
    const after = await replicaSets(api, ns);
    expect(after).toHaveLength(2);
    const reused = after.find((r) => r.metadata.uid === rev1.metadata.uid)!;
    expect(reused.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(reused.metadata.annotations?.[REVISION_HISTORY_ANNOTATION]).toBe('1');
    expect(replicas(reused)).toBe(3);
    expect(replicas(after.find((r) => r.metadata.uid !== rev1.metadata.uid)!)).toBe(0);
    await waitFor(
      async () => (await getD(api, ns, 'web')).metadata.annotations?.[REVISION_ANNOTATION] === '3',
      'deployment revision 3',
    );
    expect(back.metadata.generation).toBe(3);
  });

  it('keeps only revisionHistoryLimit old ReplicaSets', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns);
    await api.create(DEPLOYMENTS, ns, deployment('web', 2, 'v1', { revisionHistoryLimit: 1 }));
    await rolledOut(api, ns, 'web');
    for (const img of ['v2', 'v3', 'v4']) {
      await setImage(api, ns, 'web', img);
      await rolledOut(api, ns, 'web', `${img} rolled out`);
    }
    const left = await waitFor(async () => {
      const s = await replicaSets(api, ns);
      return s.length === 2 && s;
    }, 'history pruned to 1');
    expect(left.map((r) => [image(r), r.metadata.annotations?.[REVISION_ANNOTATION]]).sort()).toEqual([
      ['v3', '3'],
      ['v4', '4'],
    ]);
  });

  it('adopts a matching orphan ReplicaSet as its new ReplicaSet', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns);
    const d = deployment('web', 2, 'v1');
    const orphan = await api.create(REPLICASETS, ns, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'legacy', labels: { app: 'web' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: podTemplate({ app: 'web' }, 'v1'),
      },
    });
    const created = await api.create(DEPLOYMENTS, ns, d);
    await rolledOut(api, ns, 'web');
    const sets = await replicaSets(api, ns);
    expect(sets.map((r) => r.metadata.name)).toEqual(['legacy']);
    expect(sets[0]?.metadata.uid).toBe(orphan.metadata.uid);
    expect(sets[0]?.metadata.ownerReferences?.[0]).toMatchObject({
      uid: created.metadata.uid,
      controller: true,
    });
    expect(replicas(sets[0]!)).toBe(2);
    expect(sets[0]?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
  });

  it('scales proportionally when replicas change mid-rollout', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns);
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } };
    await api.create(DEPLOYMENTS, ns, deployment('web', 10, 'v1', { strategy }));
    await rolledOut(api, ns, 'web');
    await waitFor(async () => (await listPods(api, ns)).filter(isPodReady).length === 10, '10 ready');
    // New pods never become ready: old goes 10 → 8 (13 - 8 min available - 3 unavailable new),
    // new fills the surge room to 5, and the rollout stalls there.
    kubelet.ready = false;
    await setImage(api, ns, 'web', 'v2');
    const [oldRS, newRS] = await waitFor(async () => {
      const s = await replicaSets(api, ns);
      const o = s.find((r) => image(r) === 'v1');
      const n = s.find((r) => image(r) === 'v2');
      const pods = await listPods(api, ns);
      return o && n && replicas(o) === 8 && replicas(n) === 5 && pods.length === 13 && ([o, n] as const);
    }, 'stalled rollout');
    await h.deployments?.queue.whenDrained();
    await api.patch(DEPLOYMENTS, ns, 'web', 'merge', { spec: { replicas: 20 } });
    // 23 allowed (20 + maxSurge 3), 10 to add: old 8 → round(8·23/13) = 14, new 5 → round(5·23/13) = 9.
    await waitFor(async () => {
      const s = await replicaSets(api, ns);
      const o = s.find((r) => r.metadata.uid === oldRS.metadata.uid);
      const n = s.find((r) => r.metadata.uid === newRS.metadata.uid);
      return o && n && replicas(o) === 14 && replicas(n) === 9;
    }, 'proportional scale');
    const events = await eventsFor(api, ns, 'web');
    expect(events).toContain(`ScalingReplicaSet: Scaled up replica set ${oldRS.metadata.name} from 8 to 14`);
    expect(events).toContain(`ScalingReplicaSet: Scaled up replica set ${newRS.metadata.name} from 5 to 9`);
  });

  it('rolls out 2000 replicas in bursts without over- or under-shooting', async () => {
    h = await startHarness();
    const { api, ns } = h;
    kubelet = await startKubelet(api, ns, { maxDelayMs: 1 });
    await api.create(DEPLOYMENTS, ns, deployment('big', 2000, 'v1'));
    await rolledOut(api, ns, 'big', '2000 rolled out');
    expect(await listPods(api, ns)).toHaveLength(2000);
    await setImage(api, ns, 'big', 'v2');
    const d = await waitFor(
      async () => {
        const x = await getD(api, ns, 'big');
        return (
          x.metadata.generation === (x.status as { observedGeneration?: number }).observedGeneration &&
          kubectlRolloutStatus(x).done &&
          x
        );
      },
      'v2 rolled out',
      60_000,
    );
    expect(d.status).toMatchObject({ replicas: 2000, updatedReplicas: 2000, availableReplicas: 2000 });
    const pods = await listPods(api, ns);
    expect(pods).toHaveLength(2000);
    expect(pods.every((p) => image(p) === 'v2')).toBe(true);
  });

  it('reports ProgressDeadlineExceeded when a rollout makes no progress in time', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({ clock });
    const { api, ns } = h;
    await api.create(DEPLOYMENTS, ns, deployment('stuck', 1, 'v1', { progressDeadlineSeconds: 30 }));
    const rs = await waitFor(async () => (await replicaSets(api, ns))[0], 'ReplicaSet');
    await waitFor(async () => (await listPods(api, ns)).length === 1, 'pod');
    await waitFor(async () => {
      const st = (await getD(api, ns, 'stuck')).status as { replicas?: number };
      return st.replicas === 1;
    }, 'status caught up');
    await h.rs.queue.whenDrained();
    await h.deployments?.queue.whenDrained();
    const before = condition(await getD(api, ns, 'stuck'), 'Progressing');
    expect(before).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });
    expect(kubectlRolloutStatus(await getD(api, ns, 'stuck')).done).toBe(false);
    await clock.advance(20_000);
    await h.deployments?.queue.whenDrained();
    expect(condition(await getD(api, ns, 'stuck'), 'Progressing')).toEqual(before);
    await clock.advance(15_000);
    const d = await waitFor(async () => {
      const x = await getD(api, ns, 'stuck');
      return condition(x, 'Progressing')?.reason === 'ProgressDeadlineExceeded' && x;
    }, 'ProgressDeadlineExceeded');
    expect(condition(d, 'Progressing')).toMatchObject({
      status: 'False',
      message: `ReplicaSet "${rs.metadata.name}" has timed out progressing.`,
    });
    expect(condition(d, 'Available')).toMatchObject({
      status: 'False',
      reason: 'MinimumReplicasUnavailable',
    });
    expect(kubectlRolloutStatus(d).message).toBe('deployment "stuck" exceeded its progress deadline');
  });
});
