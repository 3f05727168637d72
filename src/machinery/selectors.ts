/**
 * Label and field selectors with upstream's syntax, semantics and error
 * messages (apimachinery pkg/labels, pkg/fields, metav1.LabelSelectorAsSelector).
 */
import { badRequest, StatusError } from '../api/errors.js';
import type { LabelSelector } from '../api/types.js';

// ---------------------------------------------------------------------------
// label selectors

/** Upstream's selection.Operator values. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted and de-duplicated when parsed from a string; as given for LabelSelector objects. */
  values: string[];
}

/** A parsed label selector. Immutable; `matches` never throws. */
export interface LabelMatcher {
  /** Requirements sorted by key (stable), as upstream keeps them. */
  readonly requirements: readonly LabelRequirement[];
  /** True when the selector matches everything. */
  readonly empty: boolean;
  /** True for the selector of a nil LabelSelector, which matches nothing. */
  readonly nothing: boolean;
  matches(labels: Record<string, string> | undefined): boolean;
  /** Upstream's Selector.String(): canonical text ("" for everything and nothing). */
  toString(): string;
}

/**
 * Parses a `labelSelector` string exactly as labels.Parse does. Throws
 * StatusError 400 BadRequest with upstream's message on invalid input.
 * The empty string matches everything.
 */
export function parseLabelSelector(selector: string): LabelMatcher {
  return makeLabelMatcher(new LabelParser(selector).parse(), false);
}

/**
 * metav1.LabelSelectorAsSelector: matchLabels and matchExpressions ANDed.
 * As upstream, `undefined` (a nil selector) matches nothing and an empty
 * selector (`{}`) matches everything. Invalid keys, values or operators throw
 * StatusError 400 with upstream's message.
 */
export function labelSelectorAsMatcher(sel: LabelSelector | undefined | null): LabelMatcher {
  if (!sel) return makeLabelMatcher([], true);
  const matchLabels = sel.matchLabels ?? {};
  const exprs = sel.matchExpressions ?? [];
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(matchLabels)) reqs.push(newRequirement(k, '=', [String(v)]));
  for (const e of exprs) {
    const op = Object.hasOwn(EXPRESSION_OPERATORS, e.operator) ? EXPRESSION_OPERATORS[e.operator] : undefined;
    if (!op) throw badRequest(`${JSON.stringify(String(e.operator))} is not a valid label selector operator`);
    reqs.push(newRequirement(e.key, op, [...(e.values ?? [])]));
  }
  return makeLabelMatcher(sortByKey(reqs), false);
}

/** The selector text of a LabelSelector (upstream: LabelSelectorAsSelector(sel).String()). */
export function selectorToString(sel: LabelSelector | undefined | null): string {
  return labelSelectorAsMatcher(sel).toString();
}

/** metav1.FormatLabelSelector: like selectorToString, but "<none>" when empty and "<error>" when invalid. */
export function formatLabelSelector(sel: LabelSelector | undefined | null): string {
  let s: string;
  try {
    s = selectorToString(sel);
  } catch {
    return '<error>';
  }
  return s === '' ? '<none>' : s;
}

/** A selector matching exactly the given labels (labels.SelectorFromSet); empty set matches everything. */
export function selectorFromSet(set: Record<string, string> | undefined): LabelMatcher {
  const reqs = Object.entries(set ?? {}).map(
    ([k, v]): LabelRequirement => ({ key: k, operator: '=', values: [v] }),
  );
  return makeLabelMatcher(sortByKey(reqs), false);
}

const EXPRESSION_OPERATORS: Record<string, LabelOperator | undefined> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

function makeLabelMatcher(requirements: LabelRequirement[], nothing: boolean): LabelMatcher {
  const reqs = Object.freeze(requirements.map((r) => Object.freeze({ ...r, values: [...r.values] })));
  const text = reqs.map(requirementString).join(',');
  return Object.freeze({
    requirements: reqs,
    empty: !nothing && reqs.length === 0,
    nothing,
    matches: (labels: Record<string, string> | undefined): boolean =>
      !nothing && reqs.every((r) => requirementMatches(r, labels ?? {})),
    toString: () => text,
  });
}

