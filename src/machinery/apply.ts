/**
 * Server-side apply and `metadata.managedFields` tracking, as pure functions.
 *
 * Semantics follow sigs.k8s.io/structured-merge-diff (merge, prune, compare,
 * conflicts) and the apiserver's field manager chain (strip system metadata,
 * one entry per manager+operation(+apiVersion for Update)+subresource, cap of
 * 10 Update entries, last-applied annotation compatibility for `kubectl`).
 *
 * - `applyPatch`: the PATCH `application/apply-patch+yaml` body merged into the
 *   live object (or creating it), with ownership and conflicts.
 * - `updateManagedFields`: ownership bookkeeping for every other write (create,
 *   update, non-apply patches), by diffing old -> new.
 *
 * Nothing here reads the clock: `now` is an RFC 3339 timestamp from the caller.
 * Inputs are never mutated; results are fresh objects.
 */

import { badRequest, type FieldError, invalid, StatusError } from '../api/errors.js';
import { isObject, type JsonObject, type KObject, type ManagedFieldsEntry } from '../api/types.js';
import {
  emptySet,
  type FieldPath,
  type FieldSet,
  fieldElement,
  fromFieldsV1,
  goJSON,
  indexElement,
  insertPath,
  intersectSets,
  isEmptySet,
  keyElement,
  type PathElement,
  pathString,
  setPaths,
  subtractSets,
  toFieldsV1,
  unionSets,
  valueElement,
} from './fieldpath.js';
import { ANY, elemSchema, hasPatchStrategy, SCALAR, type TypeSchema } from './type-schema.js';

export type { FieldSet } from './fieldpath.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** Upstream DefaultMaxUpdateManagers. */
export const MAX_UPDATE_MANAGERS = 10;
/** Manager name of the bucket that older Update entries are merged into. */
export const ANCIENT_CHANGES_MANAGER = 'ancient-changes';
const FIELD_MANAGER_MAX_LENGTH = 128;
const MAX_SUBRESOURCE_NAME_LENGTH = 256;
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

// ---------------------------------------------------------------------------
// Schema reading

/**
 * Attributes read when a schema carries them, although TypeSchema does not
 * declare them (yet): `mapType: 'atomic'` (x-kubernetes-map-type, +structType=atomic)
 * makes an object/map a leaf; `default` on a list-map key field fills a key the
 * item omits (like `protocol: TCP` for ports).
 */
interface SchemaExtras {
  mapType?: 'atomic' | 'granular';
  default?: unknown;
}

const scalar = (): TypeSchema => SCALAR;
const stringMap = (): TypeSchema => ({ type: 'map', elem: SCALAR });

/** ObjectMeta, used when the kind's schema does not describe `metadata`. */
const OBJECT_META_SCHEMA: TypeSchema = {
  type: 'object',
  fields: {
    name: scalar(),
    generateName: scalar(),
    namespace: scalar(),
    selfLink: scalar(),
    uid: scalar(),
    resourceVersion: scalar(),
    generation: scalar(),
    creationTimestamp: scalar(),
    deletionTimestamp: scalar(),
    deletionGracePeriodSeconds: scalar(),
    labels: stringMap(),
    annotations: stringMap(),
    finalizers: { type: 'list', elem: SCALAR, listType: 'set', patchStrategy: 'merge' },
    ownerReferences: {
      type: 'list',
      listType: 'map',
      mapKeys: ['uid'],
      patchStrategy: 'merge',
      patchMergeKey: 'uid',
      elem: { type: 'object', fields: {}, mapType: 'atomic' } as TypeSchema & SchemaExtras,
    },
    managedFields: { type: 'list', elem: ANY, listType: 'atomic' },
  },
};

/** A declared field of an object schema, or undefined (plain read: works with lazy schemas). */
function declaredField(s: TypeSchema, name: string): TypeSchema | undefined {
  if (s.type !== 'object' || !s.fields) return undefined;
  const f: unknown = s.fields[name];
  return typeof f === 'object' && f !== null && typeof (f as TypeSchema).type === 'string'
    ? (f as TypeSchema)
    : undefined;
}

type ListKind = { kind: 'atomic' } | { kind: 'set' } | { kind: 'map'; keys: string[] };

function listKind(s: TypeSchema): ListKind {
  if (s.type !== 'list') return { kind: 'atomic' };
  if (s.listType === 'map') {
    if (s.mapKeys?.length) return { kind: 'map', keys: s.mapKeys };
    if (s.patchMergeKey) return { kind: 'map', keys: [s.patchMergeKey] };
    return { kind: 'atomic' };
  }
  if (s.listType === 'set') return { kind: 'set' };
  if (s.listType === 'atomic') return { kind: 'atomic' };
  if (hasPatchStrategy(s, 'merge')) {
    return s.patchMergeKey ? { kind: 'map', keys: [s.patchMergeKey] } : { kind: 'set' };
  }
  return { kind: 'atomic' };
}

/** How a value is walked: struct (declared fields), map (every key a member), set/assoc lists, or a leaf. */
type NodeKind = 'struct' | 'map' | 'set' | 'assoc' | 'leaf';

function nodeKind(v: unknown, s: TypeSchema): NodeKind {
  if (isObject(v)) {
    if ((s as TypeSchema & SchemaExtras).mapType === 'atomic') return 'leaf';
    if (s.type === 'object') return 'struct';
    if (s.type === 'map' || s.type === 'any') return 'map';
    return 'leaf';
  }
  if (Array.isArray(v) && s.type === 'list') {
    const lk = listKind(s);
    return lk.kind === 'set' ? 'set' : lk.kind === 'map' ? 'assoc' : 'leaf';
  }
  return 'leaf';
}

/** Thrown for applied configurations that cannot be typed (duplicate keys, missing key fields). */
class TypedValueError extends Error {}

