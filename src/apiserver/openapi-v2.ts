/**
 * The Swagger 2.0 document served at `/openapi/v2`, derived from the generated
 * OpenAPI v3 group-version documents (src/machinery/schema.ts). kubectl 1.27/1.28 read
 * it (as gnostic protobuf) for `explain`, apply's strategic-merge-patch metadata and the
 * `fieldValidation` support check; kubectl 1.29+ use v3.
 *
 * Conversion, following what upstream publishes for v2:
 * - `definitions` = union of every document's components.schemas; a definition found in
 *   several documents keeps its first body, with the x-kubernetes-group-version-kind
 *   lists merged;
 * - `$ref: #/components/schemas/X` -> `#/definitions/X`; `allOf: [{$ref}]` wrappers
 *   become the `$ref` itself, keeping the sibling description and extensions;
 * - `oneOf` of primitive types (IntOrString, Quantity) becomes `type: string` (v2 has
 *   no oneOf);
 * - operations get v2 parameters (schema fields inlined, request body as an `in: body`
 *   parameter named `body`), `consumes`/`produces` from the media types, responses with
 *   a single `schema`; all `x-*` extensions are kept.
 *
 * The document, its JSON text and its protobuf bytes are built lazily and cached until
 * the documents directory changes (setOpenApiDir).
 */
import { createHash } from 'node:crypto';
import { openapiDocument, openapiIndex } from '../machinery/schema.js';
import { encodeOpenApiV2, type OpenApiV2Json, type OpenApiV2Object } from './openapi-v2-proto.js';

type Json = OpenApiV2Json;
type JsonObj = OpenApiV2Object;

const V3_PREFIX = '#/components/schemas/';
const V2_PREFIX = '#/definitions/';
const GVK = 'x-kubernetes-group-version-kind';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

function isObj(v: Json | undefined): v is JsonObj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rewriteRef(ref: string): string {
  return ref.startsWith(V3_PREFIX) ? V2_PREFIX + ref.slice(V3_PREFIX.length) : ref;
}

/** Converts one v3 schema object to its v2 form (a new object; the input is untouched). */
export function convertSchema(s: JsonObj): JsonObj {
  const out: JsonObj = {};
  const allOf = s.allOf;
  // allOf: [{$ref}] (how v3 attaches a description to a reference) -> the $ref itself.
  if (Array.isArray(allOf) && allOf.length === 1 && isObj(allOf[0]) && typeof allOf[0].$ref === 'string') {
    out.$ref = rewriteRef(allOf[0].$ref);
  }
  for (const [k, v] of Object.entries(s)) {
    switch (k) {
      case '$ref':
        if (typeof v === 'string') out.$ref = rewriteRef(v);
        break;
      case 'allOf':
        if (out.$ref === undefined && Array.isArray(v)) out.allOf = v.filter(isObj).map(convertSchema);
        break;
      case 'oneOf':
      case 'anyOf':
      case 'not':
      case 'nullable':
        break; // not representable in Swagger 2.0; see the primitive handling below
      case 'items':
        if (isObj(v)) out.items = convertSchema(v);
        break;
      case 'additionalProperties':
        out.additionalProperties = isObj(v) ? convertSchema(v) : v;
        break;
      case 'properties':
        if (isObj(v)) {
          const props: JsonObj = {};
          for (const [name, p] of Object.entries(v)) props[name] = isObj(p) ? convertSchema(p) : {};
          out.properties = props;
        }
        break;
      default:
        out[k] = v;
    }
  }
  // A oneOf of primitive types only (IntOrString, Quantity): publish it as a string,
  // as upstream's v2 does.
  const alts = s.oneOf ?? s.anyOf;
  if (out.type === undefined && out.$ref === undefined && Array.isArray(alts) && alts.length > 0) {
    const types = alts.map((a) => (isObj(a) ? a.type : undefined));
    if (types.every((t) => t === 'string' || t === 'integer' || t === 'number' || t === 'boolean')) {
      out.type = types.includes('string') ? 'string' : (types[0] ?? 'string');
    }
  }
  if (out.$ref !== undefined) delete out.type; // a $ref carries no type of its own
  // Swagger 2.0 arrays need items; keep consumers that insist on them (kubectl) happy.
  if (out.type === 'array' && out.items === undefined) out.items = {};
  return out;
}

/** A v3 parameter -> v2 (schema fields inlined). */
function convertParameter(p: JsonObj): JsonObj {
  if (typeof p.$ref === 'string')
    return { $ref: p.$ref.replace('#/components/parameters/', '#/parameters/') };
  const out: JsonObj = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'schema' || k === 'content' || k === 'style' || k === 'explode' || k === 'example') continue;
    out[k] = v;
  }
  if (p.in === 'path') out.required = true;
  if (isObj(p.schema)) {
    const s = convertSchema(p.schema);
    for (const key of ['type', 'format', 'items', 'enum', 'default', 'uniqueItems', 'pattern'] as const) {
      const v = s[key];
      if (v !== undefined) out[key] = v;
    }
  }
  return out;
}

function convertParameters(v: Json | undefined): JsonObj[] {
  return Array.isArray(v) ? v.filter(isObj).map(convertParameter) : [];
}

/** The first schema among a v3 `content` map. */
function firstContentSchema(content: Json | undefined): JsonObj | undefined {
  if (!isObj(content)) return undefined;
  for (const media of Object.values(content)) if (isObj(media) && isObj(media.schema)) return media.schema;
  return undefined;
}

function addUnique(list: string[], values: Iterable<string>): void {
  for (const v of values) if (!list.includes(v)) list.push(v);
}

