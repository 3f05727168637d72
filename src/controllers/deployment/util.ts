/**
 * Pure Deployment helpers (upstream pkg/controller/deployment/util and the
 * parts of pkg/controller it uses): field accessors, maxSurge/maxUnavailable
 * arithmetic, the pod-template-hash, new/old ReplicaSet discovery, revision and
 * replica annotations, ReplicaSet orderings and Deployment conditions.
 *
 * Deployments and ReplicaSets are plain KObjects. Nothing here mutates its
 * arguments unless the doc comment says so (the annotation setters mutate the
 * copy they are given, as upstream's do).
 */
import { isObject, type KObject, type LabelSelector } from '../../api/types.js';
import { canonicalJson, minReadySeconds, specReplicas } from '../replicaset.js';

export { minReadySeconds, specReplicas };

// ---------------------------------------------------------------------------
// names

export const DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const DEPRECATED_ROLLBACK_TO = 'deprecated.deployment.rollback.to';
export const LAST_APPLIED_CONFIG_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** Longest revision-history annotation (upstream maxRevHistoryLengthInChars). */
export const MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000;

// Condition reasons (upstream deploymentutil).
export const FOUND_NEW_RS_REASON = 'FoundNewReplicaSet';
export const NEW_RS_REASON = 'NewReplicaSetCreated';
export const FAILED_RS_CREATE_REASON = 'ReplicaSetCreateError';
export const NEW_RS_AVAILABLE_REASON = 'NewReplicaSetAvailable';
export const TIMED_OUT_REASON = 'ProgressDeadlineExceeded';
export const PAUSED_DEPLOY_REASON = 'DeploymentPaused';
export const RESUMED_DEPLOY_REASON = 'DeploymentResumed';
export const RS_UPDATED_REASON = 'ReplicaSetUpdated';
export const MINIMUM_REPLICAS_AVAILABLE = 'MinimumReplicasAvailable';
export const MINIMUM_REPLICAS_UNAVAILABLE = 'MinimumReplicasUnavailable';

/** Go's math.MaxInt32: a progressDeadlineSeconds meaning "no deadline". */
const MAX_INT32 = 2147483647;

// ---------------------------------------------------------------------------
// accessors

type Rec = Record<string, unknown>;

function rec(v: unknown): Rec {
  return isObject(v) ? v : {};
}

function num(v: unknown, dflt = 0): number {
  return typeof v === 'number' ? v : dflt;
}

export function spec(obj: KObject): Rec {
  return rec(obj.spec);
}

export function status(obj: KObject): Rec {
  return rec(obj.status);
}

export function statusNum(obj: KObject | undefined, field: string): number {
  return obj ? num(status(obj)[field]) : 0;
}

export function templateOf(obj: KObject): Rec {
  return rec(spec(obj).template);
}

export function selectorSpec(obj: KObject): LabelSelector | undefined {
  const s = spec(obj).selector;
  return isObject(s) ? (s as LabelSelector) : undefined;
}

export function strategyType(d: KObject): string {
  const t = rec(spec(d).strategy).type;
  return typeof t === 'string' ? t : '';
}

export function isRollingUpdate(d: KObject): boolean {
  return strategyType(d) === 'RollingUpdate';
}

function rollingUpdate(d: KObject): Rec {
  return rec(rec(spec(d).strategy).rollingUpdate);
}

export function isPaused(d: KObject): boolean {
  return spec(d).paused === true;
}

export function revisionHistoryLimit(d: KObject): number | undefined {
  const v = spec(d).revisionHistoryLimit;
  return typeof v === 'number' ? v : undefined;
}

/** progressDeadlineSeconds, or undefined when the Deployment has none. */
export function progressDeadlineSeconds(d: KObject): number | undefined {
  const v = spec(d).progressDeadlineSeconds;
  return typeof v === 'number' ? v : undefined;
}

export function hasProgressDeadline(d: KObject): boolean {
  const v = progressDeadlineSeconds(d);
  return v !== undefined && v !== MAX_INT32;
}

export function annotation(obj: KObject, key: string): string | undefined {
  return obj.metadata.annotations?.[key];
}

// ---------------------------------------------------------------------------
// maxSurge / maxUnavailable

