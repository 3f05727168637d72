/** Helpers shared by the storage backends. */

import { StorageError } from './interface.js';

/**
 * Orders keys by Unicode code point, which is how SQLite's BINARY collation
 * orders UTF-8 text, so every backend lists in the same order. It differs from
 * JavaScript's `<` (UTF-16 code units) only for astral characters versus
 * characters in U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs && !ys && y >= 0xe000) return 1;
    if (ys && !xs && x >= 0xe000) return -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The smallest string greater than every string starting with `prefix`
 * (in code point order), or undefined when there is none (empty prefix).
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      const next = last === 0xd7ff ? 0xe000 : last + 1;
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

export function compactedError(requested: number, compacted: number): StorageError {
  return new StorageError(
    'Compacted',
    `required revision ${requested} has been compacted (compacted revision ${compacted})`,
    compacted,
  );
}

export function futureRevisionError(requested: number, current: number): StorageError {
  return new StorageError(
    'FutureRevision',
    `required revision ${requested} is a future revision (current revision ${current})`,
  );
}

export function keyExistsError(key: string): StorageError {
  return new StorageError('KeyExists', `key already exists: ${key}`);
}

export function keyNotFoundError(key: string): StorageError {
  return new StorageError('KeyNotFound', `key not found: ${key}`);
}

export function conflictError(key: string, expected: number, actual: number): StorageError {
  return new StorageError(
    'Conflict',
    `key ${key} was modified: expected modRevision ${expected}, found ${actual}`,
    actual,
  );
}

export function closedError(): Error {
  return new Error('storage is closed');
}

/**
 * Resolves the revision a read should use: the latest for undefined/0 (or a
 * negative number), otherwise the requested one after range checks.
 */
export function resolveReadRevision(
  requested: number | undefined,
  current: number,
  compacted: number,
): number {
  if (requested === undefined || requested <= 0) return current;
  if (requested > current) throw futureRevisionError(requested, current);
  if (requested < compacted) throw compactedError(requested, compacted);
  return requested;
}

/** Normalises ListOptions.limit: 0/undefined/negative mean "no limit". */
export function normaliseLimit(limit: number | undefined): number {
  return limit !== undefined && limit > 0 ? Math.max(1, Math.floor(limit)) : Number.POSITIVE_INFINITY;
}
