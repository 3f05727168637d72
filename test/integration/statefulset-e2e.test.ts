/**
 * The upstream StatefulSet e2e suite (kubernetes/kubernetes
 * test/e2e/apps/statefulset.go, 1.31–1.33), run in process against the
 * StatefulSet controller, scheduler, volume controllers, garbage collector and
 * simulated nodes. Test names follow upstream. Where the upstream test execs
 * into containers (readiness probes, files on /data), the sim agent's pod
 * annotations stand in for the container behaviour (see sts-helpers.ts).
 *
 * Beyond the upstream end-state checks, every test records the namespace's pod
 * watch stream and asserts orderings (creation in ordinal order, each pod only
 * after its predecessor was Running and Ready; scale-down in reverse order,
 * each pod only after its successor was gone) and the "at most one pod per
 * identity" invariant.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isConflict, isNotFound } from '../../src/api/errors.js';
import { isObject, type KObject, type OwnerReference } from '../../src/api/types.js';
import {
  CONTROLLERREVISIONS,
  NAMESPACES,
  NODES,
  PODS,
  PVCS,
  STATEFULSETS,
} from '../../src/controllers/util/resources.js';
import { startTestCluster, type TestCluster, waitFor } from './harness.js';
import {
  activePodNames,
  BUSYBOX_IMAGE,
  breakPodProbe,
  breakProbe,
  confirmStatefulPodCount,
  containers,
  controllerOf,
  createService,
  createStatefulSet,
  deleteStatefulPodAtIndex,
  getPod,
  getPodList,
  getStatefulSet,
  HTTPD_IMAGE,
  headlessService,
  isReady,
  isRunningAndReady,
  listPVCs,
  NEW_HTTPD_IMAGE,
  newStatefulSet,
  nth,
  PAUSE_IMAGE,
  POD_INDEX_LABEL,
  POD_NAME_LABEL,
  PodTimeline,
  pauseNewPods,
  phase,
  podClaimName,
  podImage,
  podRevision,
  pvcPhase,
  readyTransitionMs,
  rec,
  removePodFinalizer,
  restart,
  restorePodProbe,
  restoreProbe,
  resumeNextPod,
  SIM_EXIT_ON_SIGTERM,
  type StsStatus,
  saturate,
  scale,
  serviceEndpointHostnames,
  setImage,
  sleep,
  stsSpec,
  stsStatus,
  templateSpec,
  updatePodWithRetries,
  updatePVCWithRetries,
  updateReplicas,
  updateStatefulSetWithRetries,
  verifyStatefulSetPVCsExist,
  verifyStatefulSetPVCsExistWithOwnerRefs,
  WAIT_MS,
  WEBSERVER_IMAGE_NAME,
  waitForPartitionedRollingUpdate,
  waitForPodNames,
  waitForPodNotReady,
  waitForPodReady,
  waitForRollingUpdate,
  waitForRunning,
  waitForRunningAndNotReady,
  waitForRunningAndReady,
  waitForState,
  waitForStatus,
  waitForStatusCount,
} from './sts-helpers.js';

const TEST_FINALIZER = 'example.com/test-finalizer';
const EVENTS = { group: '', version: 'v1', resource: 'events' };
/** How long "nothing happens" windows last (upstream: 10 s confirmStatefulPodCount). */
const QUIET_MS = 1500;

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster({ nodes: 3 });
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
});

function client() {
  return cluster.client;
}