/**
 * intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of `total`
 * rounded up or down; anything else counts as 0 (validation rejects it).
 */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || !v.endsWith('%')) return 0;
  const body = v.slice(0, -1);
  if (!/^[+-]?\d+$/.test(body)) return 0;
  const pct = Number(body);
  const x = (pct * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * upstream ResolveFenceposts: surge rounds up, unavailable rounds down; when
 * both come out 0, unavailable becomes 1 (surge might be blocked by quota).
 */
export function resolveFenceposts(
  maxSurge: unknown,
  maxUnavailable: unknown,
  desired: number,
): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? 0, desired, true);
  let unavailable = scaledValue(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** Pods the rollout may add above spec.replicas (0 unless RollingUpdate). */
export function maxSurge(d: KObject): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = rollingUpdate(d);
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, specReplicas(d)).surge;
}

/** Pods that may be unavailable during the rollout (0 unless RollingUpdate with replicas > 0). */
export function maxUnavailable(d: KObject): number {
  const replicas = specReplicas(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = rollingUpdate(d);
  const { unavailable } = resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicas);
  return Math.min(unavailable, replicas);
}

// ---------------------------------------------------------------------------
// ReplicaSet sums

type MaybeRS = KObject | undefined | null;

/** Sum of spec.replicas. */
export function replicaCount(rss: readonly MaybeRS[]): number {
  let n = 0;
  for (const rs of rss) if (rs) n += specReplicas(rs);
  return n;
}

/** Sum of status.replicas. */
export function actualReplicaCount(rss: readonly MaybeRS[]): number {
  let n = 0;
  for (const rs of rss) if (rs) n += statusNum(rs, 'replicas');
  return n;
}

export function readyReplicaCount(rss: readonly MaybeRS[]): number {
  let n = 0;
  for (const rs of rss) if (rs) n += statusNum(rs, 'readyReplicas');
  return n;
}

export function availableReplicaCount(rss: readonly MaybeRS[]): number {
  let n = 0;
  for (const rs of rss) if (rs) n += statusNum(rs, 'availableReplicas');
  return n;
}

/** ReplicaSets with spec.replicas > 0 (upstream FilterActiveReplicaSets). */
export function activeReplicaSets(rss: readonly MaybeRS[]): KObject[] {
  const out: KObject[] = [];
  for (const rs of rss) if (rs && specReplicas(rs) > 0) out.push(rs);
  return out;
}

// ---------------------------------------------------------------------------
// orderings

function created(obj: KObject): number {
  const t = obj.metadata.creationTimestamp ? Date.parse(obj.metadata.creationTimestamp) : Number.NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** Older first, name as tie-breaker (upstream ReplicaSetsByCreationTimestamp). */
export function byCreationTimestamp(a: KObject, b: KObject): number {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta - tb;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Larger first; equal sizes older first (upstream ReplicaSetsBySizeOlder). */
export function bySizeOlder(a: KObject, b: KObject): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : byCreationTimestamp(a, b);
}

/** Larger first; equal sizes newer first (upstream ReplicaSetsBySizeNewer). */
export function bySizeNewer(a: KObject, b: KObject): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : byCreationTimestamp(b, a);
}

/** Lower revision first; unparsable or equal revisions by creation (upstream ReplicaSetsByRevision). */
export function byRevision(a: KObject, b: KObject): number {
  const ra = revisionOf(a);
  const rb = revisionOf(b);
  if (ra === undefined || rb === undefined || ra === rb) return byCreationTimestamp(a, b);
  return ra - rb;
}

// ---------------------------------------------------------------------------
// revisions and annotations

/** The revision annotation as a number: 0 when absent, undefined when unparsable (upstream Revision). */
export function revisionOf(obj: KObject): number | undefined {
  const v = annotation(obj, REVISION_ANNOTATION);
  if (v === undefined) return 0;
  if (!/^[+-]?\d+$/.test(v)) return undefined;
  return Number(v);
}

/** Highest revision among the ReplicaSets (upstream MaxRevision). */
export function maxRevision(rss: readonly MaybeRS[]): number {
  let max = 0;
  for (const rs of rss) {
    if (!rs) continue;
    const v = revisionOf(rs);
    if (v !== undefined && v > max) max = v;
  }
  return max;
}

const ANNOTATIONS_TO_SKIP = new Set([
  LAST_APPLIED_CONFIG_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  DEPRECATED_ROLLBACK_TO,
]);

function ensureAnnotations(obj: KObject): Record<string, string> {
  obj.metadata.annotations ??= {};
  return obj.metadata.annotations;
}

