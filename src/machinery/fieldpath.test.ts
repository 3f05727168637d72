import { describe, expect, it } from 'vitest';
import {
  emptySet,
  fieldElement,
  fromFieldsV1,
  hasPath,
  insertPath,
  intersectSets,
  keyElement,
  pathString,
  setFromPaths,
  setPaths,
  setsEqual,
  subtractSets,
  toFieldsV1,
  unionSets,
  valueElement,
} from './fieldpath.js';

const f = fieldElement;

describe('path elements', () => {
  it('serializes keys sorted by field name and values as JSON', () => {
    expect(keyElement({ protocol: 'TCP', containerPort: 80 })).toBe(
      'k:{"containerPort":80,"protocol":"TCP"}',
    );
    expect(valueElement('example.com/x')).toBe('v:"example.com/x"');
    expect(valueElement('<a&b>')).toBe('v:"\\u003ca\\u0026b\\u003e"');
  });

  it('renders paths as upstream conflict messages do', () => {
    expect(pathString([f('spec'), f('replicas')])).toBe('.spec.replicas');
    expect(
      pathString([
        f('spec'),
        f('containers'),
        keyElement({ name: 'nginx' }),
        f('ports'),
        keyElement({ containerPort: 80, protocol: 'TCP' }),
      ]),
    ).toBe('.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]');
    expect(pathString([f('metadata'), f('finalizers'), valueElement('x')])).toBe(
      '.metadata.finalizers[="x"]',
    );
    expect(pathString([f('list'), 'i:3'])).toBe('.list[3]');
  });
});

describe('field sets', () => {
  it('encodes FieldsV1 with "." for members that have children, keys sorted', () => {
    const s = emptySet();
    insertPath(s, [f('spec'), f('replicas')]);
    insertPath(s, [f('metadata'), f('labels')]);
    insertPath(s, [f('metadata'), f('labels'), f('app')]);
    insertPath(s, [f('spec'), f('containers'), keyElement({ name: 'b' })]);
    insertPath(s, [f('spec'), f('containers'), keyElement({ name: 'b' }), f('image')]);
    insertPath(s, [f('spec'), f('containers'), keyElement({ name: 'a' })]);
    expect(JSON.stringify(toFieldsV1(s))).toBe(
      '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"a\\"}":{},"k:{\\"name\\":\\"b\\"}":{".":{},"f:image":{}}},"f:replicas":{}}}',
    );
  });

  it('decodes FieldsV1 and canonicalizes element keys', () => {
    const s = fromFieldsV1({
      'f:spec': { 'f:ports': { 'k:{"protocol":"TCP", "port":80}': { '.': {}, 'f:name': {} } } },
    });
    const item = [f('spec'), f('ports'), keyElement({ port: 80, protocol: 'TCP' })];
    expect(hasPath(s, item)).toBe(true);
    expect(hasPath(s, [...item, f('name')])).toBe(true);
    expect(hasPath(s, [f('spec')])).toBe(false);
    expect(toFieldsV1(fromFieldsV1(toFieldsV1(s)))).toEqual(toFieldsV1(s));
  });

  it('rejects malformed FieldsV1', () => {
    expect(() => fromFieldsV1({ 'x:y': {} })).toThrow();
    expect(() => fromFieldsV1({ 'f:a': 1 })).toThrow();
    expect(() => fromFieldsV1({ 'k:{bad': {} })).toThrow();
    expect(() => fromFieldsV1([])).toThrow();
  });

  it('has element-wise union, intersection and difference', () => {
    const a = setFromPaths([[f('a')], [f('b'), f('c')], [f('b'), f('d')]]);
    const b = setFromPaths([[f('b'), f('c')], [f('e')]]);
    expect(setPaths(unionSets(a, b)).map(pathString)).toEqual(['.a', '.e', '.b.c', '.b.d']);
    expect(setPaths(intersectSets(a, b)).map(pathString)).toEqual(['.b.c']);
    expect(setPaths(subtractSets(a, b)).map(pathString)).toEqual(['.a', '.b.d']);
    // A member does not cover its descendants.
    expect(setPaths(subtractSets(a, setFromPaths([[f('b')]]))).map(pathString)).toEqual([
      '.a',
      '.b.c',
      '.b.d',
    ]);
    expect(setsEqual(unionSets(a, b), unionSets(b, a))).toBe(true);
  });
});