function convertOperation(op: JsonObj): JsonObj {
  const out: JsonObj = {};
  const consumes: string[] = [];
  const produces: string[] = [];
  const params: JsonObj[] = [];
  const body = op.requestBody;
  if (isObj(body)) {
    const schema = firstContentSchema(body.content);
    if (isObj(body.content)) addUnique(consumes, Object.keys(body.content));
    const p: JsonObj = { name: 'body', in: 'body', required: body.required === true };
    if (typeof body.description === 'string') p.description = body.description;
    if (schema) p.schema = convertSchema(schema);
    params.push(p);
  }
  for (const it of convertParameters(op.parameters)) params.push(it);
  const responses: JsonObj = {};
  if (isObj(op.responses)) {
    for (const [code, r] of Object.entries(op.responses)) {
      if (!isObj(r)) continue;
      if (typeof r.$ref === 'string') {
        responses[code] = { $ref: r.$ref.replace('#/components/responses/', '#/responses/') };
        continue;
      }
      const resp: JsonObj = { description: typeof r.description === 'string' ? r.description : '' };
      const schema = firstContentSchema(r.content);
      if (schema) resp.schema = convertSchema(schema);
      if (isObj(r.content)) addUnique(produces, Object.keys(r.content));
      for (const [k, v] of Object.entries(r)) if (k.startsWith('x-')) resp[k] = v;
      responses[code] = resp;
    }
  }
  for (const [k, v] of Object.entries(op)) {
    if (
      k === 'requestBody' ||
      k === 'parameters' ||
      k === 'responses' ||
      k === 'callbacks' ||
      k === 'servers'
    )
      continue;
    out[k] = v;
  }
  if (consumes.length > 0) out.consumes = consumes;
  if (produces.length > 0) out.produces = produces;
  out.schemes = ['https'];
  if (params.length > 0) out.parameters = params;
  out.responses = responses;
  return out;
}

function convertPathItem(item: JsonObj): JsonObj {
  const out: JsonObj = {};
  for (const method of METHODS) {
    const op = item[method];
    if (isObj(op)) out[method] = convertOperation(op);
  }
  const params = convertParameters(item.parameters);
  if (params.length > 0) out.parameters = params;
  for (const [k, v] of Object.entries(item)) if (k.startsWith('x-')) out[k] = v;
  return out;
}

function gvkKey(v: Json): string {
  return isObj(v) ? `${v.group}/${v.version}/${v.kind}` : JSON.stringify(v);
}

/** Builds the merged Swagger 2.0 document from all generated v3 documents. */
export function buildOpenApiV2(): JsonObj {
  const { hashes } = openapiIndex();
  const paths: JsonObj = {};
  const definitions: JsonObj = {};
  let version = 'unversioned';
  let title = 'Kubernetes';
  // Core first, then groups in a stable order.
  const gvs = Object.keys(hashes).sort((a, b) =>
    a === 'api/v1' ? -1 : b === 'api/v1' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  for (const gv of gvs) {
    const raw = openapiDocument(gv);
    if (!raw) continue;
    const doc = JSON.parse(raw.body) as JsonObj;
    if (isObj(doc.info)) {
      if (typeof doc.info.title === 'string') title = doc.info.title;
      if (typeof doc.info.version === 'string') version = doc.info.version;
    }
    if (isObj(doc.paths)) {
      for (const [p, item] of Object.entries(doc.paths)) {
        if (!Object.hasOwn(paths, p) && isObj(item)) paths[p] = convertPathItem(item);
      }
    }
    const schemas = isObj(doc.components) && isObj(doc.components.schemas) ? doc.components.schemas : {};
    for (const [name, s] of Object.entries(schemas)) {
      if (!isObj(s)) continue;
      const existing = definitions[name];
      if (!isObj(existing)) {
        definitions[name] = convertSchema(s);
        continue;
      }
      // Same definition in another group-version: merge the GVK lists.
      const mine = existing[GVK];
      const theirs = s[GVK];
      if (Array.isArray(mine) && Array.isArray(theirs)) {
        const seen = new Set(mine.map(gvkKey));
        for (const g of theirs) if (!seen.has(gvkKey(g))) mine.push(g);
      }
    }
  }
  return { swagger: '2.0', info: { title, version }, paths, definitions };
}

export interface OpenApiV2Cache {
  /** The document, read-only. */
  doc: JsonObj;
  json(): { body: string; etag: string };
  protobuf(): { body: Uint8Array; etag: string };
}

let cache: { key: object; value: OpenApiV2Cache } | undefined;

function etagOf(data: string | Uint8Array): string {
  return `"${createHash('sha512').update(data).digest('hex').toUpperCase()}"`;
}

/**
 * The cached v2 document and its encodings. The cache is keyed on the identity of the
 * loaded v3 index, so it follows setOpenApiDir.
 */
export function openapiV2(): OpenApiV2Cache {
  const key = openapiIndex().hashes;
  if (cache && cache.key === key) return cache.value;
  const doc = buildOpenApiV2();
  let json: { body: string; etag: string } | undefined;
  let pb: { body: Uint8Array; etag: string } | undefined;
  const value: OpenApiV2Cache = {
    doc,
    json() {
      if (!json) {
        const body = JSON.stringify(doc);
        json = { body, etag: etagOf(body) };
      }
      return json;
    },
    protobuf() {
      if (!pb) {
        const body = encodeOpenApiV2(doc);
        pb = { body, etag: etagOf(body) };
      }
      return pb;
    },
  };
  cache = { key, value };
  return value;
}
