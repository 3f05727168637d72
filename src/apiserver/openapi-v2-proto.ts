/**
 * The protobuf encoding of a Swagger 2.0 document as kubectl 1.27/1.28 request it from
 * `/openapi/v2` (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): the
 * `openapi.v2.Document` message of gnostic's OpenAPIv2.proto. Only the messages and
 * fields reachable from the parts of a document we produce are declared here; field
 * numbers follow gnostic so the bytes decode with its generated Go types.
 *
 * `toProtoDocument` maps a Swagger 2.0 JSON document onto plain objects shaped like
 * these messages (snake_case field names; `keepCase`). Vendor extensions, `default`,
 * `enum` and `example` values become `Any { yaml }` holding JSON text (JSON is YAML,
 * and kubectl's readers yaml-unmarshal that string).
 */
import protobuf from 'protobufjs';

export const OPENAPI_V2_PROTO = `
syntax = "proto3";
package openapi.v2;

// Wire-compatible stand-in for google.protobuf.Any (never filled: we only set yaml).
message ProtoAny { string type_url = 1; bytes value = 2; }

message Any { ProtoAny value = 1; string yaml = 2; }
message NamedAny { string name = 1; Any value = 2; }

message AdditionalPropertiesItem {
  oneof oneof { Schema schema = 1; bool boolean = 2; }
}

message BodyParameter {
  string description = 1;
  string name = 2;
  string in = 3;
  bool required = 4;
  Schema schema = 5;
  repeated NamedAny vendor_extension = 6;
}

message Definitions { repeated NamedSchema additional_properties = 1; }

message Document {
  string swagger = 1;
  Info info = 2;
  string host = 3;
  string base_path = 4;
  repeated string schemes = 5;
  repeated string consumes = 6;
  repeated string produces = 7;
  Paths paths = 8;
  Definitions definitions = 9;
  repeated NamedAny vendor_extension = 16;
}

message ExternalDocs {
  string description = 1;
  string url = 2;
  repeated NamedAny vendor_extension = 3;
}

message HeaderParameterSubSchema {
  bool required = 1;
  string in = 2;
  string description = 3;
  string name = 4;
  string type = 5;
  string format = 6;
  PrimitivesItems items = 7;
  string collection_format = 8;
  Any default = 9;
  bool unique_items = 19;
  repeated Any enum = 20;
  repeated NamedAny vendor_extension = 22;
}

message Info {
  string title = 1;
  string version = 2;
  string description = 3;
  repeated NamedAny vendor_extension = 7;
}

message ItemsItem { repeated Schema schema = 1; }

message JsonReference { string _ref = 1; string description = 2; }

message NamedPathItem { string name = 1; PathItem value = 2; }
message NamedResponseValue { string name = 1; ResponseValue value = 2; }
message NamedSchema { string name = 1; Schema value = 2; }

message NonBodyParameter {
  oneof oneof {
    HeaderParameterSubSchema header_parameter_sub_schema = 1;
    QueryParameterSubSchema query_parameter_sub_schema = 3;
    PathParameterSubSchema path_parameter_sub_schema = 4;
  }
}

message Operation {
  repeated string tags = 1;
  string summary = 2;
  string description = 3;
  ExternalDocs external_docs = 4;
  string operation_id = 5;
  repeated string produces = 6;
  repeated string consumes = 7;
  repeated ParametersItem parameters = 8;
  Responses responses = 9;
  repeated string schemes = 10;
  bool deprecated = 11;
  repeated NamedAny vendor_extension = 13;
}

message Parameter {
  oneof oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; }
}

message ParametersItem {
  oneof oneof { Parameter parameter = 1; JsonReference json_reference = 2; }
}

message PathItem {
  string _ref = 1;
  Operation get = 2;
  Operation put = 3;
  Operation post = 4;
  Operation delete = 5;
  Operation options = 6;
  Operation head = 7;
  Operation patch = 8;
  repeated ParametersItem parameters = 9;
  repeated NamedAny vendor_extension = 10;
}

message PathParameterSubSchema {
  bool required = 1;
  string in = 2;
  string description = 3;
  string name = 4;
  string type = 5;
  string format = 6;
  PrimitivesItems items = 7;
  string collection_format = 8;
  Any default = 9;
  bool unique_items = 19;
  repeated Any enum = 20;
  repeated NamedAny vendor_extension = 22;
}

message Paths {
  repeated NamedAny vendor_extension = 1;
  repeated NamedPathItem path = 2;
}

message PrimitivesItems {
  string type = 1;
  string format = 2;
  PrimitivesItems items = 3;
  string collection_format = 4;
  Any default = 5;
  bool unique_items = 15;
  repeated Any enum = 16;
  repeated NamedAny vendor_extension = 18;
}

message Properties { repeated NamedSchema additional_properties = 1; }

message QueryParameterSubSchema {
  bool required = 1;
  string in = 2;
  string description = 3;
  string name = 4;
  bool allow_empty_value = 5;
  string type = 6;
  string format = 7;
  PrimitivesItems items = 8;
  string collection_format = 9;
  Any default = 10;
  bool unique_items = 20;
  repeated Any enum = 21;
  repeated NamedAny vendor_extension = 23;
}

message Response {
  string description = 1;
  SchemaItem schema = 2;
  repeated NamedAny vendor_extension = 5;
}

message ResponseValue {
  oneof oneof { Response response = 1; JsonReference json_reference = 2; }
}

message Responses {
  repeated NamedResponseValue response_code = 1;
  repeated NamedAny vendor_extension = 2;
}

message Schema {
  string _ref = 1;
  string format = 2;
  string title = 3;
  string description = 4;
  Any default = 5;
  double multiple_of = 6;
  double maximum = 7;
  bool exclusive_maximum = 8;
  double minimum = 9;
  bool exclusive_minimum = 10;
  int64 max_length = 11;
  int64 min_length = 12;
  string pattern = 13;
  int64 max_items = 14;
  int64 min_items = 15;
  bool unique_items = 16;
  int64 max_properties = 17;
  int64 min_properties = 18;
  repeated string required = 19;
  repeated Any enum = 20;
  AdditionalPropertiesItem additional_properties = 21;
  TypeItem type = 22;
  ItemsItem items = 23;
  repeated Schema all_of = 24;
  Properties properties = 25;
  string discriminator = 26;
  bool read_only = 27;
  ExternalDocs external_docs = 29;
  Any example = 30;
  repeated NamedAny vendor_extension = 31;
}

message SchemaItem {
  oneof oneof { Schema schema = 1; }
}

message TypeItem { repeated string value = 1; }
`;

