/**
 * The StatefulSet controller against the real API layer (MemoryStore → Rest →
 * InProcessClient), with the test playing the kubelet: it moves pods to
 * Running/Ready through /status and finishes graceful deletions with
 * gracePeriodSeconds 0. Templates set spec.nodeName so deletions are graceful.
 * Time is a ManualClock the polling loop advances.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { alreadyExists, forbidden, isNotFound } from '../../api/errors.js';
import type { KObject, WatchEvent } from '../../api/types.js';
import type { InProcessClient } from '../../client/in-process.js';
import { InformerFactory } from '../../client/informer.js';
import { ManualClock } from '../../client/workqueue.js';
import { type Poll, startInProcessApi, tryGet, waitFor } from '../../testing/in-process.js';
import { getControllerOf } from '../util/controller-ref.js';
import { CONTROLLERREVISIONS, PODS, PVCS, STATEFULSETS } from '../util/resources.js';
import { isRoutineError, StatefulSetController } from './controller.js';
import { AggregateSyncError } from './pod-control.js';
import { getOrdinal, getPodRevision } from './utils.js';

const NS = 'sts';
const EVENTS = { group: '', version: 'v1', resource: 'events' };

function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function stsSpec(spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    replicas: 3,
    serviceName: 'nginx',
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { nodeName: 'node-1', containers: [{ name: 'nginx', image: 'nginx:1' }] },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: 'www' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
    ...spec,
  };
}

class Harness {
  readonly clock = new ManualClock(Date.now());
  readonly informers: InformerFactory;
  readonly errors: unknown[] = [];
  readonly controller: StatefulSetController;
  /** Pod watch events in order. */
  readonly podEvents: WatchEvent[] = [];
  private stopWatch: (() => void) | undefined;
  /** The kubelet makes new pods Running+Ready on every tick. */
  autoReady = true;
  /** The kubelet finishes graceful deletions on every tick. */
  autoFinish = true;

  /** `client` serves namespace NS. */
  constructor(readonly client: InProcessClient) {
    this.informers = new InformerFactory(client, { clock: this.clock });
    this.controller = new StatefulSetController(client, this.informers, {
      clock: this.clock,
      onError: (_key, err) => this.errors.push(err),
    });
  }

  async start(): Promise<void> {
    const list = await this.client.list(PODS, NS);
    const h = await this.client.watch(PODS, NS, { resourceVersion: list.metadata.resourceVersion }, (e) => {
      if (e.type !== 'BOOKMARK') this.podEvents.push(e);
    });
    this.stopWatch = () => h.stop();
    this.controller.start();
    this.informers.start();
  }

  async stop(): Promise<void> {
    this.stopWatch?.();
    await this.controller.stop();
    await this.informers.stop();
  }

  createSet(name: string, spec: Record<string, unknown>): Promise<KObject> {
    return this.client.create(STATEFULSETS, NS, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name },
      spec,
    });
  }

  async getSet(name = 'web'): Promise<KObject> {
    return this.client.get(STATEFULSETS, NS, name);
  }

  async status(name = 'web'): Promise<Record<string, unknown>> {
    return ((await this.getSet(name)).status ?? {}) as Record<string, unknown>;
  }

  async updateSpec(fn: (spec: Record<string, unknown>) => void, name = 'web'): Promise<void> {
    for (;;) {
      const set = await this.getSet(name);
      fn(set.spec as Record<string, unknown>);
      try {
        await this.client.update(STATEFULSETS, NS, set);
        return;
      } catch (err) {
        if (!String(err).includes('modified')) throw err;
      }
    }
  }

  setImage(image: string, name = 'web'): Promise<void> {
    return this.updateSpec((spec) => {
      const tpl = spec.template as { spec: { containers: Array<{ image: string }> } };
      (tpl.spec.containers[0] as { image: string }).image = image;
    }, name);
  }

  async pods(): Promise<KObject[]> {
    const items = (await this.client.list(PODS, NS)).items;
    return items.sort((a, b) => getOrdinal(a) - getOrdinal(b));
  }

  async podNames(): Promise<string[]> {
    return (await this.pods()).map((p) => `${p.metadata.name}${p.metadata.deletionTimestamp ? '(T)' : ''}`);
  }

  pod(name: string): Promise<KObject | undefined> {
    return tryGet(this.client, PODS, NS, name);
  }

  async setPodStatus(name: string, status: Record<string, unknown>): Promise<void> {
    const pod = await this.client.get(PODS, NS, name);
    await this.client.update(
      PODS,
      NS,
      { ...pod, status: { ...(pod.status as object), ...status } },
      { subresource: 'status' },
    );
  }

  ready(name: string, ready = true): Promise<void> {
    return this.setPodStatus(name, {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: iso(this.clock.now()) },
      ],
    });
  }

  async finish(name: string): Promise<void> {
    try {
      await this.client.delete(PODS, NS, name, { gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** One kubelet round. */
  async kubelet(): Promise<void> {
    for (const p of await this.pods()) {
      const name = p.metadata.name as string;
      if (p.metadata.deletionTimestamp) {
        if (this.autoFinish) await this.finish(name);
      } else if (this.autoReady && (p.status as { phase?: string } | undefined)?.phase === 'Pending') {
        await this.ready(name);
      }
    }
  }

  /** Polls (running the kubelet and advancing the clock) until fn returns something truthy. */
  until<T>(fn: Poll<T>, what: string, stepMs = 50): Promise<T> {
    return waitFor(
      async () => {
        await this.kubelet();
        const v = await fn();
        if (v === undefined || v === false) await this.clock.advance(stepMs);
        return v;
      },
      {
        what,
        intervalMs: 2,
        retryErrors: false,
        detail: async () => `; pods: ${(await this.podNames()).join(' ')}`,
      },
    );
  }

  /** Lets the controller run for a while (several passes) without waiting for anything. */
  async idle(rounds = 10): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      await this.kubelet();
      await this.clock.advance(50);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Waits for a finished rollout: every pod ready at the update revision, currentRevision caught up. */
  async settled(replicas: number, name = 'web'): Promise<Record<string, unknown>> {
    return this.until(async () => {
      const st = await this.status(name);
      const set = await this.getSet(name);
      return st.observedGeneration === set.metadata.generation &&
        st.readyReplicas === replicas &&
        st.replicas === replicas &&
        st.updatedReplicas === replicas &&
        st.currentRevision === st.updateRevision
        ? st
        : undefined;
    }, `set ${name} settled at ${replicas}`);
  }

  /** Names of pods in the order they were first seen terminating (or deleted outright). */
  deletionOrder(from = 0): string[] {
    const out: string[] = [];
    for (const e of this.podEvents.slice(from)) {
      const name = e.object.metadata.name as string;
      if ((e.type === 'DELETED' || e.object.metadata.deletionTimestamp) && !out.includes(name))
        out.push(name);
    }
    return out;
  }

  creationOrder(from = 0): string[] {
    return this.podEvents
      .slice(from)
      .filter((e) => e.type === 'ADDED')
      .map((e) => e.object.metadata.name as string);
  }

  async revisions(): Promise<KObject[]> {
    return (await this.client.list(CONTROLLERREVISIONS, NS)).items;
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function harness(): Promise<Harness> {
  const { client } = await startInProcessApi({ namespaces: [NS] });
  h = new Harness(client);
  await h.start();
  return h;
}

describe('StatefulSetController (in process)', () => {
  it('creates pods in order with identity and claims, one at a time, and reports status', async () => {
    const c = await harness();
    c.autoReady = false;
    await c.createSet('web', stsSpec());
    await c.until(() => c.pod('web-0'), 'web-0');
    await c.idle();
    expect(await c.podNames()).toEqual(['web-0']);
    await c.ready('web-0');
    await c.until(() => c.pod('web-1'), 'web-1');
    await c.idle();
    expect(await c.podNames()).toEqual(['web-0', 'web-1']);
    c.autoReady = true;
    const st = await c.settled(3);
    expect(c.creationOrder()).toEqual(['web-0', 'web-1', 'web-2']);

    const set = await c.getSet();
    expect(st).toEqual({
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: st.updateRevision,
      updateRevision: st.updateRevision,
      collisionCount: 0,
      availableReplicas: 3,
    });
    const pod = (await c.pod('web-1')) as KObject;
    expect(pod.metadata.labels).toEqual({
      app: 'nginx',
      'statefulset.kubernetes.io/pod-name': 'web-1',
      'apps.kubernetes.io/pod-index': '1',
      'controller-revision-hash': st.updateRevision,
    });
    expect(getControllerOf(pod)).toMatchObject({ kind: 'StatefulSet', name: 'web', uid: set.metadata.uid });
    expect(pod.spec).toMatchObject({
      hostname: 'web-1',
      subdomain: 'nginx',
      volumes: [{ name: 'www', persistentVolumeClaim: { claimName: 'www-web-1' } }],
    });
    const claim = await c.client.get(PVCS, NS, 'www-web-1');
    expect(claim.metadata.labels).toEqual({ app: 'nginx' });

    const revs = await c.revisions();
    expect(revs.map((r) => r.metadata.name)).toEqual([st.updateRevision]);
    expect(revs[0]?.revision).toBe(1);

    const events = (await c.client.list(EVENTS, NS)).items;
    const msgs = events.map((e) => `${e.reason} ${e.message}`);
    expect(msgs).toContain('SuccessfulCreate create Pod web-0 in StatefulSet web successful');
    expect(msgs).toContain('SuccessfulCreate create Claim www-web-0 Pod web-0 in StatefulSet web success');
    expect(events.find((e) => e.reason === 'SuccessfulCreate')?.source).toEqual({
      component: 'statefulset-controller',
    });
    expect(c.errors).toEqual([]);
  });

  it('reproduces the upstream 1.33 revision name for the same template', async () => {
    const c = await harness();
    // Upstream's testdata/compatibility_set_1.33.0.json, as a user would create it.
    await c.createSet('test', {
      replicas: 0,
      selector: { matchLabels: { app: 'foo' } },
      template: {
        metadata: { labels: { app: 'foo' }, annotations: { test: 'value' } },
        spec: { containers: [{ name: 'test', image: 'test' }] },
      },
    });
    const st = await c.until(async () => {
      const s = await c.status('test');
      return s.updateRevision ? s : undefined;
    }, 'revision');
    expect(st.updateRevision).toBe('test-c77f6d978');
    // The API serves the data with the bytes upstream stores (what kubectl compares and hashes).
    const rev = await c.client.get(CONTROLLERREVISIONS, NS, 'test-c77f6d978');
    expect(JSON.stringify(rev.data)).toBe(
      '{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null,"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}',
    );
    expect(rev.metadata.labels).toEqual({ app: 'foo', 'controller.kubernetes.io/hash': 'c77f6d978' });
  });

  it('scales down in reverse order and rolls updates in reverse order down to the partition', async () => {
    const c = await harness();
    await c.createSet('web', stsSpec({ replicas: 4 }));
    const st1 = await c.settled(4);
    let mark = c.podEvents.length;
    await c.client.patch(
      STATEFULSETS,
      NS,
      'web',
      'merge',
      { spec: { replicas: 3 } },
      { subresource: 'scale' },
    );
    await c.updateSpec((s) => {
      s.replicas = 2;
    });
    await c.settled(2);
    expect(c.deletionOrder(mark)).toEqual(['web-3', 'web-2']);

    await c.updateSpec((s) => {
      s.replicas = 3;
      s.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 1 } };
    });
    await c.settled(3);
    mark = c.podEvents.length;
    await c.setImage('nginx:2');
    const st2 = await c.until(async () => {
      const s = await c.status();
      return s.updatedReplicas === 2 && s.readyReplicas === 3 ? s : undefined;
    }, 'partitioned rollout');
    expect(st2.updateRevision).not.toBe(st1.updateRevision);
    expect(st2.currentRevision).toBe(st1.updateRevision);
    expect(c.deletionOrder(mark)).toEqual(['web-2', 'web-1']);
    const revs = (await c.pods()).map(getPodRevision);
    expect(revs).toEqual([st1.updateRevision, st2.updateRevision, st2.updateRevision]);

    await c.updateSpec((s) => {
      s.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
    });
    const st3 = await c.settled(3);
    expect(st3.currentRevision).toBe(st2.updateRevision);
    expect(c.deletionOrder(mark)).toEqual(['web-2', 'web-1', 'web-0']);
  });

  it('maxUnavailable=2 updates two pods at a time', async () => {
    const c = await harness();
    await c.createSet(
      'web',
      stsSpec({
        replicas: 4,
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
      }),
    );
    await c.settled(4);
    c.autoFinish = false;
    const mark = c.podEvents.length;
    await c.setImage('nginx:2');
    await c.until(
      async () => (await c.podNames()).join(' ') === 'web-0 web-1 web-2(T) web-3(T)',
      'two terminating',
    );
    await c.idle();
    expect(await c.podNames()).toEqual(['web-0', 'web-1', 'web-2(T)', 'web-3(T)']);
    c.autoFinish = true;
    await c.settled(4);
    expect(c.deletionOrder(mark)).toEqual(['web-3', 'web-2', 'web-1', 'web-0']);
    // web-1 went only after web-2 and web-3 came back.
    const events = c.podEvents.slice(mark);
    const firstDelete1 = events.findIndex(
      (e) => e.object.metadata.name === 'web-1' && e.object.metadata.deletionTimestamp,
    );
    const recreated = events
      .filter((e, i) => e.type === 'ADDED' && i < firstDelete1)
      .map((e) => e.object.metadata.name);
    expect(recreated).toEqual(['web-2', 'web-3']);
  });

  it('OnDelete updates only pods the user deletes', async () => {
    const c = await harness();
    await c.createSet('web', stsSpec({ replicas: 2, updateStrategy: { type: 'OnDelete' } }));
    const st1 = await c.settled(2);
    await c.setImage('nginx:2');
    const st2 = await c.until(async () => {
      const s = await c.status();
      return s.updateRevision !== st1.updateRevision ? s : undefined;
    }, 'new revision');
    await c.idle();
    expect(c.deletionOrder().length).toBe(0);
    const old1 = (await c.pod('web-1'))?.metadata.uid;
    await c.client.delete(PODS, NS, 'web-1');
    await c.until(async () => {
      const p = await c.pod('web-1');
      return p && p.metadata.uid !== old1 && (p.status as { phase?: string }).phase === 'Running'
        ? p
        : undefined;
    }, 'web-1 recreated');
    expect((await c.pods()).map(getPodRevision)).toEqual([st1.updateRevision, st2.updateRevision]);
    await c.idle();
    expect((await c.status()).currentRevision).toBe(st1.updateRevision);
  });

  it('kubectl rollout undo (revision data as SMP) rolls back onto the old revision; history is truncated', async () => {
    const c = await harness();
    await c.createSet('web', stsSpec({ replicas: 1, revisionHistoryLimit: 1 }));
    const a = await c.settled(1);
    await c.setImage('nginx:2');
    const b = await c.settled(1);
    expect(b.currentRevision).not.toBe(a.currentRevision);
    // What `kubectl rollout undo` does: PATCH the set with the old revision's data (strategic merge).
    const revA = await c.client.get(CONTROLLERREVISIONS, NS, a.currentRevision as string);
    await c.client.patch(STATEFULSETS, NS, 'web', 'strategic', revA.data);
    const back = await c.settled(1);
    expect(back.currentRevision).toBe(a.currentRevision);
    const revs = await c.revisions();
    expect(revs.map((r) => [r.metadata.name, r.revision]).sort()).toEqual(
      [
        [a.currentRevision, 3],
        [b.currentRevision, 2],
      ].sort(),
    );
    // `kubectl rollout history --revision=3` prints the template from the data.
    const rev3 = revs.find((r) => r.revision === 3) as KObject;
    const tpl = (rev3.data as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec
      .template;
    expect(tpl.spec.containers[0]?.image).toBe('nginx:1');
    // A third template: with revisionHistoryLimit 1 only one non-live revision stays.
    await c.setImage('nginx:3');
    const cst = await c.settled(1);
    await c.until(async () => ((await c.revisions()).length === 2 ? true : undefined), 'history truncated');
    const names = (await c.revisions()).map((r) => r.metadata.name);
    expect(names).toContain(cst.currentRevision);
    expect(names).toContain(a.currentRevision);
  });

  it('sets claim ownerRefs for the retention policy', async () => {
    const c = await harness();
    const set = await c.createSet(
      'web',
      stsSpec({
        replicas: 2,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' },
      }),
    );
    await c.settled(2);
    const setRef = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'web',
      uid: set.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    expect((await c.client.get(PVCS, NS, 'www-web-1')).metadata.ownerReferences).toEqual([setRef]);
    const pod1 = (await c.pod('web-1')) as KObject;
    c.autoFinish = false;
    await c.updateSpec((s) => {
      s.replicas = 1;
    });
    const claim = await c.until(async () => {
      const cl = await c.client.get(PVCS, NS, 'www-web-1');
      return cl.metadata.ownerReferences?.[0]?.kind === 'Pod' ? cl : undefined;
    }, 'pod ref on the claim');
    expect(claim.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        name: 'web-1',
        uid: pod1.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect((await c.client.get(PVCS, NS, 'www-web-0')).metadata.ownerReferences).toEqual([setRef]);
  });

  it('moves pods when ordinals.start changes', async () => {
    const c = await harness();
    await c.createSet('web', stsSpec({ replicas: 2, ordinals: { start: 2 } }));
    await c.settled(2);
    expect(await c.podNames()).toEqual(['web-2', 'web-3']);
    const mark = c.podEvents.length;
    await c.updateSpec((s) => {
      delete s.ordinals;
    });
    await c.until(async () => ((await c.podNames()).join(' ') === 'web-0 web-1' ? true : undefined), 'moved');
    await c.settled(2);
    expect(c.creationOrder(mark)).toEqual(['web-0', 'web-1']);
    expect(c.deletionOrder(mark)).toEqual(['web-3', 'web-2']);
  });

  it('recreates a failed pod under the same name and never replaces a pod still terminating', async () => {
    const c = await harness();
    await c.createSet('web', stsSpec({ replicas: 2 }));
    await c.settled(2);
    const failedUid = (await c.pod('web-1'))?.metadata.uid;
    await c.setPodStatus('web-1', { phase: 'Failed' });
    await c.until(async () => {
      const p = await c.pod('web-1');
      return p && p.metadata.uid !== failedUid ? p : undefined;
    }, 'web-1 recreated');
    await c.settled(2);

    c.autoFinish = false;
    const uid0 = (await c.pod('web-0'))?.metadata.uid;
    await c.client.delete(PODS, NS, 'web-0');
    await c.idle(20);
    const p0 = await c.pod('web-0');
    expect(p0?.metadata.uid).toBe(uid0);
    expect(p0?.metadata.deletionTimestamp).toBeDefined();
    await c.finish('web-0');
    await c.until(async () => {
      const p = await c.pod('web-0');
      return p && p.metadata.uid !== uid0 ? p : undefined;
    }, 'web-0 recreated');
  });

  it('adopts orphaned pods and releases pods whose labels stop matching', async () => {
    const c = await harness();
    const set = await c.createSet('web', stsSpec({ replicas: 1 }));
    await c.settled(1);
    await c.client.patch(PODS, NS, 'web-0', 'merge', { metadata: { ownerReferences: null } });
    await c.until(
      async () => getControllerOf((await c.pod('web-0')) as KObject)?.uid === set.metadata.uid,
      'adopted',
    );
    await c.client.patch(PODS, NS, 'web-0', 'merge', { metadata: { labels: { app: null } } });
    await c.until(async () => !getControllerOf((await c.pod('web-0')) as KObject), 'released');
    await c.client.patch(PODS, NS, 'web-0', 'merge', { metadata: { labels: { app: 'nginx' } } });
    await c.until(
      async () => getControllerOf((await c.pod('web-0')) as KObject)?.uid === set.metadata.uid,
      're-adopted',
    );
  });

  it('requeues after minReadySeconds so availableReplicas catches up', async () => {
    const c = await harness();
    await c.createSet('web', stsSpec({ replicas: 1, minReadySeconds: 30 }));
    await c.until(async () => ((await c.status()).readyReplicas === 1 ? true : undefined), 'ready');
    expect((await c.status()).availableReplicas).toBe(0);
    await c.until(
      async () => ((await c.status()).availableReplicas === 1 ? true : undefined),
      'available',
      2000,
    );
  });
});

describe('isRoutineError', () => {
  it('is quiet about cache lag and waiting, loud about the rest', () => {
    const exists = alreadyExists({ group: '', resource: 'pods' }, 'web-0');
    expect(isRoutineError(exists)).toBe(true);
    expect(isRoutineError(new Error('pvc www-web-0 is being deleted'))).toBe(true);
    expect(isRoutineError(new Error('failed to create PVC www-web-0: x', { cause: exists }))).toBe(true);
    expect(isRoutineError(new AggregateSyncError([exists, new Error('pvc a is being deleted')]))).toBe(true);
    expect(isRoutineError(new AggregateSyncError([exists, new Error('boom')]))).toBe(false);
    expect(isRoutineError(forbidden('pods "web-0" is forbidden: exceeded quota'))).toBe(false);
    expect(isRoutineError(new Error('boom'))).toBe(false);
  });
});
