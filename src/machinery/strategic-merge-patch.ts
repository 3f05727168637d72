/**
 * Strategic merge patch, as the upstream apiserver applies
 * `application/strategic-merge-patch+json` bodies (apimachinery
 * util/strategicpatch, apply half, with MergeParallelList and
 * IgnoreUnmatchedNulls as the server uses them).
 *
 * Semantics:
 * - maps merge recursively; a `null` value deletes the key;
 * - lists whose field has patch strategy `merge` merge by the patch merge key
 *   (lists of scalars, e.g. finalizers, are unioned); every other list, and any
 *   list whose schema is unknown, is replaced whole;
 * - directives: `$patch: replace | delete` on maps, `$patch: replace | delete`
 *   as list elements, `$retainKeys`, `$deleteFromPrimitiveList/<field>`,
 *   `$setElementOrder/<field>`.
 *
 * Where upstream leaves directive keys inside newly added values (they are
 * dropped later when the result is decoded into a typed object), this
 * implementation drops them itself, since results are stored as plain JSON.
 * The result never shares structure with the inputs.
 */
import { badRequest, StatusError } from '../api/errors.js';
import { ANY, type TypeSchema } from './type-schema.js';

type Obj = { [k: string]: unknown };

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

const MSG_BAD_RETAIN_KEYS = 'invalid patch format of retainKeys';
const MSG_BAD_PRIMITIVE_LIST = 'invalid patch format of primitive list';
const MSG_BAD_SET_ELEMENT_ORDER = 'invalid patch format of setElementOrder list';

/**
 * Applies `patch` to `original` with strategic-merge semantics, using `schema`
 * (the schema of the whole object) to find patch strategies and merge keys.
 * Neither input is modified.
 *
 * Throws StatusError 400 (BadRequest) for malformed patches (unknown `$patch`
 * values, missing merge keys, bad directive shapes, ...), and 422 (Invalid) for
 * lists of lists, as upstream does.
 */
export function strategicMergePatch(original: unknown, patch: unknown, schema: TypeSchema): unknown {
  if (patch === null || patch === undefined) return isObj(original) ? structuredClone(original) : {};
  if (!isObj(patch)) {
    throw badRequest(
      `json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`,
    );
  }
  const orig: Obj = isObj(original) ? structuredClone(original) : {};
  return mergeMap(orig, structuredClone(patch), schema);
}

// ---------------------------------------------------------------------------
// maps

function mergeMap(original: Obj, patch: Obj, schema: TypeSchema): Obj {
  if (Object.hasOwn(patch, DIRECTIVE)) return mapDirective(patch, schema);

  applyRetainKeys(original, patch);
  applySetElementOrder(original, patch, schema);

  for (const rawKey of Object.keys(patch)) {
    const patchV = patch[rawKey];
    let key = rawKey;
    let isDeleteList = false;
    if (rawKey.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      key = directiveTarget(rawKey, DELETE_FROM_PRIMITIVE_LIST, MSG_BAD_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete original[key];
      continue;
    }
    const sub = childSchema(schema, key);
    if (!Object.hasOwn(original, key) || kindOf(original[key]) !== kindOf(patchV)) {
      if (!isDeleteList) setOrDrop(original, key, finalizeValue(patchV, sub));
      continue;
    }
    const origV = original[key];
    if (isObj(origV) && isObj(patchV)) {
      setKey(
        original,
        key,
        strategyOf(sub).strategy === 'replace' ? finalizeMap(patchV, sub) : mergeMap(origV, patchV, sub),
      );
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      setKey(original, key, mergeListHandler(origV, patchV, sub, isDeleteList));
    } else {
      setKey(original, key, patchV);
    }
  }
  return original;
}

function mapDirective(patch: Obj, schema: TypeSchema): Obj {
  const directive = patch[DIRECTIVE];
  if (directive === 'replace') {
    delete patch[DIRECTIVE];
    return finalizeMap(patch, schema);
  }
  if (directive === 'delete') return {};
  throw badPatchType(directive, patch);
}

/** `$retainKeys`: drop keys of original not listed; every non-null patch key must be listed. */
function applyRetainKeys(original: Obj, patch: Obj): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw badRequest(MSG_BAD_RETAIN_KEYS);
  const keep = new Set<unknown>(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw badRequest(MSG_BAD_RETAIN_KEYS);
  }
  for (const k of Object.keys(original)) {
    if (!keep.has(k)) delete original[k];
  }
}

/**
 * `$setElementOrder/<field>`: merges the field's patch list (if any) into the
 * original list, then orders the result: items named in the directive follow
 * its order, server-only items keep their relative place from the live list.
 * The field's patch list is consumed here.
 */
