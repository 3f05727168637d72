import { describe, expect, it } from 'vitest';
import {
  accessModesString,
  age,
  formatLabelSelector,
  formatLabels,
  humanDuration,
  joinList,
  shortHumanDuration,
  since,
} from './printers.js';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe('humanDuration', () => {
  it.each([
    [-5 * s, '<invalid>'],
    [-1 * s, '0s'],
    [0, '0s'],
    [5 * s, '5s'],
    [90 * s, '90s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [2 * m + 30 * s, '2m30s'],
    [3 * m, '3m'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [65 * m, '65m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 20 * m, '3h20m'],
    [8 * h + 20 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [2 * d + 5 * h, '2d5h'],
    [8 * d + 5 * h, '8d'],
    [400 * d, '400d'],
    [730 * d, '2y'],
    [830 * d, '2y100d'],
    [9 * 365 * d, '9y'],
  ])('%d ms -> %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });

  it('short form uses one unit', () => {
    expect(shortHumanDuration(90 * s)).toBe('1m');
    expect(shortHumanDuration(25 * h)).toBe('1d');
  });
});

describe('ages', () => {
  const now = new Date('2024-01-01T12:00:00Z');
  it('computes the age of an object', () => {
    expect(
      age({ apiVersion: 'v1', kind: 'Pod', metadata: { creationTimestamp: '2024-01-01T11:55:00Z' } }, now),
    ).toBe('5m');
  });
  it('is <unknown> without a timestamp', () => {
    expect(age({ apiVersion: 'v1', kind: 'Pod', metadata: {} }, now)).toBe('<unknown>');
    expect(since('garbage', now)).toBe('<unknown>');
  });
});

describe('list helpers', () => {
  it('joins with <none> and + N more...', () => {
    expect(joinList([])).toBe('<none>');
    expect(joinList(['a', 'b'])).toBe('a,b');
    expect(joinList(['a', 'b', 'c', 'd', 'e'])).toBe('a,b,c + 2 more...');
  });
  it('formats labels and selectors', () => {
    expect(formatLabels({ b: '2', a: '1' })).toBe('a=1,b=2');
    expect(formatLabels({})).toBe('<none>');
    expect(formatLabelSelector({ matchLabels: { app: 'web' } })).toBe('app=web');
    expect(
      formatLabelSelector({
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe', 'be'] }],
      }),
    ).toBe('app=web,tier in (be,fe)');
    expect(formatLabelSelector({})).toBe('<none>');
  });
  it('renders access modes in upstream order', () => {
    expect(accessModesString(['ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOnce'])).toBe('RWO,RWX');
    expect(accessModesString(['ReadWriteOncePod'])).toBe('RWOP');
    expect(accessModesString(undefined)).toBe('');
  });
});