let rootCache: protobuf.Root | undefined;

/** The `openapi.v2.Document` message type (parsed once). */
export function documentType(): protobuf.Type {
  if (!rootCache) {
    rootCache = protobuf.parse(OPENAPI_V2_PROTO, { keepCase: true }).root;
    rootCache.resolveAll();
  }
  return rootCache.lookupType('openapi.v2.Document');
}

// ---------------------------------------------------------------- JSON -> message

/** A JSON value as found in the Swagger document. */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObj = { [key: string]: Json };
/** A plain object shaped like one of the messages above. */
type Msg = { [key: string]: unknown };

function isObj(v: Json | undefined): v is JsonObj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function strs(v: Json | undefined): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}
function num(v: Json | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
function bool(v: Json | undefined): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

function anyOf(v: Json): Msg {
  return { yaml: `${JSON.stringify(v)}\n` };
}

/** The `x-*` keys of an object as NamedAny entries, in document order. */
function extensions(o: JsonObj): Msg[] | undefined {
  const out: Msg[] = [];
  for (const [k, v] of Object.entries(o)) if (k.startsWith('x-')) out.push({ name: k, value: anyOf(v) });
  return out.length > 0 ? out : undefined;
}

/** Drops undefined members so protobufjs sees only the fields we set. */
function compact(m: Msg): Msg {
  for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
  return m;
}

function schemaMsg(s: JsonObj): Msg {
  const type = s.type;
  const items = s.items;
  const ap = s.additionalProperties;
  const props = s.properties;
  return compact({
    _ref: str(s.$ref),
    format: str(s.format),
    title: str(s.title),
    description: str(s.description),
    default: s.default !== undefined ? anyOf(s.default) : undefined,
    multiple_of: num(s.multipleOf),
    maximum: num(s.maximum),
    exclusive_maximum: bool(s.exclusiveMaximum),
    minimum: num(s.minimum),
    exclusive_minimum: bool(s.exclusiveMinimum),
    max_length: num(s.maxLength),
    min_length: num(s.minLength),
    pattern: str(s.pattern),
    max_items: num(s.maxItems),
    min_items: num(s.minItems),
    unique_items: bool(s.uniqueItems),
    max_properties: num(s.maxProperties),
    min_properties: num(s.minProperties),
    required: strs(s.required),
    enum: Array.isArray(s.enum) ? s.enum.map(anyOf) : undefined,
    additional_properties:
      typeof ap === 'boolean' ? { boolean: ap } : isObj(ap) ? { schema: schemaMsg(ap) } : undefined,
    type:
      typeof type === 'string' ? { value: [type] } : Array.isArray(type) ? { value: strs(type) } : undefined,
    items: isObj(items)
      ? { schema: [schemaMsg(items)] }
      : Array.isArray(items)
        ? { schema: items.filter(isObj).map(schemaMsg) }
        : undefined,
    all_of: Array.isArray(s.allOf) ? s.allOf.filter(isObj).map(schemaMsg) : undefined,
    properties: isObj(props)
      ? {
          additional_properties: Object.entries(props).map(([name, v]) => ({
            name,
            value: isObj(v) ? schemaMsg(v) : {},
          })),
        }
      : undefined,
    discriminator: str(s.discriminator),
    read_only: bool(s.readOnly),
    example: s.example !== undefined ? anyOf(s.example) : undefined,
    vendor_extension: extensions(s),
  });
}

function primitivesItems(s: JsonObj): Msg {
  return compact({
    type: str(s.type),
    format: str(s.format),
    items: isObj(s.items) ? primitivesItems(s.items) : undefined,
    collection_format: str(s.collectionFormat),
    default: s.default !== undefined ? anyOf(s.default) : undefined,
    unique_items: bool(s.uniqueItems),
    enum: Array.isArray(s.enum) ? s.enum.map(anyOf) : undefined,
    vendor_extension: extensions(s),
  });
}

function parameterMsg(p: JsonObj): Msg | undefined {
  if (typeof p.$ref === 'string') return { json_reference: { _ref: p.$ref } };
  const where = str(p.in);
  if (where === 'body') {
    return {
      parameter: {
        body_parameter: compact({
          description: str(p.description),
          name: str(p.name),
          in: where,
          required: bool(p.required),
          schema: isObj(p.schema) ? schemaMsg(p.schema) : undefined,
          vendor_extension: extensions(p),
        }),
      },
    };
  }
  const sub = compact({
    required: bool(p.required),
    in: where,
    description: str(p.description),
    name: str(p.name),
    type: str(p.type),
    format: str(p.format),
    items: isObj(p.items) ? primitivesItems(p.items) : undefined,
    collection_format: str(p.collectionFormat),
    default: p.default !== undefined ? anyOf(p.default) : undefined,
    unique_items: bool(p.uniqueItems),
    enum: Array.isArray(p.enum) ? p.enum.map(anyOf) : undefined,
    vendor_extension: extensions(p),
  });
  if (where === 'query') {
    const allowEmpty = bool(p.allowEmptyValue);
    if (allowEmpty !== undefined) sub.allow_empty_value = allowEmpty;
    return { parameter: { non_body_parameter: { query_parameter_sub_schema: sub } } };
  }
  if (where === 'path') return { parameter: { non_body_parameter: { path_parameter_sub_schema: sub } } };
  if (where === 'header') return { parameter: { non_body_parameter: { header_parameter_sub_schema: sub } } };
  return undefined; // formData parameters: not produced by us
}

function parametersMsg(v: Json | undefined): Msg[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Msg[] = [];
  for (const p of v) {
    const m = isObj(p) ? parameterMsg(p) : undefined;
    if (m) out.push(m);
  }
  return out;
}

function responsesMsg(r: JsonObj): Msg {
  const codes: Msg[] = [];
  for (const [code, v] of Object.entries(r)) {
    if (code.startsWith('x-') || !isObj(v)) continue;
    const value =
      typeof v.$ref === 'string'
        ? { json_reference: { _ref: v.$ref } }
        : {
            response: compact({
              description: str(v.description) ?? '',
              schema: isObj(v.schema) ? { schema: schemaMsg(v.schema) } : undefined,
              vendor_extension: extensions(v),
            }),
          };
    codes.push({ name: code, value });
  }
  return compact({ response_code: codes, vendor_extension: extensions(r) });
}

function operationMsg(o: JsonObj): Msg {
  const ext = isObj(o.externalDocs) ? o.externalDocs : undefined;
  return compact({
    tags: strs(o.tags),
    summary: str(o.summary),
    description: str(o.description),
    external_docs: ext && compact({ description: str(ext.description), url: str(ext.url) }),
    operation_id: str(o.operationId),
    produces: strs(o.produces),
    consumes: strs(o.consumes),
    parameters: parametersMsg(o.parameters),
    responses: isObj(o.responses) ? responsesMsg(o.responses) : undefined,
    schemes: strs(o.schemes),
    deprecated: bool(o.deprecated),
    vendor_extension: extensions(o),
  });
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

function pathItemMsg(p: JsonObj): Msg {
  const m: Msg = compact({
    _ref: str(p.$ref),
    parameters: parametersMsg(p.parameters),
    vendor_extension: extensions(p),
  });
  for (const method of METHODS) {
    const op = p[method];
    if (isObj(op)) m[method] = operationMsg(op);
  }
  return m;
}

/** Maps a Swagger 2.0 JSON document onto a plain `openapi.v2.Document` message object. */
export function toProtoDocument(doc: JsonObj): Msg {
  const info = isObj(doc.info) ? doc.info : {};
  const paths = isObj(doc.paths) ? doc.paths : {};
  const defs = isObj(doc.definitions) ? doc.definitions : {};
  return compact({
    swagger: str(doc.swagger) ?? '2.0',
    info: compact({
      title: str(info.title),
      version: str(info.version),
      description: str(info.description),
      vendor_extension: extensions(info),
    }),
    host: str(doc.host),
    base_path: str(doc.basePath),
    schemes: strs(doc.schemes),
    consumes: strs(doc.consumes),
    produces: strs(doc.produces),
    paths: {
      path: Object.entries(paths)
        .filter(([k, v]) => !k.startsWith('x-') && isObj(v))
        .map(([name, v]) => ({ name, value: pathItemMsg(v as JsonObj) })),
      vendor_extension: extensions(paths),
    },
    definitions: {
      additional_properties: Object.entries(defs).map(([name, v]) => ({
        name,
        value: isObj(v) ? schemaMsg(v) : {},
      })),
    },
    vendor_extension: extensions(doc),
  });
}

/** Encodes a Swagger 2.0 JSON document as gnostic `openapi.v2.Document` protobuf bytes. */
export function encodeOpenApiV2(doc: JsonObj): Uint8Array {
  return documentType().encode(toProtoDocument(doc)).finish();
}

export type { Json as OpenApiV2Json, JsonObj as OpenApiV2Object };
