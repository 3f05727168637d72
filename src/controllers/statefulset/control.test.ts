import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { getControllerOf } from '../util/controller-ref.js';
import { MAX_SLOTS, StatefulSetControl, slowStartBatch } from './control.js';
import { RevisionHistory, StatefulPodControl, StatusUpdater } from './pod-control.js';
import { FakeObjectManager, FakeRecorder } from './testing.js';
import { getOrdinal, getPodRevision, newRevision, readStatus } from './utils.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');

function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function mkSet(spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'set-uid' },
    spec: {
      replicas: 3,
      serviceName: 'nginx',
      podManagementPolicy: 'OrderedReady',
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: { containers: [{ name: 'c', image: 'nginx:1' }] },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'www' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      ...spec,
    },
  };
}

class Env {
  readonly objs = new FakeObjectManager();
  readonly rec = new FakeRecorder();
  nowMs = T0;
  readonly control: StatefulSetControl;

  constructor(spec: Record<string, unknown> = {}, opts: { gate?: boolean } = {}) {
    this.control = new StatefulSetControl(
      new StatefulPodControl(this.objs, this.rec),
      new RevisionHistory(this.objs),
      new StatusUpdater(this.objs),
      { now: () => this.nowMs, maxUnavailableStatefulSet: opts.gate },
    );
    this.objs.nowIso = iso(T0);
    this.objs.add('set', mkSet(spec));
  }

  get set(): KObject {
    return this.objs.sets.get('web') as KObject;
  }

  get status() {
    return readStatus(this.set);
  }

  ownedPods(): KObject[] {
    return [...this.objs.pods.values()].filter((p) => getControllerOf(p)?.uid === this.set.metadata.uid);
  }

  /** One controller pass; returns the error it threw, if any. */
  async sync(): Promise<unknown> {
    this.objs.actions.length = 0;
    try {
      await this.control.updateStatefulSet(
        structuredClone(this.set),
        this.ownedPods().map((p) => structuredClone(p)),
        [...this.objs.revisions.values()].map((r) => structuredClone(r)),
      );
      return undefined;
    } catch (err) {
      return err;
    }
  }

  async syncOk(): Promise<string[]> {
    const err = await this.sync();
    if (err) throw err;
    return [...this.objs.actions];
  }

  /** Actions of one pass that touch pods. */
  async podActions(): Promise<string[]> {
    return (await this.syncOk()).filter((a) => a.includes(' pod '));
  }

  podNames(): string[] {
    return [...this.objs.pods.values()]
      .sort((a, b) => getOrdinal(a) - getOrdinal(b))
      .map((p) => `${p.metadata.name}${p.metadata.deletionTimestamp ? '(T)' : ''}`);
  }

  /** The kubelet: bound, Running, Ready since now. */
  ready(name: string, ready = true): void {
    this.objs.mutate('pod', name, (p) => {
      (p.spec as Record<string, unknown>).nodeName = 'node-1';
      p.status = {
        phase: 'Running',
        conditions: [
          { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: iso(this.nowMs) },
        ],
      };
    });
  }

  phase(name: string, phase: string): void {
    this.objs.mutate('pod', name, (p) => {
      p.status = { ...(p.status as object), phase };
    });
  }

  /** The kubelet finishing a graceful deletion. */
  finish(name: string): void {
    this.objs.remove('pod', name);
  }

  /** Runs passes, making every pod ready and finishing deletions, until nothing changes. */
  async settle(max = 50): Promise<void> {
    for (let i = 0; i < max; i++) {
      for (const p of [...this.objs.pods.values()]) {
        const name = p.metadata.name as string;
        if (p.metadata.deletionTimestamp) this.finish(name);
        else if ((p.status as { phase?: string } | undefined)?.phase !== 'Running') this.ready(name);
      }
      const actions = await this.syncOk();
      if (actions.length === 0) return;
    }
    throw new Error('did not settle');
  }

  updateSpec(fn: (spec: Record<string, unknown>) => void): void {
    this.objs.mutate('set', 'web', (s) => {
      fn(s.spec as Record<string, unknown>);
      s.metadata.generation = (s.metadata.generation ?? 1) + 1;
    });
  }

