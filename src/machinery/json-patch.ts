/**
 * JSON patch (RFC 6902), as the upstream apiserver applies
 * `application/json-patch+json` bodies.
 */
import jsonpatch from 'fast-json-patch';
import { badRequest, StatusError, tooLarge } from '../api/errors.js';

/** One RFC 6902 operation as it arrives on the wire (unvalidated). */
export interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** Upstream's limit on the number of operations in one JSON patch. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const RFC6902_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** The message upstream returns (422 Invalid) for any failure applying a JSON patch. */
export const JSON_PATCH_APPLY_FAILED = 'the server rejected our request due to an error in our request';

/**
 * Applies the operations in order to a copy of `original` and returns it.
 *
 * Errors, as upstream:
 * - the body is not a list of operation objects: 400 BadRequest
 *   (`json: cannot unmarshal object into Go value of type jsonpatch.Patch`);
 * - more than 10000 operations: 413 RequestEntityTooLarge;
 * - any operation fails (failed `test`, missing path, unknown op, bad index...):
 *   422 Invalid with the generic message upstream uses
 *   ("the server rejected our request due to an error in our request");
 *   the specific reason (not sent to clients) is in the error's `cause`.
 */
export function applyJsonPatch(original: unknown, ops: unknown): unknown {
  if (ops === null || ops === undefined) return structuredClone(original);
  if (!Array.isArray(ops)) {
    throw badRequest(`json: cannot unmarshal ${jsonKind(ops)} into Go value of type jsonpatch.Patch`);
  }
  for (const op of ops) {
    if (op !== null && (typeof op !== 'object' || Array.isArray(op))) {
      throw badRequest(`json: cannot unmarshal ${jsonKind(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw tooLarge(
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  let doc: unknown = structuredClone(original);
  for (const raw of ops as (Record<string, unknown> | null)[]) {
    const op = structuredClone(raw ?? {});
    if (typeof op.op !== 'string' || !RFC6902_OPS.has(op.op)) {
      throw rejected(`Unexpected kind: ${typeof op.op === 'string' ? op.op : 'unknown'}`);
    }
    try {
      // mutateDocument=true on our private copy; values were cloned above.
      doc = jsonpatch.applyOperation(doc, op as unknown as jsonpatch.Operation, true, true).newDocument;
    } catch (e) {
      throw rejected(e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e));
    }
  }
  return doc;
}

function rejected(reason: string): StatusError {
  // Upstream sends empty details (kubectl then prints "The request is invalid: ...").
  const err = new StatusError(422, 'Invalid', JSON_PATCH_APPLY_FAILED, {});
  err.cause = reason;
  return err;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}
