/**
 * Helpers for the StatefulSet acceptance suite: our counterparts of the
 * upstream e2e framework (test/e2e/framework/statefulset and the helpers in
 * test/e2e/apps/statefulset.go), driven against the in-process cluster.
 *
 * The simulated runtime runs no processes, so the readiness tricks of the
 * upstream tests (an exec readiness probe on a file in /data for
 * PauseNewPods/ResumeNextPod, moving index.html away to break the HTTP
 * probe) are replaced by the sim agent's pod annotations: `sim.ordinal.dev/ready:
 * "false"` keeps a running pod unready until it is removed or set to "true".
 */
import { expect } from 'vitest';
import { isConflict, isNotFound } from '../../src/api/errors.js';
import { isObject, type KObject, type OwnerReference, type WatchEvent } from '../../src/api/types.js';
import type { Client, WatchHandle } from '../../src/client/interface.js';
import {
  CONTROLLERREVISIONS,
  ENDPOINTSLICES,
  PODS,
  PVCS,
  SERVICES,
  STATEFULSETS,
} from '../../src/controllers/util/resources.js';
import { sleep } from '../../src/testing/in-process.js';
import { waitFor } from './harness.js';

// ---- sim agent contract -------------------------------------------------------------

export const SIM_READY = 'sim.ordinal.dev/ready';
export const SIM_FAIL = 'sim.ordinal.dev/fail';
export const SIM_PHASE = 'sim.ordinal.dev/phase';
export const SIM_CRASH = 'sim.ordinal.dev/crash';
export const SIM_EXIT_ON_SIGTERM = 'sim.ordinal.dev/exit-on-sigterm';
export const SIM_TERMINATION_DELAY = 'sim.ordinal.dev/termination-delay-ms';

// ---- upstream constants --------------------------------------------------------------

/** imageutils.GetE2EImage(imageutils.Httpd) */
export const HTTPD_IMAGE = 'registry.k8s.io/e2e-test-images/httpd:2.4.38-4';
/** NewWebserverImage (imageutils.HttpdNew) */
export const NEW_HTTPD_IMAGE = 'registry.k8s.io/e2e-test-images/httpd:2.4.39-4';
/** imageutils.GetE2EImage(imageutils.Pause) */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
/** imageutils.GetE2EImage(imageutils.BusyBox) */
export const BUSYBOX_IMAGE = 'registry.k8s.io/e2e-test-images/busybox:1.36.1-1';
export const WEBSERVER_IMAGE_NAME = 'httpd';

export const REVISION_LABEL = 'controller-revision-hash';
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/** Default wait for a condition in this suite (the upstream suite waits minutes; we run in-process). */
export const WAIT_MS = 20_000;

// ---- typed views of plain objects ------------------------------------------------------

type Rec = Record<string, unknown>;

export function rec(v: unknown): Rec {
  return isObject(v) ? v : {};
}

export interface StsStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

export function stsStatus(ss: KObject): StsStatus {
  return rec(ss.status) as StsStatus;
}

export function stsSpec(ss: KObject): Rec {
  return rec(ss.spec);
}

export function stsReplicas(ss: KObject): number {
  const r = stsSpec(ss).replicas;
  return typeof r === 'number' ? r : 1;
}

export function stsPartition(ss: KObject): number {
  const p = rec(rec(stsSpec(ss).updateStrategy).rollingUpdate).partition;
  return typeof p === 'number' ? p : 0;
}

export function stsSelector(ss: KObject): Record<string, string> {
  return rec(rec(stsSpec(ss).selector).matchLabels) as Record<string, string>;
}

export function templateSpec(ss: KObject): Rec {
  return rec(rec(stsSpec(ss).template).spec);
}

export function containers(podOrTemplateSpec: Rec): Rec[] {
  const c = podOrTemplateSpec.containers;
  return Array.isArray(c) ? c.filter(isObject) : [];
}

export function podSpecOf(pod: KObject): Rec {
  return rec(pod.spec);
}

export function podImage(pod: KObject, i = 0): string | undefined {
  const c = containers(podSpecOf(pod))[i];
  return typeof c?.image === 'string' ? c.image : undefined;
}

export function podRevision(pod: KObject): string | undefined {
  return pod.metadata.labels?.[REVISION_LABEL];
}

export function phase(pod: KObject): string {
  const p = rec(pod.status).phase;
  return typeof p === 'string' ? p : '';
}

export function isReady(pod: KObject): boolean {
  const conds = rec(pod.status).conditions;
  if (!Array.isArray(conds)) return false;
  return conds.some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True');
}

export function readyTransitionMs(pod: KObject): number | undefined {
  const conds = rec(pod.status).conditions;
  if (!Array.isArray(conds)) return undefined;
  for (const c of conds) {
    if (
      isObject(c) &&
      c.type === 'Ready' &&
      c.status === 'True' &&
      typeof c.lastTransitionTime === 'string'
    ) {
      return Date.parse(c.lastTransitionTime);
    }
  }
  return undefined;
}