  image(img: string): void {
    this.updateSpec((spec) => {
      const tpl = spec.template as { spec: { containers: Array<{ image: string }> } };
      (tpl.spec.containers[0] as { image: string }).image = img;
    });
  }

  revisionOf(name: string): string {
    return getPodRevision(this.objs.pods.get(name) as KObject);
  }
}

describe('slowStartBatch', () => {
  it('runs batches of 1, 2, 4, … and stops after a failing batch', async () => {
    const seen: number[][] = [];
    let batch: number[] = [];
    const n = await slowStartBatch(1, 10, async (i) => {
      batch.push(i);
      await Promise.resolve();
      if (batch.length > 0) {
        seen.push(batch);
        batch = [];
      }
    });
    expect(n).toBe(10);
    expect(seen.map((b) => b.length)).toEqual([1, 2, 4, 3]);
    let calls = 0;
    await expect(
      slowStartBatch(1, 10, async (i) => {
        calls++;
        if (i === 2) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(calls).toBe(3);
  });
});

describe('StatefulSetControl: scaling', () => {
  it('OrderedReady creates one pod per pass, claim first, and waits for Running+Ready', async () => {
    const e = new Env();
    expect(await e.syncOk()).toEqual([
      expect.stringMatching(/^create revision web-/),
      'create claim www-web-0',
      'create pod web-0',
      'update status web',
    ]);
    expect(e.rec.events.slice(0, 2)).toEqual([
      {
        type: 'Normal',
        reason: 'SuccessfulCreate',
        message: 'create Claim www-web-0 Pod web-0 in StatefulSet web success',
      },
      {
        type: 'Normal',
        reason: 'SuccessfulCreate',
        message: 'create Pod web-0 in StatefulSet web successful',
      },
    ]);
    // web-0 exists but is not ready: nothing else happens.
    expect(await e.podActions()).toEqual([]);
    e.ready('web-0', false);
    expect(await e.podActions()).toEqual([]);
    e.ready('web-0');
    expect(await e.podActions()).toEqual(['create pod web-1']);
    e.ready('web-1');
    expect(await e.podActions()).toEqual(['create pod web-2']);
    e.ready('web-2');
    await e.syncOk();
    const pod = e.objs.pods.get('web-1') as KObject;
    expect(pod.metadata.labels?.['controller-revision-hash']).toBe(e.status.updateRevision);
    expect(e.status).toEqual({
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
      currentRevision: e.status.updateRevision,
      updateRevision: e.status.updateRevision,
      collisionCount: 0,
    });
    // Nothing changed: no status write either.
    expect(await e.syncOk()).toEqual([]);
  });

  it('OrderedReady honours minReadySeconds before creating the next pod', async () => {
    const e = new Env({ minReadySeconds: 10 });
    await e.syncOk();
    e.ready('web-0');
    expect(await e.podActions()).toEqual([]);
    expect(e.status.readyReplicas).toBe(1);
    expect(e.status.availableReplicas).toBe(0);
    e.nowMs += 10_000;
    expect(await e.podActions()).toEqual(['create pod web-1']);
    expect(e.status.availableReplicas).toBe(1);
  });

  it('Parallel creates every missing pod in one pass and is not blocked by unready pods', async () => {
    const e = new Env({ podManagementPolicy: 'Parallel', replicas: 5 });
    expect(await e.podActions()).toEqual([
      'create pod web-0',
      'create pod web-1',
      'create pod web-2',
      'create pod web-3',
      'create pod web-4',
    ]);
    e.updateSpec((s) => {
      s.replicas = 1;
    });
    // All condemned pods go at once, highest first, even though none is ready.
    expect(await e.podActions()).toEqual([
      'delete pod web-4',
      'delete pod web-3',
      'delete pod web-2',
      'delete pod web-1',
    ]);
    expect(e.podNames()).toEqual(['web-0']);
  });

  it('OrderedReady scales down one pod per pass, highest first, waiting for terminations', async () => {
    const e = new Env();
    await e.settle();
    e.updateSpec((s) => {
      s.replicas = 1;
    });
    expect(await e.podActions()).toEqual(['delete pod web-2']);
    expect(e.podNames()).toEqual(['web-0', 'web-1', 'web-2(T)']);
    // Terminating: wait.
    expect(await e.podActions()).toEqual([]);
    e.finish('web-2');
    expect(await e.podActions()).toEqual(['delete pod web-1']);
    expect(e.rec.events.at(-1)).toEqual({
      type: 'Normal',
      reason: 'SuccessfulDelete',
      message: 'delete Pod web-1 in StatefulSet web successful',
    });
  });

  it('OrderedReady scale-down halts on an unhealthy pod unless it is the first unhealthy one', async () => {
    const e = new Env({ replicas: 4 });
    await e.settle();
    e.updateSpec((s) => {
      s.replicas = 1;
    });
    // web-2 and web-3 unready: web-2 is the first unhealthy pod, so web-3 may not go.
    e.ready('web-2', false);
    e.ready('web-3', false);
    expect(await e.podActions()).toEqual([]);
    // Only web-3 unready: it is the first unhealthy pod and is deleted.
    e.ready('web-2');
    expect(await e.podActions()).toEqual(['delete pod web-3']);
    e.finish('web-3');
    // An unready in-range pod blocks everything.
    e.ready('web-0', false);
    expect(await e.podActions()).toEqual([]);
  });

  it('honours ordinals.start when it moves', async () => {
    const e = new Env({ replicas: 2, ordinals: { start: 2 } });
    await e.settle();
    expect(e.podNames()).toEqual(['web-2', 'web-3']);
    e.updateSpec((s) => {
      s.ordinals = { start: 4 };
    });
    // Scale up into the new range first, in order, then remove the old ordinals highest first.
    expect(await e.podActions()).toEqual(['create pod web-4']);
    e.ready('web-4');
    expect(await e.podActions()).toEqual(['create pod web-5']);
    e.ready('web-5');
    expect(await e.podActions()).toEqual(['delete pod web-3']);
    e.finish('web-3');
    expect(await e.podActions()).toEqual(['delete pod web-2']);
    e.finish('web-2');
    expect(e.podNames()).toEqual(['web-4', 'web-5']);
    expect(e.objs.claims.has('www-web-4')).toBe(true);
  });

  it('only writes status while the set is being deleted', async () => {
    const e = new Env();
    e.objs.mutate('set', 'web', (s) => {
      s.metadata.deletionTimestamp = iso(T0);
    });
    const actions = await e.syncOk();
    expect(actions.filter((a) => !a.startsWith('create revision'))).toEqual(['update status web']);
    expect(e.objs.pods.size).toBe(0);
  });

  it('refuses (with an error, not an out-of-memory crash) more replicas than it can hold slots for', async () => {
    const e = new Env({ replicas: 2_147_483_647, podManagementPolicy: 'Parallel' });
    const err = await e.sync();
    expect(String(err)).toContain(`exceeds the ${MAX_SLOTS} replicas per StatefulSet`);
    expect(e.objs.pods.size).toBe(0);
  });
});

describe('StatefulSetControl: pod lifecycle', () => {
  it('deletes a Failed pod and recreates the same name on a later pass', async () => {
    const e = new Env();
    await e.settle();
    const oldUid = e.objs.pods.get('web-1')?.metadata.uid;
    e.phase('web-1', 'Failed');
    expect(await e.podActions()).toEqual(['delete pod web-1']);
    expect(e.podNames()).toEqual(['web-0', 'web-2']);
    expect(await e.podActions()).toEqual(['create pod web-1']);
    expect(e.objs.pods.get('web-1')?.metadata.uid).not.toBe(oldUid);
    // OrderedReady: the new web-1 must be ready before web-2 is looked at.
    e.phase('web-2', 'Succeeded');
    expect(await e.podActions()).toEqual([]);
    e.ready('web-1');
    expect(await e.podActions()).toEqual(['delete pod web-2']);
  });

  it('never replaces a pod that is still terminating', async () => {
    const e = new Env({ podManagementPolicy: 'Parallel' });
    await e.settle();
    await e.objs.deletePod(e.objs.pods.get('web-1') as KObject);
    expect(e.podNames()).toEqual(['web-0', 'web-1(T)', 'web-2']);
    expect(await e.podActions()).toEqual([]);
    expect(await e.podActions()).toEqual([]);
    e.finish('web-1');
    expect(await e.podActions()).toEqual(['create pod web-1']);
  });

  it('repairs a pod whose identity label was removed', async () => {
    const e = new Env({ replicas: 1 });
    await e.settle();
    e.objs.mutate('pod', 'web-0', (p) => {
      delete p.metadata.labels?.['statefulset.kubernetes.io/pod-name'];
    });
    expect(await e.podActions()).toEqual(['update pod web-0']);
    expect(e.objs.pods.get('web-0')?.metadata.labels?.['statefulset.kubernetes.io/pod-name']).toBe('web-0');
    expect(e.rec.events.at(-1)?.message).toBe('update Pod web-0 in StatefulSet web successful');
  });

  it('recreates a missing claim for a Pending pod', async () => {
    const e = new Env({ replicas: 1 });
    await e.syncOk();
    e.objs.remove('claim', 'www-web-0');
    expect(await e.syncOk()).toContain('create claim www-web-0');
  });

  it('does not create a pod whose claim is being deleted', async () => {
    const e = new Env({ replicas: 1 });
    e.objs.add('claim', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'www-web-0',
        namespace: 'ns',
        deletionTimestamp: iso(T0),
        finalizers: ['kubernetes.io/pvc-protection'],
      },
    });
    const err = await e.sync();
    expect(String(err)).toContain('pvc www-web-0 is being deleted');
    expect(e.objs.pods.size).toBe(0);
    expect(e.rec.events.at(-1)).toEqual({
      type: 'Warning',
      reason: 'FailedCreate',
      message: 'create Pod web-0 in StatefulSet web failed error: pvc www-web-0 is being deleted',
    });
    e.objs.remove('claim', 'www-web-0');
    expect(await e.podActions()).toEqual(['create pod web-0']);
  });

  it('returns an error (retried) when the pod already exists, without an event', async () => {
    const e = new Env({ replicas: 1 });
    e.objs.add('pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'ns' } });
    const err = await e.sync();
    expect(String(err)).toContain('already exists');
    expect(e.rec.reasons().filter((r) => r !== 'SuccessfulCreate')).toEqual([]);
  });
});

describe('StatefulSetControl: updates', () => {
  it('rolls pods in reverse ordinal order down to the partition', async () => {
    const e = new Env({
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1, maxUnavailable: 1 } },
    });
    await e.settle();
    const revA = e.status.currentRevision;
    e.image('nginx:2');
    expect(await e.podActions()).toEqual(['delete pod web-2']);
    const revB = e.status.updateRevision;
    expect(revB).not.toBe(revA);
    expect(e.status.currentReplicas).toBe(2);
    await e.settle();
    expect([e.revisionOf('web-0'), e.revisionOf('web-1'), e.revisionOf('web-2')]).toEqual([revA, revB, revB]);
    // Not complete below the partition: currentRevision stays.
    expect(e.status).toMatchObject({
      currentRevision: revA,
      updateRevision: revB,
      currentReplicas: 1,
      updatedReplicas: 2,
    });
    // A pod deleted below the partition comes back at the current revision.
    await e.objs.deletePod(e.objs.pods.get('web-0') as KObject);
    e.finish('web-0');
    await e.settle();
    expect(e.revisionOf('web-0')).toBe(revA);
    e.updateSpec((s) => {
      s.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1 } };
    });
    await e.settle();
    expect(e.status).toMatchObject({
      currentRevision: revB,
      updateRevision: revB,
      currentReplicas: 3,
      updatedReplicas: 3,
    });
  });

  it('waits for the updated pod to be healthy before the next one (maxUnavailable 1)', async () => {
    const e = new Env();
    await e.settle();
    e.image('nginx:2');
    expect(await e.podActions()).toEqual(['delete pod web-2']);
    e.finish('web-2');
    expect(await e.podActions()).toEqual(['create pod web-2']);
    expect(await e.podActions()).toEqual([]);
    e.ready('web-2');
    expect(await e.podActions()).toEqual(['delete pod web-1']);
  });

  it('maxUnavailable=2 deletes two outdated pods at a time', async () => {
    const e = new Env({
      replicas: 5,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 2 } },
    });
    await e.settle();
    e.image('nginx:2');
    expect(await e.podActions()).toEqual(['delete pod web-4', 'delete pod web-3']);
    expect(e.status.currentReplicas).toBe(3);
    // Both terminating: OrderedReady waits.
    expect(await e.podActions()).toEqual([]);
    e.finish('web-4');
    e.finish('web-3');
    expect(await e.podActions()).toEqual(['create pod web-3']);
    e.ready('web-3');
    expect(await e.podActions()).toEqual(['create pod web-4']);
    e.ready('web-4');
    expect(await e.podActions()).toEqual(['delete pod web-2', 'delete pod web-1']);
  });

  it('maxUnavailable counts unavailable pods below the partition too (Parallel)', async () => {
    const e = new Env({
      replicas: 4,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2, maxUnavailable: 2 } },
    });
    await e.settle();
    e.ready('web-0', false);
    e.image('nginx:2');
    expect(await e.podActions()).toEqual(['delete pod web-3']);
    e.finish('web-3');
    // web-3 is recreated (not yet available) and web-0 is unready: the budget is spent.
    expect(await e.podActions()).toEqual(['create pod web-3']);
    expect(await e.podActions()).toEqual([]);
  });

  it('without the gate, updates one pod at a time regardless of maxUnavailable', async () => {
    const e = new Env(
      {
        replicas: 3,
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 3 } },
      },
      { gate: false },
    );
    await e.settle();
    e.image('nginx:2');
    expect(await e.podActions()).toEqual(['delete pod web-2']);
  });

  it('OnDelete leaves pods alone and recreates deleted ones from the update revision', async () => {
    const e = new Env({ updateStrategy: { type: 'OnDelete' } });
    await e.settle();
    const revA = e.status.currentRevision;
    e.image('nginx:2');
    expect(await e.podActions()).toEqual([]);
    const revB = e.status.updateRevision;
    await e.objs.deletePod(e.objs.pods.get('web-0') as KObject);
    e.finish('web-0');
    await e.settle();
    expect(e.revisionOf('web-0')).toBe(revB);
    expect(e.revisionOf('web-1')).toBe(revA);
    for (const n of ['web-1', 'web-2']) {
      await e.objs.deletePod(e.objs.pods.get(n) as KObject);
      e.finish(n);
    }
    await e.settle();
    // Every pod is at B, but OnDelete never advances currentRevision.
    expect(e.status).toMatchObject({ currentRevision: revA, updateRevision: revB, updatedReplicas: 3 });
  });

  it('a rollback reuses (renumbers) the old revision instead of creating one', async () => {
    const e = new Env({ replicas: 1 });
    await e.settle();
    const revA = e.status.currentRevision;
    e.image('nginx:2');
    await e.settle();
    const revB = e.status.updateRevision;
    expect(e.objs.revisions.get(revB)?.revision).toBe(2);
    e.image('nginx:1');
    const actions = await e.syncOk();
    expect(actions.filter((a) => a.includes('revision'))).toEqual([`update revision ${revA} to 3`]);
    expect(e.status.updateRevision).toBe(revA);
    await e.settle();
    expect(e.status).toMatchObject({ currentRevision: revA, updateRevision: revA });
    expect(e.revisionOf('web-0')).toBe(revA);
    expect([...e.objs.revisions.keys()].sort()).toEqual([revA, revB].sort());
  });

  it('on a name collision with other data, bumps collisionCount and renames', async () => {
    const e = new Env({ replicas: 1 });
    const wanted = newRevision(e.set, 1, 0);
    e.objs.add('revision', {
      ...wanted,
      metadata: { ...wanted.metadata, ownerReferences: [] },
      data: { spec: { template: { $patch: 'replace', metadata: { labels: { other: 'x' } } } } },
    });
    await e.syncOk();
    expect(e.status.collisionCount).toBe(1);
    expect(e.status.updateRevision).toBe(newRevision(e.set, 1, 1).metadata.name);
    expect(e.status.updateRevision).not.toBe(wanted.metadata.name);
  });

  it('truncates non-live history beyond revisionHistoryLimit', async () => {
    const e = new Env({ replicas: 1, revisionHistoryLimit: 1 });
    await e.settle();
    const revA = e.status.currentRevision;
    e.image('nginx:2');
    await e.settle();
    const revB = e.status.currentRevision;
    e.image('nginx:3');
    await e.settle();
    const revC = e.status.currentRevision;
    // A and B are history; the limit keeps the newest one of them.
    expect([...e.objs.revisions.keys()].sort()).toEqual([revB, revC].sort());
    expect(revA).not.toBe(revB);
    e.updateSpec((s) => {
      s.revisionHistoryLimit = 0;
    });
    await e.syncOk();
    expect([...e.objs.revisions.keys()]).toEqual([revC]);
  });

  it('keeps revisions that pods still use, and everything with a negative limit', async () => {
    const e = new Env({ replicas: 2, revisionHistoryLimit: 0, updateStrategy: { type: 'OnDelete' } });
    await e.settle();
    const revA = e.status.currentRevision;
    e.image('nginx:2');
    await e.settle();
    e.image('nginx:3');
    await e.settle();
    const revC = e.status.updateRevision;
    // currentRevision (A, never advanced under OnDelete) and the pods' revision stay; B goes.
    expect([...e.objs.revisions.keys()].sort()).toEqual([revA, revC].sort());
    const n = new Env({ replicas: 1, revisionHistoryLimit: -1 });
    await n.settle();
    n.image('nginx:2');
    await n.settle();
    n.image('nginx:3');
    await n.settle();
    expect(n.objs.revisions.size).toBe(3);
  });
});

