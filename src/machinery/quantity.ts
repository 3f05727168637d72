/**
 * Kubernetes resource.Quantity: parsing, canonical formatting and comparison,
 * with upstream's rules (apimachinery pkg/api/resource): values are exact
 * decimals rounded up to nano precision, binary-SI values are capped at 2^63-1,
 * and the canonical text reuses the input when upstream would.
 */
import { badRequest } from '../api/errors.js';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** An exact quantity: value = mantissa × 10^exponent. Plain data; treat as immutable. */
export interface Quantity {
  mantissa: bigint;
  exponent: number;
  format: QuantityFormat;
  /** The input text when upstream keeps it as the serialized form. */
  cached?: string;
}

export const QUANTITY_REGEX = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
export const ERR_QUANTITY_FORMAT = `quantities must match the regular expression '${QUANTITY_REGEX}'`;
export const ERR_QUANTITY_NUMERIC = 'unable to parse numeric part of quantity';
export const ERR_QUANTITY_SUFFIX = "unable to parse quantity's suffix";

const INT64_MAX = 2n ** 63n - 1n;
const NANO = -9;

const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_SUFFIX_BY_EXP = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_SUFFIX_BY_EXP = new Map(Object.entries(BINARY_SUFFIXES).map(([s, e]) => [e / 10, s]));

class QuantityError extends Error {}

/**
 * Parses a quantity (`100m`, `1Gi`, `1e3`, `0.5`, or a JSON number) as
 * resource.ParseQuantity does. Throws StatusError 400 with upstream's message
 * (see ERR_QUANTITY_*) when invalid.
 */
export function parseQuantity(input: string | number): Quantity {
  try {
    return parse(typeof input === 'number' ? String(input) : input);
  } catch (e) {
    if (e instanceof QuantityError) throw badRequest(e.message);
    throw e;
  }
}

/** Upstream's parse error message for `input`, or undefined when it is a valid quantity. */
export function quantityError(input: string | number): string | undefined {
  try {
    parse(typeof input === 'number' ? String(input) : input);
    return undefined;
  } catch (e) {
    if (e instanceof QuantityError) return e.message;
    throw e;
  }
}

export function isValidQuantity(input: string | number): boolean {
  return quantityError(input) === undefined;
}

/** The serialized form upstream writes for a parsed quantity (Quantity.MarshalJSON). */
export function formatQuantity(q: Quantity): string {
  return q.cached ?? canonicalString(q);
}

/** Parse then format: the text upstream stores for `input`. Throws like parseQuantity. */
export function canonicalizeQuantity(input: string | number): string {
  return formatQuantity(parseQuantity(input));
}

/** Compares two quantities by value: -1, 0 or 1. */
export function compareQuantities(a: Quantity | string, b: Quantity | string): -1 | 0 | 1 {
  const qa = typeof a === 'string' ? parseQuantity(a) : a;
  const qb = typeof b === 'string' ? parseQuantity(b) : b;
  const e = Math.min(qa.exponent, qb.exponent);
  const ma = qa.mantissa * 10n ** BigInt(qa.exponent - e);
  const mb = qb.mantissa * 10n ** BigInt(qb.exponent - e);
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

/** Quantity.Value(): the value rounded up (away from zero) to an integer. */
export function quantityValue(q: Quantity): bigint {
  return scaledValue(q, 0);
}

/** Quantity.MilliValue(): the value in thousandths, rounded up (away from zero). */
export function quantityMilliValue(q: Quantity): bigint {
  return scaledValue(q, -3);
}

/** Approximate value as a JS number (for display and arithmetic that tolerates rounding). */
export function quantityToNumber(q: Quantity): number {
  return Number(q.mantissa) * 10 ** q.exponent;
}

/** Sum of quantities; the result takes the first one's format (as Quantity.Add). */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  const e = Math.min(a.exponent, b.exponent);
  const m = a.mantissa * 10n ** BigInt(a.exponent - e) + b.mantissa * 10n ** BigInt(b.exponent - e);
  return { mantissa: m, exponent: e, format: a.format };
}

// ---------------------------------------------------------------------------

function scaledValue(q: Quantity, scale: number): bigint {
  const shift = q.exponent - scale;
  if (shift >= 0) return q.mantissa * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  const quo = q.mantissa / div;
  if (quo * div === q.mantissa) return quo;
  return q.mantissa < 0n ? quo - 1n : quo + 1n;
}

interface Split {
  positive: boolean;
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const SUFFIX_CHARS = 'eEinumkKMGTP';

/** Splits `[sign] digits [. digits] suffix` as upstream's parseQuantityString. */
function split(str: string): Split {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };

  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  if (i >= end) return { positive, value: str, num: str.slice(pos), denom: '', suffix: '' };
  const num = str.slice(pos, i) || '0';
  pos = i;

  let denom = '';
  if (str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && isDigit(str[i])) i++;
    denom = str.slice(pos, i);
    if (i >= end) return { positive, value: str, num, denom, suffix: '' };
    pos = i;
  }
  const value = str.slice(0, pos);

  const suffixStart = pos;
  while (pos < end && SUFFIX_CHARS.includes(str[pos] as string)) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos < end) throw new QuantityError(ERR_QUANTITY_FORMAT);
  return { positive, value, num, denom, suffix: str.slice(suffixStart) };
}

