/**
 * `/openapi/v3` (discovery of the per group-version documents) and
 * `/openapi/v3/<api/v1 | apis/<group>/<version>>` (the documents themselves), served
 * from the generated files (see src/machinery/schema.ts). `/openapi/v2` is not served:
 * kubectl 1.27+ only falls back to it when v3 is unavailable.
 *
 * Caching follows upstream: a request whose `hash` matches the current document is
 * immutable; a stale `hash` is redirected to the current URL; without a hash the
 * response must be revalidated (ETag).
 */
import { openapiDocument, openapiIndex } from '../machinery/schema.js';

export interface OpenApiResponse {
  status: number;
  contentType: string;
  body: string;
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
  if (p === '/openapi/v2') {
    return notFound(
      'the server could not find the requested resource (OpenAPI v2 is not served; use /openapi/v3)',
    );
  }
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

/** Whether an Accept header admits application/json (or any type). */
function acceptsJson(accept: string): boolean {
  return accept.split(',').some((part) => {
    const type = (part.split(';')[0] ?? '').trim().toLowerCase();
    return type === '' || type === '*/*' || type === 'application/*' || type === 'application/json';
  });
}