function applySetElementOrder(original: Obj, patch: Obj, schema: TypeSchema): void {
  for (const dirKey of Object.keys(patch)) {
    if (!dirKey.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[dirKey];
    delete patch[dirKey];
    if (!Array.isArray(order)) throw badArgType('[]interface {}', order);
    const key = directiveTarget(dirKey, SET_ELEMENT_ORDER, MSG_BAD_SET_ELEMENT_ORDER);
    const foundOriginal = Object.hasOwn(original, key);
    const foundPatch = Object.hasOwn(patch, key);
    const origList = original[key];
    const patchList = patch[key];
    if (foundOriginal && !Array.isArray(origList)) throw badArgType('[]interface {}', origList);
    if (foundPatch && !Array.isArray(patchList)) throw badArgType('[]interface {}', patchList);
    const origArr = (origList as unknown[] | undefined) ?? [];
    const patchArr = (patchList as unknown[] | undefined) ?? [];
    const sub = childSchema(schema, key);
    const mergeKey = sub.patchMergeKey ?? '';
    validateAgainstOrder(patchArr, order, mergeKey);

    let merged: unknown[];
    if (foundOriginal && foundPatch) merged = mergeListHandler(origArr, patchArr, sub, false);
    else if (foundOriginal) merged = origArr;
    else if (foundPatch) merged = finalizeList(patchArr, sub);
    else continue;

    const kind = elementKind([origArr, patchArr]);
    const { inList, notInList } = partition(merged, order, kind === 'map' ? mergeKey : '');
    // A list of maps without a merge key cannot be ordered (upstream fails); keep the merge result.
    setKey(
      original,
      key,
      kind === undefined || (kind === 'map' && !mergeKey)
        ? merged
        : normalizeOrder(inList, notInList, order, origArr, mergeKey, kind),
    );
    delete patch[key];
  }
}

/**
 * Checks that the (non-delete) items of the patch list appear in the
 * `$setElementOrder` list in the same relative order.
 */
function validateAgainstOrder(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  let items = patchList;
  if (mergeKey) {
    items = [];
    for (const v of patchList) {
      if (!isObj(v)) throw badArgType('map[string]interface {}', v);
      if (v[DIRECTIVE] !== 'delete') items.push(v);
    }
  }
  let pi = 0;
  let oi = 0;
  while (pi < items.length && oi < order.length) {
    const item = items[pi];
    if (isObj(item) && Object.hasOwn(item, DIRECTIVE)) {
      pi++;
      continue;
    }
    if (mergeKeyValue(item, mergeKey) === mergeKeyValue(order[oi], mergeKey)) pi++;
    oi++;
  }
  if (pi < items.length && oi >= order.length) {
    throw badRequest(
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(order)}\n`,
    );
  }
}

function mergeKeyValue(item: unknown, mergeKey: string): unknown {
  if (!mergeKey) return item;
  if (!isObj(item)) throw badArgType('map[string]interface {}', item);
  if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
  return item[mergeKey];
}

// ---------------------------------------------------------------------------
// lists

function mergeListHandler(
  original: unknown[],
  patch: unknown[],
  schema: TypeSchema,
  isDeleteList: boolean,
): unknown[] {
  if (strategyOf(schema).strategy === 'merge') {
    return mergeList(original, patch, schema.elem ?? ANY, schema.patchMergeKey ?? '', isDeleteList);
  }
  return finalizeList(patch, schema);
}

function mergeList(
  original: unknown[],
  patch: unknown[],
  elem: TypeSchema,
  mergeKey: string,
  isDeleteList: boolean,
): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind([original, patch]) as ElemKind;

  let serverOrder = original;
  let patchItems = patch;
  let merged: unknown[];
  if (kind !== 'map') {
    if (isDeleteList) {
      const drop = new Set(patch);
      return original.filter((v) => !drop.has(v));
    }
    merged = dedupe([...original, ...patch]);
  } else {
    if (!mergeKey) throw badRequest('cannot merge lists without merge key for type map');
    ({ original: serverOrder, patch: patchItems } = applySpecialElements(original, patch, mergeKey, elem));
    merged = [...serverOrder];
    for (const item of patchItems as Obj[]) {
      if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
      const idx = findByMergeKey(merged, mergeKey, item[mergeKey]);
      if (idx >= 0) merged[idx] = mergeMap(merged[idx] as Obj, item, elem);
      else {
        const v = finalizeValue(item, elem);
        if (v !== undefined) merged.push(v);
      }
    }
  }
  const { inList, notInList } = partition(merged, patchItems, kind === 'map' ? mergeKey : '');
  return normalizeOrder(inList, notInList, patchItems, serverOrder, kind === 'map' ? mergeKey : '', kind);
}

/**
 * Handles list elements carrying `$patch`: `delete` removes the matching
 * original elements, `replace` makes the remaining patch elements the whole list.
 */
function applySpecialElements(
  original: unknown[],
  patch: unknown[],
  mergeKey: string,
  elem: TypeSchema,
): { original: unknown[]; patch: unknown[] } {
  const plain: unknown[] = [];
  let replace = false;
  let result = original;
  for (const v of patch as Obj[]) {
    if (!Object.hasOwn(v, DIRECTIVE)) {
      plain.push(v);
      continue;
    }
    const d = v[DIRECTIVE];
    if (d === 'delete') {
      if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
      const value = v[mergeKey];
      result = result.filter((o) => {
        if (!isObj(o)) throw badRequest(`value for key ${result.indexOf(o)} is not a map.`);
        return !(Object.hasOwn(o, mergeKey) && o[mergeKey] === value);
      });
    } else if (d === 'replace') {
      replace = true;
    } else if (d === 'merge') {
      throw badRequest('merging lists cannot yet be specified in the patch');
    } else {
      throw badPatchType(d, v);
    }
  }
  if (replace) return { original: finalizeList(plain, { type: 'list', elem }), patch: [] };
  return { original: result, patch: plain };
}

function findByMergeKey(list: unknown[], mergeKey: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isObj(v)) throw badRequest(`value for key ${i} is not a map.`);
    if (Object.hasOwn(v, mergeKey) && v[mergeKey] === value) return i;
  }
  return -1;
}

function dedupe(list: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const v of list) {
    if (seen.has(v)) continue;
    seen.add(v);
    out.push(v);
  }
  return out;
}

type ElemKind = 'map' | 'string' | 'number' | 'boolean' | 'null';

/** The common kind of the elements of the lists; undefined when all are empty. */
function elementKind(lists: unknown[][]): ElemKind | undefined {
  let kind: ElemKind | undefined;
  for (const list of lists) {
    for (const v of list) {
      if (Array.isArray(v)) {
        if (kind === undefined) throw new StatusError(422, 'Invalid', REJECTED_422, {});
        throw badRequest(`list element types are not identical: ${goFormat(lists)}`);
      }
      const k: ElemKind = v === null ? 'null' : isObj(v) ? 'map' : (typeof v as ElemKind);
      if (kind === undefined) kind = k;
      else if (kind !== k) throw badRequest(`list element types are not identical: ${goFormat(lists)}`);
    }
  }
  return kind;
}

const REJECTED_422 = 'the server rejected our request due to an error in our request';

/** Splits `list` into the items present in `by` (by merge key, or by value for scalars) and the rest. */
function partition(
  list: unknown[],
  by: unknown[],
  mergeKey: string,
): { inList: unknown[]; notInList: unknown[] } {
  const keys = new Set<unknown>();
  for (const v of by) keys.add(mergeKey ? (isObj(v) ? v[mergeKey] : undefined) : v);
  const inList: unknown[] = [];
  const notInList: unknown[] = [];
  for (const v of list) {
    let key: unknown = v;
    if (mergeKey) {
      if (!isObj(v)) throw badArgType('map[string]interface {}', v);
      if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
      key = v[mergeKey];
    }
    (keys.has(key) ? inList : notInList).push(v);
  }
  return { inList, notInList };
}

/**
 * Orders the patch items by `patchOrder` and the server-only items by
 * `serverOrder`, then interleaves them: a server-only item goes before a patch
 * item when both appear in the live list and it comes first there.
 */
function normalizeOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: ElemKind,
): unknown[] {
  const byKey = kind === 'map';
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, byKey);
  const right = sortByOrder(patchItems, patchOrder, mergeKey, byKey);
  const serverIndex = indexOf(serverOrder, mergeKey, byKey);
  const keyOf = (v: unknown): unknown => (byKey ? (v as Obj)[mergeKey] : v);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = serverIndex.get(keyOf(left[i]));
      const ri = serverIndex.get(keyOf(right[j]));
      if (li !== undefined && ri !== undefined && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** Position of the first occurrence of each key (merge-key value or scalar) in `list`. */
function indexOf(list: unknown[], mergeKey: string, byKey: boolean): Map<unknown, number> {
  const m = new Map<unknown, number>();
  list.forEach((v, i) => {
    const key = byKey ? (isObj(v) ? v[mergeKey] : undefined) : v;
    if (!m.has(key)) m.set(key, i);
  });
  return m;
}

/**
 * Stable insertion sort of `items` by their position in `order`, with
 * upstream's comparator (an item missing from `order` compares as "less").
 * Items carrying `$patch: delete` go last, in their original order.
 */
function sortByOrder(items: unknown[], order: unknown[], mergeKey: string, byKey: boolean): unknown[] {
  let rest = items;
  let deletes: unknown[] = [];
  if (byKey) {
    for (const v of [...items, ...order]) {
      if (!isObj(v)) throw badArgType('map[string]interface {}', v);
      if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
    }
    rest = items.filter((v) => (v as Obj)[DIRECTIVE] !== 'delete');
    deletes = items.filter((v) => (v as Obj)[DIRECTIVE] === 'delete');
  }
  const pos = indexOf(order, mergeKey, byKey);
  const idx = (v: unknown): number | undefined => pos.get(byKey ? (v as Obj)[mergeKey] : v);
  const a = [...rest];
  const less = (x: unknown, y: unknown): boolean => {
    const xi = idx(x);
    const yi = idx(y);
    return xi !== undefined && yi !== undefined ? xi < yi : true;
  };
  for (let i = 1; i < a.length; i++) {
    for (let j = i; j > 0 && less(a[j], a[j - 1]); j--) {
      const t = a[j];
      a[j] = a[j - 1];
      a[j - 1] = t;
    }
  }
  return [...a, ...deletes];
}

// ---------------------------------------------------------------------------
// new values: drop directives and nulls the way upstream's result ends up

function finalizeValue(v: unknown, schema: TypeSchema): unknown {
  if (isObj(v)) {
    if (Object.hasOwn(v, DIRECTIVE)) {
      const d = v[DIRECTIVE];
      if (d === 'delete') return undefined;
      if (d === 'replace') {
        const { [DIRECTIVE]: _, ...rest } = v;
        return finalizeMap(rest, schema);
      }
      throw badPatchType(d, v);
    }
    return finalizeMap(v, schema);
  }
  if (Array.isArray(v)) return finalizeList(v, schema);
  return v;
}

function finalizeMap(m: Obj, schema: TypeSchema): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(m)) {
    if (v === null || isDirectiveKey(k)) continue;
    const fv = finalizeValue(v, childSchema(schema, k));
    if (fv !== undefined) setKey(out, k, fv);
  }
  return out;
}

function finalizeList(list: unknown[], schema: TypeSchema): unknown[] {
  const elem = schema.type === 'list' ? (schema.elem ?? ANY) : ANY;
  const out: unknown[] = [];
  for (const v of list) {
    if (isObj(v) && Object.hasOwn(v, DIRECTIVE)) continue;
    out.push(finalizeValue(v, elem));
  }
  return out;
}

function isDirectiveKey(k: string): boolean {
  return (
    k === DIRECTIVE ||
    k === RETAIN_KEYS ||
    k.startsWith(`${SET_ELEMENT_ORDER}/`) ||
    k.startsWith(`${DELETE_FROM_PRIMITIVE_LIST}/`)
  );
}

// ---------------------------------------------------------------------------
// schema helpers

function childSchema(schema: TypeSchema, key: string): TypeSchema {
  if (schema.type === 'object') {
    const f: unknown = schema.fields?.[key];
    return typeof f === 'object' && f !== null && typeof (f as TypeSchema).type === 'string'
      ? (f as TypeSchema)
      : ANY;
  }
  if (schema.type === 'map') return schema.elem ?? ANY;
  return ANY;
}

/** Splits x-kubernetes-patch-strategy into retainKeys and the other strategy ('merge' | 'replace' | ''). */
function strategyOf(schema: TypeSchema): { retainKeys: boolean; strategy: string } {
  const parts = (schema.patchStrategy ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    retainKeys: parts.includes('retainKeys'),
    strategy: parts.find((s) => s !== 'retainKeys') ?? '',
  };
}

function directiveTarget(key: string, prefix: string, badFormat: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) throw badRequest(badFormat);
  return key.slice(slash + 1);
}

// ---------------------------------------------------------------------------
// errors and Go-style value formatting (upstream messages print values with %v)

function badPatchType(directive: unknown, m: Obj): StatusError {
  return badRequest(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(m)}`);
}

function noMergeKey(m: Obj, key: string): StatusError {
  return badRequest(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);
}

function badArgType(expected: string, actual: unknown): StatusError {
  return badRequest(`expected a ${expected}, but received a ${goTypeName(actual)}`);
}

function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (isObj(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Renders a JSON value like Go's fmt %v on the decoded value. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  }
  if (typeof v === 'number') return goNumber(v);
  return String(v);
}

function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return BigInt(n).toString();
  const exp = n === 0 ? 0 : Math.floor(Math.log10(Math.abs(n)));
  // Go's %v uses %g with the shortest representation: exponent form below 1e-4 and from 1e6.
  if (exp < -4 || exp >= 6) {
    const [mant, e = '0'] = n.toExponential().split('e');
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[-+]/, '').padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  return String(n);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setOrDrop(o: Obj, k: string, v: unknown): void {
  if (v === undefined) delete o[k];
  else setKey(o, k, v);
}

/** Assigns an own property, also for a key named `__proto__` (never touches the prototype). */
function setKey(o: Obj, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