/** Upstream AfterEach deletes every set (and claims); dropping the namespace does that and more. */
async function dropNamespace(ns: string | undefined): Promise<void> {
  if (!ns) return;
  try {
    await client().delete(NAMESPACES, undefined, ns);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** The per-test teardown: stops the timeline, checks its invariants and drops the namespace either way. */
async function finishTest(timeline: PodTimeline, ns: string): Promise<void> {
  timeline.stop();
  try {
    timeline.expectNoViolations();
  } finally {
    await dropNamespace(ns);
  }
}

/** Changes the image of the set's first container (with retries on conflicts). */
function updateImage(ns: string, name: string, image: string): Promise<KObject> {
  return updateStatefulSetWithRetries(client(), ns, name, (s) => setImage(s, image));
}

interface Version {
  image: string;
  revision: string | undefined;
}

/** Three pods: those below `partition` at the `old` image and revision, the others at `updated`. */
function expectPartitioned(pods: KObject[], partition: number, old: Version, updated: Version): void {
  expect(pods).toHaveLength(3);
  for (let i = 0; i < pods.length; i++) {
    const want = i < partition ? old : updated;
    expect(podImage(nth(pods, i)), `${nth(pods, i).metadata.name} image`).toBe(want.image);
    expect(podRevision(nth(pods, i)), `${nth(pods, i).metadata.name} revision`).toBe(want.revision);
  }
}

/** e2enode.GetRandomReadySchedulableNode (deterministic: the first by name). */
async function readySchedulableNode(): Promise<KObject> {
  const nodes = (await client().list(NODES, undefined)).items;
  const ready = nodes
    .filter((n) => rec(n.spec).unschedulable !== true)
    .filter((n) => {
      const conds = rec(n.status).conditions;
      return (
        Array.isArray(conds) && conds.some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True')
      );
    })
    .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  expect(ready.length, 'a Ready schedulable node').toBeGreaterThan(0);
  return nth(ready, 0);
}

function names(set: string, ordinals: number[]): string[] {
  return ordinals.map((i) => `${set}-${i}`);
}

function podRefs(pods: KObject[]): Array<{ name: string; uid: string }> {
  return pods.map((p) => ({ name: p.metadata.name ?? '', uid: p.metadata.uid ?? '' }));
}

/** Per-member identity the control plane guarantees: hostname, subdomain, labels, claims. */
interface MemberIdentity {
  hostname: unknown;
  subdomain: unknown;
  podNameLabel: string | undefined;
  podIndexLabel: string | undefined;
  claims: Record<string, { claim: string; uid: string | undefined; volumeName: unknown }>;
}

/**
 * CheckHostname + CheckServiceName + CheckMount, as far as the control plane
 * decides them: each pod's hostname is its name, its subdomain the governing
 * Service, and each claim-template volume mounts its own Bound claim
 * `<template>-<pod>` carrying the selector labels.
 */
async function memberIdentities(
  ns: string,
  ss: KObject,
  serviceName: string,
): Promise<Record<string, MemberIdentity>> {
  const set = await getStatefulSet(client(), ns, ss.metadata.name ?? '');
  const templates = rec(set.spec).volumeClaimTemplates;
  const claimTemplates = Array.isArray(templates)
    ? templates.map((t) => String(rec(rec(t).metadata).name))
    : [];
  const selector = rec(rec(rec(set.spec).selector).matchLabels) as Record<string, string>;
  const out: Record<string, MemberIdentity> = {};
  for (const pod of await getPodList(client(), set)) {
    const name = pod.metadata.name ?? '';
    const spec = rec(pod.spec);
    expect(spec.hostname, `${name} hostname`).toBe(name);
    expect(spec.subdomain, `${name} subdomain`).toBe(serviceName);
    expect(pod.metadata.labels?.[POD_NAME_LABEL]).toBe(name);
    expect(pod.metadata.labels?.[POD_INDEX_LABEL]).toBe(
      String(Number(name.slice(name.lastIndexOf('-') + 1))),
    );
    const claims: MemberIdentity['claims'] = {};
    for (const t of claimTemplates) {
      const claimName = podClaimName(pod, t);
      expect(claimName, `${name} volume ${t}`).toBe(`${t}-${name}`);
      const pvc = await waitFor(
        async () => {
          const c = await client().get(PVCS, ns, claimName ?? '');
          return pvcPhase(c) === 'Bound' ? c : undefined;
        },
        WAIT_MS,
        `claim ${claimName} Bound`,
      );
      for (const [k, v] of Object.entries(selector))
        expect(pvc.metadata.labels?.[k], `${claimName} label ${k}`).toBe(v);
      claims[t] = { claim: claimName ?? '', uid: pvc.metadata.uid, volumeName: rec(pvc.spec).volumeName };
    }
    out[name] = {
      hostname: spec.hostname,
      subdomain: spec.subdomain,
      podNameLabel: pod.metadata.labels?.[POD_NAME_LABEL],
      podIndexLabel: pod.metadata.labels?.[POD_INDEX_LABEL],
      claims,
    };
  }
  return out;
}

/**
 * The pods `old` (sorted by ordinal) were replaced in reverse ordinal order, each
 * only after the replacement of its successor was Running and Ready.
 */
function expectReverseOrderedUpdate(timeline: PodTimeline, old: KObject[], from: number): void {
  const refs = podRefs(old);
  const oldUids = new Set(refs.map((r) => r.uid));
  const starts = refs.map((r) => timeline.terminationStartAt(r.name, r.uid, from));
  for (let k = 0; k < refs.length; k++) {
    expect(nth(starts, k), `${nth(refs, k).name} was never replaced`).toBeGreaterThanOrEqual(0);
  }
  for (let k = refs.length - 2; k >= 0; k--) {
    expect(nth(starts, k), `${nth(refs, k).name} replaced before ${nth(refs, k + 1).name}`).toBeGreaterThan(
      nth(starts, k + 1),
    );
    const successorReady = timeline.indexOf(
      (e) =>
        e.pod.metadata.name === nth(refs, k + 1).name &&
        !oldUids.has(e.pod.metadata.uid ?? '') &&
        e.type !== 'DELETED' &&
        isRunningAndReady(e.pod),
      from,
    );
    expect(successorReady, `new ${nth(refs, k + 1).name} never became Ready`).toBeGreaterThanOrEqual(0);
    expect(
      successorReady,
      `${nth(refs, k).name} deleted before new ${nth(refs, k + 1).name} was Ready`,
    ).toBeLessThan(nth(starts, k));
  }
}

/** No pod of the namespace started terminating since `from`. */
function expectNoTermination(timeline: PodTimeline, from: number): void {
  const i = timeline.indexOf((e) => e.type === 'DELETED' || !!e.pod.metadata.deletionTimestamp, from);
  expect(
    i === -1 ? 'none' : `${nth(timeline.entries, i).pod.metadata.name} (${nth(timeline.entries, i).type})`,
  ).toBe('none');
}

describe('[sig-apps] StatefulSet', () => {
  describe('Basic StatefulSet functionality [StatefulSetBasic]', () => {
    const ssName = 'ss';
    const labels = { foo: 'bar', baz: 'blah' };
    const headlessSvcName = 'test';
    let ns: string;
    let ss: KObject;
    let timeline: PodTimeline;

    beforeEach(async () => {
      ns = await cluster.namespace('sts');
      const statefulPodMounts = [{ name: 'datadir', mountPath: '/data/' }];
      const podMounts = [{ name: 'home', mountPath: '/home' }];
      ss = newStatefulSet(ssName, ns, headlessSvcName, 2, statefulPodMounts, podMounts, labels);
      await createService(client(), ns, headlessService(headlessSvcName, labels));
      timeline = await PodTimeline.start(client(), ns);
    });

    afterEach(() => finishTest(timeline, ns));

    /** A set of `replicas` pods without volumes, governed by the headless Service. */
    const plainSet = (name: string, replicas: number) =>
      newStatefulSet(name, ns, headlessSvcName, replicas, undefined, undefined, labels);

    it('should provide basic identity', async () => {
      stsSpec(ss).replicas = 3;
      pauseNewPods(ss);
      await createStatefulSet(client(), ns, ss);

      // Saturate: each pod is created only once its predecessor is resumed (Ready).
      await saturate(client(), ss);
      await timeline.settle();
      timeline.expectOrderedCreation(names(ssName, [0, 1, 2]));

      // CheckMount / CheckHostname / CheckServiceName
      const before = await memberIdentities(ns, ss, headlessSvcName);
      expect(Object.keys(before).sort()).toEqual(names(ssName, [0, 1, 2]));
      expect(stsSpec(await getStatefulSet(client(), ns, ssName)).serviceName).toBe(headlessSvcName);
      // Not checkable without real containers: `echo $(hostname) > /data/hostname`, the
      // symlink, and reading both back after the restart (real-runtime suite). What the
      // control plane guarantees for that is checked below: same claims, same volumes.

      // Status, revision and events as the upstream controller writes them.
      const { set: settled, pods: settledPods } = await waitForState(
        client(),
        ss,
        (s) => {
          const st = stsStatus(s);
          return (
            st.replicas === 3 &&
            st.readyReplicas === 3 &&
            st.availableReplicas === 3 &&
            st.currentReplicas === 3 &&
            st.updatedReplicas === 3 &&
            !!st.currentRevision &&
            st.currentRevision === st.updateRevision
          );
        },
        'status to count 3 ready, available, current and updated replicas',
      );
      const revision = stsStatus(settled).updateRevision ?? '';
      for (const p of settledPods) expect(podRevision(p), p.metadata.name).toBe(revision);
      const revObj = await client().get(CONTROLLERREVISIONS, ns, revision);
      expect(revision.startsWith(`${ssName}-`)).toBe(true);
      expect(revObj.metadata.labels?.['controller.kubernetes.io/hash']).toBe(
        revision.slice(ssName.length + 1),
      );
      expect(controllerOf(revObj)?.uid).toBe(settled.metadata.uid);
      expect(revObj.revision).toBe(1);
      await expectSetEvents(ns, ssName, [
        ...[0, 1, 2].map(
          (i) => `create Claim datadir-${ssName}-${i} Pod ${ssName}-${i} in StatefulSet ${ssName} success`,
        ),
        ...[0, 1, 2].map((i) => `create Pod ${ssName}-${i} in StatefulSet ${ssName} successful`),
      ]);

      const podsBefore = await getPodList(client(), ss);
      const from = timeline.entries.length;
      await restart(client(), ss);
      // Upstream the readiness marker survives on the volume; the sim cannot keep it, so
      // the restarted pods are resumed one by one again (which re-checks ordered start-up).
      await saturate(client(), ss);
      await timeline.settle();
      timeline.expectOrderedTermination(podRefs([...podsBefore].reverse()), from);
      timeline.expectOrderedCreation(
        names(ssName, [0, 1, 2]),
        timeline.deletedAt(`${ssName}-0`, undefined, from),
      );

      const after = await memberIdentities(ns, ss, headlessSvcName);
      expect(after).toEqual(before);
    }, 60_000);

    it('should adopt matching orphans and release non-matching pods', async () => {
      stsSpec(ss).replicas = 1;
      pauseNewPods(ss);
      const created = await createStatefulSet(client(), ns, ss);
      await saturate(client(), created);
      const pods = await getPodList(client(), created);
      expect(pods).toHaveLength(1);

      // Checking that stateful set pods are created with ControllerRef
      const pod = nth(pods, 0);
      const podName = pod.metadata.name ?? '';
      const ref = controllerOf(pod);
      expect(ref).toMatchObject({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: ssName,
        uid: created.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      });

      const adopted = (p: KObject): boolean => {
        const r = controllerOf(p);
        if (!r) return false;
        if (r.kind !== 'StatefulSet' || r.name !== ssName || r.uid !== created.metadata.uid) {
          throw new Error(`pod has wrong controllerRef: ${JSON.stringify(r)}`);
        }
        return true;
      };
      const readopted = () =>
        waitFor(async () => adopted(await client().get(PODS, ns, podName)), WAIT_MS, 'pod to be readopted');

      // Orphaning one of the stateful set's pods
      await updatePodWithRetries(client(), ns, podName, (p) => {
        delete p.metadata.ownerReferences;
      });
      await readopted();

      // Removing the labels from one of the stateful set's pods
      const prevLabels = pod.metadata.labels;
      await updatePodWithRetries(client(), ns, podName, (p) => {
        delete p.metadata.labels;
      });
      await waitFor(
        async () => controllerOf(await client().get(PODS, ns, podName)) === undefined,
        WAIT_MS,
        'pod to be released',
      );
      // A released pod is left alone: it keeps running under the same UID.
      await sleep(200);
      const released = await client().get(PODS, ns, podName);
      expect(released.metadata.uid).toBe(pod.metadata.uid);
      expect(released.metadata.deletionTimestamp).toBeUndefined();
      expect(controllerOf(released)).toBeUndefined();

      // Readding labels to the stateful set's pod
      await updatePodWithRetries(client(), ns, podName, (p) => {
        p.metadata.labels = prevLabels;
      });
      await readopted();
      expect((await client().get(PODS, ns, podName)).metadata.uid).toBe(pod.metadata.uid);
    });

    it("should not deadlock when a pod's predecessor fails", async () => {
      stsSpec(ss).replicas = 2;
      pauseNewPods(ss);
      await createStatefulSet(client(), ns, ss);

      await waitForRunning(client(), ss, 1, 0);
      // Resuming stateful pod at index 0.
      expect(await resumeNextPod(client(), ss)).toBe(`${ssName}-0`);
      // Waiting for stateful pod at index 1 to enter running.
      await waitForRunning(client(), ss, 2, 1);
      await timeline.settle();
      timeline.expectOrderedCreation(names(ssName, [0, 1]));

      // Now pod-0 is healthy and pod-1 is not. Deleting pod-0 must still get it recreated:
      // the unhealthy successor does not block its predecessor.
      const old0 = await client().get(PODS, ns, `${ssName}-0`);
      await deleteStatefulPodAtIndex(client(), 0, ss);

      // Confirming stateful pod at index 0 is recreated.
      const new0 = await waitFor(
        async () => {
          const p = await getPod(client(), ns, `${ssName}-0`);
          return p && p.metadata.uid !== old0.metadata.uid && phase(p) === 'Running' ? p : undefined;
        },
        WAIT_MS,
        'pod-0 to be recreated and Running',
      );
      // Upstream the readiness marker file is still on pod-0's volume, so the new pod-0 is
      // Ready at once; the sim cannot keep it, so the recreated pod-0 is resumed by name.
      await restorePodProbe(client(), new0);
      await waitForRunning(client(), ss, 2, 1);

      // Resuming stateful pod at index 1.
      expect(await resumeNextPod(client(), ss)).toBe(`${ssName}-1`);
      // Confirming all stateful pods in statefulset are created.
      await waitForRunningAndReady(client(), ss, 2);
    });

    /**
     * rollbackTest (test/e2e/apps/statefulset.go): with pod-1 unready a template
     * change is held; once it is Ready again pods are replaced in reverse ordinal
     * order; reverting the template reuses the prior revision (a rollback).
     */
    async function rollbackTest(set0: KObject): Promise<void> {
      const setName = set0.metadata.name ?? '';
      const replicas = Number(stsSpec(set0).replicas);
      const created = await createStatefulSet(client(), ns, set0);
      await waitForRunningAndReady(client(), created, replicas);
      await timeline.settle();
      timeline.expectOrderedCreation(names(setName, [0, 1, 2]));
      let set = await waitForStatus(client(), created);
      let { currentRevision, updateRevision } = stsStatus(set);
      expect(currentRevision, 'created with update revision equal to current revision').toBe(updateRevision);
      let pods = await getPodList(client(), set);
      for (const p of pods) expect(podRevision(p), p.metadata.name).toBe(currentRevision);

      await breakPodProbe(client(), nth(pods, 1));
      ({ set } = await waitForPodNotReady(client(), set, nth(pods, 1).metadata.name ?? ''));
      const newImage = NEW_HTTPD_IMAGE;
      const oldImage = String(nth(containers(templateSpec(set)), 0).image);
      expect(oldImage).not.toBe(newImage);

      // Updating StatefulSet template: update image
      const updateFrom = timeline.entries.length;
      set = await updateImage(ns, setName, newImage);
      // Creating a new revision
      set = await waitForStatus(client(), set);
      ({ currentRevision, updateRevision } = stsStatus(set));
      expect(
        currentRevision,
        'current revision should not equal update revision during rolling update',
      ).not.toBe(updateRevision);
      // OrderedReady: the unready pod-1 halts the whole sync, updates included.
      await sleep(QUIET_MS / 3);
      await timeline.settle();
      expectNoTermination(timeline, updateFrom);

      // Updating Pods in reverse ordinal order
      pods = await getPodList(client(), set);
      const oldPods = pods;
      await restorePodProbe(client(), nth(pods, 1));
      ({ set } = await waitForPodReady(client(), set, nth(pods, 1).metadata.name ?? ''));
      ({ set, pods } = await waitForRollingUpdate(client(), set));
      expect(stsStatus(set).currentRevision, 'current revision equals update revision on completion').toBe(
        updateRevision,
      );
      for (const p of pods) {
        expect(podImage(p), p.metadata.name).toBe(newImage);
        expect(podRevision(p), p.metadata.name).toBe(updateRevision);
      }
      await timeline.settle();
      expectReverseOrderedUpdate(timeline, oldPods, updateFrom);
      const firstUpdateRevision = updateRevision;

      // Rolling back to a previous revision
      await breakPodProbe(client(), nth(pods, 1));
      ({ set } = await waitForPodNotReady(client(), set, nth(pods, 1).metadata.name ?? ''));
      const priorRevision = currentRevision;
      const rollbackFrom = timeline.entries.length;
      set = await updateImage(ns, setName, oldImage);
      set = await waitForStatus(client(), set);
      ({ currentRevision, updateRevision } = stsStatus(set));
      expect(updateRevision, 'prior revision should equal update revision during roll back').toBe(
        priorRevision,
      );
      expect(currentRevision, 'current revision should not equal update revision during roll back').not.toBe(
        updateRevision,
      );

      // Rolling back update in reverse ordinal order
      pods = await getPodList(client(), set);
      const updatedPods = pods;
      await restorePodProbe(client(), nth(pods, 1));
      ({ set } = await waitForPodReady(client(), set, nth(pods, 1).metadata.name ?? ''));
      ({ set, pods } = await waitForRollingUpdate(client(), set));
      expect(
        stsStatus(set).currentRevision,
        'current revision equals prior revision on rollback completion',
      ).toBe(priorRevision);
      for (const p of pods) {
        expect(podImage(p), p.metadata.name).toBe(oldImage);
        expect(podRevision(p), p.metadata.name).toBe(priorRevision);
      }
      await timeline.settle();
      expectReverseOrderedUpdate(timeline, updatedPods, rollbackFrom);

      // The rollback reused the prior ControllerRevision (renumbered), it did not create a third.
      const revisions = (await client().list(CONTROLLERREVISIONS, ns)).items.filter(
        (r) => controllerOf(r)?.uid === created.metadata.uid,
      );
      expect(revisions.map((r) => r.metadata.name).sort()).toEqual(
        [priorRevision, firstUpdateRevision].sort(),
      );
      const revNumber = (name: string | undefined) =>
        revisions.find((r) => r.metadata.name === name)?.revision;
      expect(revNumber(firstUpdateRevision)).toBe(2);
      expect(revNumber(priorRevision)).toBe(3);
    }

    it('should perform rolling updates and roll backs of template modifications with PVCs', async () => {
      stsSpec(ss).replicas = 3;
      await rollbackTest(ss);
      // The replaced pods kept their claims.
      const pvcs = (await listPVCs(client(), ns)).map((p) => p.metadata.name).sort();
      expect(pvcs).toEqual(names('datadir-ss', [0, 1, 2]));
    }, 60_000);

    it('should perform rolling updates and roll backs of template modifications [Conformance]', async () => {
      const ss2 = plainSet('ss2', 3);
      await rollbackTest(ss2);
    }, 60_000);

    it('should perform canary updates and phased rolling updates of template modifications [Conformance]', async () => {
      const ss2 = plainSet('ss2', 3);
      stsSpec(ss2).updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 3 } };
      let set = await createStatefulSet(client(), ns, ss2);
      await waitForRunningAndReady(client(), set, 3);
      set = await waitForStatus(client(), set);
      const { currentRevision } = stsStatus(set);
      let { updateRevision } = stsStatus(set);
      expect(currentRevision).toBe(updateRevision);
      let pods = await getPodList(client(), set);
      for (const p of pods) expect(podRevision(p)).toBe(currentRevision);
      const newImage = NEW_HTTPD_IMAGE;
      const oldImage = String(nth(containers(templateSpec(set)), 0).image);
      expect(oldImage).not.toBe(newImage);

      const checkPartitioned = (partition: number, ps: KObject[]) =>
        expectPartitioned(
          ps,
          partition,
          { image: oldImage, revision: currentRevision },
          { image: newImage, revision: updateRevision },
        );

      // Updating stateful set template: update image
      const from = timeline.entries.length;
      set = await updateImage(ns, 'ss2', newImage);
      // Creating a new revision
      set = await waitForStatus(client(), set);
      updateRevision = stsStatus(set).updateRevision;
      expect(stsStatus(set).currentRevision).toBe(currentRevision);
      expect(
        updateRevision,
        'current revision should not equal update revision during rolling update',
      ).not.toBe(currentRevision);

      // Not applying an update when the partition is greater than the number of replicas
      await sleep(QUIET_MS / 3);
      await timeline.settle();
      expectNoTermination(timeline, from);
      const unchanged = await getPodList(client(), set);
      expect(unchanged.map((p) => p.metadata.uid)).toEqual(pods.map((p) => p.metadata.uid));
      checkPartitioned(3, unchanged);

      // Performing a canary update
      set = await updateStatefulSetWithRetries(client(), ns, 'ss2', (s) => {
        stsSpec(s).updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
      });
      ({ set, pods } = await waitForPartitionedRollingUpdate(client(), set));
      checkPartitioned(2, pods);
      // Only ss2-2 was replaced.
      await timeline.settle();
      for (const n of ['ss2-0', 'ss2-1']) {
        expect(timeline.terminationStartAt(n), `${n} must not be touched with partition 2`).toBe(-1);
      }
      expect(timeline.terminationStartAt('ss2-2')).toBeGreaterThanOrEqual(0);

      // Restoring Pods to the correct revision when they are deleted
      await deleteStatefulPodAtIndex(client(), 0, set);
      await deleteStatefulPodAtIndex(client(), 2, set);
      await waitForRunningAndReady(client(), set, 3);
      set = await getStatefulSet(client(), ns, 'ss2');
      pods = await getPodList(client(), set);
      checkPartitioned(2, pods);

      // Performing a phased rolling update
      for (let partition = 1; partition >= 0; partition--) {
        const phaseFrom = timeline.entries.length;
        const before = pods;
        set = await updateStatefulSetWithRetries(client(), ns, 'ss2', (s) => {
          stsSpec(s).updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition } };
        });
        ({ set, pods } = await waitForPartitionedRollingUpdate(client(), set));
        checkPartitioned(partition, pods);
        // Exactly the pod at the new partition boundary was replaced in this phase.
        for (let i = 0; i < 3; i++) {
          const replaced =
            timeline.terminationStartAt(`ss2-${i}`, nth(before, i).metadata.uid, phaseFrom) >= 0;
          expect(replaced, `ss2-${i} replaced with partition ${partition}`).toBe(i === partition);
        }
      }
      expect(stsStatus(set).currentRevision, 'current revision equals update revision on completion').toBe(
        updateRevision,
      );
    }, 60_000);

    /** deletingPodForRollingUpdatePartitionTest (test/e2e/apps/statefulset.go) */
    async function deletingPodForRollingUpdatePartitionTest(
      set0: KObject,
      failingPod0: boolean,
    ): Promise<void> {
      const setName = set0.metadata.name ?? '';
      stsSpec(set0).updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 1 } };
      let set = await createStatefulSet(client(), ns, set0);
      await waitForRunningAndReady(client(), set, 3);
      set = await waitForStatus(client(), set);
      let { currentRevision, updateRevision } = stsStatus(set);
      expect(currentRevision).toBe(updateRevision);
      let pods = await getPodList(client(), set);
      for (const p of pods) expect(podRevision(p)).toBe(currentRevision);

      // Adding finalizer for pod-0 (and, for the failing variant, the container of
      // pod-0 exits 1 on SIGTERM, as the upstream `sleep-exit-with-1` container does in ss3-0).
      const pod0name = `${setName}-0`;
      const pod0 = await updatePodWithRetries(client(), ns, pod0name, (p) => {
        p.metadata.finalizers = [...(p.metadata.finalizers ?? []), TEST_FINALIZER];
        if (failingPod0) p.metadata.annotations = { ...p.metadata.annotations, [SIM_EXIT_ON_SIGTERM]: '1' };
      });
      try {
        // Updating image on StatefulSet
        const newImage = NEW_HTTPD_IMAGE;
        const oldImage = String(nth(containers(templateSpec(set)), 0).image);
        expect(oldImage).not.toBe(newImage);
        set = await updateImage(ns, setName, newImage);
        // Creating a new revision
        set = await waitForStatus(client(), set);
        ({ currentRevision, updateRevision } = stsStatus(set));
        expect(currentRevision).not.toBe(updateRevision);

        // Await for all replicas running, all are updated but pod-0
        ({ set, pods } = await waitForState(
          client(),
          set,
          (s) => {
            const st = stsStatus(s);
            return st.updatedReplicas === 2 && st.replicas === 3 && st.readyReplicas === 3;
          },
          'all replicas running, all updated but pod-0',
        ));
        const verify = (ps: KObject[]) =>
          expectPartitioned(
            ps,
            1,
            { image: oldImage, revision: currentRevision },
            { image: newImage, revision: updateRevision },
          );
        // Verify pod images before pod-0 deletion and recreation
        verify(pods);
        expect(nth(pods, 0).metadata.uid).toBe(pod0.metadata.uid);

        // Deleting the pod-0 so that kubelet terminates it and StatefulSet controller recreates it
        await deleteStatefulPodAtIndex(client(), 0, set);
        // Await for two replicas to be updated, while the pod-0 is not running
        ({ set, pods } = await waitForState(
          client(),
          set,
          (s) => stsStatus(s).readyReplicas === 2,
          'two replicas ready while pod-0 terminates',
        ));
        if (failingPod0) {
          await timeline.waitFor(
            (e) => e.pod.metadata.uid === pod0.metadata.uid && phase(e.pod) === 'Failed',
            'terminating pod-0 to pass through phase Failed',
          );
        }
        // Held by its finalizer, pod-0 keeps its identity: it is not replaced meanwhile.
        await sleep(QUIET_MS / 3);
        const held = await client().get(PODS, ns, pod0name);
        expect(held.metadata.uid).toBe(pod0.metadata.uid);
        expect(held.metadata.deletionTimestamp).toBeDefined();

        // Removing finalizer from pod-0 to allow recreation
        await removePodFinalizer(client(), ns, pod0name, TEST_FINALIZER);

        // Await for recreation of pod-0, so that all replicas are running
        ({ set, pods } = await waitForState(
          client(),
          set,
          (s, ps) =>
            stsStatus(s).readyReplicas === 3 &&
            ps.length === 3 &&
            nth(ps, 0).metadata.uid !== pod0.metadata.uid,
          'recreation of pod-0',
        ));
        // Verify pod images after pod-0 deletion and recreation: pod-0 is below the
        // partition, so it comes back at the current (old) revision.
        pods = await getPodList(client(), set);
        verify(pods);
        expect(nth(pods, 0).metadata.uid).not.toBe(pod0.metadata.uid);
      } finally {
        await removePodFinalizer(client(), ns, pod0name, TEST_FINALIZER);
      }
    }

    it('should perform canary updates and phased rolling updates of template modifications for partiton1 and delete pod-0 without failing container', async () => {
      const ss2 = plainSet('ss2', 3);
      await deletingPodForRollingUpdatePartitionTest(ss2, false);
    }, 60_000);

    it('should perform canary updates and phased rolling updates of template modifications for partiton1 and delete pod-0 with failing container', async () => {
      const ss3 = plainSet('ss3', 3);
      containers(templateSpec(ss3)).push({
        name: 'sleep-exit-with-1',
        image: BUSYBOX_IMAGE,
        command: ['sh', '-c'],
        args: [
          `trap 'if [ "$\{POD_NAME}" = "ss3-0" ]; then exit 1; else exit 0; fi' TERM; while true; do sleep 1; done`,
        ],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
        ],
      });
      await deletingPodForRollingUpdatePartitionTest(ss3, true);
    }, 60_000);

    it('should implement legacy replacement when the update strategy is OnDelete', async () => {
      const ss2 = plainSet('ss2', 3);
      stsSpec(ss2).updateStrategy = { type: 'OnDelete' };
      let set = await createStatefulSet(client(), ns, ss2);
      await waitForRunningAndReady(client(), set, 3);
      set = await waitForStatus(client(), set);
      const { currentRevision } = stsStatus(set);
      expect(currentRevision).toBe(stsStatus(set).updateRevision);
      let pods = await getPodList(client(), set);
      for (const p of pods) expect(podRevision(p)).toBe(currentRevision);

      // Restoring Pods to the current revision
      for (const i of [0, 1, 2]) await deleteStatefulPodAtIndex(client(), i, set);
      await waitForRunningAndReady(client(), set, 3);
      set = await getStatefulSet(client(), ns, 'ss2');
      pods = await getPodList(client(), set);
      for (const p of pods) expect(podRevision(p)).toBe(currentRevision);
      const newImage = NEW_HTTPD_IMAGE;
      const oldImage = String(nth(containers(templateSpec(set)), 0).image);
      expect(oldImage).not.toBe(newImage);

      // Updating stateful set template: update image
      const from = timeline.entries.length;
      set = await updateImage(ns, 'ss2', newImage);
      // Creating a new revision
      set = await waitForStatus(client(), set);
      const { updateRevision } = stsStatus(set);
      expect(stsStatus(set).currentRevision).toBe(currentRevision);
      expect(updateRevision).not.toBe(currentRevision);
      // OnDelete: a template change does not touch the pods.
      await sleep(QUIET_MS / 3);
      await timeline.settle();
      expectNoTermination(timeline, from);
      const untouched = await getPodList(client(), set);
      expect(untouched.map((p) => p.metadata.uid)).toEqual(pods.map((p) => p.metadata.uid));
      for (const p of untouched) expect(podImage(p)).toBe(oldImage);

      // Recreating Pods at the new revision
      for (const i of [0, 1, 2]) await deleteStatefulPodAtIndex(client(), i, set);
      await waitForRunningAndReady(client(), set, 3);
      set = await getStatefulSet(client(), ns, 'ss2');
      pods = await getPodList(client(), set);
      for (const p of pods) {
        expect(podImage(p), p.metadata.name).toBe(newImage);
        expect(podRevision(p), p.metadata.name).toBe(updateRevision);
      }
      set = await waitForStatusCount(client(), set, 'updatedReplicas', 3);
      // With OnDelete the controller never advances currentRevision.
      expect(stsStatus(set).currentRevision).toBe(currentRevision);
    }, 60_000);

    it('Scaling should happen in predictable order and halt if any stateful pod is unhealthy [Slow] [Conformance]', async () => {
      let set = await createStatefulSet(client(), ns, plainSet(ssName, 1));
      // Waiting until all stateful set replicas will be running
      await waitForRunningAndReady(client(), set, 1);

      // Confirming that stateful set scale up will halt with unhealthy stateful pod
      await breakProbe(client(), set);
      await waitForRunningAndNotReady(client(), set, 1);
      await waitForStatusCount(client(), set, 'readyReplicas', 0);
      set = await updateReplicas(client(), set, 3);
      await confirmStatefulPodCount(client(), set, 1, QUIET_MS, true);

      // Scaling up stateful set to 3 replicas and waiting until all of them will be running
      await restoreProbe(client(), set);
      await waitForRunningAndReady(client(), set, 3);
      // Verifying that stateful set was scaled up in order
      await timeline.settle();
      timeline.expectOrderedCreation(names(ssName, [0, 1, 2]));

      // Scale down will halt with unhealthy stateful pod
      const podsBefore = await getPodList(client(), set);
      const from = timeline.entries.length;
      await breakProbe(client(), set);
      await waitForStatusCount(client(), set, 'readyReplicas', 0);
      await waitForRunningAndNotReady(client(), set, 3);
      set = await updateReplicas(client(), set, 0);
      await confirmStatefulPodCount(client(), set, 3, QUIET_MS, true);
      await timeline.settle();
      expectNoTermination(timeline, from);

      // Scaling down stateful set to 0 replicas and waiting until none of pods will run
      await restoreProbe(client(), set);
      await scale(client(), set, 0);
      // Verifying that stateful set was scaled down in reverse order
      await timeline.settle();
      timeline.expectOrderedTermination(podRefs([...podsBefore].reverse()), from);
    }, 60_000);

    it('Burst scaling should run to completion even with unhealthy pods [Slow] [Conformance]', async () => {
      const burst = plainSet(ssName, 1);
      stsSpec(burst).podManagementPolicy = 'Parallel';
      let set = await createStatefulSet(client(), ns, burst);
      // Waiting until all stateful set replicas will be running
      await waitForRunningAndReady(client(), set, 1);

      // Confirming that stateful set scale up will not halt with unhealthy stateful pod
      await breakProbe(client(), set);
      await waitForRunningAndNotReady(client(), set, 1);
      await waitForStatusCount(client(), set, 'readyReplicas', 0);
      const upFrom = timeline.entries.length;
      set = await updateReplicas(client(), set, 3);
      await confirmStatefulPodCount(client(), set, 3, QUIET_MS, false);
      // Parallel: ss-1 and ss-2 were created while ss-0 was still unready.
      for (const n of names(ssName, [1, 2])) {
        const at = timeline.addedAt(n, upFrom);
        expect(at, `${n} created`).toBeGreaterThanOrEqual(0);
        const ss0 = timeline.stateBefore(`${ssName}-0`, at);
        expect(ss0 !== undefined && !isReady(ss0), `${n} created while ${ssName}-0 was unready`).toBe(true);
      }

      // Scaling up stateful set to 3 replicas and waiting until all of them will be running
      await restoreProbe(client(), set);
      await waitForRunningAndReady(client(), set, 3);

      // Scale down will not halt with unhealthy stateful pod
      await breakProbe(client(), set);
      await waitForStatusCount(client(), set, 'readyReplicas', 0);
      await waitForRunningAndNotReady(client(), set, 3);
      set = await updateReplicas(client(), set, 0);
      await confirmStatefulPodCount(client(), set, 0, QUIET_MS, false);

      // Scaling down stateful set to 0 replicas and waiting until none of pods will run
      await restoreProbe(client(), set);
      set = await scale(client(), set, 0);
      await waitForStatusCount(client(), set, 'replicas', 0);
    }, 60_000);

    it('Should recreate evicted statefulset [Conformance]', async () => {
      const podName = 'test-pod';
      const statefulPodName = `${ssName}-0`;
      // Looking for a node to schedule stateful set and pod
      const node = await readySchedulableNode();
      const nodeName = node.metadata.name ?? '';

      // Creating pod with conflicting port
      const conflictingPort = { hostPort: 21017, containerPort: 21017, name: 'conflict' };
      const pod = await client().create(PODS, ns, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: podName },
        spec: { containers: [{ name: 'webserver', image: HTTPD_IMAGE, ports: [conflictingPort] }], nodeName },
      });
      // Waiting until pod will start running
      await waitFor(
        async () => phase(await client().get(PODS, ns, podName)) === 'Running',
        WAIT_MS,
        `${podName} Running`,
      );

      // Creating statefulset with conflicting port
      const evicted = plainSet(ssName, 1);
      const c0 = nth(containers(templateSpec(evicted)), 0);
      c0.ports = [conflictingPort];
      templateSpec(evicted).nodeName = nodeName;
      await createStatefulSet(client(), ns, evicted);

      // Waiting until stateful pod will be recreated and deleted at least once
      await timeline.waitFor(
        (e) => e.type === 'DELETED' && e.pod.metadata.name === statefulPodName,
        `${statefulPodName} to be deleted at least once`,
      );
      const initialUid = timeline.entries.find((e) => e.pod.metadata.name === statefulPodName)?.pod.metadata
        .uid;
      expect(initialUid).toBeDefined();
      // It was rejected by the node (phase Failed), which is why the controller replaced it.
      expect(timeline.everSaw(statefulPodName, (p) => phase(p) === 'Failed', initialUid)).toBe(true);

      // Removing pod with conflicting port
      await client().delete(PODS, ns, pod.metadata.name ?? '', { gracePeriodSeconds: 0 });

      // Waiting when stateful pod will be recreated and will be in running state
      await waitFor(
        async () => {
          const p = await getPod(client(), ns, statefulPodName);
          return !!p && phase(p) === 'Running' && p.metadata.uid !== initialUid;
        },
        WAIT_MS,
        `${statefulPodName} recreated and Running`,
      );
      // Every replacement had a new UID, and the name was never held twice.
      const uids = new Set(
        timeline.entries
          .filter((e) => e.pod.metadata.name === statefulPodName)
          .map((e) => e.pod.metadata.uid),
      );
      expect(uids.size).toBeGreaterThanOrEqual(2);
    });

    it('should have a working scale subresource [Conformance]', async () => {
      let set = await createStatefulSet(client(), ns, plainSet(ssName, 1));
      await waitForRunningAndReady(client(), set, 1);
      set = await waitForStatus(client(), set);
      // The status is eventually consistent with the pods: let it count the Running pod.
      set = await waitForStatusCount(client(), set, 'replicas', 1);

      // getting scale subresource
      const scaleObj = await client().get(STATEFULSETS, ns, ssName, 'scale');
      expect(scaleObj.apiVersion).toBe('autoscaling/v1');
      expect(scaleObj.kind).toBe('Scale');
      expect(rec(scaleObj.spec).replicas).toBe(1);
      expect(rec(scaleObj.status).replicas).toBe(1);

      // updating a scale subresource
      delete scaleObj.metadata.resourceVersion; // the scale update should be unconditional
      rec(scaleObj.spec).replicas = 2;
      const scaleResult = await client().update(STATEFULSETS, ns, scaleObj, { subresource: 'scale' });
      expect(rec(scaleResult.spec).replicas).toBe(2);

      // verifying the statefulset Spec.Replicas was modified
      set = await getStatefulSet(client(), ns, ssName);
      expect(stsSpec(set).replicas).toBe(2);

      // Patch a scale subresource (the payload upstream marshals from autoscalingv1.Scale)
      await client().patch(
        STATEFULSETS,
        ns,
        ssName,
        'strategic',
        { metadata: { creationTimestamp: null }, spec: { replicas: 4 }, status: { replicas: 0 } },
        { subresource: 'scale' },
      );
      // verifying the statefulset Spec.Replicas was modified
      set = await getStatefulSet(client(), ns, ssName);
      expect(stsSpec(set).replicas, 'statefulset should have 4 replicas').toBe(4);
    });

    it('should list, patch and delete a collection of StatefulSets [Conformance]', async () => {
      const ssPatchReplicas = 2;
      const ssPatchImage = PAUSE_IMAGE;
      const name = 'test-ss';
      const ssPodLabels = { name: 'sample-pod', pod: WEBSERVER_IMAGE_NAME };
      let set = await createStatefulSet(
        client(),
        ns,
        newStatefulSet(name, ns, headlessSvcName, 1, undefined, undefined, ssPodLabels),
      );
      await waitForRunningAndReady(client(), set, 1);
      await waitForStatus(client(), set);

      // patching the StatefulSet
      await client().patch(STATEFULSETS, ns, name, 'strategic', {
        metadata: { labels: { 'test-ss': 'patched' } },
        spec: {
          replicas: ssPatchReplicas,
          template: {
            spec: {
              // Sic: upstream sends this misspelt (unknown) field; the API server drops it.
              TerminationGracePeriodSeconds: 1,
              containers: [{ name, image: ssPatchImage }],
            },
          },
        },
      });
      set = await getStatefulSet(client(), ns, name);
      expect(stsSpec(set).replicas, 'statefulset should have 2 replicas').toBe(ssPatchReplicas);
      expect(nth(containers(templateSpec(set)), 0).image, 'statefulset not using ssPatchImage').toBe(
        ssPatchImage,
      );
      await waitForRunningAndReady(client(), set, ssPatchReplicas);
      await waitForStatus(client(), set);

      // Listing all StatefulSets
      let list = await client().list(STATEFULSETS, undefined, { labelSelector: 'test-ss=patched' });
      expect(list.items, "filtered list wasn't found").toHaveLength(1);

      // Delete all of the StatefulSets
      const def = cluster.rest.resource('apps', 'v1', 'statefulsets');
      expect(def).toBeDefined();
      if (!def) return;
      await cluster.rest.deleteCollection(def, ns, {
        labelSelector: 'test-ss=patched',
        gracePeriodSeconds: 1,
      });

      // Verify that StatefulSets have been deleted
      list = await client().list(STATEFULSETS, undefined, { labelSelector: 'test-ss=patched' });
      expect(list.items, 'filtered list should have no Statefulsets').toHaveLength(0);
      // The garbage collector removes the deleted set's pods.
      await waitFor(
        async () => (await getPodList(client(), set)).length === 0,
        WAIT_MS,
        'pods of the deleted set gone',
      );
    });

    it('should validate Statefulset Status endpoints [Conformance]', async () => {
      const labelSelector = 'e2e=testing';
      const events: KObject[] = [];
      /** Whether a watched version of the labelled set had a status condition matching `match`. */
      const watchedCondition = (match: (c: NonNullable<StsStatus['conditions']>[number]) => boolean) =>
        events.some(
          (o) =>
            o.metadata.name === ssName &&
            o.metadata.labels?.e2e === 'testing' &&
            (stsStatus(o).conditions ?? []).some(match),
        );
      const list = await client().list(STATEFULSETS, ns, { labelSelector });
      const watch = await client().watch(
        STATEFULSETS,
        ns,
        { labelSelector, resourceVersion: list.metadata.resourceVersion },
        (e) => {
          if (e.type === 'ADDED' || e.type === 'MODIFIED') events.push(e.object);
        },
      );
      try {
        // Creating statefulset
        let set = await createStatefulSet(client(), ns, plainSet(ssName, 1));
        await waitForRunningAndReady(client(), set, 1);
        await waitForStatus(client(), set);

        // Patch Statefulset to include a label
        set = await client().patch(STATEFULSETS, ns, ssName, 'strategic', {
          metadata: { labels: { e2e: 'testing' } },
        });
        expect(set.metadata.labels?.e2e).toBe('testing');

        // Getting /status
        const statusObj = await client().get(STATEFULSETS, ns, ssName, 'status');
        expect(statusObj.kind).toBe('StatefulSet');
        expect(statusObj.metadata.name).toBe(ssName);

        // updating the StatefulSet Status
        const updated = await updateStatefulSetWithRetriesStatus(ns, ssName, (s) => {
          const st = rec(s.status);
          const conds = Array.isArray(st.conditions) ? st.conditions : [];
          st.conditions = [
            ...conds,
            { type: 'StatusUpdate', status: 'True', reason: 'E2E', message: 'Set from e2e test' },
          ];
          s.status = st;
        });
        expect(stsStatus(updated).conditions?.some((c) => c.type === 'StatusUpdate')).toBe(true);

        // watching for the statefulset status to be updated
        await waitFor(
          () =>
            watchedCondition(
              (c) => c.type === 'StatusUpdate' && c.reason === 'E2E' && c.message === 'Set from e2e test',
            ),
          WAIT_MS,
          'the StatusUpdate condition in a watch event',
        );

        // patching the Statefulset Status
        const patched = await client().patch(
          STATEFULSETS,
          ns,
          ssName,
          'merge',
          { status: { conditions: [{ type: 'StatusPatched', status: 'True' }] } },
          { subresource: 'status' },
        );
        expect(stsStatus(patched).conditions?.map((c) => c.type)).toContain('StatusPatched');

        // watching for the Statefulset status to be patched
        await waitFor(
          () => watchedCondition((c) => c.type === 'StatusPatched'),
          WAIT_MS,
          'the StatusPatched condition in a watch event',
        );
      } finally {
        watch.stop();
      }
    });
  });

  describe('Deploy clustered applications [Feature:StatefulSet] [Slow]', () => {
    let ns: string;
    let timeline: PodTimeline;

    beforeEach(async () => {
      ns = await cluster.namespace('sts-app');
      timeline = await PodTimeline.start(client(), ns);
    });

    afterEach(() => finishTest(timeline, ns));

    interface ClusterApp {
      service: KObject;
      set: KObject;
      /** MySQL (Galera) is not restarted upstream: it does not handle restarts well. */
      restart: boolean;
    }

    function datadirClaim(): Record<string, unknown> {
      // The manifests' legacy `volume.alpha.kubernetes.io/storage-class` annotation is
      // ignored by current releases; the claims use the default StorageClass.
      return {
        metadata: { name: 'datadir' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      };
    }

    function appSet(
      name: string,
      serviceName: string,
      app: string,
      podSpec: Record<string, unknown>,
      annotations?: Record<string, string>,
    ): KObject {
      return {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name },
        spec: {
          serviceName,
          replicas: 3,
          selector: { matchLabels: { app } },
          template: { metadata: { labels: { app }, ...(annotations ? { annotations } : {}) }, spec: podSpec },
          volumeClaimTemplates: [datadirClaim()],
        },
      };
    }

    function appService(
      name: string,
      app: string,
      ports: Array<Record<string, unknown>>,
      extra = {},
    ): KObject {
      return {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, labels: { app } },
        spec: { clusterIP: 'None', selector: { app }, ports, ...extra },
      };
    }

    const podNamespaceEnv = [
      {
        name: 'POD_NAMESPACE',
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
      },
    ];

    // Readiness probes of the manifests (exec of zkCli/redis-cli/mysql) are left out:
    // the sim runtime cannot exec them; pods turn Ready when their containers run.
    const zookeeper = (): ClusterApp => ({
      service: appService(
        'zk',
        'zk',
        [
          { port: 2888, name: 'peer' },
          { port: 3888, name: 'leader-election' },
        ],
        { publishNotReadyAddresses: true },
      ),
      set: appSet('zoo', 'zk', 'zk', {
        initContainers: [
          {
            name: 'install',
            image: 'gcr.io/google_containers/zookeeper-install-3.5.0-alpha:e2e',
            args: ['--install-into=/opt', '--work-dir=/work-dir'],
            volumeMounts: [
              { name: 'opt', mountPath: '/opt/' },
              { name: 'workdir', mountPath: '/work-dir' },
            ],
          },
          {
            name: 'bootstrap',
            image: 'java:openjdk-8-jre',
            command: ['/work-dir/peer-finder'],
            args: ['-on-start="/work-dir/on-start.sh"', '-service=zk'],
            env: podNamespaceEnv,
            volumeMounts: [
              { name: 'opt', mountPath: '/opt' },
              { name: 'workdir', mountPath: '/work-dir' },
              { name: 'datadir', mountPath: '/tmp/zookeeper' },
            ],
          },
        ],
        containers: [
          {
            name: 'zk',
            image: 'java:openjdk-8-jre',
            ports: [
              { containerPort: 2888, name: 'peer' },
              { containerPort: 3888, name: 'leader-election' },
            ],
            command: ['/opt/zookeeper/bin/zkServer.sh'],
            args: ['start-foreground'],
            volumeMounts: [
              { name: 'datadir', mountPath: '/tmp/zookeeper' },
              { name: 'opt', mountPath: '/opt' },
              { name: 'workdir', mountPath: '/work-dir' },
            ],
          },
        ],
        volumes: [
          { name: 'opt', emptyDir: {} },
          { name: 'workdir', emptyDir: {} },
        ],
      }),
      restart: true,
    });

    const redis = (): ClusterApp => ({
      service: appService('redis', 'redis', [{ port: 6379, name: 'peer' }], {
        publishNotReadyAddresses: true,
      }),
      set: appSet(
        'rd',
        'redis',
        'redis',
        {
          containers: [
            {
              name: 'redis',
              image: 'debian:jessie',
              ports: [{ containerPort: 6379, name: 'peer' }],
              command: ['/opt/redis/redis-server'],
              args: ['/opt/redis/redis.conf'],
              volumeMounts: [
                { name: 'datadir', mountPath: '/data' },
                { name: 'opt', mountPath: '/opt' },
              ],
            },
          ],
          volumes: [
            { name: 'opt', emptyDir: {} },
            { name: 'workdir', emptyDir: {} },
          ],
        },
        {
          'pod.alpha.kubernetes.io/init-containers': JSON.stringify([
            { name: 'install', image: 'gcr.io/google_containers/redis-install-3.2.0:e2e' },
          ]),
        },
      ),
      restart: true,
    });

    const mysql = (): ClusterApp => ({
      service: appService('galera', 'mysql', [{ port: 3306, name: 'mysql' }], {
        publishNotReadyAddresses: true,
      }),
      set: appSet('mysql', 'galera', 'mysql', {
        initContainers: [
          {
            name: 'install',
            image: 'k8s.gcr.io/galera-install:0.1',
            args: ['--work-dir=/work-dir'],
            volumeMounts: [
              { name: 'workdir', mountPath: '/work-dir' },
              { name: 'config', mountPath: '/etc/mysql' },
            ],
          },
          {
            name: 'bootstrap',
            image: 'debian:jessie',
            command: ['/work-dir/peer-finder'],
            args: ['-on-start="/work-dir/on-start.sh"', '-service=galera'],
            env: podNamespaceEnv,
            volumeMounts: [
              { name: 'workdir', mountPath: '/work-dir' },
              { name: 'config', mountPath: '/etc/mysql' },
            ],
          },
        ],
        containers: [
          {
            name: 'mysql',
            image: 'k8s.gcr.io/mysql-galera:e2e',
            ports: [
              { containerPort: 3306, name: 'mysql' },
              { containerPort: 4444, name: 'sst' },
              { containerPort: 4567, name: 'replication' },
              { containerPort: 4568, name: 'ist' },
            ],
            args: ['--defaults-file=/etc/mysql/my-galera.cnf', '--user=root'],
            volumeMounts: [
              { name: 'datadir', mountPath: '/var/lib/' },
              { name: 'config', mountPath: '/etc/mysql' },
            ],
          },
        ],
        volumes: [
          { name: 'config', emptyDir: {} },
          { name: 'workdir', emptyDir: {} },
        ],
      }),
      restart: false,
    });

    const cockroachdb = (): ClusterApp => ({
      service: {
        ...appService('cockroachdb', 'cockroachdb', [
          { port: 26257, targetPort: 26257, name: 'grpc' },
          { port: 8080, targetPort: 8080, name: 'http' },
        ]),
        metadata: {
          name: 'cockroachdb',
          labels: { app: 'cockroachdb' },
          annotations: { 'service.alpha.kubernetes.io/tolerate-unready-endpoints': 'true' },
        },
      },
      set: appSet('cockroachdb', 'cockroachdb', 'cockroachdb', {
        initContainers: [
          {
            name: 'bootstrap',
            image: 'cockroachdb/cockroach-k8s-init:0.1',
            args: ['-on-start=/on-start.sh', '-service=cockroachdb'],
            env: podNamespaceEnv,
            volumeMounts: [{ name: 'datadir', mountPath: '/cockroach/cockroach-data' }],
          },
        ],
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 100,
                podAffinityTerm: {
                  labelSelector: {
                    matchExpressions: [{ key: 'app', operator: 'In', values: ['cockroachdb'] }],
                  },
                  topologyKey: 'kubernetes.io/hostname',
                },
              },
            ],
          },
        },
        containers: [
          {
            name: 'cockroachdb',
            image: 'cockroachdb/cockroach:v1.0',
            ports: [
              { containerPort: 26257, name: 'grpc' },
              { containerPort: 8080, name: 'http' },
            ],
            volumeMounts: [{ name: 'datadir', mountPath: '/cockroach/cockroach-data' }],
            command: ['/bin/bash', '-ecx', 'exec /cockroach/cockroach start --logtostderr --insecure'],
          },
        ],
        terminationGracePeriodSeconds: 60,
        // The template's own `datadir` volume is replaced by the per-pod claim.
        volumes: [{ name: 'datadir', persistentVolumeClaim: { claimName: 'datadir' } }],
      }),
      restart: true,
    });

    /**
     * clusterAppTester.run: deploy (CreateStatefulSet waits for all members Running
     * and Ready), write on member 0, restart the set (except MySQL), read on member 2.
     * Not checkable without real containers: the write on member 0 and the read of the
     * same value on member 2 (covered by the real-runtime suite). Checked instead: the
     * three members start in order with stable names, hostnames, subdomain and claims,
     * the governing Service publishes each member's hostname, and after the restart the
     * members come back with the same identities bound to the same claims and volumes.
     */
    async function runClusterApp(app: ClusterApp): Promise<void> {
      const setName = app.set.metadata.name ?? '';
      const serviceName = String(stsSpec(app.set).serviceName);
      await createService(client(), ns, app.service);
      let set = await createStatefulSet(client(), ns, app.set);
      await waitForRunningAndReady(client(), set, 3);
      const members = names(setName, [0, 1, 2]);
      await timeline.settle();
      timeline.expectOrderedCreation(members);

      /** DNS identity: <member>.<service> resolves through the endpoint hostnames. */
      const hostnamesPublished = (what: string) =>
        waitFor(
          async () =>
            JSON.stringify(await serviceEndpointHostnames(client(), ns, serviceName)) ===
            JSON.stringify(members),
          WAIT_MS,
          `endpoint hostnames ${what} for service ${serviceName}`,
        );

      const before = await memberIdentities(ns, set, serviceName);
      expect(Object.keys(before).sort()).toEqual(members);
      await hostnamesPublished(members.join(','));
      for (const pod of await getPodList(client(), set)) {
        expect(podClaimName(pod, 'datadir')).toBe(`datadir-${pod.metadata.name}`);
      }

      if (app.restart) {
        const podsBefore = await getPodList(client(), set);
        const from = timeline.entries.length;
        set = await restart(client(), set);
        await waitForRunningAndReady(client(), set, 3);
        await timeline.settle();
        timeline.expectOrderedTermination(podRefs([...podsBefore].reverse()), from);
        timeline.expectOrderedCreation(members, timeline.deletedAt(`${setName}-0`, undefined, from));
        const after = await memberIdentities(ns, set, serviceName);
        expect(after).toEqual(before);
        await hostnamesPublished('after restart');
      }
      // Reading from member 2: member 2 exists, is Ready and is bound to its own volume.
      const member2 = await client().get(PODS, ns, `${setName}-2`);
      expect(isRunningAndReady(member2)).toBe(true);
      expect(podClaimName(member2, 'datadir')).toBe(`datadir-${setName}-2`);
    }

    it('should creating a working zookeeper cluster', async () => {
      await runClusterApp(zookeeper());
    }, 60_000);

    it('should creating a working redis cluster', async () => {
      await runClusterApp(redis());
    }, 60_000);

    it('should creating a working mysql cluster', async () => {
      await runClusterApp(mysql());
    }, 60_000);

    it('should creating a working CockroachDB cluster', async () => {
      await runClusterApp(cockroachdb());
    }, 60_000);
  });

  // Top-level tests of the upstream suite (directly under [sig-apps] StatefulSet).
  const ssName = 'test-ss';
  const headlessSvcName = 'test';
  const ssPodLabels = { name: 'sample-pod', pod: WEBSERVER_IMAGE_NAME };

  it('MinReadySeconds should be honored when enabled', () =>
    inNamespace('sts-mrs', async (ns) => {
      const set = await createStatefulSet(
        client(),
        ns,
        newStatefulSet(ssName, ns, headlessSvcName, 1, undefined, undefined, ssPodLabels),
      );
      await waitForStatusCount(client(), set, 'availableReplicas', 1);
    }));

  it('AvailableReplicas should get updated accordingly when MinReadySeconds is enabled', () =>
    inNamespace('sts-mrs', async (ns, timeline) => {
      // Upstream uses 30 s and checks availableReplicas is still 0 after 5 s; scaled down here.
      const minReadySeconds = 3;
      const ss = newStatefulSet(ssName, ns, headlessSvcName, 2, undefined, undefined, ssPodLabels);
      stsSpec(ss).minReadySeconds = minReadySeconds;
      let set = await createStatefulSet(client(), ns, ss);
      await waitForStatusCount(client(), set, 'availableReplicas', 0);
      // let's check that the availableReplicas have still not updated
      await waitFor(
        async () => {
          const p0 = await getPod(client(), ns, `${ssName}-0`);
          return !!p0 && isReady(p0);
        },
        WAIT_MS,
        'pod-0 Ready',
      );
      await sleep(1000);
      set = await getStatefulSet(client(), ns, ssName);
      expect(stsStatus(set).availableReplicas ?? 0, 'invalid number of availableReplicas').toBe(0);
      set = await waitForStatusCount(client(), set, 'availableReplicas', 2);

      // OrderedReady waits for availability: pod-1 was created only once pod-0 had been
      // Ready for minReadySeconds (timestamps have 1 s resolution).
      await timeline.settle();
      timeline.expectOrderedCreation(names(ssName, [0, 1]));
      const pods = await getPodList(client(), set);
      const ready0 = readyTransitionMs(nth(pods, 0));
      const created1 = Date.parse(nth(pods, 1).metadata.creationTimestamp ?? '');
      expect(ready0).toBeDefined();
      expect(created1 - (ready0 ?? 0)).toBeGreaterThanOrEqual(minReadySeconds * 1000 - 1000);

      set = await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
        stsSpec(s).minReadySeconds = 3600;
      });
      // We don't expect replicas to be updated till 1 hour, so the availableReplicas should be 0
      set = await waitForStatusCount(client(), set, 'availableReplicas', 0);

      set = await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
        stsSpec(s).minReadySeconds = 0;
      });
      set = await waitForStatusCount(client(), set, 'availableReplicas', 2);

      // check availableReplicas are shown in status
      const out = stringify(await getStatefulSet(client(), ns, ssName));
      expect(out).toContain('availableReplicas: 2');
    }));

  describe('Non-retain StatefulSetPersistentVolumeClaimPolicy', () => {
    const ssName = 'ss';
    const labels = { foo: 'bar', baz: 'blah' };
    const headlessSvcName = 'test';
    const statefulPodMounts = [{ name: 'datadir', mountPath: '/data/' }];
    let ns: string;
    let ss: KObject;
    let timeline: PodTimeline;

    beforeEach(async () => {
      ns = await cluster.namespace('sts-pvc');
      const podMounts = [{ name: 'home', mountPath: '/home' }];
      ss = newStatefulSet(ssName, ns, headlessSvcName, 2, statefulPodMounts, podMounts, labels);
      await createService(client(), ns, headlessService(headlessSvcName, labels));
      timeline = await PodTimeline.start(client(), ns);
    });

    afterEach(() => finishTest(timeline, ns));

    /** Orphans pod <set>-2 and waits until the set has adopted it again. */
    async function orphanPod2AndAwaitAdoption(setUid: string | undefined): Promise<void> {
      const pod2 = `${ssName}-2`;
      // Upstream marshals metav1.ObjectMeta{OwnerReferences: []} (which omits the empty
      // list, so its patch orphans nothing); this removes the references for real.
      await client().patch(PODS, ns, pod2, 'strategic', { metadata: { ownerReferences: null } });
      await waitFor(
        async () => controllerOf(await client().get(PODS, ns, pod2))?.uid === setUid,
        WAIT_MS,
        `${pod2} to be adopted again`,
      );
    }

    it('should delete PVCs with a WhenDeleted policy', async () => {
      stsSpec(ss).replicas = 3;
      stsSpec(ss).persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete' };
      await createStatefulSet(client(), ns, ss);

      // Confirming all 3 PVCs exist with their owner refs
      await verifyStatefulSetPVCsExistWithOwnerRefs(client(), ss, [0, 1, 2], true, false);

      // Deleting stateful set
      await client().delete(STATEFULSETS, ns, ssName);
      // Verifying PVCs deleted
      await verifyStatefulSetPVCsExist(client(), ss, []);
    }, 60_000);

    it('should delete PVCs with a OnScaledown policy', async () => {
      stsSpec(ss).replicas = 3;
      stsSpec(ss).persistentVolumeClaimRetentionPolicy = { whenScaled: 'Delete' };
      await createStatefulSet(client(), ns, ss);

      // Confirming all 3 PVCs exist
      await verifyStatefulSetPVCsExist(client(), ss, [0, 1, 2]);
      await waitForRunningAndReady(client(), ss, 3);

      // Scaling stateful set to one replica
      const set = await scale(client(), ss, 1);
      // Verifying all but one PVC deleted
      await verifyStatefulSetPVCsExist(client(), set, [0]);
    }, 60_000);

    it('should not delete PVC with OnScaledown policy if another controller owns the PVC', async () => {
      stsSpec(ss).replicas = 3;
      await createStatefulSet(client(), ns, ss);

      // Confirm PVC has been created
      await verifyStatefulSetPVCsExist(client(), ss, [0, 1, 2]);
      await waitForRunningAndReady(client(), ss, 3);

      // Create configmap to use as dummy controller
      const dummy = await client().create({ group: '', version: 'v1', resource: 'configmaps' }, ns, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { generateName: 'dummy-controller', namespace: ns },
      });

      // Update PVC 1 owner ref
      const pvc1Name = `datadir-${ssName}-1`;
      await updatePVCWithRetries(client(), ns, pvc1Name, (pvc) => {
        pvc.metadata.ownerReferences = [
          {
            name: dummy.metadata.name ?? '',
            apiVersion: 'v1',
            kind: 'ConfigMap',
            uid: dummy.metadata.uid ?? '',
            controller: true,
          },
        ];
      });

      // Update StatefulSet retention policy
      let set = await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
        stsSpec(s).persistentVolumeClaimRetentionPolicy = { whenScaled: 'Delete' };
      });

      // Scale StatefulSet down to 0
      set = await scale(client(), set, 0);
      // Verify PVC 1 still exists
      await verifyStatefulSetPVCsExist(client(), set, [1]);
      const pvc1 = await client().get(PVCS, ns, pvc1Name);
      expect(pvc1.metadata.deletionTimestamp).toBeUndefined();

      // Remove PVC 1 owner ref
      await updatePVCWithRetries(client(), ns, pvc1Name, (pvc) => {
        delete pvc.metadata.ownerReferences;
      });

      // Scale set back up to 2
      set = await scale(client(), set, 2);
      // Confirm PVCs scaled up as well
      await verifyStatefulSetPVCsExist(client(), set, [0, 1]);
      await waitForRunningAndReady(client(), set, 2);

      // Scale set down to 1
      set = await scale(client(), set, 1);
      // Confirm PVC 1 deleted this time
      await verifyStatefulSetPVCsExist(client(), set, [0]);
    }, 60_000);

    it('should delete PVCs after adopting pod (WhenDeleted)', async () => {
      stsSpec(ss).replicas = 3;
      stsSpec(ss).persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete' };
      const created = await createStatefulSet(client(), ns, ss);

      // Confirming all 3 PVCs exist with their owner refs
      await verifyStatefulSetPVCsExistWithOwnerRefs(client(), ss, [0, 1, 2], true, false);
      await waitForRunningAndReady(client(), ss, 3);

      // Orphaning the 3rd pod
      await orphanPod2AndAwaitAdoption(created.metadata.uid);

      // Deleting stateful set
      await client().delete(STATEFULSETS, ns, ssName);
      // Verifying PVCs deleted
      await verifyStatefulSetPVCsExist(client(), ss, []);
    }, 60_000);

    it('should delete PVCs after adopting pod (WhenScaled)', async () => {
      stsSpec(ss).replicas = 3;
      stsSpec(ss).persistentVolumeClaimRetentionPolicy = { whenScaled: 'Delete' };
      const created = await createStatefulSet(client(), ns, ss);

      // Confirming all 3 PVCs exist
      await verifyStatefulSetPVCsExist(client(), ss, [0, 1, 2]);
      await waitForRunningAndReady(client(), ss, 3);

      // Orphaning the 3rd pod
      await orphanPod2AndAwaitAdoption(created.metadata.uid);

      // Scaling stateful set to one replica
      const set = await scale(client(), ss, 1);
      // Verifying all but one PVC deleted
      await verifyStatefulSetPVCsExist(client(), set, [0]);
    }, 60_000);

    it('should not delete PVCs when there is another controller', async () => {
      // Creating statefulset with no retention policy
      stsSpec(ss).replicas = 4;
      await createStatefulSet(client(), ns, ss);

      // Confirming all 4 PVCs exist
      await verifyStatefulSetPVCsExist(client(), ss, [0, 1, 2, 3]);
      await waitForRunningAndReady(client(), ss, 4);
      const claimNames = [0, 1, 2, 3].map((i) => `${nth(statefulPodMounts, 0).name}-${ssName}-${i}`);

      // Create configmap to use as random owner
      const randomConfigMap = await client().create(
        { group: '', version: 'v1', resource: 'configmaps' },
        ns,
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { generateName: 'random-owner', namespace: ns },
        },
      );

      // Add external owner to PVC 1
      const expectedExternalRef: OwnerReference[] = [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: randomConfigMap.metadata.name ?? '',
          uid: randomConfigMap.metadata.uid ?? '',
        },
      ];
      await updatePVCWithRetries(client(), ns, nth(claimNames, 1), (pvc) => {
        pvc.metadata.ownerReferences = structuredClone(expectedExternalRef);
      });

      // Add stale statefulset controller to PVC 3, with finalizer to prevent garbage collection
      const expectedStaleRef: OwnerReference[] = [
        {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          name: 'unknown',
          uid: '9d86d6ae-4e06-4ff1-bc55-f77f52e272e9',
          controller: true,
          blockOwnerDeletion: true,
        },
      ];
      await updatePVCWithRetries(client(), ns, nth(claimNames, 3), (pvc) => {
        pvc.metadata.ownerReferences = structuredClone(expectedStaleRef);
        pvc.metadata.finalizers = ['keep-with/stale-ref'];
      });

      try {
        const refsOf = async (i: number) =>
          (await client().get(PVCS, ns, nth(claimNames, i))).metadata.ownerReferences;

        // Check references updated
        await waitFor(
          async () =>
            sameRefs(await refsOf(1), expectedExternalRef) && sameRefs(await refsOf(3), expectedStaleRef),
          WAIT_MS,
          'external and stale references in place',
        );

        // Update retention policy to delete to force claims to resync
        let ssUid = '';
        await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
          stsSpec(s).persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete' };
          ssUid = s.metadata.uid ?? '';
        });
        const expectedOwnerRef: OwnerReference[] = [
          {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            name: ssName,
            uid: ssUid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ];

        // Expect claims 0, 1 and 2 to have ownerRefs to the statefulset, and 3 to have a stale reference
        let last = '';
        try {
          await waitFor(
            async () => {
              const r = [await refsOf(0), await refsOf(1), await refsOf(2), await refsOf(3)];
              last = JSON.stringify(r);
              return (
                sameRefs(r[0], expectedOwnerRef) &&
                sameRefs(r[2], expectedOwnerRef) &&
                // Claim 1's external owner is neither its pod nor its set, so it gets a controller appended.
                sameRefs(r[1], [...expectedExternalRef, ...expectedOwnerRef]) &&
                sameRefs(r[3], expectedStaleRef)
              );
            },
            WAIT_MS,
            'claim references reconciled',
          );
        } catch (e) {
          throw new Error(`${String(e)} (last ${last})`);
        }

        // Remove controller flag from claim 0
        await updatePVCWithRetries(client(), ns, nth(claimNames, 0), (pvc) => {
          pvc.metadata.ownerReferences = [{ ...nth(expectedOwnerRef, 0), controller: false }];
        });

        // Update statefulset to provoke a reconcile
        const set = await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
          stsSpec(s).persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete', whenScaled: 'Delete' };
        });
        // Expect controller flag for claim 0 to reconcile back to true
        await waitFor(
          async () => sameRefs(await refsOf(0), expectedOwnerRef),
          WAIT_MS,
          'claim 0 controller flag',
        );

        // Claim 1 has an external owner, and 3 has a finalizer still, so they will not be deleted.
        // Delete the stateful set and wait for claims 0 and 2 but not 1 and 3 to disappear
        await client().delete(STATEFULSETS, ns, ssName);
        await verifyStatefulSetPVCsExist(client(), set, [1, 3]);
      } finally {
        await clearPVCFinalizers(ns, nth(claimNames, 3));
      }
    }, 60_000);
  });

  describe('Automatically recreate PVC for pending pod when PVC is missing', () => {
    const ssName = 'ss';
    const labels = { foo: 'bar', baz: 'blah' };
    const headlessSvcName = 'test';
    let ns: string;
    let ss: KObject;
    let timeline: PodTimeline;

    beforeEach(async () => {
      ns = await cluster.namespace('sts-pvcr');
      ss = newStatefulSet(
        ssName,
        ns,
        headlessSvcName,
        1,
        [{ name: 'datadir', mountPath: '/data/' }],
        undefined,
        labels,
      );
      timeline = await PodTimeline.start(client(), ns);
    });

    afterEach(() => finishTest(timeline, ns));

    it('PVC should be recreated when pod is pending due to missing PVC [Disruptive][Serial]', async () => {
      const readyNode = await readySchedulableNode();
      const hostLabel = 'kubernetes.io/hostname';
      const hostLabelVal = readyNode.metadata.labels?.[hostLabel];
      expect(hostLabelVal, `node ${readyNode.metadata.name} label ${hostLabel}`).toBeDefined();

      templateSpec(ss).nodeSelector = { [hostLabel]: hostLabelVal ?? '' }; // force the pod on a specific node
      await createStatefulSet(client(), ns, ss);

      // Confirming PVC exists
      await verifyStatefulSetPVCsExist(client(), ss, [0]);
      // Confirming Pod is ready
      await waitForStatusCount(client(), ss, 'readyReplicas', 1);
      const podName = `${ssName}-0`;
      const pod = await client().get(PODS, ns, podName);
      const nodeName = String(rec(pod.spec).nodeName);
      expect(nodeName).toBe(readyNode.metadata.name);

      // Cordoning Node
      await client().patch(NODES, undefined, nodeName, 'strategic', { spec: { unschedulable: true } });
      let cordoned = true;
      const uncordon = async () => {
        await client().patch(NODES, undefined, nodeName, 'strategic', { spec: { unschedulable: null } });
        cordoned = false;
      };
      try {
        // wait for the node to be unschedulable
        await waitFor(
          async () => rec((await client().get(NODES, undefined, nodeName)).spec).unschedulable === true,
          WAIT_MS,
          'node unschedulable',
        );

        // Deleting Pod
        await client().delete(PODS, ns, podName);

        // wait for the pod to be recreated (it stays Pending: its node is cordoned)
        await waitForStatusCount(client(), ss, 'currentReplicas', 1);
        const pending = await waitFor(
          async () => {
            const p = await getPod(client(), ns, podName);
            return p && p.metadata.uid !== pod.metadata.uid ? p : undefined;
          },
          WAIT_MS,
          `${podName} to be recreated`,
        );
        await sleep(200);
        const stillPending = await client().get(PODS, ns, podName);
        expect(stillPending.metadata.uid).toBe(pending.metadata.uid);
        expect(phase(stillPending)).toBe('Pending');
        expect(rec(stillPending.spec).nodeName).toBeUndefined();

        const pvcList = await listPVCs(client(), ns);
        expect(pvcList).toHaveLength(1);
        const pvcName = nth(pvcList, 0).metadata.name ?? '';
        const oldPvcUid = nth(pvcList, 0).metadata.uid;

        // Deleting PVC
        await client().delete(PVCS, ns, pvcName);
        // The claim of an unscheduled pod is not protected: it goes away.
        await waitFor(
          async () => {
            try {
              const c = await client().get(PVCS, ns, pvcName);
              return c.metadata.uid !== oldPvcUid;
            } catch (e) {
              if (isNotFound(e)) return true;
              throw e;
            }
          },
          WAIT_MS,
          'the deleted claim to be gone',
        );

        await uncordon();

        // Confirming PVC recreated
        await verifyStatefulSetPVCsExist(client(), ss, [0]);
        const recreated = await client().get(PVCS, ns, pvcName);
        expect(recreated.metadata.uid).not.toBe(oldPvcUid);

        // Confirming Pod is ready after being recreated
        await waitForStatusCount(client(), ss, 'readyReplicas', 1);
        const after = await client().get(PODS, ns, podName);
        expect(rec(after.spec).nodeName).toBe(readyNode.metadata.name); // scheduled back to the original node
        expect(podClaimName(after, 'datadir')).toBe(pvcName);
      } finally {
        if (cordoned) await uncordon();
      }
    }, 60_000);
  });

  describe('Scaling StatefulSetStartOrdinal', () => {
    const ssName = 'ss';
    const labels = { foo: 'bar', baz: 'blah' };
    const headlessSvcName = 'test';
    let ns: string;
    let ss: KObject;
    let timeline: PodTimeline;

    beforeEach(async () => {
      ns = await cluster.namespace('sts-ord');
      ss = newStatefulSet(ssName, ns, headlessSvcName, 2, undefined, undefined, labels);
      await createService(client(), ns, headlessService(headlessSvcName, labels));
      timeline = await PodTimeline.start(client(), ns);
    });

    afterEach(() => finishTest(timeline, ns));

    /**
     * After changing ordinals: the new pods are created in ordinal order, each
     * after its predecessor was Ready; then (and only then) the pods that fell out
     * of range are deleted, highest ordinal first.
     */
    function expectOrdinalMove(created: number[], condemned: KObject[], from: number): void {
      timeline.expectOrderedCreation(names(ssName, created), from);
      const refs = podRefs(sortByOrdinalDesc(condemned));
      timeline.expectOrderedTermination(refs, from);
      const lastNew = `${ssName}-${created[created.length - 1]}`;
      const lastNewReady = timeline.indexOf(
        (e) => e.pod.metadata.name === lastNew && e.type !== 'DELETED' && isRunningAndReady(e.pod),
        from,
      );
      expect(lastNewReady, `${lastNew} Ready`).toBeGreaterThanOrEqual(0);
      expect(
        timeline.terminationStartAt(nth(refs, 0).name, nth(refs, 0).uid, from),
        'condemned pods are deleted only after all replicas are Running and Ready',
      ).toBeGreaterThan(lastNewReady);
    }

    /** Waits for status.replicas and status.readyReplicas to reach `n`. */
    async function waitForReadyReplicas(set: KObject, n: number): Promise<void> {
      await waitForStatusCount(client(), set, 'replicas', n);
      await waitForStatusCount(client(), set, 'readyReplicas', n);
    }

    /** Waits for the set to run exactly the pods `members`, all Ready, and no others (`what`: the condemned). */
    async function waitForMembers(set: KObject, members: string[], what: string): Promise<void> {
      await waitForStatus(client(), set);
      await waitForPodNames(client(), set, members);
      await waitForReadyReplicas(set, members.length);
      await waitFor(async () => (await getPodList(client(), set)).length === members.length, WAIT_MS, what);
    }

    function sortByOrdinalDesc(pods: KObject[]): KObject[] {
      return [...pods].sort((a, b) => ordinal(b) - ordinal(a));
    }

    function ordinal(p: KObject): number {
      const n = p.metadata.name ?? '';
      return Number(n.slice(n.lastIndexOf('-') + 1));
    }

    it('Setting .start.ordinal', async () => {
      stsSpec(ss).replicas = 2;
      await createStatefulSet(client(), ns, ss);
      await waitForStatus(client(), ss);
      await waitForReadyReplicas(ss, 2);

      // Confirming 2 replicas, with start ordinal 0
      const pods = await getPodList(client(), ss);
      expect(activePodNames(pods)).toEqual(['ss-0', 'ss-1']);

      // Setting .spec.replicas = 3 .spec.ordinals.start = 2
      const from = timeline.entries.length;
      const set = await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
        stsSpec(s).ordinals = { start: 2 };
        stsSpec(s).replicas = 3;
      });
      // Confirming 3 replicas, with start ordinal 2
      await waitForMembers(set, ['ss-2', 'ss-3', 'ss-4'], 'condemned pods gone');
      await timeline.settle();
      expectOrdinalMove([2, 3, 4], pods, from);
    });

    it('Increasing .start.ordinal', async () => {
      stsSpec(ss).replicas = 2;
      stsSpec(ss).ordinals = { start: 2 };
      await createStatefulSet(client(), ns, ss);
      await waitForStatus(client(), ss);
      await waitForReadyReplicas(ss, 2);

      // Confirming 2 replicas, with start ordinal 2
      const pods = await getPodList(client(), ss);
      expect(activePodNames(pods)).toEqual(['ss-2', 'ss-3']);
      await timeline.settle();
      timeline.expectOrderedCreation(['ss-2', 'ss-3']);

      // Increasing .spec.ordinals.start = 4
      const from = timeline.entries.length;
      const set = await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
        stsSpec(s).ordinals = { start: 4 };
      });
      // Confirming 2 replicas, with start ordinal 4
      await waitForMembers(set, ['ss-4', 'ss-5'], 'condemned pods gone');
      await timeline.settle();
      expectOrdinalMove([4, 5], pods, from);
    });

    it('Decreasing .start.ordinal', async () => {
      stsSpec(ss).replicas = 2;
      stsSpec(ss).ordinals = { start: 3 };
      await createStatefulSet(client(), ns, ss);
      await waitForStatus(client(), ss);
      await waitForReadyReplicas(ss, 2);

      // Confirming 2 replicas, with start ordinal 3
      const pods = await getPodList(client(), ss);
      expect(activePodNames(pods)).toEqual(['ss-3', 'ss-4']);

      // Decreasing .spec.ordinals.start = 2
      const from = timeline.entries.length;
      const set = await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
        stsSpec(s).ordinals = { start: 2 };
      });
      // Confirming 2 replicas, with start ordinal 2
      await waitForMembers(set, ['ss-2', 'ss-3'], 'condemned pod gone');
      // ss-3 stays (same UID); ss-2 is created, then ss-4 is deleted.
      expect((await client().get(PODS, ns, 'ss-3')).metadata.uid).toBe(nth(pods, 0).metadata.uid);
      await timeline.settle();
      expectOrdinalMove([2], [nth(pods, 1)], from);
    });

    it('Removing .start.ordinal', async () => {
      stsSpec(ss).replicas = 2;
      stsSpec(ss).ordinals = { start: 3 };
      await createStatefulSet(client(), ns, ss);
      await waitForReadyReplicas(ss, 2);

      // Confirming 2 replicas, with start ordinal 3
      const pods = await getPodList(client(), ss);
      expect(activePodNames(pods)).toEqual(['ss-3', 'ss-4']);

      // Removing .spec.ordinals
      const from = timeline.entries.length;
      const set = await updateStatefulSetWithRetries(client(), ns, ssName, (s) => {
        delete stsSpec(s).ordinals;
      });
      // Confirming 2 replicas, with start ordinal 0
      await waitForMembers(set, ['ss-0', 'ss-1'], 'condemned pods gone');
      await timeline.settle();
      expectOrdinalMove([0, 1], pods, from);
    });
  });
});

