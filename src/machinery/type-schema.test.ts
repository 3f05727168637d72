import { describe, expect, it } from 'vitest';
import { ANY, elemSchema, fieldSchema, hasPatchStrategy, S, type TypeSchema } from './type-schema.js';

describe('type-schema', () => {
  it('builds schemas concisely', () => {
    expect(S.object({ a: S.scalar() })).toEqual({ type: 'object', fields: { a: { type: 'scalar' } } });
    expect(S.mapList('name', S.object({}))).toEqual({
      type: 'list',
      elem: { type: 'object', fields: {} },
      listType: 'map',
      mapKeys: ['name'],
      patchStrategy: 'merge',
      patchMergeKey: 'name',
    });
    expect(S.setList()).toEqual({
      type: 'list',
      elem: { type: 'scalar' },
      listType: 'set',
      patchStrategy: 'merge',
    });
    expect(S.atomicList()).toEqual({ type: 'list', elem: { type: 'scalar' }, listType: 'atomic' });
    expect(S.map()).toEqual({ type: 'map', elem: { type: 'scalar' } });
    expect(S.with(S.object({}), { patchStrategy: 'retainKeys' })).toEqual({
      type: 'object',
      fields: {},
      patchStrategy: 'retainKeys',
    });
  });

  it('looks up fields, never inherited members', () => {
    const s = S.object({ a: S.scalar() });
    expect(fieldSchema(s, 'a')).toEqual({ type: 'scalar' });
    expect(fieldSchema(s, 'b')).toBe(ANY);
    expect(fieldSchema(s, 'constructor')).toBe(ANY);
    expect(fieldSchema(s, '__proto__')).toBe(ANY);
    expect(fieldSchema(ANY, 'a')).toBe(ANY);
    expect(fieldSchema(undefined, 'a')).toBe(ANY);
  });

  it('supports recursive, lazily built schemas', () => {
    const props: TypeSchema = { type: 'object', fields: {} };
    Object.defineProperty(props.fields, 'nested', { get: () => props, enumerable: true });
    expect(fieldSchema(fieldSchema(props, 'nested'), 'nested')).toBe(props);
  });

  it('elemSchema and hasPatchStrategy', () => {
    expect(elemSchema(S.atomicList(S.object({})))).toEqual({ type: 'object', fields: {} });
    expect(elemSchema(ANY)).toBe(ANY);
    const vols = S.mapList('name', S.object({}), { patchStrategy: 'merge,retainKeys' });
    expect([
      hasPatchStrategy(vols, 'merge'),
      hasPatchStrategy(vols, 'retainKeys'),
      hasPatchStrategy(vols, 'replace'),
    ]).toEqual([true, true, false]);
    expect(hasPatchStrategy(undefined, 'merge')).toBe(false);
  });
});
