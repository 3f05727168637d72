/**
 * Pure pieces of the kubelet's pod status generation (pkg/kubelet/status and
 * kubelet_pods.go getPhase), over plain JSON container statuses:
 *
 * - `podPhaseFor`: upstream getPhase (init containers, sidecars, restart policy,
 *   terminal pods);
 * - `initializedCondition`, `containersReadyCondition`, `readyCondition`: the
 *   condition generators with upstream reasons and messages;
 * - `mergeKubeletConditions`: the status manager's merge (conditions the kubelet
 *   does not own are kept first, lastTransitionTime moves only on a status
 *   change);
 * - `goDuration`: Go's time.Duration String(), for "back-off 10s ..." messages;
 * - `jsonEqual`: order-insensitive equality of API data.
 */
import { isObject, type KObject } from '../../api/types.js';
import type { PodCondition } from '../../controllers/util/pods.js';

export type Json = Record<string, unknown>;

/** Conditions the kubelet owns (kubetypes.PodConditionsByKubelet + PodReadyToStartContainers). */
export const KUBELET_CONDITIONS = [
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
] as const;

export const UNKNOWN_CONTAINER_STATUSES = 'UnknownContainerStatuses';
export const CONTAINERS_NOT_READY = 'ContainersNotReady';
export const CONTAINERS_NOT_INITIALIZED = 'ContainersNotInitialized';
export const READINESS_GATES_NOT_READY = 'ReadinessGatesNotReady';
export const POD_COMPLETED = 'PodCompleted';
export const POD_FAILED = 'PodFailed';