function interpretSuffix(suffix: string): { base: 10 | 2; exp: number; format: QuantityFormat } {
  const dec = DECIMAL_SUFFIXES[suffix];
  if (dec !== undefined && Object.hasOwn(DECIMAL_SUFFIXES, suffix))
    return { base: 10, exp: dec, format: 'DecimalSI' };
  const bin = BINARY_SUFFIXES[suffix];
  if (bin !== undefined && Object.hasOwn(BINARY_SUFFIXES, suffix))
    return { base: 2, exp: bin, format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    const rest = suffix.slice(1);
    if (/^[+-]?[0-9]+$/.test(rest)) {
      const n = BigInt(rest);
      if (n >= -(2n ** 63n) && n <= INT64_MAX) {
        // upstream narrows the exponent to int32
        return { base: 10, exp: Number(BigInt.asIntN(32, n)), format: 'DecimalExponent' };
      }
    }
  }
  throw new QuantityError(ERR_QUANTITY_SUFFIX);
}

function parse(str: string): Quantity {
  if (str.length === 0) throw new QuantityError(ERR_QUANTITY_FORMAT);
  if (str === '0') return { mantissa: 0n, exponent: 0, format: 'DecimalSI', cached: '0' };
  const { positive, value, num, denom, suffix } = split(str);
  const { base, exp, format } = interpretSuffix(suffix);

  // Upstream's int64 fast path; it decides whether the input text is kept.
  let precision: number;
  let scale = 0;
  let multiplier = 1n;
  if (base === 10) {
    scale = exp;
    precision = 18 - (num.length + denom.length);
  } else if (denom.length === 0) {
    multiplier = 1n << BigInt(exp);
    precision = 15 - num.length - Math.trunc((exp * 3) / 10) - 1;
  } else {
    precision = -1;
  }
  if (precision >= 0) {
    scale -= denom.length;
    if (scale >= NANO) {
      const shifted = num + denom;
      const v = BigInt(shifted);
      const result = v * multiplier;
      if (result <= INT64_MAX) {
        const keep =
          base === 2
            ? exp % 10 === 0 && (v & 7n) !== 0n
            : scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0';
        return {
          mantissa: positive ? result : -result,
          exponent: scale,
          format,
          ...(keep ? { cached: str } : {}),
        };
      }
    }
  }

  // General path: exact decimal, rounded up to nano, binary capped at int64.
  const dec = parseDecimal(value);
  if (!dec) throw new QuantityError(ERR_QUANTITY_NUMERIC);
  let { mantissa: m, exponent: e } = dec;
  if (base === 10) e += exp;
  else m *= 1n << BigInt(exp);
  const negative = m < 0n;
  if (negative) m = -m;
  if (m !== 0n && e < NANO) {
    const div = 10n ** BigInt(NANO - e);
    const q = m / div;
    m = q * div === m ? q : q + 1n;
    e = NANO;
  }
  let fmt = format;
  if (fmt === 'BinarySI') {
    if (
      compareQuantities(
        { mantissa: m, exponent: e, format: fmt },
        { mantissa: INT64_MAX, exponent: 0, format: fmt },
      ) > 0
    ) {
      m = INT64_MAX;
      e = 0;
    }
    if (m !== 0n && compareQuantities({ mantissa: m, exponent: e, format: fmt }, ONE) < 0) fmt = 'DecimalSI';
  }
  return { mantissa: negative ? -m : m, exponent: e, format: fmt };
}

const ONE: Quantity = { mantissa: 1n, exponent: 0, format: 'DecimalSI' };

/** Parses `[sign] digits [. digits]` (either side may be empty) into mantissa/exponent. */
function parseDecimal(s: string): { mantissa: bigint; exponent: number } | undefined {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(s);
  if (!m) return undefined;
  const int = m[2] ?? '';
  const frac = m[3] ?? '';
  if (int === '' && frac === '') return undefined;
  const mag = BigInt(`${int}${frac}` || '0');
  return { mantissa: m[1] === '-' ? -mag : mag, exponent: -frac.length };
}

function canonicalString(q: Quantity): string {
  if (q.mantissa === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    const v = quantityToExactInteger(q);
    if (v === undefined || (v > -1024n && v < 1024n)) format = 'DecimalSI';
    else {
      let n = v < 0n ? -v : v;
      let times = 0;
      while (n >= 1024n && n % 1024n === 0n) {
        n /= 1024n;
        times++;
      }
      const suffix = BINARY_SUFFIX_BY_EXP.get(times);
      if (suffix !== undefined) return `${v < 0n ? '-' : ''}${n}${suffix}`;
      format = 'DecimalSI';
    }
  }
  // Decimal: strip factors of ten, then lower the exponent to a multiple of 3.
  let m = q.mantissa;
  let e = q.exponent;
  while ((m >= 10n || m <= -10n) && m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  while (e % 3 !== 0) {
    m *= 10n;
    e--;
  }
  if (format === 'DecimalExponent') return e === 0 ? `${m}` : `${m}e${e}`;
  const suffix = DECIMAL_SUFFIX_BY_EXP.get(e);
  // beyond E (1e18) upstream has no SI suffix; fall back to exponent notation
  return suffix !== undefined ? `${m}${suffix}` : `${m}e${e}`;
}

function quantityToExactInteger(q: Quantity): bigint | undefined {
  if (q.exponent >= 0) return q.mantissa * 10n ** BigInt(q.exponent);
  const div = 10n ** BigInt(-q.exponent);
  return q.mantissa % div === 0n ? q.mantissa / div : undefined;
}
