import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/errors.js';
import { applyJsonPatch, JSON_PATCH_APPLY_FAILED } from './json-patch.js';

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    return e as StatusError;
  }
  throw new Error('expected a StatusError');
}

const doc = {
  metadata: { name: 'api', annotations: { a: '1' } },
  spec: { template: { spec: { containers: [{ name: 'a', image: 'a:1' }] } }, paused: false },
};

describe('applyJsonPatch', () => {
  it('applies the kubectl rollout undo (deployment) shape', () => {
    const ops = [
      {
        op: 'replace',
        path: '/spec/template',
        value: { metadata: { labels: { app: 'api' } }, spec: { containers: [] } },
      },
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '3' } },
    ];
    expect(applyJsonPatch(doc, ops)).toEqual({
      metadata: { name: 'api', annotations: { 'deployment.kubernetes.io/revision': '3' } },
      spec: { template: { metadata: { labels: { app: 'api' } }, spec: { containers: [] } }, paused: false },
    });
  });

  it('supports all RFC 6902 operations', () => {
    const ops = [
      { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'b' } },
      { op: 'add', path: '/spec/template/spec/containers/0', value: { name: 'z' } },
      { op: 'remove', path: '/metadata/annotations/a' },
      { op: 'copy', from: '/metadata/name', path: '/metadata/generateName' },
      { op: 'move', from: '/spec/paused', path: '/spec/wasPaused' },
      { op: 'test', path: '/metadata/name', value: 'api' },
      { op: 'replace', path: '/metadata/name', value: 'new' },
      { op: 'add', path: '/metadata/annotations/x~1y', value: 'slash' },
    ];
    expect(applyJsonPatch(doc, ops)).toEqual({
      metadata: { name: 'new', generateName: 'api', annotations: { 'x/y': 'slash' } },
      spec: {
        template: { spec: { containers: [{ name: 'z' }, { name: 'a', image: 'a:1' }, { name: 'b' }] } },
        wasPaused: false,
      },
    });
  });

  it('does not modify or share with its inputs', () => {
    const value = { labels: { a: 'b' } };
    const before = structuredClone(doc);
    const out = applyJsonPatch(doc, [{ op: 'add', path: '/spec/selector', value }]) as {
      spec: { selector: unknown; template: unknown };
    };
    expect(doc).toEqual(before);
    expect(out.spec.selector).toEqual(value);
    expect(out.spec.selector).not.toBe(value);
    expect(out.spec.template).not.toBe(doc.spec.template);
  });

  it('replaces the root with path ""', () => {
    expect(applyJsonPatch(doc, [{ op: 'replace', path: '', value: { a: 1 } }])).toEqual({ a: 1 });
  });

  it('a null body is a no-op', () => {
    expect(applyJsonPatch(doc, null)).toEqual(doc);
  });

  it.each([
    ['failed test', [{ op: 'test', path: '/metadata/name', value: 'other' }], 'Test operation failed'],
    [
      'remove missing',
      [{ op: 'remove', path: '/metadata/labels' }],
      'Cannot perform the operation at a path that does not exist',
    ],
    [
      'replace missing',
      [{ op: 'replace', path: '/nope', value: 1 }],
      'Cannot perform the operation at a path that does not exist',
    ],
    [
      'add under missing parent',
      [{ op: 'add', path: '/a/b/c', value: 1 }],
      'Cannot perform an `add` operation at the desired path',
    ],
    [
      'index out of bounds',
      [{ op: 'add', path: '/spec/template/spec/containers/5', value: 1 }],
      'The specified index MUST NOT be greater than the number of elements in the array',
    ],
    ['unknown op', [{ op: 'get', path: '/metadata' }], 'Unexpected kind: get'],
    ['missing op', [{ path: '/metadata' }], 'Unexpected kind: unknown'],
    ['missing path', [{ op: 'add', value: 1 }], 'Operation `path` property is not a string'],
    [
      'move from missing',
      [{ op: 'move', from: '/x', path: '/y' }],
      'Cannot perform the operation from a path that does not exist',
    ],
    [
      'prototype pollution',
      [{ op: 'add', path: '/__proto__/x', value: 1 }],
      'JSON-Patch: modifying `__proto__` or `constructor/prototype` prop is banned for security reasons, if this was on purpose, please set `banPrototypeModifications` flag false and pass it to this function. More info in fast-json-patch README',
    ],
  ])('rejects %s with 422', (_name, ops, cause) => {
    const err = statusOf(() => applyJsonPatch(doc, ops));
    expect(err.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: JSON_PATCH_APPLY_FAILED,
      reason: 'Invalid',
      details: {},
      code: 422,
    });
    expect(err.cause).toBe(cause);
  });

  it('stops at the first failing operation without side effects on the input', () => {
    const before = structuredClone(doc);
    statusOf(() =>
      applyJsonPatch(doc, [
        { op: 'replace', path: '/metadata/name', value: 'changed' },
        { op: 'test', path: '/metadata/name', value: 'api' },
      ]),
    );
    expect(doc).toEqual(before);
  });

  it('rejects a body that is not a list of operations with 400', () => {
    expect(statusOf(() => applyJsonPatch(doc, { op: 'add' })).status).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    });
    expect(statusOf(() => applyJsonPatch(doc, ['add'])).status).toMatchObject({
      code: 400,
      message: 'json: cannot unmarshal string into Go value of type jsonpatch.Operation',
    });
  });

  it('rejects more than 10000 operations with 413', () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/metadata/name', value: 'api' }));
    expect(statusOf(() => applyJsonPatch(doc, ops)).status).toMatchObject({
      code: 413,
      reason: 'RequestEntityTooLarge',
      message: 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
    });
  });
});