export function isRunningAndReady(pod: KObject): boolean {
  return phase(pod) === 'Running' && isReady(pod) && !pod.metadata.deletionTimestamp;
}

/** e2epod.IsPodActive: not Succeeded/Failed and not being deleted. */
export function isActive(pod: KObject): boolean {
  const p = phase(pod);
  return p !== 'Succeeded' && p !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function controllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

const ORDINAL_RE = /^(.*)-([0-9]+)$/;

export function ordinalOf(name: string | undefined): number {
  const m = ORDINAL_RE.exec(name ?? '');
  return m ? Number(m[2]) : -1;
}

export function sortByOrdinal(pods: KObject[]): KObject[] {
  return [...pods].sort((a, b) => ordinalOf(a.metadata.name) - ordinalOf(b.metadata.name));
}

/** arr[i], failing loudly when it is missing. */
export function nth<T>(arr: readonly T[], i: number): T {
  const v = arr[i];
  if (v === undefined) throw new Error(`no element ${i} (length ${arr.length})`);
  return v;
}

export function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- fixtures --------------------------------------------------------------------------

export interface VolumeMount {
  name: string;
  mountPath: string;
}

/** e2estatefulset.NewStatefulSetPVC */
export function newStatefulSetPVC(name: string): Rec {
  return {
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1' } } },
  };
}

/**
 * e2estatefulset.NewStatefulSet: a webserver StatefulSet. statefulPodMounts are
 * backed by volumeClaimTemplates, podMounts by hostPath volumes.
 */
export function newStatefulSet(
  name: string,
  ns: string,
  governingSvcName: string,
  replicas: number,
  statefulPodMounts: VolumeMount[] | undefined,
  podMounts: VolumeMount[] | undefined,
  labels: Record<string, string>,
): KObject {
  const mounts = [...(statefulPodMounts ?? []), ...(podMounts ?? [])];
  const claims = (statefulPodMounts ?? []).map((m) => newStatefulSetPVC(m.name));
  const vols = (podMounts ?? []).map((m) => ({ name: m.name, hostPath: { path: `/tmp/${m.name}` } }));
  const container: Rec = { name: 'webserver', image: HTTPD_IMAGE };
  if (mounts.length > 0) container.volumeMounts = mounts;
  const podSpec: Rec = { containers: [container] };
  if (vols.length > 0) podSpec.volumes = vols;
  const spec: Rec = {
    selector: { matchLabels: { ...labels } },
    replicas,
    template: { metadata: { labels: { ...labels }, annotations: {} }, spec: podSpec },
    updateStrategy: { type: 'RollingUpdate' },
    serviceName: governingSvcName,
  };
  if (claims.length > 0) spec.volumeClaimTemplates = claims;
  return { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: ns }, spec };
}

/**
 * e2estatefulset.PauseNewPods: every new pod stays Running but unready until
 * resumed (upstream: an exec readiness probe on /data/statefulset-continue).
 */
export function pauseNewPods(ss: KObject): void {
  const tmpl = rec(stsSpec(ss).template);
  const meta = rec(tmpl.metadata);
  meta.annotations = { ...rec(meta.annotations), [SIM_READY]: 'false' };
  tmpl.metadata = meta;
}

/** e2eservice.CreateServiceSpec(name, "", true, labels): a headless Service. */
export function headlessService(name: string, labels: Record<string, string>, ports?: Rec[]): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      clusterIP: 'None',
      selector: { ...labels },
      ports: ports ?? [{ port: 80, name: 'http', protocol: 'TCP' }],
    },
  };
}

export async function createService(client: Client, ns: string, svc: KObject): Promise<KObject> {
  return client.create(SERVICES, ns, svc);
}

export async function createStatefulSet(client: Client, ns: string, ss: KObject): Promise<KObject> {
  return client.create(STATEFULSETS, ns, ss);
}

// ---- reads -----------------------------------------------------------------------------

export async function getStatefulSet(client: Client, ns: string, name: string): Promise<KObject> {
  return client.get(STATEFULSETS, ns, name);
}

function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** e2estatefulset.GetPodList: the pods matching the set's selector, sorted by ordinal. */
export async function getPodList(client: Client, ss: KObject): Promise<KObject[]> {
  const ns = ss.metadata.namespace;
  const list = await client.list(PODS, ns, { labelSelector: selectorString(stsSelector(ss)) });
  return sortByOrdinal(list.items);
}

