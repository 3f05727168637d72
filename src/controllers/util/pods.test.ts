import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { isPodActive, isPodAvailable, isRunningAndReady, msUntilAvailable, setCondition } from './pods.js';

function pod(
  phase: string,
  ready: boolean | undefined,
  since = '2026-01-01T00:00:00Z',
  deleting = false,
): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', ...(deleting ? { deletionTimestamp: since } : {}) },
    status: {
      phase,
      conditions:
        ready === undefined
          ? []
          : [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: since }],
    },
  };
}

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('pod helpers', () => {
  it('readiness and availability follow the Ready condition and minReadySeconds', () => {
    expect(isRunningAndReady(pod('Running', true))).toBe(true);
    expect(isRunningAndReady(pod('Pending', true))).toBe(false);
    expect(isRunningAndReady(pod('Running', false))).toBe(false);
    expect(isPodAvailable(pod('Running', true), 0, T0)).toBe(true);
    expect(isPodAvailable(pod('Running', true), 10, T0 + 9_999)).toBe(false);
    expect(isPodAvailable(pod('Running', true), 10, T0 + 10_000)).toBe(true);
    expect(isPodAvailable(pod('Running', undefined), 0, T0)).toBe(false);
    expect(msUntilAvailable(pod('Running', true), 10, T0 + 4_000)).toBe(6_000);
    expect(msUntilAvailable(pod('Running', false), 10, T0)).toBeUndefined();
  });

  it('active pods are neither finished nor terminating', () => {
    expect(isPodActive(pod('Running', true))).toBe(true);
    expect(isPodActive(pod('Failed', false))).toBe(false);
    expect(isPodActive(pod('Succeeded', false))).toBe(false);
    expect(isPodActive(pod('Running', true, undefined, true))).toBe(false);
  });

  it('setCondition keeps lastTransitionTime while the status holds and reports changes', () => {
    const status: Record<string, unknown> = {};
    expect(setCondition(status, { type: 'Ready', status: 'False' }, 't1')).toBe(true);
    expect(setCondition(status, { type: 'Ready', status: 'False' }, 't2')).toBe(false);
    expect(setCondition(status, { type: 'Ready', status: 'False', reason: 'X' }, 't3')).toBe(true);
    expect(status.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'X', lastTransitionTime: 't1' },
    ]);
    expect(setCondition(status, { type: 'Ready', status: 'True' }, 't4')).toBe(true);
    expect(status.conditions).toEqual([{ type: 'Ready', status: 'True', lastTransitionTime: 't4' }]);
  });
});
