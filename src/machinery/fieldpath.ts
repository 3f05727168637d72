/**
 * Field sets as server-side apply tracks them (sigs.k8s.io/structured-merge-diff
 * `fieldpath`), and their wire form `FieldsV1` in `metadata.managedFields`.
 *
 * A path is a list of serialized path elements:
 * - `f:<name>`  a field of a struct or a key of a map;
 * - `k:<json>`  an element of an associative list, by its key fields (sorted by name);
 * - `v:<json>`  an element of a set list, by its value;
 * - `i:<n>`     an element of a list by index (only read from input, never produced).
 *
 * A set is a trie: at each level, `members` are the elements whose path is in
 * the set, `children` the elements with longer paths in the set. Sets are plain
 * data: the functions here never mutate their inputs (except `insertPath`).
 */

import { isObject, type JsonObject } from '../api/types.js';

export type PathElement = string;
export type FieldPath = readonly PathElement[];

export interface FieldSet {
  /** Elements whose own path is in the set. */
  members: Set<PathElement>;
  /** Elements with descendants in the set; never holds an empty set. */
  children: Map<PathElement, FieldSet>;
}

export function emptySet(): FieldSet {
  return { members: new Set(), children: new Map() };
}

export function isEmptySet(s: FieldSet): boolean {
  return s.members.size === 0 && s.children.size === 0;
}

/** Adds `path` (non-empty) to `s`, in place. */
export function insertPath(s: FieldSet, path: FieldPath): void {
  if (path.length === 0) return;
  let node = s;
  for (let i = 0; i < path.length - 1; i++) {
    const pe = path[i] as PathElement;
    let child = node.children.get(pe);
    if (!child) {
      child = emptySet();
      node.children.set(pe, child);
    }
    node = child;
  }
  node.members.add(path[path.length - 1] as PathElement);
}

export function hasPath(s: FieldSet, path: FieldPath): boolean {
  if (path.length === 0) return false;
  let node: FieldSet | undefined = s;
  for (let i = 0; i < path.length - 1 && node; i++) node = node.children.get(path[i] as PathElement);
  return node?.members.has(path[path.length - 1] as PathElement) ?? false;
}

/** The subtree of `s` under `path` (paths relative to it), or undefined. */
export function childSet(s: FieldSet, path: FieldPath): FieldSet | undefined {
  let node: FieldSet | undefined = s;
  for (const pe of path) {
    node = node?.children.get(pe);
    if (!node) return undefined;
  }
  return node;
}

export function copySet(s: FieldSet): FieldSet {
  const out = emptySet();
  for (const m of s.members) out.members.add(m);
  for (const [pe, c] of s.children) out.children.set(pe, copySet(c));
  return out;
}

export function unionSets(a: FieldSet, b: FieldSet): FieldSet {
  const out = copySet(a);
  for (const m of b.members) out.members.add(m);
  for (const [pe, c] of b.children) {
    const mine = out.children.get(pe);
    out.children.set(pe, mine ? unionSets(mine, c) : copySet(c));
  }
  return out;
}

export function intersectSets(a: FieldSet, b: FieldSet): FieldSet {
  const out = emptySet();
  for (const m of a.members) if (b.members.has(m)) out.members.add(m);
  for (const [pe, c] of a.children) {
    const other = b.children.get(pe);
    if (!other) continue;
    const i = intersectSets(c, other);
    if (!isEmptySet(i)) out.children.set(pe, i);
  }
  return out;
}

/** Paths of `a` that are not paths of `b` (element-wise: a member of `b` does not cover its descendants). */
export function subtractSets(a: FieldSet, b: FieldSet): FieldSet {
  const out = emptySet();
  for (const m of a.members) if (!b.members.has(m)) out.members.add(m);
  for (const [pe, c] of a.children) {
    const other = b.children.get(pe);
    const d = other ? subtractSets(c, other) : copySet(c);
    if (!isEmptySet(d)) out.children.set(pe, d);
  }
  return out;
}

export function setsEqual(a: FieldSet, b: FieldSet): boolean {
  if (a.members.size !== b.members.size || a.children.size !== b.children.size) return false;
  for (const m of a.members) if (!b.members.has(m)) return false;
  for (const [pe, c] of a.children) {
    const other = b.children.get(pe);
    if (!other || !setsEqual(c, other)) return false;
  }
  return true;
}

