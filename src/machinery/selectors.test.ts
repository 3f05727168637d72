import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/errors.js';
import {
  fieldSelectorFromSet,
  formatLabelSelector,
  labelSelectorAsMatcher,
  parseFieldSelector,
  parseLabelSelector,
  selectorFromSet,
  selectorToString,
} from './selectors.js';

function badRequestMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    const se = e as StatusError;
    expect(se.code).toBe(400);
    expect(se.reason).toBe('BadRequest');
    return se.message;
  }
  throw new Error('expected a StatusError');
}

const NAME_PART_REGEX =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_REGEX =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('parseLabelSelector', () => {
  it.each([
    ['', []],
    ['a=b', [{ key: 'a', operator: '=', values: ['b'] }]],
    ['a==b', [{ key: 'a', operator: '==', values: ['b'] }]],
    ['a!=b', [{ key: 'a', operator: '!=', values: ['b'] }]],
    ['a=', [{ key: 'a', operator: '=', values: [''] }]],
    ['a', [{ key: 'a', operator: 'exists', values: [] }]],
    ['!a', [{ key: 'a', operator: '!', values: [] }]],
    ['a>1', [{ key: 'a', operator: 'gt', values: ['1'] }]],
    ['a<1', [{ key: 'a', operator: 'lt', values: ['1'] }]],
    [
      ' x in (foo,,baz),y,z notin ()',
      [
        { key: 'x', operator: 'in', values: ['', 'baz', 'foo'] },
        { key: 'y', operator: 'exists', values: [] },
        { key: 'z', operator: 'notin', values: [''] },
      ],
    ],
    [
      'b in (z, y,y), a notin (x)',
      [
        { key: 'a', operator: 'notin', values: ['x'] },
        { key: 'b', operator: 'in', values: ['y', 'z'] },
      ],
    ],
    ['in in (in,notin)', [{ key: 'in', operator: 'in', values: ['in', 'notin'] }]],
    [
      'example.com/app=web,tier',
      [
        { key: 'example.com/app', operator: '=', values: ['web'] },
        { key: 'tier', operator: 'exists', values: [] },
      ],
    ],
    ['a in (,)', [{ key: 'a', operator: 'in', values: [''] }]],
  ])('parses %j', (sel, reqs) => {
    expect(parseLabelSelector(sel).requirements).toEqual(reqs);
  });

  it('renders the canonical string', () => {
    expect(parseLabelSelector('z in (b,a), !y, x, w==1, v!=2, u>3, t<4, s=5').toString()).toBe(
      's=5,t<4,u>3,v!=2,w==1,x,!y,z in (a,b)',
    );
    expect(parseLabelSelector('').toString()).toBe('');
  });

  it('matches like upstream', () => {
    const labels = { app: 'web', tier: 'frontend', n: '10' };
    const cases: [string, boolean][] = [
      ['', true],
      ['app=web', true],
      ['app==web', true],
      ['app=db', false],
      ['app!=db', true],
      ['missing!=x', true],
      ['app in (web,db)', true],
      ['app notin (web)', false],
      ['missing notin (web)', true],
      ['missing in (web)', false],
      ['tier', true],
      ['!tier', false],
      ['!missing', true],
      ['n>9', true],
      ['n>10', false],
      ['n<11', true],
      ['app>1', false],
      ['missing<1', false],
      ['app=web,tier=backend', false],
      ['missing=', false],
    ];
    for (const [sel, want] of cases) {
      expect([sel, parseLabelSelector(sel).matches(labels)]).toEqual([sel, want]);
    }
    expect(parseLabelSelector('!a').matches(undefined)).toBe(true);
  });

  it.each([
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a<-1', `unable to parse requirement: values[0][a]: Invalid value: "-1": ${LABEL_VALUE_REGEX}`],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['a,', "found '', expected: identifier after ','"],
    ['a,=b', "found '=', expected: identifier after ','"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in (b c)', "unable to parse requirement: found 'c', expected: ',' or ')'"],
    ['a in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['a in (,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    ['a=(b)', "unable to parse requirement: found '(', expected: identifier"],
    ['a (b)', "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['!=a', "found '!=', expected: !, identifier, or 'end of string'"],
    ['!(a)', "unable to parse requirement: found '(', expected: identifier"],
    [
      'a>b',
      `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    ['-a=b', `unable to parse requirement: <nil>: Invalid value: "-a": ${NAME_PART_REGEX}`],
    ['a=b$', `unable to parse requirement: values[0][a]: Invalid value: "b$": ${LABEL_VALUE_REGEX}`],
    [
      'a/b/c',
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    ['/a', 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'],
    [
      'Ex.com/a',
      `unable to parse requirement: <nil>: Invalid value: "Ex.com/a": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ],
    [
      `a=${'x'.repeat(64)}`,
      `unable to parse requirement: values[0][a]: Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters`,
    ],
  ])('rejects %j', (sel, message) => {
    expect(badRequestMessage(() => parseLabelSelector(sel))).toBe(message);
  });
});

describe('labelSelectorAsMatcher', () => {
  it('undefined matches nothing and {} matches everything (as upstream)', () => {
    const none = labelSelectorAsMatcher(undefined);
    expect([none.matches({}), none.nothing, none.empty, none.toString()]).toEqual([false, true, false, '']);
    const all = labelSelectorAsMatcher({});
    expect([all.matches({}), all.matches({ a: 'b' }), all.empty, all.toString()]).toEqual([
      true,
      true,
      true,
      '',
    ]);
    expect(labelSelectorAsMatcher({ matchLabels: {}, matchExpressions: [] }).empty).toBe(true);
  });

  it('ANDs matchLabels and matchExpressions', () => {
    const m = labelSelectorAsMatcher({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['b', 'a'] },
        { key: 'env', operator: 'NotIn', values: ['prod'] },
        { key: 'team', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    expect(m.toString()).toBe('app=web,env notin (prod),!legacy,team,tier in (a,b)');
    expect(m.matches({ app: 'web', tier: 'a', team: 'x' })).toBe(true);
    expect(m.matches({ app: 'web', tier: 'a', team: 'x', env: 'prod' })).toBe(false);
    expect(m.matches({ app: 'web', tier: 'c', team: 'x' })).toBe(false);
    expect(m.matches({ app: 'web', tier: 'a', team: 'x', legacy: '' })).toBe(false);
    expect(m.matches({ app: 'db', tier: 'a', team: 'x' })).toBe(false);
  });

  it('reports invalid selectors as upstream', () => {
    expect(
      badRequestMessage(() =>
        labelSelectorAsMatcher({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }),
      ),
    ).toBe(`values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty`);
    expect(
      badRequestMessage(() =>
        labelSelectorAsMatcher({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
      ),
    ).toBe(`values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist`);
    expect(
      badRequestMessage(() =>
        labelSelectorAsMatcher({
          matchExpressions: [{ key: 'a', operator: 'Bogus' as 'In', values: ['x'] }],
        }),
      ),
    ).toBe('"Bogus" is not a valid label selector operator');
    expect(badRequestMessage(() => labelSelectorAsMatcher({ matchLabels: { 'a b': 'c' } }))).toBe(
      `key: Invalid value: "a b": ${NAME_PART_REGEX}`,
    );
    expect(badRequestMessage(() => labelSelectorAsMatcher({ matchLabels: { '-a': 'c!' } }))).toBe(
      `[key: Invalid value: "-a": ${NAME_PART_REGEX}, values[0][-a]: Invalid value: "c!": ${LABEL_VALUE_REGEX}]`,
    );
  });

  it('selectorToString / formatLabelSelector', () => {
    expect(selectorToString({ matchLabels: { b: '2', a: '1' } })).toBe('a=1,b=2');
    expect(selectorToString(undefined)).toBe('');
    expect(formatLabelSelector({})).toBe('<none>');
    expect(formatLabelSelector({ matchLabels: { app: 'web' } })).toBe('app=web');
    expect(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toBe(
      '<error>',
    );
  });

  it('selectorFromSet', () => {
    const m = selectorFromSet({ b: '2', a: '1' });
    expect(m.toString()).toBe('a=1,b=2');
    expect(m.matches({ a: '1', b: '2', c: '3' })).toBe(true);
    expect(m.matches({ a: '1' })).toBe(false);
    expect(selectorFromSet({}).matches({})).toBe(true);
  });
});

describe('parseFieldSelector', () => {
  it('parses and normalizes', () => {
    const m = parseFieldSelector('status.phase!=Running,metadata.name==web-0,spec.nodeName=');
    expect(m.requirements).toEqual([
      { field: 'metadata.name', operator: '=', value: 'web-0' },
      { field: 'spec.nodeName', operator: '=', value: '' },
      { field: 'status.phase', operator: '!=', value: 'Running' },
    ]);
    expect(m.toString()).toBe('metadata.name=web-0,spec.nodeName=,status.phase!=Running');
    expect(m.requiresExactMatch('metadata.name')).toBe('web-0');
    expect(m.requiresExactMatch('status.phase')).toBeUndefined();
  });

  it('the rollout status shape (metadata.name=<n>)', () => {
    const m = parseFieldSelector('metadata.name=api');
    expect(m.matches({ 'metadata.name': 'api', 'metadata.namespace': 'default' })).toBe(true);
    expect(m.matches({ 'metadata.name': 'web' })).toBe(false);
  });

  it('matches missing fields as ""', () => {
    expect(parseFieldSelector('spec.nodeName=').matches({})).toBe(true);
    expect(parseFieldSelector('spec.nodeName!=').matches({})).toBe(false);
    expect(parseFieldSelector('spec.nodeName!=n1').matches({})).toBe(true);
    expect(parseFieldSelector('').matches({})).toBe(true);
    expect(parseFieldSelector('').empty).toBe(true);
    expect(parseFieldSelector(',,').empty).toBe(true);
  });

  it('handles escapes', () => {
    const m = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d,x=y');
    expect(m.requirements).toEqual([
      { field: 'metadata.name', operator: '=', value: 'a,b=c\\d' },
      { field: 'x', operator: '=', value: 'y' },
    ]);
    expect(m.toString()).toBe('metadata.name=a\\,b\\=c\\\\d,x=y');
    expect(fieldSelectorFromSet({ 'metadata.name': 'a=b' }).toString()).toBe('metadata.name=a\\=b');
  });

  it.each([
    ['metadata.name', "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a=\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ])('rejects %j', (sel, message) => {
    expect(badRequestMessage(() => parseFieldSelector(sel))).toBe(message);
  });

  it('a>b is not an operator', () => {
    expect(badRequestMessage(() => parseFieldSelector('a>b'))).toBe(
      "invalid selector: 'a>b'; can't understand 'a>b'",
    );
  });
});