describe('StatefulSetControl: PVC retention', () => {
  it('WhenDeleted=Delete gives claims a set controller ref', async () => {
    const e = new Env({
      replicas: 1,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
    });
    await e.settle();
    expect(e.objs.claims.get('www-web-0')?.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'web',
        uid: 'set-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('WhenScaled=Delete points a condemned pod claim at the pod, then waits for the GC before reuse', async () => {
    const e = new Env({
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
    });
    await e.settle();
    expect(e.objs.claims.get('www-web-2')?.metadata.ownerReferences).toBeUndefined();
    e.updateSpec((s) => {
      s.replicas = 2;
    });
    const actions = await e.syncOk();
    expect(actions).toEqual(['update claim www-web-2', 'delete pod web-2', 'update status web']);
    const uid2 = e.objs.pods.get('web-2')?.metadata.uid;
    expect(e.objs.claims.get('www-web-2')?.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: 'web-2', uid: uid2, controller: true, blockOwnerDeletion: true },
    ]);
    e.finish('web-2');
    await e.syncOk();
    // Scale back up before the garbage collector removed the claim: the stale claim blocks web-2.
    e.updateSpec((s) => {
      s.replicas = 3;
    });
    expect(await e.podActions()).toEqual([]);
    e.objs.remove('claim', 'www-web-2');
    expect(await e.syncOk()).toEqual(['create claim www-web-2', 'create pod web-2']);
  });

  it('another controller on a claim: refs stripped and a ConflictingController event', async () => {
    const e = new Env({
      replicas: 1,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' },
    });
    e.objs.add('claim', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'www-web-0',
        namespace: 'ns',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'cm-uid', controller: true },
        ],
      },
    });
    await e.settle();
    expect(e.objs.claims.get('www-web-0')?.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'cm-uid', controller: true },
    ]);
    expect(e.rec.events).toContainEqual({
      type: 'Warning',
      reason: 'ConflictingController',
      message:
        'PersistentVolumeClaim www-web-0 has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim',
    });
  });
});