function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  return [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(v as string);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(v as string);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const lhs = parseInt64(v as string);
      const rhs = parseInt64(r.values[0] as string);
      if (lhs === undefined || rhs === undefined) return false;
      return r.operator === 'gt' ? lhs > rhs : lhs < rhs;
    }
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64); undefined when invalid or out of range. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function requirementString(r: LabelRequirement): string {
  const values = r.values.length === 1 ? (r.values[0] as string) : [...r.values].sort().join(',');
  switch (r.operator) {
    case '!':
      return `!${r.key}`;
    case 'exists':
      return r.key;
    case 'in':
      return `${r.key} in (${values})`;
    case 'notin':
      return `${r.key} notin (${values})`;
    case 'gt':
      return `${r.key}>${values}`;
    case 'lt':
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

// --- requirement validation (labels.NewRequirement) -------------------------

function newRequirement(key: string, op: LabelOperator, values: string[], path = ''): LabelRequirement {
  const errs: string[] = [];
  const child = (name: string): string => (path ? `${path}.${name}` : name);
  const keyErr = validateLabelKey(key, child('key'));
  if (keyErr) errs.push(keyErr);
  const valuesPath = child('values');
  switch (op) {
    case 'in':
    case 'notin':
      if (values.length === 0) {
        errs.push(
          invalidValue(
            valuesPath,
            goStringSlice(values),
            "for 'in', 'notin' operators, values set can't be empty",
          ),
        );
      }
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) {
        errs.push(
          invalidValue(
            valuesPath,
            goStringSlice(values),
            'exact-match compatibility requires one single value',
          ),
        );
      }
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) {
        errs.push(
          invalidValue(
            valuesPath,
            goStringSlice(values),
            'values set must be empty for exists and does not exist',
          ),
        );
      }
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) {
        errs.push(
          invalidValue(
            valuesPath,
            goStringSlice(values),
            "for 'Gt', 'Lt' operators, exactly one value is required",
          ),
        );
      }
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(
            invalidValue(
              `${valuesPath}[${i}]`,
              JSON.stringify(v),
              "for 'Gt', 'Lt' operators, the value must be an integer",
            ),
          );
        }
      });
      break;
  }
  values.forEach((v, i) => {
    const msgs = labelValueErrors(v);
    if (msgs.length)
      errs.push(invalidValue(`${valuesPath}[${i}][${key}]`, JSON.stringify(v), msgs.join('; ')));
  });
  if (errs.length === 1) throw badRequest(errs[0] as string);
  if (errs.length > 1) throw badRequest(`[${errs.join(', ')}]`);
  return { key, operator: op, values };
}

function validateLabelKey(key: string, path: string): string | undefined {
  const msgs = qualifiedNameErrors(key);
  return msgs.length ? invalidValue(path, JSON.stringify(key), msgs.join('; ')) : undefined;
}

function invalidValue(path: string, rendered: string, detail: string): string {
  return `${path}: Invalid value: ${rendered}: ${detail}`;
}