function keyDefault(elem: TypeSchema, key: string): unknown {
  const f = declaredField(elem, key) as (TypeSchema & SchemaExtras) | undefined;
  if (f?.default !== undefined) return f.default;
  // Upstream's schemas default every list-map `protocol` key to TCP.
  if (key === 'protocol') return 'TCP';
  return undefined;
}

/** The path element of an associative-list item; `strict` rejects items without key fields. */
function assocElement(
  item: unknown,
  keys: string[],
  elem: TypeSchema,
  index: number,
  strict: boolean,
  path: FieldPath,
): PathElement {
  if (!isObject(item)) {
    if (strict) throw new TypedValueError(`${pathString(path)}: element ${index}: expected an object`);
    return indexElement(index);
  }
  const fields: Record<string, unknown> = {};
  for (const k of keys) {
    const v = item[k];
    if (v !== undefined && v !== null) {
      fields[k] = v;
      continue;
    }
    const d = keyDefault(elem, k);
    if (d !== undefined) {
      fields[k] = d;
    } else if (strict) {
      throw new TypedValueError(
        `${pathString(path)}: element ${index}: associative list with keys has an element that omits key field ${JSON.stringify(k)} (and doesn't have default value)`,
      );
    }
  }
  return Object.keys(fields).length ? keyElement(fields) : indexElement(index);
}

interface Child {
  value: unknown;
  schema: TypeSchema;
  /** A declared struct field (upstream: a "named field"). */
  declared: boolean;
}