/** Every path in the set, in upstream's iteration order (a level's members, then its children, each sorted). */
export function setPaths(s: FieldSet, prefix: FieldPath = []): PathElement[][] {
  const out: PathElement[][] = [];
  for (const m of sortElements([...s.members])) out.push([...prefix, m]);
  for (const pe of sortElements([...s.children.keys()])) {
    for (const it of setPaths(s.children.get(pe) as FieldSet, [...prefix, pe])) out.push(it);
  }
  return out;
}

/** Builds a set from paths. */
export function setFromPaths(paths: Iterable<FieldPath>): FieldSet {
  const s = emptySet();
  for (const p of paths) insertPath(s, p);
  return s;
}

// ---------------------------------------------------------------------------
// Path elements

/** JSON as Go's encoding/json writes it: object keys sorted, `<`, `>`, `&`, U+2028/9 escaped. */
export function goJSON(v: unknown): string {
  return JSON.stringify(sortKeysDeep(v)).replace(/[<>&\u2028\u2029]/g, (c) => {
    const hex = (c.codePointAt(0) as number).toString(16).padStart(4, '0');
    return `\\u${hex}`;
  });
}

function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort(compareStrings)) out[k] = sortKeysDeep(v[k]);
    return out;
  }
  return v;
}

export function fieldElement(name: string): PathElement {
  return `f:${name}`;
}

/** `k:{...}` for an associative-list element; `keys` are the key fields and their values. */
export function keyElement(keys: Record<string, unknown>): PathElement {
  return `k:${goJSON(keys)}`;
}

export function valueElement(v: unknown): PathElement {
  return `v:${goJSON(v)}`;
}

export function indexElement(i: number): PathElement {
  return `i:${i}`;
}

export type ParsedElement =
  | { kind: 'field'; name: string }
  | { kind: 'key'; fields: [string, unknown][] }
  | { kind: 'value'; value: unknown }
  | { kind: 'index'; index: number };

/** Parses a serialized path element; throws an Error when it is malformed. */
export function parseElement(pe: string): ParsedElement {
  if (pe.length < 2 || pe[1] !== ':') throw new Error(`invalid path element ${JSON.stringify(pe)}`);
  const body = pe.slice(2);
  switch (pe[0]) {
    case 'f':
      return { kind: 'field', name: body };
    case 'k': {
      const parsed: unknown = JSON.parse(body);
      if (!isObject(parsed)) throw new Error(`invalid key path element ${JSON.stringify(pe)}`);
      const fields = Object.keys(parsed)
        .sort(compareStrings)
        .map((k): [string, unknown] => [k, parsed[k]]);
      return { kind: 'key', fields };
    }
    case 'v':
      return { kind: 'value', value: JSON.parse(body) as unknown };
    case 'i': {
      if (!/^-?\d+$/.test(body)) throw new Error(`invalid index path element ${JSON.stringify(pe)}`);
      return { kind: 'index', index: Number(body) };
    }
    default:
      throw new Error(`unknown path element type ${JSON.stringify(pe)}`);
  }
}

/** The canonical serialization of an element read from input (sorted keys, compact JSON). */
export function canonicalElement(pe: string): PathElement {
  const p = parseElement(pe);
  switch (p.kind) {
    case 'field':
      return pe;
    case 'key':
      return keyElement(Object.fromEntries(p.fields));
    case 'value':
      return valueElement(p.value);
    default:
      return indexElement(p.index);
  }
}