function rec(v: unknown): Json {
  return isObject(v) ? v : {};
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** A container spec is a restartable init container (sidecar). */
export function isSidecar(c: unknown): boolean {
  return rec(c).restartPolicy === 'Always';
}

function statusOf(statuses: Json[], name: unknown): Json | undefined {
  return statuses.find((s) => s.name === name);
}

function stateOf(s: Json): { running?: Json; terminated?: Json; waiting?: Json } {
  const st = rec(s.state);
  return {
    running: isObject(st.running) ? st.running : undefined,
    terminated: isObject(st.terminated) ? st.terminated : undefined,
    waiting: isObject(st.waiting) ? st.waiting : undefined,
  };
}

function lastTerminated(s: Json): Json | undefined {
  const t = rec(s.lastState).terminated;
  return isObject(t) ? t : undefined;
}

/** Go's fmt %s of a []string: "[a b c]". */
function goList(names: string[]): string {
  return `[${names.join(' ')}]`;
}

/** kubecontainer.HasAnyRegularContainerStarted. */
export function hasAnyRegularContainerStarted(spec: Json, statuses: Json[]): boolean {
  for (const c of list(spec.containers)) {
    const s = statusOf(statuses, c.name);
    if (!s) continue;
    const st = stateOf(s);
    if (st.running || st.terminated) return true;
    if (st.waiting && lastTerminated(s)) return true;
  }
  return false;
}

/**
 * The pod phase from its container statuses (upstream getPhase). `statuses` are
 * init and regular container statuses together; `podIsTerminal` is true once
 * the kubelet has stopped the pod for good (deletion, eviction).
 */
export function podPhaseFor(spec: Json, statuses: Json[], podIsTerminal: boolean): string {
  const restartPolicy = typeof spec.restartPolicy === 'string' ? spec.restartPolicy : 'Always';
  let pendingRegularInit = 0;
  let pendingSidecars = 0;
  let failedInitialization = 0;
  for (const c of list(spec.initContainers)) {
    if (isSidecar(c)) continue;
    const s = statusOf(statuses, c.name);
    if (!s) {
      pendingRegularInit++;
      continue;
    }
    const st = stateOf(s);
    if (st.running) pendingRegularInit++;
    else if (st.terminated) {
      if (Number(st.terminated.exitCode ?? 0) !== 0) failedInitialization++;
    } else if (st.waiting) {
      const last = lastTerminated(s);
      if (last) {
        if (Number(last.exitCode ?? 0) !== 0) failedInitialization++;
      } else pendingRegularInit++;
    } else pendingRegularInit++;
  }

  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of list(spec.initContainers)) {
    if (!isSidecar(c)) continue;
    const s = statusOf(statuses, c.name);
    if (!s) {
      unknown++;
      continue;
    }
    const st = stateOf(s);
    if (st.running) {
      if (s.started !== true) pendingSidecars++;
      running++;
    } else if (st.terminated) {
      // neither pending nor completed
    } else if (st.waiting) {
      if (!lastTerminated(s)) {
        pendingSidecars++;
        waiting++;
      }
    } else {
      pendingSidecars++;
      unknown++;
    }
  }
  for (const c of list(spec.containers)) {
    const s = statusOf(statuses, c.name);
    if (!s) {
      unknown++;
      continue;
    }
    const st = stateOf(s);
    if (st.running) running++;
    else if (st.terminated) {
      stopped++;
      if (Number(st.terminated.exitCode ?? 0) === 0) succeeded++;
    } else if (st.waiting) {
      if (lastTerminated(s)) stopped++;
      else waiting++;
    } else unknown++;
  }

  if (failedInitialization > 0 && restartPolicy === 'Never') return 'Failed';
  if (
    pendingRegularInit > 0 ||
    (pendingSidecars > 0 && !hasAnyRegularContainerStarted(spec, statuses)) ||
    waiting > 0
  ) {
    return 'Pending';
  }
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** status.GeneratePodInitializedCondition. */
export function initializedCondition(spec: Json, statuses: Json[] | undefined, phase: string): PodCondition {
  const inits = list(spec.initContainers);
  if (inits.length === 0) return { type: 'Initialized', status: 'True' };
  if (statuses === undefined) {
    return { type: 'Initialized', status: 'False', reason: UNKNOWN_CONTAINER_STATUSES };
  }
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of inits) {
    const name = String(c.name ?? '');
    const s = statusOf(statuses, c.name);
    if (!s) {
      unknown.push(name);
      continue;
    }
    if (isSidecar(c)) {
      if (s.started !== true) incomplete.push(name);
      continue;
    }
    const t = stateOf(s).terminated;
    if (!t || Number(t.exitCode ?? 0) !== 0) incomplete.push(name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) {
    return { type: 'Initialized', status: 'True', reason: POD_COMPLETED };
  }
  if (hasAnyRegularContainerStarted(spec, statuses)) return { type: 'Initialized', status: 'True' };
  const msgs: string[] = [];
  if (unknown.length > 0) msgs.push(`containers with unknown status: ${goList(unknown)}`);
  if (incomplete.length > 0) msgs.push(`containers with incomplete status: ${goList(incomplete)}`);
  if (msgs.length > 0) {
    return {
      type: 'Initialized',
      status: 'False',
      reason: CONTAINERS_NOT_INITIALIZED,
      message: msgs.join(', '),
    };
  }
  return { type: 'Initialized', status: 'True' };
}

/** status.GenerateContainersReadyCondition. */
export function containersReadyCondition(
  spec: Json,
  statuses: Json[] | undefined,
  phase: string,
): PodCondition {
  if (statuses === undefined) {
    return { type: 'ContainersReady', status: 'False', reason: UNKNOWN_CONTAINER_STATUSES };
  }
  const unknown: string[] = [];
  const unready: string[] = [];
  const consider = (c: Json): void => {
    const name = String(c.name ?? '');
    const s = statusOf(statuses, c.name);
    if (!s) unknown.push(name);
    else if (s.ready !== true) unready.push(name);
  };
  for (const c of list(spec.initContainers)) if (isSidecar(c)) consider(c);
  for (const c of list(spec.containers)) consider(c);
  if (phase === 'Succeeded' && unknown.length === 0) {
    return { type: 'ContainersReady', status: 'False', reason: POD_COMPLETED };
  }
  if (phase === 'Failed') return { type: 'ContainersReady', status: 'False', reason: POD_FAILED };
  const msgs: string[] = [];
  if (unknown.length > 0) msgs.push(`containers with unknown status: ${goList(unknown)}`);
  if (unready.length > 0) msgs.push(`containers with unready status: ${goList(unready)}`);
  if (msgs.length > 0) {
    return {
      type: 'ContainersReady',
      status: 'False',
      reason: CONTAINERS_NOT_READY,
      message: msgs.join(', '),
    };
  }
  return { type: 'ContainersReady', status: 'True' };
}

/** status.GeneratePodReadyCondition: ContainersReady plus the readiness gates (from `conditions`). */
export function readyCondition(
  spec: Json,
  conditions: readonly PodCondition[],
  statuses: Json[] | undefined,
  phase: string,
): PodCondition {
  const cr = containersReadyCondition(spec, statuses, phase);
  if (cr.status !== 'True') {
    const out: PodCondition = { type: 'Ready', status: cr.status };
    if (cr.reason !== undefined) out.reason = cr.reason;
    if (cr.message !== undefined) out.message = cr.message;
    return out;
  }
  const msgs: string[] = [];
  for (const g of list(spec.readinessGates)) {
    const type = String(g.conditionType ?? '');
    const c = conditions.find((x) => x.type === type);
    if (!c) msgs.push(`corresponding condition of pod readiness gate "${type}" does not exist.`);
    else if (c.status !== 'True')
      msgs.push(`the status of pod readiness gate "${type}" is not "True", but ${c.status}`);
  }
  if (msgs.length > 0) {
    return { type: 'Ready', status: 'False', reason: READINESS_GATES_NOT_READY, message: msgs.join(', ') };
  }
  return { type: 'Ready', status: 'True' };
}

/**
 * The status manager's view of conditions: `generated` (kubelet-owned, in the
 * kubelet's order) after every condition of `old` the kubelet does not own;
 * lastProbeTime null and lastTransitionTime carried over from `old` when the
 * status did not change (updateLastTransitionTime), else `now`.
 */
export function mergeKubeletConditions(
  old: readonly PodCondition[],
  generated: readonly PodCondition[],
  now: string,
): PodCondition[] {
  const owned = new Set<string>(KUBELET_CONDITIONS);
  const out: PodCondition[] = [];
  for (const c of old) if (!owned.has(c.type)) out.push(c);
  for (const g of generated) {
    const prev = old.find((c) => c.type === g.type);
    const next: PodCondition = { type: g.type, status: g.status, lastProbeTime: null };
    next.lastTransitionTime =
      prev && prev.status === g.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    if (g.reason !== undefined) next.reason = g.reason;
    if (g.message !== undefined) next.message = g.message;
    out.push(next);
  }
  return out;
}

/** Go's time.Duration.String() for a whole number of milliseconds: "10s", "1m20s", "5m0s", "100ms". */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${neg ? '-' : ''}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const frac = rest - s * 1000;
  let secs = String(s);
  if (frac > 0) secs += `.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
  let out = `${secs}s`;
  if (h > 0) out = `${h}h${m}m${out}`;
  else if (m > 0) out = `${m}m${out}`;
  return `${neg ? '-' : ''}${out}`;
}

/** upstream format.Pod: "name_namespace(uid)". */
export function formatPod(pod: KObject): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${pod.metadata.uid ?? ''})`;
}

/**
 * Deep equality of JSON data, ignoring object key order and treating an
 * undefined property as absent (what a JSON round trip would see).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    let na = 0;
    for (const k in a) {
      const v = a[k];
      if (v === undefined) continue;
      na++;
      if (!jsonEqual(v, b[k])) return false;
    }
    let nb = 0;
    for (const k in b) if (b[k] !== undefined) nb++;
    return na === nb;
  }
  return false;
}