/** The children of a non-leaf node by path element (first occurrence wins for duplicates unless strict). */
function childrenOf(
  v: unknown,
  s: TypeSchema,
  kind: NodeKind,
  atRoot: boolean,
  path: FieldPath,
  strict: boolean,
): Map<PathElement, Child> {
  const out = new Map<PathElement, Child>();
  if ((kind === 'struct' || kind === 'map') && isObject(v)) {
    for (const [k, cv] of Object.entries(v)) {
      if (cv === undefined) continue;
      out.set(fieldElement(k), { value: cv, ...fieldChild(s, kind, k, atRoot) });
    }
  } else if ((kind === 'set' || kind === 'assoc') && Array.isArray(v)) {
    const lk = listKind(s);
    const elem = elemSchema(s);
    v.forEach((item, i) => {
      const pe =
        lk.kind === 'map' ? assocElement(item, lk.keys, elem, i, strict, path) : valueElement(item ?? null);
      if (out.has(pe)) {
        if (strict)
          throw new TypedValueError(`${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
        return;
      }
      out.set(pe, { value: item, schema: kind === 'set' ? SCALAR : elem, declared: false });
    });
  }
  return out;
}

function fieldChild(
  s: TypeSchema,
  kind: NodeKind,
  name: string,
  atRoot: boolean,
): { schema: TypeSchema; declared: boolean } {
  const d = kind === 'struct' ? declaredField(s, name) : undefined;
  if (atRoot && name === 'metadata' && d?.type !== 'object')
    return { schema: OBJECT_META_SCHEMA, declared: true };
  if (kind === 'map') return { schema: elemSchema(s), declared: false };
  return d ? { schema: d, declared: true } : { schema: ANY, declared: false };
}

/** Schema of the node reached by `pe` from a node with schema `s` (for walking sets without values). */
function schemaOfElement(
  s: TypeSchema,
  pe: PathElement,
  atRoot: boolean,
): { schema: TypeSchema; named: boolean } {
  if (pe.startsWith('f:')) {
    const c = fieldChild(s, s.type === 'object' ? 'struct' : 'map', pe.slice(2), atRoot);
    return { schema: c.schema, named: c.declared };
  }
  return { schema: elemSchema(s), named: false };
}

// ---------------------------------------------------------------------------
// Field sets of values

function isEmptyObject(v: unknown): boolean {
  return isObject(v) && Object.keys(v).length === 0;
}

function collect(
  v: unknown,
  s: TypeSchema,
  path: FieldPath,
  out: FieldSet,
  atRoot: boolean,
  strict: boolean,
): void {
  const kind = nodeKind(v, s);
  if (kind === 'leaf') {
    insertPath(out, path);
    return;
  }
  for (const [pe, c] of childrenOf(v, s, kind, atRoot, path, strict)) {
    const cpath = [...path, pe];
    collect(c.value, c.schema, cpath, out, false, strict);
    if (kind === 'set' || kind === 'assoc' || c.value === null || isEmptyObject(c.value) || !c.declared) {
      insertPath(out, cpath);
    }
  }
}

/**
 * The set of fields an object specifies (upstream `TypedValue.ToFieldSet`): leaves,
 * list items (`k:`/`v:`), map keys, and null or empty-object fields. Includes
 * apiVersion/kind/metadata.name etc.; `stripSystemFields` removes what upstream
 * never records in managedFields. Tolerates values it cannot type (duplicate
 * keys collapse; items without key fields are addressed by index).
 */
export function computeFieldSet(obj: unknown, schema: TypeSchema): FieldSet {
  const out = emptySet();
  collect(obj, schema, [], out, true, false);
  return out;
}

/** Fields never recorded in managedFields (upstream stripMetaManager). */
const STRIPPED_FIELDS: readonly FieldPath[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...[
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'clusterName',
    'generation',
    'managedFields',
    'resourceVersion',
  ].map((f) => ['f:metadata', `f:${f}`]),
];

/** `set` without apiVersion, kind and the system-managed metadata fields (exact paths only, as upstream). */
export function stripSystemFields(set: FieldSet): FieldSet {
  const strip = emptySet();
  for (const p of STRIPPED_FIELDS) insertPath(strip, p);
  return subtractSets(set, strip);
}

/** Removes every path under one of `prefixes` (field names, e.g. [['status']]). */
function filterPrefixes(set: FieldSet, prefixes: readonly (readonly string[])[] | undefined): FieldSet {
  if (!prefixes?.length) return set;
  let out = unionSets(emptySet(), set);
  for (const prefix of prefixes) {
    if (prefix.length === 0) return emptySet();
    out = dropPrefix(out, prefix.map(fieldElement));
  }
  return out;
}

function dropPrefix(s: FieldSet, prefix: PathElement[]): FieldSet {
  const [head, ...rest] = prefix as [PathElement, ...PathElement[]];
  if (rest.length === 0) {
    s.members.delete(head);
    s.children.delete(head);
    return s;
  }
  const child = s.children.get(head);
  if (child) {
    dropPrefix(child, rest);
    if (isEmptySet(child)) s.children.delete(head);
  }
  return s;
}

/** Adds declared struct fields on the way to every path as members (upstream EnsureNamedFieldsAreMembers). */
function ensureNamedFieldsAreMembers(set: FieldSet, s: TypeSchema, atRoot = true): FieldSet {
  const out: FieldSet = { members: new Set(set.members), children: new Map() };
  for (const [pe, child] of set.children) {
    const { schema, named } = schemaOfElement(s, pe, atRoot);
    if (named) out.members.add(pe);
    out.children.set(pe, ensureNamedFieldsAreMembers(child, schema, false));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Comparison

interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

function newComparison(): Comparison {
  return { added: emptySet(), modified: emptySet(), removed: emptySet() };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** Inserts `path` (if insertSelf) and every node below it. */
function markAll(v: unknown, s: TypeSchema, path: FieldPath, into: FieldSet, insertSelf: boolean): void {
  if (insertSelf) insertPath(into, path);
  const kind = nodeKind(v, s);
  if (kind === 'leaf') return;
  for (const [pe, c] of childrenOf(v, s, kind, path.length === 0, path, false)) {
    markAll(c.value, c.schema, [...path, pe], into, true);
  }
}

/**
 * The fields a create adds. Upstream diffs against the Go zero value of the
 * kind, in which non-pointer structs (spec, template, ...) already exist; we
 * approximate that by not recording non-empty declared structs reached through
 * declared struct fields from the root, nor empty top-level structs, nor the
 * `containers` list itself.
 */
function markCreated(v: unknown, s: TypeSchema, path: FieldPath, into: FieldSet): void {
  const atRoot = path.length === 0;
  const kind = nodeKind(v, s);
  if (kind !== 'struct') {
    markAll(v, s, path, into, !atRoot);
    return;
  }
  for (const [pe, c] of childrenOf(v, s, kind, atRoot, path, false)) {
    const cpath = [...path, pe];
    const ck = nodeKind(c.value, c.schema);
    if (c.declared && ck === 'struct') {
      if (!isEmptyObject(c.value)) {
        markCreated(c.value, c.schema, cpath, into);
        continue;
      }
      if (atRoot) continue;
    }
    // PodSpec.containers is serialized even when empty (no omitempty), so it is
    // null rather than absent in upstream's zero value: its items are added, not the list.
    const keepList = c.declared && ck === 'assoc' && pe === 'f:containers';
    markAll(c.value, c.schema, cpath, into, !keepList);
  }
}

function diff(l: unknown, r: unknown, s: TypeSchema, path: FieldPath, cmp: Comparison): void {
  if (l === undefined && r === undefined) return;
  if (l === undefined) {
    markAll(r, s, path, cmp.added, true);
    return;
  }
  if (r === undefined) {
    markAll(l, s, path, cmp.removed, true);
    return;
  }
  const kl = nodeKind(l, s);
  const kr = nodeKind(r, s);
  if (kl !== kr || kl === 'leaf') {
    if (!deepEqual(l, r)) {
      insertPath(cmp.modified, path);
      if (kl !== kr) {
        markAll(l, s, path, cmp.removed, false);
        markAll(r, s, path, cmp.added, false);
      }
    }
    return;
  }
  const atRoot = path.length === 0;
  const lc = childrenOf(l, s, kl, atRoot, path, false);
  const rc = childrenOf(r, s, kr, atRoot, path, false);
  // Top-level structs (spec, status) always exist in upstream's typed objects:
  // one appearing or vanishing is a change of its fields only.
  const orEmpty = (v: unknown, c: Child): unknown =>
    v === undefined && atRoot && c.declared && nodeKind(c.value, c.schema) === 'struct' ? {} : v;
  for (const [pe, c] of lc) diff(c.value, orEmpty(rc.get(pe)?.value, c), c.schema, [...path, pe], cmp);
  for (const [pe, c] of rc)
    if (!lc.has(pe)) diff(orEmpty(undefined, c), c.value, c.schema, [...path, pe], cmp);
}

/** What changed between two versions of an object; `old` undefined = a create. */
function compareObjects(old: unknown, updated: unknown, schema: TypeSchema): Comparison {
  const cmp = newComparison();
  if (old === undefined) markCreated(updated, schema, [], cmp.added);
  else diff(old, updated, schema, [], cmp);
  return cmp;
}

// ---------------------------------------------------------------------------
// Merge and prune

/**
 * Merges list items: shared items follow the applied order, items only in live
 * stay next to where they were, items only in the config are placed in config
 * order (structured-merge-diff's list merge).
 */
function mergeOrdered(
  lhs: unknown[],
  lpe: PathElement[],
  rhs: unknown[],
  rpe: PathElement[],
  mergeItem: (l: unknown, r: unknown, pe: PathElement) => unknown,
): unknown[] {
  const inRhs = new Set(rpe);
  const lFirst = new Map<PathElement, unknown>();
  lpe.forEach((pe, i) => {
    if (!lFirst.has(pe)) lFirst.set(pe, lhs[i]);
  });
  const shared = rpe.filter((pe) => lFirst.has(pe));
  let si = 0;
  const emitted = new Set<PathElement>();
  const out: unknown[] = [];
  const emitRhs = (ri: number): void => {
    const pe = rpe[ri] as PathElement;
    out.push(mergeItem(lFirst.get(pe), rhs[ri], pe));
    emitted.add(pe);
    if (shared[si] === pe) si++;
  };
  let li = 0;
  let ri = 0;
  while (li < lhs.length || ri < rhs.length) {
    if (li < lhs.length && ri < rhs.length && lpe[li] === rpe[ri]) {
      if (!emitted.has(rpe[ri] as PathElement)) emitRhs(ri);
      li++;
      ri++;
      continue;
    }
    if (li < lhs.length) {
      const pe = lpe[li] as PathElement;
      if (!inRhs.has(pe)) {
        out.push(lhs[li]);
        li++;
        continue;
      }
      if (emitted.has(pe) || shared[si] !== pe || ri >= rhs.length) {
        li++;
        continue;
      }
    }
    if (ri < rhs.length) {
      emitRhs(ri);
      ri++;
    }
  }
  return out;
}

/** live merged with an applied configuration: the config wins on leaves, nulls are kept (stripped later). */
function mergeApplied(l: unknown, r: unknown, s: TypeSchema, path: FieldPath): unknown {
  if (r === undefined) return l;
  if (r === null || l === undefined || l === null) return structuredClone(r);
  const kl = nodeKind(l, s);
  const kr = nodeKind(r, s);
  if (kl !== kr || kl === 'leaf') return structuredClone(r);
  const atRoot = path.length === 0;
  if ((kl === 'struct' || kl === 'map') && isObject(l) && isObject(r)) {
    const out: JsonObject = { ...l };
    for (const [k, rv] of Object.entries(r)) {
      if (rv === undefined) continue;
      const { schema } = fieldChild(s, kl, k, atRoot);
      out[k] = mergeApplied(l[k], rv, schema, [...path, fieldElement(k)]);
    }
    return out;
  }
  if (Array.isArray(l) && Array.isArray(r)) {
    const lk = listKind(s);
    const elem = elemSchema(s);
    if (lk.kind === 'map') {
      const lpe = l.map((it, i) => assocElement(it, lk.keys, elem, i, false, path));
      const rpe = r.map((it, i) => assocElement(it, lk.keys, elem, i, true, path));
      return mergeOrdered(l, lpe, r, rpe, (a, b, pe) =>
        b === undefined ? a : mergeApplied(a, b, elem, [...path, pe]),
      );
    }
    const lpe = l.map((it) => valueElement(it ?? null));
    const rpe = r.map((it) => valueElement(it ?? null));
    return mergeOrdered(l, lpe, r, rpe, (a, b) => (b === undefined ? a : b));
  }
  return structuredClone(r);
}

/**
 * Removes, in place, every node whose path the applier owned last time (`last`)
 * and nobody owns now (`owned`, which includes the new config). Both sets have
 * named fields as members.
 */
function prune(
  v: unknown,
  s: TypeSchema,
  last: FieldSet,
  owned: FieldSet | undefined,
  path: FieldPath,
): void {
  const kind = nodeKind(v, s);
  if (kind === 'leaf') return;
  const drop = (pe: PathElement): boolean => last.members.has(pe) && !owned?.members.has(pe);
  const atRoot = path.length === 0;
  if ((kind === 'struct' || kind === 'map') && isObject(v)) {
    for (const k of Object.keys(v)) {
      const pe = fieldElement(k);
      if (drop(pe)) {
        delete v[k];
        continue;
      }
      const sub = last.children.get(pe);
      if (sub)
        prune(v[k], fieldChild(s, kind, k, atRoot).schema, sub, owned?.children.get(pe), [...path, pe]);
    }
    return;
  }
  if (Array.isArray(v)) {
    const lk = listKind(s);
    const elem = elemSchema(s);
    const kept: unknown[] = [];
    v.forEach((item, i) => {
      const pe =
        lk.kind === 'map' ? assocElement(item, lk.keys, elem, i, false, path) : valueElement(item ?? null);
      if (drop(pe)) return;
      const sub = last.children.get(pe);
      if (sub && lk.kind === 'map') prune(item, elem, sub, owned?.children.get(pe), [...path, pe]);
      kept.push(item);
    });
    v.splice(0, v.length, ...kept);
  }
}

/** Deletes, in place, the fields the applied config set to null (upstream's typed objects drop them). */
function stripAppliedNulls(target: unknown, cfg: unknown, s: TypeSchema, path: FieldPath): void {
  const kind = nodeKind(cfg, s);
  if ((kind === 'struct' || kind === 'map') && isObject(cfg) && isObject(target)) {
    for (const [k, cv] of Object.entries(cfg)) {
      if (cv === null) {
        delete target[k];
      } else if (typeof cv === 'object') {
        stripAppliedNulls(target[k], cv, fieldChild(s, kind, k, path.length === 0).schema, [
          ...path,
          `f:${k}`,
        ]);
      }
    }
  } else if (kind === 'assoc' && Array.isArray(cfg) && Array.isArray(target)) {
    const lk = listKind(s);
    if (lk.kind !== 'map') return;
    const elem = elemSchema(s);
    const byKey = new Map<PathElement, unknown>();
    target.forEach((it, i) => {
      byKey.set(assocElement(it, lk.keys, elem, i, false, path), it);
    });
    cfg.forEach((it, i) => {
      const pe = assocElement(it, lk.keys, elem, i, false, path);
      const t = byKey.get(pe);
      if (t !== undefined) stripAppliedNulls(t, it, elem, [...path, pe]);
    });
  }
}

// ---------------------------------------------------------------------------
// managedFields entries

/** One decoded managedFields entry. */
export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Decoded managedFields keyed by manager identifier (see `managerIdentifier`). */
export type ManagedSets = Map<string, ManagerEntry>;

/**
 * Upstream's manager identifier: the entry as JSON without time and fields, and
 * without apiVersion for Apply (an applier keeps its entry across versions).
 */
export function managerIdentifier(
  e: Pick<ManagerEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>,
): string {
  const parts: string[] = [];
  if (e.manager) parts.push(`"manager":${goJSON(e.manager)}`);
  parts.push(`"operation":${goJSON(e.operation)}`);
  if (e.operation !== 'Apply' && e.apiVersion) parts.push(`"apiVersion":${goJSON(e.apiVersion)}`);
  if (e.subresource) parts.push(`"subresource":${goJSON(e.subresource)}`);
  return `{${parts.join(',')}}`;
}

function optionalString(e: JsonObject, key: string, i: number): string | undefined {
  const v = e[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`managed fields entry ${i}: ${key} must be a string`);
  return v;
}

/**
 * Decodes `metadata.managedFields`. Throws an Error (message as upstream's
 * decoder) when an entry is malformed: operation not Apply/Update, empty
 * apiVersion, fieldsType other than FieldsV1, undecodable fieldsV1.
 * Later duplicates of an identifier replace earlier ones.
 */
export function decodeManagedFields(entries: unknown): ManagedSets {
  const out: ManagedSets = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((raw: unknown, i) => {
    if (!isObject(raw)) throw new Error(`managed fields entry ${i} must be an object`);
    const operation = raw.operation;
    if (operation !== 'Apply' && operation !== 'Update')
      throw new Error('operation must be `Apply` or `Update`');
    const apiVersion = optionalString(raw, 'apiVersion', i);
    if (!apiVersion) throw new Error('apiVersion must not be empty');
    const fieldsType = optionalString(raw, 'fieldsType', i);
    if (!fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (fieldsType !== 'FieldsV1')
      throw new Error(`invalid fieldsType "${fieldsType}" in managed fields entry ${i}`);
    const fields = raw.fieldsV1;
    const set = fields === undefined || fields === null ? emptySet() : fromFieldsV1(fields);
    const entry: ManagerEntry = {
      manager: optionalString(raw, 'manager', i) ?? '',
      operation,
      apiVersion,
      set,
    };
    const subresource = optionalString(raw, 'subresource', i);
    if (subresource) entry.subresource = subresource;
    const time = optionalString(raw, 'time', i);
    if (time) entry.time = time;
    out.set(managerIdentifier(entry), entry);
  });
  return out;
}

/** `decodeManagedFields`, or undefined when the entries are malformed. */
export function tryDecodeManagedFields(entries: unknown): ManagedSets | undefined {
  try {
    return decodeManagedFields(entries);
  } catch {
    return undefined;
  }
}

function timeSeconds(t: string | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Encodes entries in upstream's order (operation, time, manager, apiVersion,
 * subresource); entries with empty sets are dropped. Undefined when none remain.
 */
export function encodeManagedFields(managed: ManagedSets): ManagedFieldsEntry[] | undefined {
  const entries = [...managed.values()].filter((m) => !isEmptySet(m.set));
  if (entries.length === 0) return undefined;
  entries.sort(
    (p, q) =>
      cmpStr(p.operation, q.operation) ||
      timeSeconds(p.time) - timeSeconds(q.time) ||
      cmpStr(p.manager, q.manager) ||
      cmpStr(p.apiVersion, q.apiVersion) ||
      cmpStr(p.subresource ?? '', q.subresource ?? ''),
  );
  return entries.map((m) => {
    const e: ManagedFieldsEntry = {};
    if (m.manager) e.manager = m.manager;
    e.operation = m.operation;
    if (m.apiVersion) e.apiVersion = m.apiVersion;
    if (m.time) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = toFieldsV1(m.set);
    if (m.subresource) e.subresource = m.subresource;
    return e;
  });
}

/** `managedFields: []` or `[{}]` in a write asks to clear all entries. */
export function isResetManagedFields(entries: unknown): boolean {
  if (!Array.isArray(entries)) return false;
  if (entries.length === 0) return true;
  if (entries.length !== 1) return false;
  const e: unknown = entries[0];
  return isObject(e) && Object.values(e).every((v) => v === undefined || v === null || v === '');
}

/**
 * The managers an ordinary write starts from (upstream decodeLiveOrNew): the
 * request's managedFields when valid and non-empty (clients may edit them), a
 * reset when they are `[]`/`[{}]`, else the old object's (empty if malformed).
 * Subresource writes always use the old object's.
 */
export function managedFieldsForWrite(
  old: KObject | undefined,
  updated: KObject,
  ignoreRequest: boolean,
): ManagedSets {
  const fromLive = (): ManagedSets => tryDecodeManagedFields(old?.metadata?.managedFields) ?? new Map();
  if (ignoreRequest) return fromLive();
  const requested: unknown = updated.metadata?.managedFields;
  if (isResetManagedFields(requested)) return new Map();
  const decoded = tryDecodeManagedFields(requested);
  if (!decoded || decoded.size === 0) return fromLive();
  return decoded;
}

/** Merges the oldest Update entries into per-version `ancient-changes` buckets beyond `max` (upstream capManagersManager). */
function capUpdateManagers(managed: ManagedSets, max: number): void {
  const updaters = [...managed.entries()].filter(([, m]) => m.operation === 'Update');
  if (updaters.length <= max) return;
  updaters.sort(([ia, a], [ib, b]) => timeSeconds(a.time) - timeSeconds(b.time) || cmpStr(ia, ib));
  const firstByVersion = new Map<string, string>();
  let count = updaters.length;
  for (const [id, m] of updaters) {
    if (count <= max) break;
    const first = firstByVersion.get(m.apiVersion);
    if (first === undefined) {
      firstByVersion.set(m.apiVersion, id);
      continue;
    }
    const bucketEntry = {
      manager: ANCIENT_CHANGES_MANAGER,
      operation: 'Update' as const,
      apiVersion: m.apiVersion,
    };
    const bucketId = managerIdentifier(bucketEntry);
    let bucket = managed.get(bucketId);
    if (!bucket) {
      const f = managed.get(first) as ManagerEntry;
      managed.delete(first);
      bucket = { ...bucketEntry, set: f.set, ...(f.time ? { time: f.time } : {}) };
      managed.set(bucketId, bucket);
    }
    const merged: ManagerEntry = { ...bucketEntry, set: unionSets(m.set, bucket.set) };
    if (m.time) merged.time = m.time;
    managed.set(bucketId, merged);
    managed.delete(id);
    count--;
  }
}

function dropEmpty(managed: ManagedSets): void {
  for (const [id, m] of managed) if (isEmptySet(m.set)) managed.delete(id);
}

/** metav1.Time's form: RFC 3339 in UTC, whole seconds. Unparseable input is kept as given. */
function formatTime(now: string): string {
  const ms = Date.parse(now);
  if (Number.isNaN(ms)) return now;
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A read-only view of the object without metadata.managedFields (shares everything else with `obj`). */
function withoutManagedFields(obj: KObject): JsonObject {
  const copy: JsonObject = { ...obj };
  if (isObject(obj.metadata)) {
    const meta: JsonObject = { ...obj.metadata };
    delete meta.managedFields;
    copy.metadata = meta;
  }
  return copy;
}

function setManagedFields(obj: JsonObject, managed: ManagedSets): void {
  const encoded = encodeManagedFields(managed);
  let meta = obj.metadata;
  if (!isObject(meta)) {
    if (!encoded) return;
    meta = {};
    obj.metadata = meta;
  }
  if (encoded) (meta as JsonObject).managedFields = encoded;
  else delete (meta as JsonObject).managedFields;
}

// ---------------------------------------------------------------------------
// Conflicts

interface ConflictSet {
  id: string;
  entry: ManagerEntry;
  set: FieldSet;
}

/** How upstream names a manager in conflict messages: `"kubectl"`, `"x" with subresource "status" using apps/v1`. */
function printManager(e: ManagerEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
  return s;
}

/** The 409 of a conflicting apply, with upstream's message and FieldManagerConflict causes. */
function conflictError(conflicts: ConflictSet[]): StatusError {
  const sorted = [...conflicts].sort((a, b) => cmpStr(a.id, b.id));
  const flat = sorted.flatMap((c) => setPaths(c.set).map((p) => ({ entry: c.entry, path: pathString(p) })));
  const causes = flat.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.entry)}`,
    field: c.path,
  }));
  let message: string;
  const only = flat[0];
  if (flat.length === 1 && only) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(only.entry)}: ${only.path}`;
  } else {
    const lines: string[] = [];
    for (const c of sorted) {
      lines.push(`conflicts with ${printManager(c.entry)}:`);
      for (const p of setPaths(c.set)) lines.push(`- ${pathString(p)}`);
    }
    message = `Apply failed with ${flat.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

/**
 * For `kubectl` moving from client-side to server-side apply: fields of the
 * last-applied annotation whose value the live object still has may be taken
 * over without conflict (upstream lastAppliedManager).
 */
function lastAppliedFields(live: JsonObject, apiVersion: string, schema: TypeSchema): FieldSet | undefined {
  const meta = live.metadata;
  const annotations = isObject(meta) ? meta.annotations : undefined;
  const raw = isObject(annotations) ? annotations[LAST_APPLIED_ANNOTATION] : undefined;
  if (typeof raw !== 'string' || raw === '') return undefined;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isObject(lastApplied) || lastApplied.apiVersion !== apiVersion) return undefined;
  const fields = computeFieldSet(lastApplied, schema);
  const cmp = compareObjects(lastApplied, live, schema);
  return subtractSets(subtractSets(subtractSets(fields, cmp.modified), cmp.added), cmp.removed);
}

/** Keeps kubectl's last-applied annotation in step with what `kubectl` applies server-side (upstream lastAppliedUpdater). */
function syncLastApplied(result: JsonObject, applied: JsonObject): void {
  const meta = result.metadata;
  const annotations = isObject(meta) ? meta.annotations : undefined;
  if (!isObject(annotations)) return;
  const current = annotations[LAST_APPLIED_ANNOTATION];
  if (typeof current !== 'string' || current === '') return;
  const cfg = structuredClone(applied);
  const cfgMeta = cfg.metadata;
  if (isObject(cfgMeta)) {
    delete cfgMeta.managedFields;
    if (isObject(cfgMeta.annotations)) delete cfgMeta.annotations[LAST_APPLIED_ANNOTATION];
  }
  annotations[LAST_APPLIED_ANNOTATION] = goJSON(cfg);
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    size += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) delete annotations[LAST_APPLIED_ANNOTATION];
}

// ---------------------------------------------------------------------------
// Entry points

export interface ManagedFieldsOptions {
  /** Field paths the strategy resets (upstream GetResetFields), e.g. [['status']] for a main resource: never owned. */
  ignoredFields?: readonly (readonly string[])[];
  /** Cap on Update entries before the oldest merge into `ancient-changes`; default 10. */
  maxUpdateManagers?: number;
}

export interface ApplyOptions extends ManagedFieldsOptions {
  /** Subresource the apply addresses ("status"); recorded on the entry. */
  subresource?: string;
  /** The group/version the request addresses; a config with another apiVersion is a 400. */
  expectedApiVersion?: string;
}

function objectLabel(applied: JsonObject): string {
  const meta = isObject(applied.metadata) ? applied.metadata : {};
  const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
  const name = typeof meta.name === 'string' ? meta.name : '';
  return `${ns}/${name}; ${String(applied.apiVersion ?? '')}, Kind=${String(applied.kind ?? '')}`;
}

/** Server-maintained metadata that an applied config cannot change (upstream's update strategy resets them). */
const SYSTEM_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
] as const;