/** Renders a value as structured-merge-diff's value.ToString does (strings quoted). */
function valueToString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(valueToString).join(',')}]`;
  if (isObject(v))
    return Object.keys(v)
      .map((k) => `${k}=${valueToString(v[k])}`)
      .join('');
  return String(v);
}

/** Human form of a path, as in conflict messages: `.spec.containers[name="a"].image`, `.finalizers[="x"]`. */
export function pathString(path: FieldPath): string {
  let out = '';
  for (const pe of path) {
    let p: ParsedElement;
    try {
      p = parseElement(pe);
    } catch {
      out += '{{invalid path element}}';
      continue;
    }
    switch (p.kind) {
      case 'field':
        out += `.${p.name}`;
        break;
      case 'key':
        out += `[${p.fields.map(([k, v]) => `${k}=${valueToString(v)}`).join(',')}]`;
        break;
      case 'value':
        out += `[=${valueToString(p.value)}]`;
        break;
      default:
        out += `[${p.index}]`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Ordering (upstream PathElement.Compare: fields < keys < values < indexes)

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const KIND_RANK = { field: 0, key: 1, value: 2, index: 3 } as const;

/** Total order of JSON values: numbers < strings < booleans < lists < maps < null. */
export function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown): number =>
    typeof v === 'number'
      ? 0
      : typeof v === 'string'
        ? 1
        : typeof v === 'boolean'
          ? 2
          : Array.isArray(v)
            ? 3
            : isObject(v)
              ? 4
              : 5;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
  }
  if (isObject(a) && isObject(b)) return compareStrings(goJSON(a), goJSON(b));
  return 0;
}

export function compareElements(a: PathElement, b: PathElement): number {
  if (a === b) return 0;
  let pa: ParsedElement;
  let pb: ParsedElement;
  try {
    pa = parseElement(a);
    pb = parseElement(b);
  } catch {
    return compareStrings(a, b);
  }
  if (pa.kind !== pb.kind) return KIND_RANK[pa.kind] < KIND_RANK[pb.kind] ? -1 : 1;
  if (pa.kind === 'field' && pb.kind === 'field') return compareStrings(pa.name, pb.name);
  if (pa.kind === 'key' && pb.kind === 'key') {
    if (pa.fields.length !== pb.fields.length) return pa.fields.length < pb.fields.length ? -1 : 1;
    for (let i = 0; i < pa.fields.length; i++) {
      const [na, va] = pa.fields[i] as [string, unknown];
      const [nb, vb] = pb.fields[i] as [string, unknown];
      const c = compareStrings(na, nb) || compareValues(va, vb);
      if (c !== 0) return c;
    }
    return 0;
  }
  if (pa.kind === 'value' && pb.kind === 'value') return compareValues(pa.value, pb.value);
  if (pa.kind === 'index' && pb.kind === 'index') return pa.index - pb.index;
  return 0;
}

export function sortElements(pes: PathElement[]): PathElement[] {
  return pes.sort(compareElements);
}

// ---------------------------------------------------------------------------
// FieldsV1

/** Encodes a set as FieldsV1 JSON (`{"f:spec":{"f:replicas":{}}}`), keys in upstream's order. */
export function toFieldsV1(s: FieldSet): JsonObject {
  return encodeLevel(s, false);
}

function encodeLevel(s: FieldSet, includeSelf: boolean): JsonObject {
  const out: JsonObject = {};
  if (includeSelf) out['.'] = {};
  const all = new Set<PathElement>([...s.members, ...s.children.keys()]);
  for (const pe of sortElements([...all])) {
    const child = s.children.get(pe);
    out[pe] = child ? encodeLevel(child, s.members.has(pe)) : {};
  }
  return out;
}

/** Decodes FieldsV1 JSON; throws an Error on anything malformed. Element keys are canonicalized. */
export function fromFieldsV1(fields: unknown): FieldSet {
  if (!isObject(fields)) throw new Error('fieldsV1 must be an object');
  return decodeLevel(fields);
}

function decodeLevel(obj: JsonObject): FieldSet {
  const s = emptySet();
  for (const [rawKey, v] of Object.entries(obj)) {
    if (rawKey === '.') continue;
    if (!isObject(v))
      throw new Error(`invalid fieldsV1 entry for ${JSON.stringify(rawKey)}: must be an object`);
    const pe = canonicalElement(rawKey);
    const keys = Object.keys(v);
    if (keys.length === 0 || keys.includes('.')) s.members.add(pe);
    if (keys.some((k) => k !== '.')) {
      const child = decodeLevel(v);
      if (!isEmptySet(child)) {
        const prev = s.children.get(pe);
        s.children.set(pe, prev ? unionSets(prev, child) : child);
      }
    }
  }
  return s;
}
