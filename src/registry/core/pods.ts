import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, arr, column, get, nameColumn, rec, since, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  defaultPodOnlyFields,
  defaultPodSpec,
  forbiddenField,
  isRecord,
  jsonEqual,
  parseQuantity,
  required,
  validateObjectMeta,
  validateObjectMetaUpdate,
  validatePodSpec,
} from '../validation.js';

const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

type Json = Record<string, unknown>;

function isRestartableInit(c: unknown): boolean {
  return get(c, 'restartPolicy') === 'Always';
}

function conditionTrue(status: Json, type: string): boolean {
  return arr(status.conditions).some((c) => get(c, 'type') === type && get(c, 'status') === 'True');
}

function laterOf(a: string, b: unknown): string {
  if (typeof b !== 'string' || b === '') return a;
  if (a === '') return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/**
 * The READY, STATUS and RESTARTS cells of `kubectl get pods`, computed like
 * upstream's printPod: phase or status.reason, overridden by init-container
 * progress ("Init:0/1", "Init:CrashLoopBackOff"), then by container waiting /
 * terminated reasons ("ContainerCreating", "CrashLoopBackOff", "Completed",
 * "Error"), "Terminating" when being deleted, restarts as "2 (5m ago)".
 */
export function podStatusCells(pod: KObject, now: Date): { ready: string; status: string; restarts: string } {
  const spec = rec(pod.spec);
  const status = rec(pod.status);
  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  let restarts = 0;
  let sidecarRestarts = 0;
  let ready = 0;
  let lastRestart = '';
  let lastSidecarRestart = '';

  for (const c of arr(status.conditions)) {
    if (get(c, 'type') === 'PodScheduled' && get(c, 'reason') === 'SchedulingGated')
      reason = 'SchedulingGated';
  }

  const initSpecs = new Map<string, unknown>();
  let total = arr(spec.containers).length;
  for (const c of arr(spec.initContainers)) {
    initSpecs.set(str(get(c, 'name')), c);
    if (isRestartableInit(c)) total++;
  }
  const initCount = arr(spec.initContainers).length;

  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    const count = Number(get(cs, 'restartCount') ?? 0);
    restarts += count;
    const lastFinished = get(cs, 'lastState', 'terminated', 'finishedAt');
    lastRestart = laterOf(lastRestart, lastFinished);
    const sidecar = isRestartableInit(initSpecs.get(str(get(cs, 'name'))));
    if (sidecar) {
      sidecarRestarts += count;
      lastSidecarRestart = laterOf(lastSidecarRestart, lastFinished);
    }
    const terminated = get(cs, 'state', 'terminated');
    const waiting = get(cs, 'state', 'waiting');
    if (isRecord(terminated) && Number(terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && get(cs, 'started') === true) {
      if (get(cs, 'ready') === true) ready++;
      continue;
    }
    if (isRecord(terminated)) {
      const r = str(terminated.reason);
      if (r) reason = `Init:${r}`;
      else if (Number(terminated.signal ?? 0) !== 0) reason = `Init:Signal:${Number(terminated.signal)}`;
      else reason = `Init:ExitCode:${Number(terminated.exitCode ?? 0)}`;
    } else if (isRecord(waiting) && str(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += Number(get(cs, 'restartCount') ?? 0);
      lastRestart = laterOf(lastRestart, get(cs, 'lastState', 'terminated', 'finishedAt'));
      const waiting = get(cs, 'state', 'waiting');
      const terminated = get(cs, 'state', 'terminated');
      if (isRecord(waiting) && str(waiting.reason) !== '') {
        reason = str(waiting.reason);
      } else if (isRecord(terminated) && str(terminated.reason) !== '') {
        reason = str(terminated.reason);
      } else if (isRecord(terminated)) {
        reason =
          Number(terminated.signal ?? 0) !== 0
            ? `Signal:${Number(terminated.signal)}`
            : `ExitCode:${Number(terminated.exitCode ?? 0)}`;
      } else if (get(cs, 'ready') === true && isRecord(get(cs, 'state', 'running'))) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning)
      reason = conditionTrue(status, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting =
    typeof pod.metadata?.deletionTimestamp === 'string' && pod.metadata.deletionTimestamp !== '';
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsCell = String(restarts);
  if (restarts !== 0 && lastRestart !== '') restartsCell = `${restarts} (${since(lastRestart, now)} ago)`;
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsCell };
}

function podRow(pod: KObject, now: Date): unknown[] {
  const spec = rec(pod.spec);
  const status = rec(pod.status);
  const cells = podStatusCells(pod, now);
  const podIP = str(get(status, 'podIPs', 0, 'ip')) || str(status.podIP) || '<none>';
  const gates = arr(spec.readinessGates);
  let readinessGates = '<none>';
  if (gates.length > 0) {
    let trueCount = 0;
    for (const g of gates) {
      const cond = arr(status.conditions).find((c) => get(c, 'type') === get(g, 'conditionType'));
      if (cond !== undefined && get(cond, 'status') === 'True') trueCount++;
    }
    readinessGates = `${trueCount}/${gates.length}`;
  }
  return [
    pod.metadata.name ?? '',
    cells.ready,
    cells.status,
    cells.restarts,
    age(pod, now),
    podIP,
    str(spec.nodeName) || '<none>',
    str(status.nominatedNodeName) || '<none>',
    readinessGates,
  ];
}

/** Upstream's GetPodQOS over containers and init containers (cpu and memory only). */
export function podQOSClass(spec: Json): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  const all = [...arr(spec.initContainers), ...arr(spec.containers)];
  for (const c of all) {
    const res = rec(get(c, 'resources'));
    const reqs = rec(res.requests);
    const lims = rec(res.limits);
    for (const name of ['cpu', 'memory']) {
      const r = parseQuantity(reqs[name]);
      if (r !== null && r > 0) requests.set(name, (requests.get(name) ?? 0) + r);
      const l = parseQuantity(lims[name]);
      if (l !== null && l > 0) limits.set(name, (limits.get(name) ?? 0) + l);
    }
    const hasCpuLimit = (parseQuantity(lims.cpu) ?? 0) > 0;
    const hasMemLimit = (parseQuantity(lims.memory) ?? 0) > 0;
    if (!hasCpuLimit || !hasMemLimit) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, r] of requests) if (limits.get(name) !== r) guaranteed = false;
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

/** The taint keys DefaultTolerationSeconds tolerates for 300 s on every pod. */
export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';
const DEFAULT_TOLERATION_SECONDS = 300;

/**
 * Upstream's DefaultTolerationSeconds admission plugin (pods, create and
 * update, not subresources): appends `not-ready:NoExecute` and
 * `unreachable:NoExecute` tolerations with tolerationSeconds 300 unless a
 * toleration already covers that taint key (or every key) with effect
 * NoExecute (or every effect).
 */
export function addDefaultTolerations(spec: Json): void {
  const tolerations = arr(spec.tolerations);
  const covers = (key: string): boolean =>
    tolerations.some((t) => {
      const k = str(get(t, 'key'));
      const effect = str(get(t, 'effect'));
      return (k === key || k === '') && (effect === 'NoExecute' || effect === '');
    });
  const notReady = covers(TAINT_NODE_NOT_READY);
  const unreachable = covers(TAINT_NODE_UNREACHABLE);
  if (notReady && unreachable) return;
  const out = [...tolerations];
  for (const [key, has] of [
    [TAINT_NODE_NOT_READY, notReady],
    [TAINT_NODE_UNREACHABLE, unreachable],
  ] as const) {
    if (has) continue;
    out.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
  }
  spec.tolerations = out;
}

function defaults(obj: KObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec = obj.spec as Json;
  defaultPodSpec(spec);
  defaultPodOnlyFields(spec);
  addDefaultTolerations(spec);
  if (!isRecord(obj.status)) obj.status = {};
  const status = obj.status as Json;
  if (!status.phase) status.phase = 'Pending';
  if (!status.qosClass) status.qosClass = podQOSClass(spec);
}

function validate(obj: KObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validatePodSpec(obj.spec, 'spec')];
}

function tolerationsAreAdditions(newT: unknown, oldT: unknown): boolean {
  const n = arr(newT);
  return arr(oldT).every((o) => n.some((x) => jsonEqual(x, o)));
}

function validateUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = validateObjectMetaUpdate(obj.metadata, old.metadata);
  const spec = rec(obj.spec);
  const oldSpec = rec(old.spec);
  for (const it of validatePodSpec(spec, 'spec')) errs.push(it);

  const containers = arr(spec.containers);
  const oldContainers = arr(oldSpec.containers);
  if (containers.length !== oldContainers.length) {
    errs.push(forbiddenField('spec.containers', 'pod updates may not add or remove containers'));
    return errs;
  }
  const initContainers = arr(spec.initContainers);
  const oldInit = arr(oldSpec.initContainers);
  if (initContainers.length !== oldInit.length) {
    errs.push(forbiddenField('spec.initContainers', 'pod updates may not add or remove containers'));
    return errs;
  }

  // Copy the mutable fields of the new spec onto a clone of the old one; any
  // remaining difference is a forbidden change.
  const mutated: Json = structuredClone(spec);
  const withOldImages = (list: unknown[], oldList: unknown[]): unknown[] =>
    list.map((c, i) => (isRecord(c) ? { ...c, image: get(oldList[i], 'image') } : c));
  mutated.containers = withOldImages(containers, oldContainers);
  if (spec.initContainers !== undefined) mutated.initContainers = withOldImages(initContainers, oldInit);
  containers.forEach((c, i) => {
    if (!get(c, 'image')) errs.push(required(`spec.containers[${i}].image`));
  });

  const ads = spec.activeDeadlineSeconds;
  const oldAds = oldSpec.activeDeadlineSeconds;
  if (
    ads !== undefined &&
    ads !== null &&
    (oldAds === undefined || oldAds === null || (typeof ads === 'number' && ads <= Number(oldAds)))
  ) {
    mutated.activeDeadlineSeconds = oldAds;
  }
  if (tolerationsAreAdditions(spec.tolerations, oldSpec.tolerations))
    mutated.tolerations = oldSpec.tolerations;
  if (
    typeof oldSpec.terminationGracePeriodSeconds === 'number' &&
    oldSpec.terminationGracePeriodSeconds < 0 &&
    spec.terminationGracePeriodSeconds === 1
  ) {
    mutated.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  // Scheduling gates may only be removed.
  const gates = arr(spec.schedulingGates);
  if (gates.every((g) => arr(oldSpec.schedulingGates).some((o) => jsonEqual(o, g)))) {
    mutated.schedulingGates = oldSpec.schedulingGates;
  }
  // Ephemeral containers change only through their subresource; the apiserver keeps them.
  mutated.ephemeralContainers = oldSpec.ephemeralContainers;

  if (!jsonEqual(mutated, oldSpec)) errs.push(forbiddenField('spec', POD_UPDATE_FORBIDDEN));
  return errs;
}

export const pods: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [
    {
      name: 'attach',
      kind: { group: '', version: 'v1', kind: 'PodAttachOptions' },
      verbs: ['create', 'get'],
    },
    { name: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] },
    {
      name: 'ephemeralcontainers',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      verbs: ['get', 'patch', 'update'],
    },
    { name: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] },
    { name: 'exec', kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, verbs: ['create', 'get'] },
    { name: 'log', kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] },
    {
      name: 'portforward',
      kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' },
      verbs: ['create', 'get'],
    },
    {
      name: 'proxy',
      kind: { group: '', version: 'v1', kind: 'PodProxyOptions' },
      verbs: ['create', 'delete', 'get', 'patch', 'update'],
    },
    { name: 'resize', kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get', 'patch', 'update'] },
    { name: 'status', kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get', 'patch', 'update'] },
  ],
  hasStatus: true,
  tracksGeneration: true,
  defaults,
  validate,
  validateUpdate,
  columns: [
    nameColumn,
    column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'The aggregate status of the containers in this pod.'),
    column(
      'Restarts',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    ageColumn,
    column(
      'IP',
      'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      { priority: 1 },
    ),
    column(
      'Node',
      'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename',
      { priority: 1 },
    ),
    column(
      'Nominated Node',
      'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
      { priority: 1 },
    ),
    column(
      'Readiness Gates',
      'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
      { priority: 1 },
    ),
  ],
  row: podRow,
  fieldLabels(obj) {
    const spec = rec(obj.spec);
    const status = rec(obj.status);
    return {
      'spec.nodeName': str(spec.nodeName),
      'spec.restartPolicy': str(spec.restartPolicy),
      'spec.schedulerName': str(spec.schedulerName),
      'spec.serviceAccountName': str(spec.serviceAccountName),
      'spec.hostNetwork': String(spec.hostNetwork === true),
      'status.phase': str(status.phase),
      'status.podIP': str(get(status, 'podIPs', 0, 'ip')) || str(status.podIP),
      'status.nominatedNodeName': str(status.nominatedNodeName),
    };
  },
};
