/**
 * Small helpers shared by the non-core registry kinds (apps, rbac, storage,
 * networking, policy, ...): discovery boilerplate, Go-syntax renderings of bad
 * values for upstream-exact messages, int-or-percent checks, zero-value-aware
 * equality. Pure functions over plain JSON.
 */
import type { FieldError } from '../../api/errors.js';
import type { LabelSelector } from '../../api/types.js';
import type { SubresourceDef } from '../types.js';
import { invalidField, isRecord } from '../validation.js';

/** The verbs of an ordinary resource in discovery. */
export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** Verbs of create-only virtual resources (access reviews, token reviews). */
export const CREATE_ONLY_VERBS = ['create'];

const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

export function statusSubresource(group: string, version: string, kind: string): SubresourceDef {
  return { name: 'status', kind: { group, version, kind }, verbs: [...SUBRESOURCE_VERBS] };
}

/** The /scale subresource, served as autoscaling/v1 Scale. */
export function scaleSubresource(): SubresourceDef {
  return {
    name: 'scale',
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    verbs: [...SUBRESOURCE_VERBS],
  };
}

/** Returns parent[key] as a record, creating `{}` when it is missing or not an object. */
export function ensureRecord(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const cur = parent[key];
  if (isRecord(cur)) return cur;
  const fresh: Record<string, unknown> = {};
  parent[key] = fresh;
  return fresh;
}

/** Whether a JSON value is absent (undefined or null). */
export function isNil(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

/** A number field or 0 (Go's zero value). */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

// ---------------------------------------------------------------------------
// Go-syntax values for messages
// ---------------------------------------------------------------------------

/**
 * field.Invalid whose bad value upstream prints with Go's %#v (maps, structs,
 * IntOrString). `valueText` carries the exact upstream rendering; `value` keeps
 * the JSON value for clients of the structured error.
 *
 * NOTE: src/api/errors.ts renders `value` as JSON today; to print upstream's text
 * it needs `e.valueText ?? renderValue(e.value)` in fieldErrorBody (see report).
 */
export function invalidRepr(field: string, value: unknown, valueText: string, detail?: string): FieldError {
  const err = { ...invalidField(field, value, detail), valueText };
  return err;
}

/** Same for field.NotSupported with a struct value. */
export function notSupportedRepr(
  field: string,
  value: unknown,
  valueText: string,
  supported: string[],
): FieldError {
  const err = { type: 'FieldValueNotSupported' as const, field, value, supported, valueText };
  return err;
}

/** Go's %q for a string (close enough: JSON escaping for ASCII). */
export function goString(s: unknown): string {
  return JSON.stringify(typeof s === 'string' ? s : '');
}

/** Go's %#v of a map[string]string: keys sorted, `map[string]string(nil)` when absent. */
export function goStringMap(m: unknown): string {
  if (!isRecord(m)) return 'map[string]string(nil)';
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${goString(k)}:${goString(m[k])}`).join(', ')}}`;
}

/** Go's %#v of a []string. */
export function goStringSlice(v: unknown): string {
  if (!Array.isArray(v)) return '[]string(nil)';
  return `[]string{${v.map((s) => goString(s)).join(', ')}}`;
}

/** Go's %#v of a metav1.LabelSelector value (as in "field is immutable" on spec.selector). */
export function goLabelSelector(sel: unknown): string {
  const s: LabelSelector = isRecord(sel) ? (sel as LabelSelector) : {};
  const exprs = Array.isArray(s.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${s.matchExpressions
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${goString(e?.key)}, Operator:${goString(e?.operator)}, Values:${goStringSlice(e?.values)}}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${goStringMap(s.matchLabels)}, MatchExpressions:${exprs}}`;
}

/** Go's %#v of an intstr.IntOrString value. */
export function goIntOrString(v: unknown): string {
  if (typeof v === 'string') return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${goString(v)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${num(v)}, StrVal:""}`;
}

/** Go's %#v of a pointer to a named struct type when it is nil: `(*pkg.T)(nil)`; else an address placeholder. */
export function goPointer(type: string, v: unknown): string {
  return isNil(v) ? `(*${type})(nil)` : `(*${type})(0xc000000000)`;
}

// ---------------------------------------------------------------------------
// Numbers, int-or-percent
// ---------------------------------------------------------------------------

export const NEGATIVE_ERROR = 'must be greater than or equal to 0';

/** Upstream's ValidateNonnegativeField. */
export function nonNegative(value: unknown, field: string): FieldError[] {
  return typeof value === 'number' && value < 0 ? [invalidField(field, value, NEGATIVE_ERROR)] : [];
}

const PERCENT_RE = /^[0-9]+%$/;
const PERCENT_ERROR =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/** The percentage of a valid "N%" string, else null. */
function percentValue(v: unknown): number | null {
  if (typeof v !== 'string' || !PERCENT_RE.test(v)) return null;
  return Number.parseInt(v.slice(0, -1), 10);
}

/** Upstream's getIntOrPercentValue: the number, the percentage, or Atoi of the string (0 on error). */
export function intOrPercentValue(v: unknown): number {
  const p = percentValue(v);
  if (p !== null) return p;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[+-]?[0-9]+$/.test(v)) return Number.parseInt(v, 10);
  return 0;
}

/** Upstream's ValidatePositiveIntOrPercent (despite the name: non-negative int or valid percent). */
export function validatePositiveIntOrPercent(v: unknown, field: string): FieldError[] {
  if (typeof v === 'string') {
    return PERCENT_RE.test(v) ? [] : [invalidRepr(field, v, goIntOrString(v), PERCENT_ERROR)];
  }
  if (typeof v === 'number') return nonNegative(v, field);
  return [invalidRepr(field, v, goIntOrString(v), "must be an integer or percentage (e.g '5%%')")];
}

/** Upstream's IsNotMoreThan100Percent. */
export function notMoreThan100Percent(v: unknown, field: string): FieldError[] {
  const p = percentValue(v);
  if (p === null || p <= 100) return [];
  return [invalidRepr(field, v, goIntOrString(v), 'must not be greater than 100%')];
}

/** IntOrString.String(): the number or the string. */
export function intOrStringText(v: unknown): string {
  return typeof v === 'string' ? v : String(num(v));
}

// ---------------------------------------------------------------------------
// Equality
// ---------------------------------------------------------------------------

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isRecord(v)) return Object.values(v).every(isZero);
  return false;
}

/**
 * Equality as upstream sees two decoded Go structs (apiequality.Semantic.DeepEqual):
 * absent, null and zero values compare equal, as do nil and empty slices/maps.
 * Slightly coarser than Go for pointer fields (nil vs pointer-to-zero), which
 * defaulting makes moot for the fields compared here.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isZero(a) && isZero(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => semanticEqual(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!semanticEqual(a[k], b[k])) return false;
    return true;
  }
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return false;
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/** Upstream's path.IsValidPathSegmentName (RBAC object names). */
export function isValidPathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const errs: string[] = [];
  if (name.includes('/')) errs.push("may not contain '/'");
  if (name.includes('%')) errs.push("may not contain '%'");
  return errs;
}

/** RFC 3339 with second precision, as metav1.Time serialises ("2024-01-02T03:04:05Z"). */
export function rfc3339(timestamp: unknown): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return timestamp;
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
