/**
 * Decoding of `application/vnd.kubernetes.protobuf` request bodies into the
 * JSON shape a JSON client would have sent. kubectl 1.32+ sends these for
 * typed-client calls (auth can-i, create token, create namespace/deployment/
 * configmap/..., see protobuf-schema.ts) with no JSON fallback.
 *
 * Wire format: the magic `k8s\0`, then a runtime.Unknown whose `raw` holds the
 * object's generated.proto message. Presence follows Go's JSON encoding of the
 * same struct: messages present on the wire are emitted (even empty), zero
 * scalars are dropped unless the field is a pointer (option (k)), maps and
 * lists are emitted when non-empty. Unknown fields with a zero value are
 * skipped (newer clients write every non-pointer field); an unknown field with
 * data is refused rather than silently lost.
 */
import protobuf from 'protobufjs';
import { badRequest, StatusError, unsupportedMediaType } from '../api/errors.js';
import type { JsonObject, KObject } from '../api/types.js';
import { K8S_PROTO, KIND_MESSAGES } from './protobuf-schema.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
/** What we can take for a kind we cannot decode from protobuf. */
const JSON_MEDIA_TYPES = ['application/json', 'application/yaml'];

type Reader = protobuf.Reader;
type Type = protobuf.Type;
type Field = protobuf.Field;

let rootCache: protobuf.Root | undefined;
function root(): protobuf.Root {
  if (!rootCache) {
    rootCache = protobuf.parse(K8S_PROTO, { keepCase: true }).root;
    rootCache.resolveAll();
  }
  return rootCache;
}
function type(name: string): Type {
  return root().lookupType(`k8s.${name}`);
}

/** "apps/v1/Deployment"-style keys of the kinds decodeProtobufObject understands. */
export function protobufKinds(): string[] {
  return Object.keys(KIND_MESSAGES);
}

/**
 * Decodes one protobuf-encoded object. Throws StatusError: 400 BadRequest for
 * a body that is not a well-formed k8s protobuf message, 415
 * UnsupportedMediaType for a kind (or field) this decoder does not know.
 */
export function decodeProtobufObject(body: Buffer | Uint8Array): KObject {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw badRequest(
      `provided data does not appear to be a protobuf message, expected prefix [${[...MAGIC].join(' ')}]`,
    );
  }
  const unknown = decodeOrBadRequest(type('Unknown'), buf.subarray(MAGIC.length), true);
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  if (unknown.contentEncoding || (unknown.contentType && unknown.contentType !== PROTOBUF_CONTENT_TYPE)) {
    throw unsupportedMediaType(PROTOBUF_CONTENT_TYPE, JSON_MEDIA_TYPES);
  }
  if (!kind || !apiVersion) throw badRequest("Object 'Kind' is missing in protobuf body");
  const messageName = KIND_MESSAGES[`${apiVersion}/${kind}`];
  if (!messageName) throw unsupportedMediaType(PROTOBUF_CONTENT_TYPE, JSON_MEDIA_TYPES);
  const raw = typeof unknown.raw === 'string' ? Buffer.from(unknown.raw, 'base64') : Buffer.alloc(0);
  const obj = decodeOrBadRequest(type(messageName), raw, false);
  const { metadata, ...rest } = obj;
  return { apiVersion, kind, metadata: (metadata ?? {}) as KObject['metadata'], ...rest };
}

/**
 * Decodes a message body with `t`. `keepAll` keeps zero scalars (used for the
 * envelope, where "" vs absent does not matter).
 */