export async function getPod(client: Client, ns: string, name: string): Promise<KObject | undefined> {
  try {
    return await client.get(PODS, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function listPVCs(client: Client, ns: string): Promise<KObject[]> {
  return (await client.list(PVCS, ns)).items;
}

export async function listRevisions(client: Client, ns: string): Promise<KObject[]> {
  return (await client.list(CONTROLLERREVISIONS, ns)).items;
}

// ---- waits (test/e2e/framework/statefulset/wait.go, test/e2e/apps/wait.go) -------------

/**
 * e2estatefulset.WaitForRunning: exactly numRunning pods, all Running, and
 * exactly the first numReady ordinals Ready. The upstream helper fails at once
 * when it sees too many pods; so does this one.
 */
export async function waitForRunning(
  client: Client,
  ss: KObject,
  numRunning: number,
  numReady: number,
  timeoutMs = WAIT_MS,
): Promise<KObject[]> {
  let tooMany: string | undefined;
  const pods = await waitFor(
    async () => {
      const pods = await getPodList(client, ss);
      if (pods.length > numRunning) {
        tooMany = `too many pods scheduled, expected ${numRunning} got ${pods.length}: ${pods.map((p) => p.metadata.name).join(',')}`;
        return pods;
      }
      if (pods.length < numRunning) return undefined;
      for (const p of pods) {
        const shouldBeReady = ordinalOf(p.metadata.name) - ordinalStart(ss) < numReady;
        if (phase(p) !== 'Running' || isReady(p) !== shouldBeReady) return undefined;
      }
      return pods;
    },
    timeoutMs,
    `${numRunning} pods of ${ss.metadata.name} Running with ${numReady} Ready`,
  );
  if (tooMany) throw new Error(tooMany);
  return pods;
}

function ordinalStart(ss: KObject): number {
  const s = rec(stsSpec(ss).ordinals).start;
  return typeof s === 'number' ? s : 0;
}

/** e2estatefulset.WaitForRunningAndReady */
export function waitForRunningAndReady(client: Client, ss: KObject, n: number, timeoutMs = WAIT_MS) {
  return waitForRunning(client, ss, n, n, timeoutMs);
}

/** waitForRunningAndNotReady (test/e2e/apps/wait.go) */
export function waitForRunningAndNotReady(client: Client, ss: KObject, n: number, timeoutMs = WAIT_MS) {
  return waitForRunning(client, ss, n, 0, timeoutMs);
}

/** e2estatefulset.WaitForState: polls the set and its pods until `until` holds. */
export async function waitForState(
  client: Client,
  ss: KObject,
  until: (set: KObject, pods: KObject[]) => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<{ set: KObject; pods: KObject[] }> {
  const ns = ss.metadata.namespace ?? '';
  const name = ss.metadata.name ?? '';
  let last: { set: KObject; pods: KObject[] } | undefined;
  return waitFor(
    async () => {
      const set = await getStatefulSet(client, ns, name);
      const pods = await getPodList(client, set);
      last = { set, pods };
      return until(set, pods) ? last : undefined;
    },
    timeoutMs,
    what,
    () => `\nlast state: ${describeState(last)}`,
  );
}

export function describeState(s: { set: KObject; pods: KObject[] } | undefined): string {
  if (!s) return '(none)';
  const pods = s.pods.map(
    (p) =>
      `${p.metadata.name}[${phase(p) || '-'}${isReady(p) ? ',Ready' : ''}${p.metadata.deletionTimestamp ? ',Terminating' : ''},rev=${podRevision(p)}]`,
  );
  return `status=${JSON.stringify(s.set.status)} pods=${pods.join(' ')}`;
}

/** Waits for status.observedGeneration to catch up with the spec (waitForStatus). */
export async function waitForStatus(client: Client, ss: KObject, timeoutMs = WAIT_MS): Promise<KObject> {
  const ns = ss.metadata.namespace ?? '';
  const name = ss.metadata.name ?? '';
  return waitFor(
    async () => {
      const set = await getStatefulSet(client, ns, name);
      return (stsStatus(set).observedGeneration ?? 0) >= (set.metadata.generation ?? 0) ? set : undefined;
    },
    timeoutMs,
    `status of ${name} to observe its generation`,
  );
}

type CountField = 'replicas' | 'readyReplicas' | 'availableReplicas' | 'currentReplicas' | 'updatedReplicas';

/** WaitForStatusReplicas / ReadyReplicas / AvailableReplicas / waitForStatusCurrentReplicas. */
export async function waitForStatusCount(
  client: Client,
  ss: KObject,
  field: CountField,
  expected: number,
  timeoutMs = WAIT_MS,
): Promise<KObject> {
  const ns = ss.metadata.namespace ?? '';
  const name = ss.metadata.name ?? '';
  let last: StsStatus | undefined;
  return waitFor(
    async () => {
      const set = await getStatefulSet(client, ns, name);
      const st = stsStatus(set);
      last = st;
      if ((st.observedGeneration ?? 0) < (set.metadata.generation ?? 0)) return undefined;
      return (st[field] ?? 0) === expected ? set : undefined;
    },
    timeoutMs,
    `status.${field} of ${name} to become ${expected}`,
    () => ` (last status ${JSON.stringify(last)})`,
  );
}

/** e2estatefulset.WaitForPodReady */
export function waitForPodReady(client: Client, ss: KObject, podName: string, timeoutMs = WAIT_MS) {
  return waitForPodReadiness(client, ss, podName, true, timeoutMs);
}

/** waitForPodNotReady (test/e2e/apps/wait.go) */
export function waitForPodNotReady(client: Client, ss: KObject, podName: string, timeoutMs = WAIT_MS) {
  return waitForPodReadiness(client, ss, podName, false, timeoutMs);
}

function waitForPodReadiness(
  client: Client,
  ss: KObject,
  podName: string,
  ready: boolean,
  timeoutMs: number,
) {
  return waitForState(
    client,
    ss,
    (_s, pods) => pods.some((p) => p.metadata.name === podName && isReady(p) === ready),
    `pod ${podName} to be ${ready ? '' : 'not '}Ready`,
    timeoutMs,
  );
}

/** waitForRollingUpdate (test/e2e/apps/wait.go): currentRevision catches up with updateRevision. */
export function waitForRollingUpdate(client: Client, ss: KObject, timeoutMs = WAIT_MS) {
  return waitForState(
    client,
    ss,
    (set, pods) => {
      const st = stsStatus(set);
      if ((st.observedGeneration ?? 0) < (set.metadata.generation ?? 0)) return false;
      if (pods.length < stsReplicas(set)) return false;
      return !!st.updateRevision && st.updateRevision === st.currentRevision;
    },
    `rolling update of ${ss.metadata.name} to complete`,
    timeoutMs,
  );
}

/** waitForPartitionedRollingUpdate (test/e2e/apps/wait.go) */
export function waitForPartitionedRollingUpdate(client: Client, ss: KObject, timeoutMs = WAIT_MS) {
  return waitForState(
    client,
    ss,
    (set, pods) => {
      const st = stsStatus(set);
      if ((st.observedGeneration ?? 0) < (set.metadata.generation ?? 0)) return false;
      const replicas = stsReplicas(set);
      if (pods.length < replicas) return false;
      const partition = stsPartition(set);
      if (partition <= 0) return st.updateRevision === st.currentRevision;
      for (let i = replicas - 1; i >= partition; i--) {
        if (podRevision(nth(pods, i)) !== st.updateRevision) return false;
      }
      return true;
    },
    `partitioned rolling update of ${ss.metadata.name}`,
    timeoutMs,
  );
}

/** expectPodNames: the active pods (sorted by ordinal) are exactly `expected`. */
export function activePodNames(pods: KObject[]): string[] {
  return sortByOrdinal(pods)
    .filter(isActive)
    .map((p) => p.metadata.name ?? '');
}

/** waitForPodNames (test/e2e/apps/statefulset.go) */
export async function waitForPodNames(client: Client, ss: KObject, expected: string[], timeoutMs = WAIT_MS) {
  let last: string[] = [];
  await waitFor(
    async () => {
      last = activePodNames(await getPodList(client, ss));
      return JSON.stringify(last) === JSON.stringify(expected);
    },
    timeoutMs,
    `pod names ${expected.join(',')}`,
    () => ` (last: ${last.join(',')})`,
  );
}

/**
 * confirmStatefulPodCount: during `durationMs` the set keeps exactly `count`
 * pods. With hard=true any deviation fails at once; otherwise the count must
 * be reached (as upstream, which only logs and keeps polling).
 */
export async function confirmStatefulPodCount(
  client: Client,
  ss: KObject,
  count: number,
  durationMs: number,
  hard: boolean,
): Promise<void> {
  const deadline = Date.now() + durationMs;
  let last = -1;
  while (Date.now() < deadline) {
    const pods = await getPodList(client, ss);
    last = pods.length;
    if (pods.length !== count && hard) {
      throw new Error(
        `StatefulSet ${ss.metadata.name} scaled unexpectedly ${count} -> ${pods.length} replicas (${pods.map((p) => p.metadata.name).join(',')})`,
      );
    }
    await sleep(50);
  }
  if (!hard && last !== count) {
    await waitFor(async () => (await getPodList(client, ss)).length === count, WAIT_MS, `${count} pods`);
  }
}

export { sleep };

// ---- writes ----------------------------------------------------------------------------

/** Get-modify-update of any object, retried on conflict (updateStatefulSetWithRetries & co). */
export async function updateWithRetries(
  client: Client,
  res: Parameters<Client['get']>[0],
  ns: string,
  name: string,
  mutate: (obj: KObject) => void,
  subresource?: string,
): Promise<KObject> {
  let lastErr: unknown;
  for (let i = 0; i < 50; i++) {
    const obj = await client.get(res, ns, name);
    mutate(obj);
    try {
      return await client.update(res, ns, obj, subresource ? { subresource } : {});
    } catch (e) {
      if (!isConflict(e)) throw e;
      lastErr = e;
      await sleep(10);
    }
  }
  throw new Error(`couldn't apply the provided update to ${res.resource} ${name}: ${errMsg(lastErr)}`);
}

export function updateStatefulSetWithRetries(
  client: Client,
  ns: string,
  name: string,
  mutate: (ss: KObject) => void,
): Promise<KObject> {
  return updateWithRetries(client, STATEFULSETS, ns, name, mutate);
}

export function updatePVCWithRetries(
  client: Client,
  ns: string,
  name: string,
  mutate: (pvc: KObject) => void,
): Promise<KObject> {
  return updateWithRetries(client, PVCS, ns, name, mutate);
}

export function updatePodWithRetries(
  client: Client,
  ns: string,
  name: string,
  mutate: (pod: KObject) => void,
): Promise<KObject> {
  return updateWithRetries(client, PODS, ns, name, mutate);
}

/** Sets spec.template.spec.containers[0].image. */
export function setImage(ss: KObject, image: string): void {
  const c = nth(containers(templateSpec(ss)), 0);
  if (!c) throw new Error('template has no containers');
  c.image = image;
}

/** e2estatefulset.UpdateReplicas */
export function updateReplicas(client: Client, ss: KObject, count: number): Promise<KObject> {
  return updateStatefulSetWithRetries(client, ss.metadata.namespace ?? '', ss.metadata.name ?? '', (s) => {
    stsSpec(s).replicas = count;
  });
}

/** e2estatefulset.Scale: sets replicas and waits until exactly `count` pods exist. */
export async function scale(
  client: Client,
  ss: KObject,
  count: number,
  timeoutMs = WAIT_MS,
): Promise<KObject> {
  const updated = await updateReplicas(client, ss, count);
  let last: KObject[] = [];
  await waitFor(
    async () => {
      last = await getPodList(client, updated);
      return last.length === count;
    },
    timeoutMs,
    `${ss.metadata.name} to scale to ${count}`,
    () => `; remaining: ${describeState({ set: updated, pods: last })}`,
  );
  return updated;
}

/** e2estatefulset.Restart: scale to 0, wait for status.replicas 0, scale back. */
export async function restart(client: Client, ss: KObject): Promise<KObject> {
  const old = stsReplicas(ss);
  const scaled = await scale(client, ss, 0);
  await waitForStatusCount(client, scaled, 'replicas', 0);
  return updateReplicas(client, scaled, old);
}

/** deleteStatefulPodAtIndex: deletes <set>-<index> with gracePeriodSeconds 0. */
export async function deleteStatefulPodAtIndex(client: Client, index: number, ss: KObject): Promise<void> {
  await client.delete(PODS, ss.metadata.namespace, `${ss.metadata.name}-${index}`, { gracePeriodSeconds: 0 });
}

/** Patches one annotation of a pod (null removes it). */
export async function annotatePod(
  client: Client,
  ns: string,
  name: string,
  key: string,
  value: string | null,
): Promise<KObject> {
  return client.patch(PODS, ns, name, 'merge', { metadata: { annotations: { [key]: value } } });
}

/** breakPodHTTPProbe: the pod keeps running but turns unready. */
export function breakPodProbe(client: Client, pod: KObject): Promise<KObject> {
  return annotatePod(client, pod.metadata.namespace ?? '', pod.metadata.name ?? '', SIM_READY, 'false');
}

/** restorePodHTTPProbe */
export function restorePodProbe(client: Client, pod: KObject): Promise<KObject> {
  return annotatePod(client, pod.metadata.namespace ?? '', pod.metadata.name ?? '', SIM_READY, 'true');
}

/** breakHTTPProbe: every pod of the set turns unready. */
export async function breakProbe(client: Client, ss: KObject): Promise<void> {
  for (const p of await getPodList(client, ss)) await breakPodProbe(client, p);
}

/** restoreHTTPProbe */
export async function restoreProbe(client: Client, ss: KObject): Promise<void> {
  for (const p of await getPodList(client, ss)) await restorePodProbe(client, p);
}

/**
 * e2estatefulset.ResumeNextPod: resumes the single paused, unready pod. Fails
 * if any pod is not Running or if more than one pod is paused.
 */
export async function resumeNextPod(client: Client, ss: KObject): Promise<string | undefined> {
  let resumed: KObject | undefined;
  for (const pod of await getPodList(client, ss)) {
    if (phase(pod) !== 'Running')
      throw new Error(`Found pod ${pod.metadata.name} in phase "${phase(pod)}", cannot resume`);
    if (isReady(pod) || pod.metadata.annotations?.[SIM_READY] !== 'false') continue;
    if (resumed)
      throw new Error(
        `Found multiple paused stateful pods: ${pod.metadata.name} and ${resumed.metadata.name}`,
      );
    resumed = pod;
  }
  if (!resumed) return undefined;
  await restorePodProbe(client, resumed);
  return resumed.metadata.name;
}

/** e2estatefulset.Saturate: waits for each pod in turn and resumes it. */
export async function saturate(client: Client, ss: KObject): Promise<void> {
  const n = stsReplicas(ss);
  for (let i = 0; i < n; i++) {
    await waitForRunning(client, ss, i + 1, i);
    await resumeNextPod(client, ss);
  }
  await waitForRunningAndReady(client, ss, n);
}

/** Removes a finalizer from a pod (e2epod.PodClient.RemoveFinalizer). */
export async function removePodFinalizer(
  client: Client,
  ns: string,
  name: string,
  finalizer: string,
): Promise<void> {
  try {
    await updatePodWithRetries(client, ns, name, (p) => {
      p.metadata.finalizers = (p.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

// ---- PVC checks ------------------------------------------------------------------------

export function claimNamesOf(ss: KObject): string[] {
  const vcts = stsSpec(ss).volumeClaimTemplates;
  if (!Array.isArray(vcts)) return [];
  return vcts.map((t) => String(rec(rec(t).metadata).name));
}

function pvcOrdinals(ss: KObject, pvcs: KObject[], claim: string): Map<number, KObject> {
  const re = new RegExp(`^${claim}-${ss.metadata.name}-([0-9]+)$`);
  const out = new Map<number, KObject>();
  for (const pvc of pvcs) {
    const m = re.exec(pvc.metadata.name ?? '');
    if (m) out.set(Number(m[1]), pvc);
  }
  return out;
}

/** verifyStatefulSetPVCsExist: exactly the claims of `ids` exist (for every claim template). */
export async function verifyStatefulSetPVCsExist(
  client: Client,
  ss: KObject,
  ids: number[],
  timeoutMs = WAIT_MS,
): Promise<void> {
  const want = [...ids].sort((a, b) => a - b).join(',');
  let last = '';
  await waitFor(
    async () => {
      const pvcs = await listPVCs(client, ss.metadata.namespace ?? '');
      for (const claim of claimNamesOf(ss)) {
        const got = [...pvcOrdinals(ss, pvcs, claim).keys()].sort((a, b) => a - b).join(',');
        last = `${claim}: [${got}]`;
        if (got !== want) return false;
      }
      return true;
    },
    timeoutMs,
    `PVCs [${want}] of ${ss.metadata.name}`,
    () => ` (last ${last})`,
  );
}

/**
 * verifyStatefulSetPVCsExistWithOwnerRefs: exactly the claims of `ids` exist,
 * each with (or without) an ownerRef to the set and to its pod.
 */
export async function verifyStatefulSetPVCsExistWithOwnerRefs(
  client: Client,
  ss: KObject,
  ids: number[],
  wantSetRef: boolean,
  wantPodRef: boolean,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const ns = ss.metadata.namespace ?? '';
  const set = await getStatefulSet(client, ns, ss.metadata.name ?? '');
  const setUid = set.metadata.uid;
  let last = '';
  await waitFor(
    async () => {
      const pvcs = await listPVCs(client, ns);
      for (const claim of claimNamesOf(ss)) {
        const found = pvcOrdinals(ss, pvcs, claim);
        if ([...found.keys()].sort().join(',') !== [...ids].sort().join(',')) {
          last = `claims ${[...found.keys()].join(',')}`;
          return false;
        }
        for (const [ord, pvc] of found) {
          const refs = pvc.metadata.ownerReferences ?? [];
          const setRef = refs.some((r) => r.kind === 'StatefulSet' && r.uid === setUid);
          let podRef = false;
          for (const r of refs.filter((x) => x.kind === 'Pod')) {
            const pod = await getPod(client, ns, `${ss.metadata.name}-${ord}`);
            if (pod && r.uid === pod.metadata.uid) podRef = true;
          }
          if (setRef !== wantSetRef || podRef !== wantPodRef) {
            last = `${pvc.metadata.name} refs ${JSON.stringify(refs)}`;
            return false;
          }
        }
      }
      return true;
    },
    timeoutMs,
    `PVCs [${ids.join(',')}] with setRef=${wantSetRef} podRef=${wantPodRef}`,
    () => ` (last ${last})`,
  );
}

export function pvcPhase(pvc: KObject): string {
  const p = rec(pvc.status).phase;
  return typeof p === 'string' ? p : '';
}

/** The claimName of the pod volume named `volume`. */
export function podClaimName(pod: KObject, volume: string): string | undefined {
  const vols = podSpecOf(pod).volumes;
  if (!Array.isArray(vols)) return undefined;
  for (const v of vols) {
    if (isObject(v) && v.name === volume) {
      const c = rec(v.persistentVolumeClaim).claimName;
      return typeof c === 'string' ? c : undefined;
    }
  }
  return undefined;
}

// ---- DNS identity ----------------------------------------------------------------------

/** Hostnames of the ready endpoints the endpointslice controller published for a Service. */
export async function serviceEndpointHostnames(client: Client, ns: string, svc: string): Promise<string[]> {
  const slices = await client.list(ENDPOINTSLICES, ns, {
    labelSelector: `kubernetes.io/service-name=${svc}`,
  });
  const out: string[] = [];
  for (const s of slices.items) {
    const eps = s.endpoints;
    if (!Array.isArray(eps)) continue;
    for (const ep of eps) {
      const e = rec(ep);
      if (rec(e.conditions).ready === false) continue;
      if (typeof e.hostname === 'string') out.push(e.hostname);
    }
  }
  return out.sort();
}

// ---- pod timeline ----------------------------------------------------------------------

export interface TimelineEntry {
  seq: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  pod: KObject;
}

/**
 * Every pod watch event of a namespace from the moment it starts, in order,
 * with the "at most one pod per identity" invariant checked on the fly: a pod
 * name is never ADDED while an earlier pod of that name (another UID) has not
 * been DELETED.
 */
export class PodTimeline {
  readonly entries: TimelineEntry[] = [];
  readonly violations: string[] = [];
  private readonly live = new Map<string, string>();
  private handle: WatchHandle | undefined;
  private source: { client: Client; ns: string } | undefined;

  static async start(client: Client, ns: string): Promise<PodTimeline> {
    const t = new PodTimeline();
    t.source = { client, ns };
    const list = await client.list(PODS, ns);
    for (const p of list.items) t.live.set(p.metadata.name ?? '', p.metadata.uid ?? '');
    t.handle = await client.watch(PODS, ns, { resourceVersion: list.metadata.resourceVersion }, (e) =>
      t.record(e),
    );
    return t;
  }

  stop(): void {
    this.handle?.stop();
  }

  /** Appends one watch event (exposed for the helpers' own tests). */
  record(e: WatchEvent): void {
    if (e.type !== 'ADDED' && e.type !== 'MODIFIED' && e.type !== 'DELETED') return;
    const pod = e.object;
    const name = pod.metadata.name ?? '';
    const uid = pod.metadata.uid ?? '';
    const seq = this.entries.length;
    if (e.type === 'ADDED') {
      const prev = this.live.get(name);
      if (prev !== undefined && prev !== uid) {
        this.violations.push(`#${seq}: ${name} (uid ${uid}) added while ${prev} still exists`);
      }
      this.live.set(name, uid);
    } else if (e.type === 'DELETED') {
      if (this.live.get(name) === uid) this.live.delete(name);
    } else if (this.live.get(name) !== uid) {
      const prev = this.live.get(name);
      if (prev !== undefined)
        this.violations.push(`#${seq}: ${name} modified as ${uid} while ${prev} still exists`);
      this.live.set(name, uid);
    }
    this.entries.push({ seq, type: e.type, pod });
  }

  /**
   * Waits until the timeline has caught up with the API: every pod listed now
   * is the latest state recorded for its name, and every recorded pod that is
   * gone has its DELETED event. Call before asserting on orderings.
   */
  async settle(timeoutMs = WAIT_MS): Promise<void> {
    const src = this.source;
    if (!src) return;
    const pods = (await src.client.list(PODS, src.ns)).items;
    const listed = new Map(pods.map((p) => [p.metadata.name ?? '', p]));
    await waitFor(
      () => {
        for (const [name, p] of listed) {
          const last = this.latest(name);
          if (!last || last.metadata.uid !== p.metadata.uid) return false;
          if (last.metadata.resourceVersion !== p.metadata.resourceVersion) {
            // A newer event is fine; an older one means the watch lags.
            if (Number(last.metadata.resourceVersion) < Number(p.metadata.resourceVersion)) return false;
          }
        }
        for (const name of this.live.keys()) if (!listed.has(name)) return false;
        return true;
      },
      timeoutMs,
      'the pod watch to catch up',
    );
  }

  /** The latest recorded state of pod `name` (undefined if its last event is DELETED or none). */
  latest(name: string): KObject | undefined {
    return this.stateBefore(name, this.entries.length);
  }

  /** Names of ADDED pods, in order (optionally only those matching `filter`). */
  added(filter?: (pod: KObject) => boolean): string[] {
    return this.entries
      .filter((e) => e.type === 'ADDED' && (!filter || filter(e.pod)))
      .map((e) => e.pod.metadata.name ?? '');
  }

  /** Names of DELETED pods, in order. */
  deleted(filter?: (pod: KObject) => boolean): string[] {
    return this.entries
      .filter((e) => e.type === 'DELETED' && (!filter || filter(e.pod)))
      .map((e) => e.pod.metadata.name ?? '');
  }

  /** Index of the first entry at or after `from` matching `pred`, or -1. */
  indexOf(pred: (e: TimelineEntry) => boolean, from = 0): number {
    for (let i = from; i < this.entries.length; i++) if (pred(nth(this.entries, i))) return i;
    return -1;
  }

  /** Index of the ADDED event of `name` (the first at or after `from`). */
  addedAt(name: string, from = 0): number {
    return this.indexOf((e) => e.type === 'ADDED' && e.pod.metadata.name === name, from);
  }

  /**
   * Index where the pod `name` (optionally with `uid`) started going away: the
   * first event carrying a deletionTimestamp, or its DELETED event.
   */
  terminationStartAt(name: string, uid?: string, from = 0): number {
    return this.indexOf(
      (e) =>
        e.pod.metadata.name === name &&
        (uid === undefined || e.pod.metadata.uid === uid) &&
        (e.type === 'DELETED' || !!e.pod.metadata.deletionTimestamp),
      from,
    );
  }

  /** Index of the DELETED event of `name` (optionally with `uid`). */
  deletedAt(name: string, uid?: string, from = 0): number {
    return this.indexOf(
      (e) =>
        e.type === 'DELETED' &&
        e.pod.metadata.name === name &&
        (uid === undefined || e.pod.metadata.uid === uid),
      from,
    );
  }

  /** The last observed state of pod `name` strictly before entry `index` (undefined if it did not exist). */
  stateBefore(name: string, index: number): KObject | undefined {
    for (let i = index - 1; i >= 0; i--) {
      const e = nth(this.entries, i);
      if (e.pod.metadata.name !== name) continue;
      return e.type === 'DELETED' ? undefined : e.pod;
    }
    return undefined;
  }

  /** Whether some state of the pod (optionally with uid) had `pred` true. */
  everSaw(name: string, pred: (pod: KObject) => boolean, uid?: string): boolean {
    return this.entries.some(
      (e) => e.pod.metadata.name === name && (uid === undefined || e.pod.metadata.uid === uid) && pred(e.pod),
    );
  }

  /**
   * OrderedReady creation: `names` were ADDED (first time at or after `from`)
   * in this order, and each only while its predecessor was Running and Ready.
   */
  expectOrderedCreation(names: string[], from = 0): void {
    const idx = names.map((n) => this.addedAt(n, from));
    for (let k = 0; k < names.length; k++) {
      expect(
        nth(idx, k),
        `${nth(names, k)} was never created; added: ${this.added().join(',')}`,
      ).toBeGreaterThanOrEqual(0);
    }
    const order = [...names].sort((a, b) => this.addedAt(a, from) - this.addedAt(b, from));
    expect(order, 'creation order').toEqual(names);
    for (let k = 1; k < names.length; k++) {
      const prev = this.stateBefore(nth(names, k - 1), nth(idx, k));
      expect(
        prev !== undefined && isRunningAndReady(prev),
        `${nth(names, k)} created while ${nth(names, k - 1)} was ${prev ? `${phase(prev)} ready=${isReady(prev)}` : 'absent'}`,
      ).toBe(true);
    }
  }

  /**
   * OrderedReady scale-down: the pods `names` (with the given UIDs) started
   * terminating in this order, and each only after its predecessor was gone.
   */
  expectOrderedTermination(pods: Array<{ name: string; uid: string }>, from = 0): void {
    const starts = pods.map((p) => this.terminationStartAt(p.name, p.uid, from));
    for (let k = 0; k < pods.length; k++) {
      expect(nth(starts, k), `${nth(pods, k).name} never terminated`).toBeGreaterThanOrEqual(0);
    }
    const order = [...pods].sort(
      (a, b) => this.terminationStartAt(a.name, a.uid, from) - this.terminationStartAt(b.name, b.uid, from),
    );
    expect(
      order.map((p) => p.name),
      'termination order',
    ).toEqual(pods.map((p) => p.name));
    for (let k = 1; k < pods.length; k++) {
      const gone = this.deletedAt(nth(pods, k - 1).name, nth(pods, k - 1).uid, from);
      expect(gone, `${nth(pods, k - 1).name} never deleted`).toBeGreaterThanOrEqual(0);
      expect(
        gone,
        `${nth(pods, k).name} began terminating before ${nth(pods, k - 1).name} was gone`,
      ).toBeLessThan(nth(starts, k));
    }
  }

  expectNoViolations(): void {
    expect(this.violations, 'at most one pod per identity').toEqual([]);
  }

  /** Waits until the timeline contains an entry matching `pred`. */
  async waitFor(pred: (e: TimelineEntry) => boolean, what: string, timeoutMs = WAIT_MS): Promise<number> {
    return waitFor(
      () => {
        const i = this.indexOf(pred);
        return i >= 0 ? i : undefined;
      },
      timeoutMs,
      what,
    );
  }
}
