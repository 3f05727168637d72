/**
 * Shared helpers for server-side table printing (`kubectl get`), mirroring the
 * conventions of upstream's pkg/printers/internalversion: human durations for
 * ages, "<none>" for empty cells, lists truncated with "+ N more...".
 */
import type { KObject } from '../api/types.js';
import type { TableColumn } from './types.js';

/** metav1.ObjectMeta's swagger doc for `name`, used as the Name column description. */
export const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

/** metav1.ObjectMeta's swagger doc for `creationTimestamp`, used as the Age column description. */
export const CREATION_TIMESTAMP_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

export const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: NAME_DESCRIPTION,
  priority: 0,
};

export const ageColumn: TableColumn = {
  name: 'Age',
  type: 'string',
  format: '',
  description: CREATION_TIMESTAMP_DESCRIPTION,
  priority: 0,
};

/** Shorthand for a column definition; `priority` 1 = shown only with `-o wide`. */
export function column(
  name: string,
  description: string,
  opts: { type?: TableColumn['type']; format?: string; priority?: number } = {},
): TableColumn {
  return {
    name,
    type: opts.type ?? 'string',
    format: opts.format ?? '',
    description,
    priority: opts.priority ?? 0,
  };
}

/**
 * Upstream's duration.HumanDuration: about two significant figures, e.g. "90s",
 * "5m30s", "65m", "3h20m", "20h", "2d5h", "30d", "2y100d". Slightly negative
 * durations (clock skew under 2s) print "0s"; larger negatives "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** Upstream's duration.ShortHumanDuration: one unit ("45s", "5m", "3h", "12d", "2y"). */
export function shortHumanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.trunc(hours / 24)}d`;
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/**
 * Time since an RFC 3339 timestamp, as upstream's translateTimestampSince:
 * "<unknown>" when unset or unparsable.
 */
export function since(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now.getTime() - t);
}

/** Like `since`, but for timestamps in the future (upstream's translateTimestampUntil). */
export function until(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(t - now.getTime());
}

/** The Age cell of an object. */
export function age(obj: KObject, now: Date): string {
  return since(obj.metadata?.creationTimestamp, now);
}

/**
 * Joins items like upstream's list printers: "<none>" when empty, the first
 * `max` items joined by `sep`, and "..." or " + N more..." when truncated.
 */
export function joinList(items: string[], max = 3, sep = ','): string {
  if (items.length === 0) return '<none>';
  if (items.length <= max) return items.join(sep);
  return `${items.slice(0, max).join(sep)} + ${items.length - max} more...`;
}

/** "<none>" for an empty string / missing value, otherwise the string itself. */
export function orNone(v: unknown): string {
  if (v === undefined || v === null || v === '') return '<none>';
  return String(v);
}

/**
 * Formats a label map like labels.FormatLabels / labels.SelectorFromSet(...).String():
 * keys sorted, "k=v" joined by ",", "<none>" when empty.
 */
export function formatLabels(m: Record<string, string> | undefined | null): string {
  if (!m) return '<none>';
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${m[k]}`).join(',');
}

/** Renders a metav1.LabelSelector like metav1.LabelSelectorAsSelector(...).String(). */
export function formatLabelSelector(sel: unknown): string {
  if (typeof sel !== 'object' || sel === null) return '<none>';
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  const parts: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) parts.push({ key: k, text: `${k}=${v}` });
  for (const raw of s.matchExpressions ?? []) {
    if (typeof raw !== 'object' || raw === null) continue;
    const e = raw as { key?: string; operator?: string; values?: string[] };
    const key = e.key ?? '';
    const values = [...(e.values ?? [])].sort();
    switch (e.operator) {
      case 'In':
        parts.push({ key, text: `${key} in (${values.join(',')})` });
        break;
      case 'NotIn':
        parts.push({ key, text: `${key} notin (${values.join(',')})` });
        break;
      case 'Exists':
        parts.push({ key, text: key });
        break;
      case 'DoesNotExist':
        parts.push({ key, text: `!${key}` });
        break;
    }
  }
  // metav1.FormatLabelSelector prints "<none>" for an empty selector too.
  if (parts.length === 0) return '<none>';
  parts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return parts.map((p) => p.text).join(',');
}

/** Reads a nested field of a plain object, e.g. get(obj, 'spec', 'nodeName'). */
export function get(obj: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** A string field or '' (for table cells). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** An array field or []. */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** An object field or {}. */
export function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Container names and images of a pod spec, each joined by "," (upstream's layoutContainerCells). */
export function layoutContainerCells(podSpec: unknown): { names: string; images: string } {
  const containers = arr(get(podSpec, 'containers'));
  return {
    names: containers.map((c) => str(get(c, 'name'))).join(','),
    images: containers.map((c) => str(get(c, 'image'))).join(','),
  };
}

/** Access modes as upstream's GetAccessModesAsString: "RWO,ROX,RWX,RWOP" order, deduplicated. */
export function accessModesString(modes: unknown): string {
  const set = new Set(arr(modes).filter((m): m is string => typeof m === 'string'));
  const out: string[] = [];
  if (set.has('ReadWriteOnce')) out.push('RWO');
  if (set.has('ReadOnlyMany')) out.push('ROX');
  if (set.has('ReadWriteMany')) out.push('RWX');
  if (set.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/** A resource.Quantity cell. Strings are shown as stored; numbers as decimal. */
export function quantityString(q: unknown): string {
  if (typeof q === 'number') return String(q);
  if (typeof q === 'string') return q === '' ? '0' : q;
  return '0';
}
