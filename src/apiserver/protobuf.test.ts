import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isStatusError } from '../api/errors.js';
import { decodeProtobufObject } from './protobuf.js';

/**
 * Fixtures: `<name>.pb` is the body kubectl 1.33 sent (protobuf) for one
 * command against a logging stub server; `<name>.json` is the body kubectl 1.31
 * sent (JSON) for the same command. Decoding the first must give the second,
 * apart from `status` (ignored by the server on create) and Go's
 * `creationTimestamp: null` / nil-pointer `null`s, which mean "absent".
 */
const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata', 'protobuf');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.pb'))
  .map((f) => f.slice(0, -3))
  .sort();

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

function withoutStatus(o: Record<string, unknown>): Record<string, unknown> {
  const { status: _status, ...rest } = o;
  return rest;
}

function catchStatus(fn: () => unknown): { code: number; reason: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isStatusError(e)) return { code: e.code, reason: e.reason, message: e.message };
    throw e;
  }
  throw new Error('expected a StatusError');
}

/** Builds `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw}. */
function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const str = (field: number, s: string | Buffer) => {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
  };
  const typeMeta = Buffer.concat([str(1, apiVersion), str(2, kind)]);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), str(1, typeMeta), str(2, raw)]);
}

describe('decodeProtobufObject (kubectl 1.33 bodies vs kubectl 1.31 JSON)', () => {
  it('has the fixtures', () => {
    expect(names).toContain('deployment');
    expect(names.length).toBeGreaterThanOrEqual(25);
  });

  for (const name of names) {
    it(name, () => {
      const got = decodeProtobufObject(readFileSync(join(dir, `${name}.pb`)));
      const want = dropNulls(JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'))) as Record<
        string,
        unknown
      >;
      expect(withoutStatus(got)).toEqual(withoutStatus(want));
      expect(Object.keys(got).slice(0, 3)).toEqual(['apiVersion', 'kind', 'metadata']);
    });
  }

  it('decodes a SelfSubjectAccessReview exactly', () => {
    const got = decodeProtobufObject(readFileSync(join(dir, 'ssar-list-pods.pb')));
    expect(got).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: { resourceAttributes: { namespace: 'default', verb: 'list', resource: 'pods' } },
      status: {},
    });
  });

  it('keeps pointer zero values (replicas: 0, minAvailable: 0) and drops plain zero values', () => {
    const d = decodeProtobufObject(readFileSync(join(dir, 'deployment-zero.pb')));
    expect((d.spec as { replicas: number }).replicas).toBe(0);
    expect(d.metadata).toEqual({ name: 'zero', namespace: 'prod', labels: { app: 'zero' } });
    const p = decodeProtobufObject(readFileSync(join(dir, 'pdb-min.pb')));
    expect((p.spec as { minAvailable: number }).minAvailable).toBe(0);
  });

  it('renders bytes as base64 and keeps empty map values', () => {
    const cm = decodeProtobufObject(readFileSync(join(dir, 'configmap-binary.pb')));
    expect(cm.data).toEqual({ a: 'b', empty: '' });
    expect(cm.binaryData).toEqual({ bin: Buffer.from([0, 1, 255]).toString('base64') });
  });

  it('refuses a body without the k8s magic with 400', () => {
    const s = catchStatus(() => decodeProtobufObject(Buffer.from('{"kind":"Pod"}')));
    expect(s.code).toBe(400);
    expect(s.message).toBe(
      'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  });

  it('refuses unknown kinds with 415 UnsupportedMediaType', () => {
    const s = catchStatus(() => decodeProtobufObject(envelope('v1', 'Pod', Buffer.alloc(0))));
    expect(s).toEqual({
      code: 415,
      reason: 'UnsupportedMediaType',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
    });
  });

  it('skips unknown zero-valued fields but refuses unknown fields with data', () => {
    // Namespace{metadata{name:"a"}, 9:"" } — unknown empty field 9: skipped.
    const meta = Buffer.from([0x0a, 0x01, 0x61]);
    const ok = Buffer.concat([Buffer.from([0x0a, meta.length]), meta, Buffer.from([0x4a, 0x00])]);
    expect(decodeProtobufObject(envelope('v1', 'Namespace', ok))).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'a' },
    });
    const bad = Buffer.concat([Buffer.from([0x0a, meta.length]), meta, Buffer.from([0x4a, 0x01, 0x78])]);
    const s = catchStatus(() => decodeProtobufObject(envelope('v1', 'Namespace', bad)));
    expect(s.code).toBe(415);
    expect(s.message).toContain('Namespace.9');
  });

  it('answers 400 for truncated bodies', () => {
    const body = readFileSync(join(dir, 'deployment.pb'));
    const s = catchStatus(() => decodeProtobufObject(body.subarray(0, body.length - 20)));
    expect(s.code).toBe(400);
  });
});
