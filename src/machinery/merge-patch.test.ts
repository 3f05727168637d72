import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/errors.js';
import { jsonMergePatch, validateMergePatch } from './merge-patch.js';

describe('jsonMergePatch', () => {
  // RFC 7386 appendix A test cases
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(cases)('RFC 7386 example %#', (orig, patch, want) => {
    expect(jsonMergePatch(orig, patch)).toEqual(want);
  });

  it('kubectl scale / label shapes', () => {
    const dep = { metadata: { name: 'x', labels: { a: '1', b: '2' } }, spec: { replicas: 1, paused: true } };
    expect(jsonMergePatch(dep, { spec: { replicas: 3 } })).toEqual({
      metadata: { name: 'x', labels: { a: '1', b: '2' } },
      spec: { replicas: 3, paused: true },
    });
    expect(jsonMergePatch(dep, { metadata: { labels: { a: null, c: '3' } } })).toEqual({
      metadata: { name: 'x', labels: { b: '2', c: '3' } },
      spec: { replicas: 1, paused: true },
    });
  });

  it('drops nulls inside objects nested in new arrays (as upstream)', () => {
    expect(jsonMergePatch({}, { l: [{ a: null, b: 1 }, null] })).toEqual({ l: [{ b: 1 }, null] });
  });

  it('neither mutates nor shares with its inputs', () => {
    const orig = { a: { b: 1 }, keep: { x: [1] } };
    const patch = { a: { c: { d: 1 } } };
    const out = jsonMergePatch(orig, patch) as { a: { c: unknown }; keep: unknown };
    expect(orig).toEqual({ a: { b: 1 }, keep: { x: [1] } });
    expect(out.keep).not.toBe(orig.keep);
    expect(out.a.c).not.toBe(patch.a.c);
  });
});

describe('validateMergePatch', () => {
  it('rejects null and scalars with 400 Invalid JSON Patch', () => {
    for (const p of [null, 1, 'x', true]) {
      try {
        validateMergePatch(p);
        throw new Error('expected throw');
      } catch (e) {
        expect(e).toBeInstanceOf(StatusError);
        expect((e as StatusError).status).toEqual({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'Invalid JSON Patch',
          reason: 'BadRequest',
          code: 400,
        });
      }
    }
    expect(() => validateMergePatch({})).not.toThrow();
    expect(() => validateMergePatch([])).not.toThrow();
  });
});

describe('jsonMergePatch: hostile keys', () => {
  it('keeps __proto__ as plain data', () => {
    const patch = JSON.parse('{"__proto__":{"polluted":"yes"},"a":{"__proto__":{"b":1}}}');
    const out = jsonMergePatch({ a: {} }, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(out))).toEqual(patch);
  });
});
