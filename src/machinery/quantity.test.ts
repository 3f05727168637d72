import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/errors.js';
import {
  addQuantities,
  canonicalizeQuantity,
  compareQuantities,
  ERR_QUANTITY_FORMAT,
  ERR_QUANTITY_NUMERIC,
  ERR_QUANTITY_SUFFIX,
  isValidQuantity,
  parseQuantity,
  quantityError,
  quantityMilliValue,
  quantityToNumber,
  quantityValue,
} from './quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['0', { mantissa: 0n, exponent: 0, format: 'DecimalSI', cached: '0' }],
    ['100m', { mantissa: 100n, exponent: -3, format: 'DecimalSI', cached: '100m' }],
    ['1Gi', { mantissa: 2n ** 30n, exponent: 0, format: 'BinarySI', cached: '1Gi' }],
    ['8Gi', { mantissa: 8n * 2n ** 30n, exponent: 0, format: 'BinarySI' }],
    ['1e3', { mantissa: 1n, exponent: 3, format: 'DecimalExponent', cached: '1e3' }],
    ['0.5', { mantissa: 5n, exponent: -1, format: 'DecimalSI' }],
    ['-1.5k', { mantissa: -15n, exponent: 2, format: 'DecimalSI' }],
    ['1.5Gi', { mantissa: 1610612736n, exponent: -1 + 1, format: 'BinarySI' }],
    ['0.1n', { mantissa: 1n, exponent: -9, format: 'DecimalSI' }],
    ['1e-10', { mantissa: 1n, exponent: -9, format: 'DecimalExponent' }],
    ['0.5Ki', { mantissa: 512n, exponent: 0, format: 'BinarySI' }],
    ['0.0001Ki', { mantissa: 1024n, exponent: -4, format: 'DecimalSI' }],
    ['8Ei', { mantissa: 2n ** 63n - 1n, exponent: 0, format: 'BinarySI' }],
  ])('%s', (input, want) => {
    const q = parseQuantity(input);
    // compare by value and format; representation may differ in trailing zeros
    expect([compareQuantities(q, want as never), q.format, q.cached]).toEqual([
      0,
      (want as { format: string }).format,
      (want as { cached?: string }).cached,
    ]);
  });

  it('accepts JSON numbers', () => {
    expect(canonicalizeQuantity(0.5)).toBe('500m');
    expect(canonicalizeQuantity(2)).toBe('2');
    // a float JSON number is written 1e-07 by Go encoders and parses as an exponent quantity
    expect(canonicalizeQuantity(1e-7)).toBe('100e-9');
  });
});

describe('canonical form', () => {
  it.each([
    ['0', '0'],
    ['0.0', '0'],
    ['100m', '100m'],
    ['1000m', '1'],
    ['1500m', '1500m'],
    ['1.5', '1500m'],
    ['0.5', '500m'],
    ['1.0', '1'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['1000k', '1M'],
    ['1k', '1k'],
    ['1e3', '1e3'],
    ['1E3', '1E3'],
    ['12e2', '1200'],
    ['1e6', '1e6'],
    ['10e5', '1e6'],
    ['1e-10', '1e-9'],
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['0.5Ki', '512'],
    ['1023Ki', '1023Ki'],
    ['1Ei', '1Ei'],
    ['8Ei', '9223372036854775807'],
    ['0.1n', '1n'],
    ['1.1n', '2n'],
    ['-100m', '-100m'],
    ['-1.5', '-1500m'],
    ['9223372036854775807', '9223372036854775807'],
    ['123456789012345678901', '123456789012345678901'],
    ['1000E', '1e21'],
    // upstream keeps these inputs verbatim (its fast path reuses the text)
    ['+1', '+1'],
    ['01', '01'],
    ['.5', '500m'],
    ['-', '0'],
  ])('%s -> %s', (input, want) => {
    expect(canonicalizeQuantity(input)).toBe(want);
  });
});

describe('validation', () => {
  it.each([
    ['', ERR_QUANTITY_FORMAT],
    ['abc', ERR_QUANTITY_FORMAT],
    ['1Gx', ERR_QUANTITY_FORMAT],
    ['1KiB', ERR_QUANTITY_FORMAT],
    ['1.2.3', ERR_QUANTITY_FORMAT],
    [' 1', ERR_QUANTITY_FORMAT],
    ['1 ', ERR_QUANTITY_FORMAT],
    ['1e', ERR_QUANTITY_SUFFIX],
    ['1i', ERR_QUANTITY_SUFFIX],
    ['1m3', ERR_QUANTITY_SUFFIX],
    ['1ee3', ERR_QUANTITY_SUFFIX],
    ['1.e3.', ERR_QUANTITY_FORMAT],
  ])('%j is invalid', (input, message) => {
    expect(quantityError(input)).toBe(message);
    expect(isValidQuantity(input)).toBe(false);
    try {
      parseQuantity(input);
      throw new Error('expected throw');
    } catch (e) {
      expect(e).toBeInstanceOf(StatusError);
      expect((e as StatusError).status).toMatchObject({ code: 400, reason: 'BadRequest', message });
    }
  });

  it('upstream error text', () => {
    expect(ERR_QUANTITY_FORMAT).toBe(
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );
    expect(ERR_QUANTITY_NUMERIC).toBe('unable to parse numeric part of quantity');
  });

  it.each(['1', '100m', '1Gi', '1e3', '1E-3', '0.5', '+5', '-5', '1.', '1.Gi'])('%j is valid', (input) => {
    expect(quantityError(input)).toBeUndefined();
  });
});

describe('comparison and values', () => {
  it('compares by value', () => {
    expect(compareQuantities('1Gi', '1G')).toBe(1);
    expect(compareQuantities('500m', '0.5')).toBe(0);
    expect(compareQuantities('1', '1001m')).toBe(-1);
    expect(compareQuantities('1e3', '1k')).toBe(0);
    expect(compareQuantities('-1', '0')).toBe(-1);
    expect(compareQuantities('1024', '1Ki')).toBe(0);
  });

  it('Value and MilliValue round up away from zero', () => {
    expect(quantityValue(parseQuantity('1500m'))).toBe(2n);
    expect(quantityValue(parseQuantity('-1500m'))).toBe(-2n);
    expect(quantityValue(parseQuantity('2'))).toBe(2n);
    expect(quantityValue(parseQuantity('1Gi'))).toBe(1073741824n);
    expect(quantityMilliValue(parseQuantity('1.5'))).toBe(1500n);
    expect(quantityMilliValue(parseQuantity('0.1m'))).toBe(1n);
    expect(quantityMilliValue(parseQuantity('250m'))).toBe(250n);
  });

  it('adds and converts', () => {
    const sum = addQuantities(parseQuantity('1'), parseQuantity('500m'));
    expect(compareQuantities(sum, '1.5')).toBe(0);
    expect(sum.format).toBe('DecimalSI');
    expect(quantityToNumber(parseQuantity('1.5Ki'))).toBe(1536);
    expect(quantityToNumber(parseQuantity('250m'))).toBeCloseTo(0.25);
  });
});