function goStringSlice(values: string[]): string {
  return `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
}

// --- name validation (apimachinery util/validation) --------------------------

const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** Byte length, as Go's len() on a string. */
function byteLen(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** validation.IsQualifiedName */
export function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] as string;
  } else if (parts.length === 2) {
    const prefix = parts[0] as string;
    name = parts[1] as string;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else {
      for (const m of dns1123SubdomainErrors(prefix)) errs.push(`prefix part ${m}`);
    }
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLen(name) > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QUALIFIED_NAME_RE.test(name)) {
    errs.push(
      `name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`,
    );
  }
  return errs;
}

/** validation.IsValidLabelValue */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value))
    errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

/** validation.IsDNS1123Subdomain */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(value))
    errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

// --- the label selector parser -----------------------------------------------

type Tok = 'end' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(' | 'error';
interface Token {
  tok: Tok;
  lit: string;
}

const SYMBOL_TOKENS: Record<string, Tok> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  '<': '<',
  '!=': '!=',
  '(': '(',
};
const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && WHITESPACE.has(s[i] as string)) i++;
    if (i >= s.length) {
      out.push({ tok: 'end', lit: '' });
      return out;
    }
    const start = i;
    if (SPECIAL.has(s[i] as string)) {
      // longest run of special characters that still forms a known symbol
      let best: Token | undefined;
      let j = i;
      while (j < s.length && SPECIAL.has(s[j] as string)) {
        const cand = s.slice(start, j + 1);
        const t = SYMBOL_TOKENS[cand];
        if (t) best = { tok: t, lit: cand };
        else if (best) break;
        j++;
      }
      if (!best) {
        out.push({ tok: 'error', lit: `error expected: keyword found '${s.slice(start, j)}'` });
        i = j;
      } else {
        out.push(best);
        i = start + best.lit.length;
      }
      continue;
    }
    while (i < s.length && !SPECIAL.has(s[i] as string) && !WHITESPACE.has(s[i] as string)) i++;
    const word = s.slice(start, i);
    out.push({ tok: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'id', lit: word });
  }
}

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

class LabelParser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(selector: string) {
    this.tokens = lex(selector);
  }

  /** Next token; in "values" context the keywords in/notin read as identifiers. */
  private peek(values = true): Token {
    const t = this.tokens[Math.min(this.pos, this.tokens.length - 1)] as Token;
    return values && (t.tok === 'in' || t.tok === 'notin') ? { tok: 'id', lit: t.lit } : t;
  }

  private next(values = true): Token {
    const t = this.peek(values);
    this.pos++;
    return t;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const t = this.peek();
      if (t.tok === 'end') return sortByKey(reqs);
      if (t.tok !== 'id' && t.tok !== '!') {
        throw badRequest(`found '${t.lit}', expected: !, identifier, or 'end of string'`);
      }
      try {
        reqs.push(this.requirement());
      } catch (e) {
        if (e instanceof StatusError) throw badRequest(`unable to parse requirement: ${e.message}`);
        throw e;
      }
      const sep = this.next();
      if (sep.tok === 'end') return sortByKey(reqs);
      if (sep.tok !== ',') throw badRequest(`found '${sep.lit}', expected: ',' or 'end of string'`);
      const after = this.peek();
      if (after.tok !== 'id' && after.tok !== '!') {
        throw badRequest(`found '${after.lit}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    let t = this.next();
    let unary: LabelOperator | undefined;
    if (t.tok === '!') {
      unary = '!';
      t = this.next();
    }
    if (t.tok !== 'id') throw badRequest(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyErr = validateLabelKey(key, '<nil>');
    if (keyErr) throw badRequest(keyErr);
    const la = this.peek().tok;
    if (!unary && (la === 'end' || la === ',')) unary = 'exists';
    if (unary) return newRequirement(key, unary, []);

    const opTok = this.next(false);
    const op = OPERATOR_TOKENS[opTok.tok];
    if (!op) throw badRequest(`found '${opTok.lit}', expected: ${BINARY_OPERATORS}`);
    const values = op === 'in' || op === 'notin' ? this.valueSet() : this.exactValue();
    return newRequirement(key, op, [...new Set(values)].sort());
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw badRequest(`found '${open.lit}' expected: '('`);
    const first = this.peek();
    if (first.tok === ')') {
      this.next();
      return [''];
    }
    if (first.tok !== 'id' && first.tok !== ',') {
      throw badRequest(`found '${first.lit}', expected: ',', ')' or identifier`);
    }
    const values = this.identifierList();
    if (this.next().tok !== ')') throw badRequest(`found '${first.lit}', expected: ')'`);
    return values;
  }

  /** Comma-separated, possibly empty identifiers; stops before ')'. */
  private identifierList(): string[] {
    const values: string[] = [];
    for (;;) {
      const t = this.next();
      if (t.tok === 'id') {
        values.push(t.lit);
        const la = this.peek();
        if (la.tok === ',') continue;
        if (la.tok === ')') return values;
        throw badRequest(`found '${la.lit}', expected: ',' or ')'`);
      }
      if (t.tok === ',') {
        if (values.length === 0) values.push('');
        const la = this.peek();
        if (la.tok === ')') {
          values.push('');
          return values;
        }
        if (la.tok === ',') {
          this.next();
          values.push('');
        }
        continue;
      }
      throw badRequest(`found '${t.lit}', expected: ',', or identifier`);
    }
  }

  private exactValue(): string[] {
    const la = this.peek();
    if (la.tok === 'end' || la.tok === ',') return [''];
    const t = this.next();
    if (t.tok === 'id') return [t.lit];
    throw badRequest(`found '${t.lit}', expected: identifier`);
  }
}

