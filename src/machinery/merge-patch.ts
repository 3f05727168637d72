/**
 * JSON merge patch (RFC 7386), as the upstream apiserver applies
 * `application/merge-patch+json` bodies (evanphx/json-patch MergePatch).
 */
import { badRequest } from '../api/errors.js';

type Obj = { [k: string]: unknown };

/**
 * Applies an RFC 7386 merge patch: objects merge recursively, `null` deletes a
 * key, anything else (arrays included) replaces the target value. A patch that
 * is not an object replaces the whole document. Nulls inside newly added
 * values are dropped (also inside objects nested in arrays, as upstream does).
 * Neither input is modified and the result shares no structure with them.
 */
export function jsonMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return pruneNulls(patch);
  const target: Obj = isObj(original) ? structuredClone(original) : {};
  mergeInto(target, patch);
  return target;
}

/**
 * The request-level check upstream applies before merging: a `null` or scalar
 * patch body is rejected with 400 "Invalid JSON Patch". Objects and arrays are
 * accepted (an array replaces the document and later fails decoding).
 */
export function validateMergePatch(patch: unknown): void {
  if (patch === null || patch === undefined || (typeof patch !== 'object' && !Array.isArray(patch))) {
    throw badRequest('Invalid JSON Patch');
  }
}

function mergeInto(target: Obj, patch: Obj): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete target[k];
    } else if (isObj(v) && Object.hasOwn(target, k) && isObj(target[k])) {
      mergeInto(target[k] as Obj, v);
    } else {
      setKey(target, k, pruneNulls(v));
    }
  }
}

/** Deep copy of `v` without null-valued object members. */
function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      if (x !== null) setKey(out, k, pruneNulls(x));
    }
    return out;
  }
  return v;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Assigns an own property, also for a key named `__proto__` (never touches the prototype). */
function setKey(o: Obj, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