/** Copies the Deployment's annotations (except the controller's own) onto the ReplicaSet; mutates `rs`. */
export function copyDeploymentAnnotationsToReplicaSet(d: KObject, rs: KObject): boolean {
  const out = ensureAnnotations(rs);
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(k) || (Object.hasOwn(out, k) && out[k] === v)) continue;
    out[k] = v;
    changed = true;
  }
  return changed;
}

/** Sets desired-replicas and max-replicas; mutates `rs`; true when they changed. */
export function setReplicasAnnotations(rs: KObject, desired: number, max: number): boolean {
  const a = ensureAnnotations(rs);
  let changed = false;
  if (a[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    a[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (a[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    a[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

export function replicasAnnotationsNeedUpdate(rs: KObject, desired: number, max: number): boolean {
  const a = rs.metadata.annotations;
  if (!a) return true;
  return a[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[MAX_REPLICAS_ANNOTATION] !== String(max);
}

function intAnnotation(rs: KObject, key: string): number | undefined {
  const v = annotation(rs, key);
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return undefined;
  return Number(v);
}

export function desiredReplicasAnnotation(rs: KObject): number | undefined {
  return intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
}

export function maxReplicasAnnotation(rs: KObject): number | undefined {
  return intAnnotation(rs, MAX_REPLICAS_ANNOTATION);
}

/**
 * upstream SetNewReplicaSetAnnotations: copies the Deployment's annotations,
 * raises the revision to `newRevision` (recording the previous one in
 * revision-history when an existing ReplicaSet is brought back, i.e. a
 * rollback), and for a ReplicaSet about to be created sets the replica
 * annotations. Mutates `rs`; true when anything changed.
 */
export function setNewReplicaSetAnnotations(
  d: KObject,
  rs: KObject,
  newRevision: string,
  exists: boolean,
  historyLimitInChars = MAX_REV_HISTORY_LENGTH_IN_CHARS,
): boolean {
  let changed = copyDeploymentAnnotationsToReplicaSet(d, rs);
  const a = ensureAnnotations(rs);
  const hadRevision = Object.hasOwn(a, REVISION_ANNOTATION);
  const oldRevision = a[REVISION_ANNOTATION] ?? '';
  let oldRevisionInt = 0;
  if (oldRevision !== '') {
    if (!/^[+-]?\d+$/.test(oldRevision)) return false;
    oldRevisionInt = Number(oldRevision);
  }
  if (!/^[+-]?\d+$/.test(newRevision)) return false;
  const newRevisionInt = Number(newRevision);
  if (oldRevisionInt < newRevisionInt) {
    a[REVISION_ANNOTATION] = newRevision;
    changed = true;
  }
  if (hadRevision && oldRevisionInt < newRevisionInt) {
    const history = a[REVISION_HISTORY_ANNOTATION] ?? '';
    let old = history.split(',');
    if ((old[0] ?? '').length === 0) {
      a[REVISION_HISTORY_ANNOTATION] = oldRevision;
    } else {
      let total = history.length + oldRevision.length + 1;
      let start = 0;
      while (total > historyLimitInChars && start < old.length) {
        total = total - (old[start] ?? '').length - 1;
        start++;
      }
      if (total <= historyLimitInChars) {
        old = old.slice(start);
        old.push(oldRevision);
        a[REVISION_HISTORY_ANNOTATION] = old.join(',');
      }
    }
  }
  if (!exists && setReplicasAnnotations(rs, specReplicas(d), specReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Sets the Deployment's revision annotation; mutates `d`; true when it changed. */
export function setDeploymentRevision(d: KObject, revision: string): boolean {
  const a = ensureAnnotations(d);
  if (a[REVISION_ANNOTATION] === revision) return false;
  a[REVISION_ANNOTATION] = revision;
  return true;
}

// ---------------------------------------------------------------------------
// templates and the pod-template-hash

/** 32-bit FNV-1a over bytes. */
export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString's alphabet: no vowels, no 0/1/3 (no bad words, no look-alikes). */
const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** upstream rand.SafeEncodeString: each character mapped into SAFE_ALPHANUMS by code point. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHANUMS[(ch.codePointAt(0) ?? 0) % SAFE_ALPHANUMS.length];
  return out;
}

/**
 * The pod-template-hash (upstream controller.ComputeHash): FNV-32a over the
 * template, then the collision count as 8 little-endian bytes when set, the
 * decimal sum encoded with SafeEncodeString. Upstream hashes Go's spew dump of
 * the typed struct; here the template's canonical JSON (sorted keys) is hashed,
 * so values differ from a real cluster's but are just as stable.
 */
export function computeHash(template: unknown, collisionCount?: number): string {
  const enc = new TextEncoder();
  let h = fnv32a(enc.encode(canonicalJson(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

/** Drops nulls and empty objects/arrays (Go's semantic equality treats nil and empty alike). */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map(normalize);
    return out.length === 0 ? undefined : out;
  }
  if (isObject(v)) {
    const out: Rec = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalize(x);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v === null ? undefined : v;
}

/** Semantic equality of two JSON values (nil and empty collections are equal). */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(normalize(a) ?? null) === canonicalJson(normalize(b) ?? null);
}

/** upstream EqualIgnoreHash: templates equal apart from the pod-template-hash label. */
export function equalIgnoreHash(t1: unknown, t2: unknown): boolean {
  const strip = (t: unknown): unknown => {
    if (!isObject(t)) return t;
    const c = structuredClone(t);
    const meta = c.metadata;
    if (isObject(meta) && isObject(meta.labels)) delete meta.labels[DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY];
    return c;
  };
  return semanticEqual(strip(t1), strip(t2));
}

/** The oldest ReplicaSet whose template matches the Deployment's (upstream FindNewReplicaSet). */
export function findNewReplicaSet(d: KObject, rsList: readonly KObject[]): KObject | undefined {
  const sorted = [...rsList].sort(byCreationTimestamp);
  const tmpl = templateOf(d);
  return sorted.find((rs) => equalIgnoreHash(templateOf(rs), tmpl));
}

/**
 * upstream FindOldReplicaSets: every ReplicaSet but the new one (`all`), and
 * those of them with replicas > 0 (`required`).
 */
export function findOldReplicaSets(
  d: KObject,
  rsList: readonly KObject[],
): { required: KObject[]; all: KObject[] } {
  const newRS = findNewReplicaSet(d, rsList);
  const all: KObject[] = [];
  const required: KObject[] = [];
  for (const rs of rsList) {
    if (newRS && rs.metadata.uid === newRS.metadata.uid) continue;
    all.push(rs);
    if (specReplicas(rs) !== 0) required.push(rs);
  }
  return { required, all };
}

/** Labels plus key=value (upstream CloneAndAddLabel); the same map when key is empty. */
export function cloneAndAddLabel(
  labels: Record<string, string> | undefined,
  key: string,
  value: string,
): Record<string, string> {
  if (key === '') return { ...(labels ?? {}) };
  return { ...(labels ?? {}), [key]: value };
}

/** A copy of the selector with key=value added to matchLabels (upstream CloneSelectorAndAddLabel). */
export function cloneSelectorAndAddLabel(
  sel: LabelSelector | undefined,
  key: string,
  value: string,
): LabelSelector {
  const out: LabelSelector = structuredClone(sel ?? {});
  if (key === '') return out;
  out.matchLabels = { ...(out.matchLabels ?? {}), [key]: value };
  return out;
}

// ---------------------------------------------------------------------------
// scaling arithmetic

/**
 * Replicas the new ReplicaSet should have now (upstream NewRSNewReplicas):
 * RollingUpdate adds up to `spec.replicas + maxSurge` pods in total but never
 * above spec.replicas for the new ReplicaSet; Recreate goes straight to spec.replicas.
 */
export function newRSNewReplicas(d: KObject, allRSs: readonly MaybeRS[], newRS: KObject): number {
  const replicas = specReplicas(d);
  switch (strategyType(d)) {
    case 'RollingUpdate': {
      const surge = scaledValue(rollingUpdate(d).maxSurge ?? 0, replicas, true);
      const current = replicaCount(allRSs);
      const maxTotal = replicas + surge;
      if (current >= maxTotal) return specReplicas(newRS);
      const up = Math.min(maxTotal - current, replicas - specReplicas(newRS));
      return specReplicas(newRS) + up;
    }
    case 'Recreate':
      return replicas;
    default:
      throw new Error(`deployment type ${strategyType(d)} isn't supported`);
  }
}

/** Go's integer.RoundToInt32: round half away from zero. */
function roundToInt(x: number): number {
  return x < 0 ? Math.trunc(x - 0.5) : Math.trunc(x + 0.5);
}

/** upstream getReplicaSetFraction: this ReplicaSet's share of a resize. */
export function replicaSetFraction(rs: KObject, d: KObject): number {
  const replicas = specReplicas(d);
  if (replicas === 0) return -specReplicas(rs);
  const deploymentMaxReplicas = replicas + maxSurge(d);
  let annotated = maxReplicasAnnotation(rs);
  if (annotated === undefined || annotated === 0) annotated = statusNum(d, 'replicas');
  const newSize = (specReplicas(rs) * deploymentMaxReplicas) / annotated;
  return roundToInt(newSize) - specReplicas(rs);
}

/**
 * upstream GetProportion: how many replicas to add to (or remove from) `rs`
 * when `toAdd` replicas are spread over the active ReplicaSets and `added`
 * have been handed out already.
 */
export function getProportion(rs: MaybeRS, d: KObject, toAdd: number, added: number): number {
  if (!rs || specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/**
 * The ReplicaSet to scale when only one is active, or the newest when none
 * is (upstream FindActiveOrLatest); undefined when several are active.
 */
export function findActiveOrLatest(newRS: MaybeRS, oldRSs: readonly KObject[]): KObject | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const sorted = [...oldRSs].sort((a, b) => byCreationTimestamp(b, a));
  const all = activeReplicaSets([...sorted, newRS]);
  if (all.length === 0) return newRS ?? sorted[0];
  if (all.length === 1) return all[0];
  return undefined;
}

/** The new ReplicaSet runs all the Deployment's replicas, available (upstream IsSaturated). */
export function isSaturated(d: KObject, rs: MaybeRS): boolean {
  if (!rs) return false;
  const desired = desiredReplicasAnnotation(rs);
  if (desired === undefined) return false;
  const replicas = specReplicas(d);
  return (
    specReplicas(rs) === replicas && desired === replicas && statusNum(rs, 'availableReplicas') === replicas
  );
}

// ---------------------------------------------------------------------------
// conditions

export interface DeploymentCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
  [field: string]: unknown;
}

export function newDeploymentCondition(
  type: string,
  status: DeploymentCondition['status'],
  reason: string,
  message: string,
  now: string,
): DeploymentCondition {
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

export function getDeploymentCondition(
  st: DeploymentStatus | undefined,
  type: string,
): DeploymentCondition | undefined {
  return (st?.conditions ?? []).find((c) => c.type === type);
}

/**
 * upstream SetDeploymentCondition: no-op when a condition of the type with the
 * same status and reason exists; otherwise replaces it (keeping
 * lastTransitionTime when the status is unchanged), appended last. Mutates `st`.
 */
export function setDeploymentCondition(st: DeploymentStatus, cond: DeploymentCondition): void {
  const cur = getDeploymentCondition(st, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
  const next = { ...cond };
  if (cur && cur.status === cond.status) next.lastTransitionTime = cur.lastTransitionTime;
  const rest = (st.conditions ?? []).filter((c) => c.type !== cond.type);
  rest.push(next);
  st.conditions = rest;
}

export function removeDeploymentCondition(st: DeploymentStatus, type: string): void {
  if (!st.conditions) return;
  st.conditions = st.conditions.filter((c) => c.type !== type);
  if (st.conditions.length === 0) delete st.conditions;
}

/** The Deployment's status as a typed copy. */
export function deploymentStatus(d: KObject): DeploymentStatus {
  const st = structuredClone(status(d)) as DeploymentStatus;
  if (Array.isArray(st.conditions)) st.conditions = st.conditions.filter(isObject) as DeploymentCondition[];
  else delete st.conditions;
  return st;
}

/** Status as the API serialises it: omitempty fields left out when zero. */
export function normalizeDeploymentStatus(st: DeploymentStatus): DeploymentStatus {
  const out: DeploymentStatus = {};
  for (const [k, v] of Object.entries(st)) {
    if (v === undefined || v === null) continue;
    if (
      (k === 'observedGeneration' ||
        k === 'replicas' ||
        k === 'updatedReplicas' ||
        k === 'readyReplicas' ||
        k === 'availableReplicas' ||
        k === 'unavailableReplicas') &&
      v === 0
    )
      continue;
    if (k === 'conditions' && Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out;
}

export function deploymentStatusEqual(a: DeploymentStatus, b: DeploymentStatus): boolean {
  return canonicalJson(normalizeDeploymentStatus(a)) === canonicalJson(normalizeDeploymentStatus(b));
}