function decodeOrBadRequest(t: Type, buf: Uint8Array, keepAll: boolean): JsonObject {
  try {
    return decodeMessage(t, protobuf.Reader.create(buf), buf.length, keepAll, t.name);
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw badRequest(`unable to decode protobuf ${t.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

function decodeMessage(t: Type, r: Reader, end: number, keepAll: boolean, path: string): JsonObject {
  const out: JsonObject = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = t.fieldsById[id];
    if (!field) {
      skipUnknown(r, wire, `${path}.${id}`);
      continue;
    }
    const fpath = `${path}.${field.name}`;
    if (field.map) {
      expectWire(wire, WIRE_LEN, fpath);
      const [k, v] = decodeMapEntry(field, r, fpath);
      const m = (out[field.name] ?? {}) as JsonObject;
      m[k] = v;
      out[field.name] = m;
      continue;
    }
    if (field.repeated) {
      const list = (out[field.name] ?? []) as unknown[];
      if (wire === WIRE_LEN && !field.resolvedType && isPackable(field.type)) {
        const stop = r.uint32() + r.pos;
        while (r.pos < stop) list.push(readScalar(field.type, r, fpath));
      } else {
        const v = readValue(field, r, wire, fpath);
        if (v !== undefined) list.push(v);
      }
      out[field.name] = list;
      continue;
    }
    const value = readValue(field, r, wire, fpath);
    if (value === undefined) continue;
    const keep = keepAll || field.options?.['(k)'] === true;
    if (!keep && isZero(value)) continue;
    if (field.options?.['(inline)'] === true && isPlainObject(value)) {
      Object.assign(out, value);
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

/** One value of a (possibly repeated) field; undefined means "omit" (e.g. the zero Time). */
function readValue(field: Field, r: Reader, wire: number, path: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    expectWire(wire, WIRE_LEN, path);
    const len = r.uint32();
    const msg = decodeMessage(rt, r, r.pos + len, false, rt.name);
    return special(rt.name, msg, field.options?.['(k)'] === true);
  }
  if (rt) throw badRequest(`unsupported protobuf field type at ${path}`);
  expectWire(wire, wireTypeOf(field.type), path);
  return readScalar(field.type, r, path);
}

/** Converts k8s's wrapper messages to their JSON form. */
function special(typeName: string, msg: JsonObject, keep: boolean): unknown {
  switch (typeName) {
    case 'Time': {
      const seconds = typeof msg.seconds === 'number' ? msg.seconds : 0;
      const nanos = typeof msg.nanos === 'number' ? msg.nanos : 0;
      if (seconds === 0 && nanos === 0) return undefined;
      // metav1.Time marshals to RFC 3339 with second precision.
      return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case 'Quantity':
      return typeof msg.string === 'string' ? msg.string : '';
    case 'IntOrString': {
      const isString = msg.type === 1;
      const v = isString ? (msg.strVal ?? '') : (msg.intVal ?? 0);
      // A non-pointer IntOrString at its zero value is "unset" (e.g. ServicePort.targetPort).
      if (!keep && !isString && v === 0) return undefined;
      return v;
    }
    case 'ExtraValue':
      return Array.isArray(msg.items) ? msg.items : [];
    default:
      return msg;
  }
}

function decodeMapEntry(field: Field, r: Reader, path: string): [string, unknown] {
  const end = r.uint32() + r.pos;
  let key = '';
  let value: unknown;
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 1) {
      expectWire(wire, WIRE_LEN, path);
      key = r.string();
    } else if (id === 2) {
      value = readValue(field, r, wire, `${path}[${key}]`);
    } else {
      skipUnknown(r, wire, path);
    }
  }
  if (value === undefined) value = zeroOf(field);
  return [key, value];
}

function zeroOf(field: Field): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return special(rt.name, {}, true);
  if (field.type === 'string' || field.type === 'bytes') return '';
  if (field.type === 'bool') return false;
  return 0;
}

function readScalar(fieldType: string, r: Reader, path: string): unknown {
  switch (fieldType) {
    case 'string':
      return r.string();
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    case 'bool':
      return r.bool();
    case 'int32':
      return r.int32();
    case 'uint32':
      return r.uint32();
    case 'int64':
      return longToNumber(r.int64(), path);
    case 'uint64':
      return longToNumber(r.uint64(), path);
    case 'double':
      return r.double();
    case 'float':
      return r.float();
    default:
      throw badRequest(`unsupported protobuf field type ${fieldType} at ${path}`);
  }
}

function longToNumber(v: number | { toString(): string }, path: string): number {
  const n = typeof v === 'number' ? v : Number(v.toString());
  if (!Number.isSafeInteger(n)) throw badRequest(`integer out of range at ${path}`);
  return n;
}

function wireTypeOf(fieldType: string): number {
  switch (fieldType) {
    case 'string':
    case 'bytes':
      return WIRE_LEN;
    case 'double':
      return WIRE_FIXED64;
    case 'float':
      return WIRE_FIXED32;
    default:
      return WIRE_VARINT;
  }
}

function isPackable(fieldType: string): boolean {
  return fieldType !== 'string' && fieldType !== 'bytes';
}

function expectWire(actual: number, expected: number, path: string): void {
  if (actual !== expected) throw badRequest(`unexpected protobuf wire type ${actual} at ${path}`);
}

/** Skips a field this decoder does not know; refuses one that carries data. */
function skipUnknown(r: Reader, wire: number, path: string): void {
  let zero: boolean;
  switch (wire) {
    case WIRE_VARINT:
      zero = longToNumberLoose(r.uint64()) === 0;
      break;
    case WIRE_FIXED64: {
      const start = r.pos;
      r.skip(8);
      zero = isAllZero(r.buf.subarray(start, r.pos));
      break;
    }
    case WIRE_FIXED32: {
      const start = r.pos;
      r.skip(4);
      zero = isAllZero(r.buf.subarray(start, r.pos));
      break;
    }
    case WIRE_LEN: {
      const len = r.uint32();
      const start = r.pos;
      r.skip(len);
      zero = isZeroMessage(r.buf.subarray(start, start + len));
      break;
    }
    default:
      throw badRequest(`unexpected protobuf wire type ${wire} at ${path}`);
  }
  if (!zero) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${JSON_MEDIA_TYPES.join(', ')} (protobuf field ${path} is not supported)`,
    );
  }
}

function longToNumberLoose(v: number | { toString(): string }): number {
  return typeof v === 'number' ? v : Number(v.toString());
}

function isAllZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/**
 * True if `b` is empty, or parses as a message whose fields are all zero
 * (recursively) — what Go writes for an unset non-pointer struct. A string
 * that happens to parse as such a message is at worst skipped as if empty.
 */
function isZeroMessage(b: Uint8Array): boolean {
  if (b.length === 0) return true;
  try {
    const r = protobuf.Reader.create(b);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const wire = tag & 7;
      if (tag >>> 3 === 0) return false;
      if (wire === WIRE_VARINT) {
        if (longToNumberLoose(r.uint64()) !== 0) return false;
      } else if (wire === WIRE_LEN) {
        const len = r.uint32();
        const start = r.pos;
        r.skip(len);
        if (!isZeroMessage(r.buf.subarray(start, start + len))) return false;
      } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
        const start = r.pos;
        r.skip(wire === WIRE_FIXED64 ? 8 : 4);
        if (!isAllZero(r.buf.subarray(start, r.pos))) return false;
      } else {
        return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
