/**
 * The downward API as the kubelet resolves it, shared by env (`valueFrom.fieldRef/resourceFieldRef`) and
 * `downwardAPI` / projected volume files:
 *
 * - `podFieldValue`: fieldRef paths (`metadata.name|namespace|uid`, `metadata.labels|annotations` as the
 *   kubelet's FormatMap `key="value"` lines, one key with `metadata.labels['k']`, and for env the node/IP
 *   fields);
 * - `resourceFieldValue`: resourceFieldRef (`limits.cpu|memory|ephemeral-storage`, `requests.*`) divided by
 *   `divisor` and rounded up, with unset limits taken from the node's allocatable (MergeContainerResourceLimits);
 * - `kubeletPodView`: the pod as the kubelet sees it, with the `kubernetes.io/config.seen` and
 *   `kubernetes.io/config.source` annotations it adds to every pod it accepts.
 */

import { type Json, rec, str } from '../../api/json.js';
import type { KObject } from '../../api/types.js';
import { quantityNumber } from '../../controllers/scheduler/podinfo.js';

/** Raised for a field or resource the downward API cannot provide (message as upstream's error). */
export class DownwardApiError extends Error {}

/** The node's allocatable resources: unset container limits resolve to these. */
export interface Allocatable {
  milliCpu: number;
  /** Bytes. */
  memory: number;
  /** Bytes. */
  ephemeralStorage: number;
}

/** Values only the node knows (env fieldRefs only; volumes refuse these paths). */
export interface NodeFields {
  nodeName: string;
  podIP: string;
  hostIP: string;
}

/**
 * Go's `%q` for a string: a double-quoted literal with Go escapes (`\a\b\f\n\r\t\v`, `\\`, `\"`,
 * `\xNN` for other control bytes, `\u`/`\U` for non-printable runes); printable Unicode stays as is.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp < 0xa0) || cp === 0xad || (cp >= 0xd800 && cp < 0xe000) || cp === 0xfffd) {
      out +=
        cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** The kubelet's FormatMap: `key="value"` lines sorted by key, no trailing newline. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(m?.[k] ?? '')}`)
    .join('\n');
}

/** The pod with the annotations the kubelet adds when it first sees a pod from the API server. */
export function kubeletPodView(pod: KObject, seenAt: string): KObject {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      annotations: {
        ...(pod.metadata.annotations ?? {}),
        'kubernetes.io/config.seen': seenAt,
        'kubernetes.io/config.source': 'api',
      },
    },
  };
}

/**
 * A fieldRef's value. Volumes (`node` absent) support metadata fields only, like upstream's
 * ExtractFieldPathAsString; env also gets `spec.nodeName`, `spec.serviceAccountName` and the IPs.
 */
export function podFieldValue(pod: KObject, path: string, node?: NodeFields): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) {
    const map = m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[m[2] ?? ''] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
  }
  if (node) {
    switch (path) {
      case 'spec.nodeName':
        return node.nodeName;
      case 'spec.serviceAccountName':
        return str(rec(pod.spec).serviceAccountName);
      case 'status.podIP':
      case 'status.podIPs':
        return node.podIP;
      case 'status.hostIP':
      case 'status.hostIPs':
        return node.hostIP;
    }
  }
  throw new DownwardApiError(`unsupported fieldPath: ${path}`);
}

/**
 * A resourceFieldRef's value for one container: the quantity divided by `divisor` (default 1), rounded up,
 * as a decimal integer. Unset limits are the node's allocatable; unset requests are 0.
 */
export function resourceFieldValue(
  selector: Json,
  container: Json,
  allocatable: Allocatable | undefined,
): string {
  const resource = str(selector.resource);
  const [section, name = ''] = resource.split('.', 2) as [string, string?];
  const res = rec(container.resources);
  const list = rec(section === 'limits' ? res.limits : section === 'requests' ? res.requests : undefined);
  if (
    (section !== 'limits' && section !== 'requests') ||
    !['cpu', 'memory', 'ephemeral-storage'].includes(name)
  ) {
    throw new DownwardApiError(`unsupported container resource : ${resource}`);
  }
  const divisorRaw = selector.divisor;
  const hasDivisor =
    divisorRaw !== undefined &&
    divisorRaw !== null &&
    divisorRaw !== '' &&
    divisorRaw !== '0' &&
    divisorRaw !== 0;
  if (name === 'cpu') {
    let milli = list.cpu !== undefined ? quantityNumber(list.cpu, true) : 0;
    if (list.cpu === undefined && section === 'limits') milli = allocatable?.milliCpu ?? 0;
    const div = hasDivisor ? quantityNumber(divisorRaw, true) : 1000;
    return String(Math.ceil(milli / Math.max(1, div)));
  }
  let bytes = list[name] !== undefined ? quantityNumber(list[name], false) : 0;
  if (list[name] === undefined && section === 'limits') {
    bytes = name === 'memory' ? (allocatable?.memory ?? 0) : (allocatable?.ephemeralStorage ?? 0);
  }
  const div = hasDivisor ? quantityNumber(divisorRaw, false) : 1;
  return String(Math.ceil(bytes / Math.max(1, div)));
}
