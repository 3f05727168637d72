/**
 * Tolerant accessors for untyped JSON objects (pod specs as they come from the API): a missing or
 * wrongly typed field reads as an empty object, list or string instead of throwing.
 */
import { isObject } from './types.js';

export type Json = Record<string, unknown>;

/** `v` if it is an object, else `{}`. */
export function rec(v: unknown): Json {
  return isObject(v) ? v : {};
}

/** The object elements of `v` if it is an array, else `[]`. */
export function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** `v` if it is a string, else `''`. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
