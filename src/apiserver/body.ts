/**
 * Reading and decoding request bodies: size limit, JSON / YAML / protobuf, and the
 * patch media types. Every failure is a 4xx StatusError.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { badRequest, StatusError, tooLarge } from '../api/errors.js';
import { decodeProtobufObject } from './protobuf.js';
import type { PatchKind } from './rest.js';

/** Upstream's request body limit (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge(`Request entity too large: limit is ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(`Request entity too large: limit is ${limit}`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function snippet(buf: Buffer): string {
  const s = buf.toString('utf8');
  return s.length > 100 ? `${s.slice(0, 100)} ...` : s;
}

/** Decodes an object body (create/update) according to its Content-Type. */
export function decodeObject(buf: Buffer, contentType: string | undefined, kind: string): unknown {
  const mt = mediaType(contentType);
  if (mt === 'application/vnd.kubernetes.protobuf') return decodeProtobufObject(buf);
  if (buf.length === 0) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; json parse error: unexpected end of JSON input`,
    );
  }
  if (mt === 'application/yaml' || mt === 'application/x-yaml' || mt === 'text/yaml') {
    return parseYamlBody(buf, kind);
  }
  if (mt === '' || mt === 'application/json' || mt === '*/*') return parseJsonBody(buf, kind);
  throw new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
  );
}

function parseJsonBody(buf: Buffer, kind: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; json parse error: ${why} (${snippet(buf)})`,
    );
  }
}

function parseYamlBody(buf: Buffer, kind: string): unknown {
  try {
    return parseYaml(buf.toString('utf8'), { maxAliasCount: 100 });
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): error converting YAML to JSON: ${why}`,
    );
  }
}

const PATCH_TYPES: Record<string, PatchKind> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export function patchKind(contentType: string | undefined): PatchKind {
  const mt = mediaType(contentType);
  const k = PATCH_TYPES[mt];
  if (!k) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    );
  }
  return k;
}

export function decodePatch(buf: Buffer, kind: PatchKind): unknown {
  const text = buf.toString('utf8');
  if (kind === 'apply') {
    try {
      return parseYaml(text, { maxAliasCount: 100 });
    } catch (e) {
      throw badRequest(`error decoding YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (kind === 'json') throw badRequest(`error decoding patch: ${why}`);
    throw badRequest(`error decoding patch: ${why}`);
  }
}