function restoreSystemMetadata(merged: JsonObject, live: JsonObject): void {
  const liveMeta = isObject(live.metadata) ? live.metadata : {};
  let meta = merged.metadata;
  if (!isObject(meta)) {
    meta = {};
    merged.metadata = meta;
  }
  const m = meta as JsonObject;
  for (const f of SYSTEM_METADATA) {
    if (liveMeta[f] === undefined) delete m[f];
    else m[f] = structuredClone(liveMeta[f]);
  }
}

/**
 * Server-side apply: merges the applied configuration into `live` (or creates
 * the object when `live` is undefined) and returns the new object with updated
 * `metadata.managedFields`.
 *
 * - Fields this manager applied last time and omits now are removed, unless
 *   another manager owns them too.
 * - Changing a field another manager owns is a 409 Conflict listing every
 *   conflicting field, unless `force` (ownership then moves to this manager).
 *   For manager `kubectl`, fields still matching the last-applied annotation
 *   do not conflict (client-side -> server-side apply upgrade).
 * - Associative lists merge by key, sets by value, atomic lists and scalars
 *   are replaced, maps and structs merge per key; a null in the config removes
 *   the field (and claims it).
 *
 * Throws StatusError: 422 when `manager` is empty, 400 when the config carries
 * managedFields, has the wrong apiVersion (`opts.expectedApiVersion`), or cannot
 * be typed (duplicate keys, list items without key fields), 409 on conflicts.
 * On an existing object, uid, resourceVersion, generation, creationTimestamp,
 * deletionTimestamp, deletionGracePeriodSeconds and selfLink keep their live
 * values: the caller checks `applied.metadata.resourceVersion`/`uid` as
 * preconditions itself. On create, the config's metadata is taken as given.
 * Run defaulting after this (upstream defaults the merged object; defaults
 * are owned by nobody), and pass the strategy's reset fields as `ignoredFields`.
 */