const OPERATOR_TOKENS: Partial<Record<Tok, LabelOperator>> = {
  in: 'in',
  notin: 'notin',
  '=': '=',
  '==': '==',
  '!=': '!=',
  '>': 'gt',
  '<': 'lt',
};

// ---------------------------------------------------------------------------
// field selectors

export interface FieldRequirement {
  field: string;
  /** '==' is normalized to '=' as upstream does. */
  operator: '=' | '!=';
  /** Unescaped value. */
  value: string;
}

/** A parsed field selector. Immutable; `matches` never throws. */
export interface FieldMatcher {
  /** Requirements in upstream's order (terms sorted as strings). */
  readonly requirements: readonly FieldRequirement[];
  readonly empty: boolean;
  /** Matches a set of field values; a missing field reads as "". */
  matches(fields: Record<string, string>): boolean;
  /** The value `field` must equal, if the selector requires an exact match on it. */
  requiresExactMatch(field: string): string | undefined;
  toString(): string;
}

/**
 * Parses a `fieldSelector` string exactly as fields.ParseSelector does
 * (`a=b`, `a==b`, `a!=b`, comma separated, `\` escapes `\`, `,` and `=` in
 * values). Throws StatusError 400 BadRequest with upstream's message.
 * Whether a field name is supported is up to the resource.
 */
export function parseFieldSelector(selector: string): FieldMatcher {
  const terms = splitFieldTerms(selector).sort();
  const reqs: FieldRequirement[] = [];
  for (const term of terms) {
    if (term === '') continue;
    const split = splitFieldTerm(term);
    if (!split) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    reqs.push({
      field: split.lhs,
      operator: split.op === '!=' ? '!=' : '=',
      value: unescapeFieldValue(split.rhs),
    });
  }
  return makeFieldMatcher(reqs);
}

/** A field selector requiring each field to equal the given value (fields.SelectorFromSet). */
export function fieldSelectorFromSet(set: Record<string, string>): FieldMatcher {
  const reqs = Object.keys(set)
    .sort()
    .map((f): FieldRequirement => ({ field: f, operator: '=', value: set[f] as string }));
  return makeFieldMatcher(reqs);
}

function makeFieldMatcher(requirements: FieldRequirement[]): FieldMatcher {
  const reqs = Object.freeze(requirements.map((r) => Object.freeze({ ...r })));
  const text = reqs.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
  return Object.freeze({
    requirements: reqs,
    empty: reqs.length === 0,
    matches: (fields: Record<string, string>): boolean =>
      reqs.every((r) => {
        const v = Object.hasOwn(fields, r.field) ? fields[r.field] : '';
        return r.operator === '=' ? v === r.value : v !== r.value;
      }),
    requiresExactMatch: (field: string): string | undefined => {
      for (const r of reqs) if (r.field === field && r.operator === '=') return r.value;
      return undefined;
    },
    toString: () => text,
  });
}

/** Splits on unescaped commas, keeping backslashes. */
function splitFieldTerms(s: string): string[] {
  if (s === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** The first operator occurrence ('!=' before '==' before '=') splits the term. */
function splitFieldTerm(term: string): { lhs: string; op: string; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '=']) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      escaped = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (c === ',' || c === '=') {
      // Go prints the rune with %v, i.e. its code point
      throw badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (escaped) throw badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** fields.EscapeValue */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}
