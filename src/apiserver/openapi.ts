/**
 * `/openapi/v3` (discovery of the per group-version documents) and
 * `/openapi/v3/<api/v1 | apis/<group>/<version>>` (the documents themselves), served
 * from the generated files (see src/machinery/schema.ts), and `/openapi/v2`: one merged
 * Swagger 2.0 document derived from them (openapi-v2.ts), as JSON or as gnostic protobuf
 * (what kubectl 1.27/1.28 request for explain, apply and field-validation checks).
 *
 * Caching follows upstream: a request whose `hash` matches the current document is
 * immutable; a stale `hash` is redirected to the current URL; without a hash the
 * response must be revalidated (ETag).
 */
import { openapiDocument, openapiIndex } from '../machinery/schema.js';
import { openapiV2 } from './openapi-v2.js';

export interface OpenApiResponse {
  status: number;
  contentType: string;
  /** Text, or bytes for the protobuf encoding of `/openapi/v2`. */
  body: string | Uint8Array;
  /** Extra response headers (Cache-Control, ETag, Location). */
  headers?: Record<string, string>;
}

const JSON_TYPE = 'application/json';

function notFound(message: string): OpenApiResponse {
  return {
    status: 404,
    contentType: JSON_TYPE,
    body: JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason: 'NotFound',
      details: {},
      code: 404,
    }),
  };
}

/**
 * Answers an OpenAPI request, or returns undefined when `path` is not an OpenAPI path.
 * `path` is the URL path without a trailing slash; `accept` is the request's Accept header.
 * Throws only when the generated documents are missing (a build problem).
 */
export function handleOpenApi(
  path: string,
  query: URLSearchParams,
  accept?: string,
): OpenApiResponse | undefined {
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (p === '/openapi/v2') return openApiV2Response(accept);
  if (p === '/openapi/v3') {
    const { body } = openapiIndex();
    return {
      status: 200,
      contentType: JSON_TYPE,
      body,
      headers: { 'Cache-Control': 'no-cache, private' },
    };
  }
  if (!p.startsWith('/openapi/v3/')) return undefined;
  // Only JSON is available (no protobuf encoding of the v3 documents).
  if (accept && !acceptsJson(accept)) {
    return {
      status: 406,
      contentType: JSON_TYPE,
      body: JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'only application/json is supported for OpenAPI v3 documents',
        reason: 'NotAcceptable',
        code: 406,
      }),
    };
  }
  const gv = p.slice('/openapi/v3/'.length);
  const doc = openapiDocument(gv);
  if (!doc)
    return notFound(`the server could not find the requested resource (no OpenAPI document for ${gv})`);
  const etag = `"${doc.hash}"`;
  const wanted = query.get('hash');
  if (wanted !== null && wanted !== doc.hash) {
    const location = `/openapi/v3/${gv}?hash=${doc.hash}`;
    return {
      status: 301,
      contentType: JSON_TYPE,
      body: '',
      headers: { Location: location, 'Cache-Control': 'no-cache, private' },
    };
  }
  return {
    status: 200,
    contentType: JSON_TYPE,
    body: doc.body,
    headers:
      wanted === null
        ? { ETag: etag, 'Cache-Control': 'no-cache, private' }
        : { ETag: etag, 'Cache-Control': 'public, immutable, max-age=31536000' },
  };
}

/**
 * Media types of the protobuf encoding of the v2 document (both spellings upstream
 * accepts). Responses always carry the dotted one, as upstream's: `@` is not a MIME
 * token character, and client-go fails the request ("mime: unexpected content after
 * media subtype") when it cannot parse the response Content-Type.
 */
const V2_PROTOBUF_TYPES = [
  'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
  'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
];
const V2_PROTOBUF_RESPONSE_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/**
 * `/openapi/v2`: protobuf when the client asks for it (kubectl), JSON for
 * application/json, wildcards or no Accept header; 406 otherwise. Accept entries are
 * tried by descending q, then in order.
 */
function openApiV2Response(accept: string | undefined): OpenApiResponse {
  const wanted = (accept ?? '')
    .split(',')
    .map((part, i) => {
      const [type = '', ...params] = part.split(';').map((x) => x.trim());
      const q = params.find((x) => x.toLowerCase().startsWith('q='));
      const qv = q ? Number.parseFloat(q.slice(2)) : 1;
      return { type: type.toLowerCase(), q: Number.isNaN(qv) ? 1 : qv, i };
    })
    .filter((e) => e.type !== '' && e.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  if (wanted.length === 0) wanted.push({ type: JSON_TYPE, q: 1, i: 0 });
  const headers = (etag: string) => ({ ETag: etag, 'Cache-Control': 'no-cache, private', Vary: 'Accept' });
  for (const { type } of wanted) {
    if (V2_PROTOBUF_TYPES.includes(type)) {
      const { body, etag } = openapiV2().protobuf();
      return { status: 200, contentType: V2_PROTOBUF_RESPONSE_TYPE, body, headers: headers(etag) };
    }
    if (type === JSON_TYPE || type === '*/*' || type === 'application/*') {
      const { body, etag } = openapiV2().json();
      return { status: 200, contentType: JSON_TYPE, body, headers: headers(etag) };
    }
  }
  return {
    status: 406,
    contentType: JSON_TYPE,
    body: JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `only application/json and ${V2_PROTOBUF_TYPES[0]} are supported for /openapi/v2`,
      reason: 'NotAcceptable',
      code: 406,
    }),
  };
}

/** Whether an Accept header admits application/json (or any type). */
function acceptsJson(accept: string): boolean {
  return accept.split(',').some((part) => {
    const type = (part.split(';')[0] ?? '').trim().toLowerCase();
    return type === '' || type === '*/*' || type === 'application/*' || type === 'application/json';
  });
}