export function applyPatch(
  live: KObject | undefined,
  applied: KObject,
  schema: TypeSchema,
  manager: string,
  force: boolean,
  now: string,
  opts: ApplyOptions = {},
): KObject {
  if (!manager) {
    throw invalid('PatchOptions', 'meta.k8s.io', '', [
      { type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' },
    ]);
  }
  if (!isObject(applied)) throw badRequest('the applied configuration must be an object');
  const cfg = structuredClone(applied) as JsonObject;
  const cfgMeta = cfg.metadata;
  if (isObject(cfgMeta) && cfgMeta.managedFields !== undefined && cfgMeta.managedFields !== null) {
    throw badRequest('metadata.managedFields must be nil');
  }
  if (isObject(cfgMeta)) delete cfgMeta.managedFields;
  const apiVersion = typeof cfg.apiVersion === 'string' ? cfg.apiVersion : '';
  if (opts.expectedApiVersion !== undefined && apiVersion !== opts.expectedApiVersion) {
    throw badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${apiVersion}, expected: ${opts.expectedApiVersion}`,
    );
  }

  let appliedSet: FieldSet;
  let merged: JsonObject;
  const liveBase = live ? withoutManagedFields(live) : undefined;
  try {
    appliedSet = emptySet();
    collect(cfg, schema, [], appliedSet, true, true);
    // A deep copy: merge shares unchanged live subtrees, and prune edits in place.
    merged = structuredClone(mergeApplied(liveBase ?? {}, cfg, schema, [])) as JsonObject;
  } catch (e) {
    if (e instanceof TypedValueError) {
      throw badRequest(`failed to create typed patch object (${objectLabel(cfg)}): ${e.message}`);
    }
    throw e;
  }
  appliedSet = filterPrefixes(appliedSet, opts.ignoredFields);

  const managed: ManagedSets = live
    ? (tryDecodeManagedFields(live.metadata?.managedFields) ?? new Map())
    : new Map();
  const entryKey = { manager, operation: 'Apply' as const, apiVersion, subresource: opts.subresource };
  const id = managerIdentifier(entryKey);
  const previous = managed.get(id);

  // Prune what this manager applied before, omits now, and nobody else owns.
  if (previous && !isEmptySet(previous.set)) {
    let owned = appliedSet;
    for (const [mid, m] of managed) if (mid !== id) owned = unionSets(owned, m.set);
    prune(
      merged,
      schema,
      ensureNamedFieldsAreMembers(previous.set, schema),
      ensureNamedFieldsAreMembers(owned, schema),
      [],
    );
  }

  if (liveBase) {
    restoreSystemMetadata(merged, liveBase);
    const cmp = compareObjects(liveBase, merged, schema);
    const changed = filterPrefixes(unionSets(cmp.modified, cmp.added), opts.ignoredFields);
    const removed = filterPrefixes(cmp.removed, opts.ignoredFields);
    const conflicts: ConflictSet[] = [];
    for (const [mid, m] of managed) {
      if (mid === id) continue;
      const c = intersectSets(m.set, changed);
      if (!isEmptySet(c)) conflicts.push({ id: mid, entry: m, set: c });
    }
    if (conflicts.length && !force) {
      const allowed = manager === 'kubectl' ? lastAppliedFields(liveBase, apiVersion, schema) : undefined;
      const remaining = allowed
        ? conflicts
            .map((c) => ({ ...c, set: subtractSets(c.set, allowed) }))
            .filter((c) => !isEmptySet(c.set))
        : conflicts;
      if (remaining.length) throw conflictError(remaining);
    }
    for (const c of conflicts) {
      const m = managed.get(c.id) as ManagerEntry;
      managed.set(c.id, { ...m, set: subtractSets(m.set, c.set) });
    }
    for (const [mid, m] of managed) {
      if (mid !== id) managed.set(mid, { ...m, set: subtractSets(m.set, removed) });
    }
  }

  stripAppliedNulls(merged, cfg, schema, []);
  if (liveBase) restoreSystemMetadata(merged, liveBase);
  const changedObject = !liveBase || !deepEqual(liveBase, merged);
  const entry: ManagerEntry = { manager, operation: 'Apply', apiVersion, set: stripSystemFields(appliedSet) };
  if (opts.subresource) entry.subresource = opts.subresource;
  const time = changedObject || !previous?.time ? formatTime(now) : previous.time;
  if (time) entry.time = time;
  managed.set(id, entry);
  dropEmpty(managed);
  if (manager === 'kubectl' && liveBase) syncLastApplied(merged, cfg);
  setManagedFields(merged, managed);
  return merged as KObject;
}

/**
 * Ownership bookkeeping for create/update/patch (not apply): the fields that
 * `old` -> `updated` added or changed move to `manager`'s Update entry (one per
 * manager + apiVersion + subresource) and leave every other entry; removed
 * fields leave every entry; emptied entries are dropped; beyond 10 Update
 * entries the oldest merge into `ancient-changes`. The entry's time is `now`
 * when it gained fields. Returns a copy of `updated` with managedFields set.
 *
 * `old` undefined = create. The starting entries are the request's own
 * managedFields when valid and non-empty (`[]`/`[{}]` resets them), else the old
 * object's (see `managedFieldsForWrite`). Never throws: on an internal failure
 * the result carries no managedFields, as upstream's UpdateNoErrors.
 * An empty `manager` is recorded as "unknown".
 * Call it with both objects defaulted (upstream decodes requests with defaults,
 * so the writer owns the defaults its write introduced).
 */
export function updateManagedFields(
  old: KObject | undefined,
  updated: KObject,
  schema: TypeSchema,
  manager: string,
  operation: 'Update',
  subresource: string | undefined,
  now: string,
  opts: ManagedFieldsOptions = {},
): KObject {
  // Only metadata.managedFields changes: copy metadata, share the rest with `updated`.
  const out: JsonObject = { ...updated, metadata: isObject(updated.metadata) ? { ...updated.metadata } : {} };
  try {
    const managed = managedFieldsForWrite(old, updated, Boolean(subresource));
    const oldBase = old ? withoutManagedFields(old) : undefined;
    const newBase = withoutManagedFields(updated);
    const cmp = compareObjects(oldBase, newBase, schema);
    const changed = filterPrefixes(unionSets(cmp.modified, cmp.added), opts.ignoredFields);
    const removed = filterPrefixes(cmp.removed, opts.ignoredFields);
    for (const [mid, m] of managed) {
      managed.set(mid, { ...m, set: subtractSets(subtractSets(m.set, changed), removed) });
    }
    const entry: ManagerEntry = {
      manager: manager || 'unknown',
      operation,
      apiVersion: typeof updated.apiVersion === 'string' ? updated.apiVersion : '',
      set: stripSystemFields(changed),
    };
    if (subresource) entry.subresource = subresource;
    if (!isEmptySet(entry.set)) {
      const id = managerIdentifier(entry);
      const prev = managed.get(id);
      if (prev) entry.set = unionSets(entry.set, prev.set);
      entry.time = formatTime(now);
      managed.set(id, entry);
    }
    dropEmpty(managed);
    capUpdateManagers(managed, opts.maxUpdateManagers ?? MAX_UPDATE_MANAGERS);
    setManagedFields(out, managed);
  } catch {
    const meta = out.metadata;
    if (isObject(meta)) delete meta.managedFields;
  }
  return out as KObject;
}

// ---------------------------------------------------------------------------
// Validation

/** Upstream ValidateFieldManager: at most 128 bytes, printable characters only. */
export function validateFieldManager(name: string, field = 'fieldManager'): FieldError[] {
  if (!name) return [];
  const errs: FieldError[] = [];
  if (Buffer.byteLength(name) > FIELD_MANAGER_MAX_LENGTH) {
    errs.push({
      type: 'FieldValueTooLong',
      field,
      value: name,
      detail: `may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes`,
    });
  }
  const bad = /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/u.exec(name);
  if (bad) {
    errs.push({
      type: 'FieldValueInvalid',
      field,
      value: name,
      detail: `invalid characters at index ${Buffer.byteLength(name.slice(0, bad.index))}`,
    });
  }
  return errs;
}

/** Upstream ValidateManagedFields, for `metadata.managedFields` of an object being stored. */
export function validateManagedFields(entries: unknown, field = 'metadata.managedFields'): FieldError[] {
  if (!Array.isArray(entries)) return [];
  const errs: FieldError[] = [];
  entries.forEach((raw: unknown, i) => {
    const at = `${field}[${i}]`;
    const e = isObject(raw) ? raw : {};
    if (e.operation !== 'Apply' && e.operation !== 'Update') {
      errs.push({
        type: 'FieldValueInvalid',
        field: `${at}.operation`,
        value: e.operation ?? '',
        detail: 'must be `Apply` or `Update`',
      });
    }
    if (typeof e.fieldsType === 'string' && e.fieldsType !== '' && e.fieldsType !== 'FieldsV1') {
      errs.push({
        type: 'FieldValueInvalid',
        field: `${at}.fieldsType`,
        value: e.fieldsType,
        detail: 'must be `FieldsV1`',
      });
    }
    if (typeof e.manager === 'string')
      for (const it of validateFieldManager(e.manager, `${at}.manager`)) errs.push(it);
    if (typeof e.subresource === 'string' && e.subresource.length > MAX_SUBRESOURCE_NAME_LENGTH) {
      errs.push({
        type: 'FieldValueTooLong',
        field: `${at}.subresource`,
        value: e.subresource,
        detail: `may not be more than ${MAX_SUBRESOURCE_NAME_LENGTH} bytes`,
      });
    }
  });
  return errs;
}

/** Human form of a FieldSet's paths (for messages and tests). */
export function fieldSetPaths(set: FieldSet): string[] {
  return setPaths(set).map(pathString);
}