/** Runs `fn` in a fresh namespace with a pod timeline (the per-test setup of the top-level tests). */
async function inNamespace(
  prefix: string,
  fn: (ns: string, timeline: PodTimeline) => Promise<void>,
): Promise<void> {
  const ns = await cluster.namespace(prefix);
  const timeline = await PodTimeline.start(client(), ns);
  try {
    await fn(ns, timeline);
    timeline.expectNoViolations();
  } finally {
    timeline.stop();
    await dropNamespace(ns);
  }
}

/** Waits for SuccessfulCreate events of the set with these messages (upstream wording). */
async function expectSetEvents(ns: string, setName: string, messages: string[]): Promise<void> {
  let seen: string[] = [];
  await waitFor(
    async () => {
      const events = (await client().list(EVENTS, ns)).items.filter(
        (e) =>
          rec(e.involvedObject).kind === 'StatefulSet' &&
          rec(e.involvedObject).name === setName &&
          e.reason === 'SuccessfulCreate' &&
          e.type === 'Normal',
      );
      seen = events.map((e) => String(e.message));
      return messages.every((m) => seen.includes(m));
    },
    WAIT_MS,
    'SuccessfulCreate events',
    () => `; seen: ${JSON.stringify(seen)}`,
  );
}

/** Removes all finalizers of a claim, if it still exists. */
async function clearPVCFinalizers(ns: string, name: string): Promise<void> {
  try {
    await updatePVCWithRetries(client(), ns, name, (pvc) => {
      pvc.metadata.finalizers = [];
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** reflect.DeepEqual on owner references (absent and undefined fields are equal). */
function sameRefs(got: OwnerReference[] | undefined, want: OwnerReference[]): boolean {
  const norm = (r: OwnerReference) => ({
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: r.name,
    uid: r.uid,
    controller: r.controller,
    blockOwnerDeletion: r.blockOwnerDeletion,
  });
  return JSON.stringify((got ?? []).map(norm)) === JSON.stringify(want.map(norm));
}

/** Status update with retries on conflict (ssClient.UpdateStatus in retry.RetryOnConflict). */
async function updateStatefulSetWithRetriesStatus(
  ns: string,
  name: string,
  mutate: (s: KObject) => void,
): Promise<KObject> {
  for (let i = 0; i < 50; i++) {
    const s = await client().get(STATEFULSETS, ns, name);
    mutate(s);
    try {
      return await client().update(STATEFULSETS, ns, s, { subresource: 'status' });
    } catch (e) {
      if (!isConflict(e)) throw e;
      await sleep(10);
    }
  }
  throw new Error(`could not update status of ${name}`);
}
