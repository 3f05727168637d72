/**
 * Self-tests of the ordering assertions the StatefulSet acceptance suite relies
 * on: they must reject the orderings a broken controller would produce.
 */
import { describe, expect, it } from 'vitest';
import type { KObject, WatchEvent } from '../../src/api/types.js';
import { PodTimeline } from './sts-helpers.js';

function pod(name: string, uid: string, state: 'pending' | 'ready' | 'unready' | 'terminating'): KObject {
  const running = state !== 'pending';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      uid,
      ...(state === 'terminating' ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    status: {
      phase: running ? 'Running' : 'Pending',
      conditions: [{ type: 'Ready', status: state === 'ready' ? 'True' : 'False' }],
    },
  };
}

function timeline(events: Array<[WatchEvent['type'], KObject]>): PodTimeline {
  const t = new PodTimeline();
  for (const [type, object] of events) t.record({ type, object });
  return t;
}

describe('PodTimeline', () => {
  it('accepts OrderedReady creation and rejects a pod created before its predecessor was Ready', () => {
    const good = timeline([
      ['ADDED', pod('ss-0', 'a', 'pending')],
      ['MODIFIED', pod('ss-0', 'a', 'ready')],
      ['ADDED', pod('ss-1', 'b', 'pending')],
      ['MODIFIED', pod('ss-1', 'b', 'ready')],
      ['ADDED', pod('ss-2', 'c', 'pending')],
    ]);
    good.expectOrderedCreation(['ss-0', 'ss-1', 'ss-2']);

    const early = timeline([
      ['ADDED', pod('ss-0', 'a', 'pending')],
      ['ADDED', pod('ss-1', 'b', 'pending')],
      ['MODIFIED', pod('ss-0', 'a', 'ready')],
    ]);
    expect(() => early.expectOrderedCreation(['ss-0', 'ss-1'])).toThrow(/created while ss-0 was Pending/);

    const unreadyAgain = timeline([
      ['ADDED', pod('ss-0', 'a', 'ready')],
      ['MODIFIED', pod('ss-0', 'a', 'unready')],
      ['ADDED', pod('ss-1', 'b', 'pending')],
    ]);
    expect(() => unreadyAgain.expectOrderedCreation(['ss-0', 'ss-1'])).toThrow(/ready=false/);

    const swapped = timeline([
      ['ADDED', pod('ss-1', 'b', 'ready')],
      ['ADDED', pod('ss-0', 'a', 'ready')],
    ]);
    expect(() => swapped.expectOrderedCreation(['ss-0', 'ss-1'])).toThrow(/creation order/);
    expect(() => swapped.expectOrderedCreation(['ss-0', 'ss-1', 'ss-2'])).toThrow(/ss-2 was never created/);
  });

  it('accepts OrderedReady scale-down and rejects overlapping or out-of-order terminations', () => {
    const refs = [
      { name: 'ss-2', uid: 'c' },
      { name: 'ss-1', uid: 'b' },
    ];
    const good = timeline([
      ['MODIFIED', pod('ss-2', 'c', 'terminating')],
      ['DELETED', pod('ss-2', 'c', 'terminating')],
      ['MODIFIED', pod('ss-1', 'b', 'terminating')],
      ['DELETED', pod('ss-1', 'b', 'terminating')],
    ]);
    good.expectOrderedTermination(refs);

    const overlapping = timeline([
      ['MODIFIED', pod('ss-2', 'c', 'terminating')],
      ['MODIFIED', pod('ss-1', 'b', 'terminating')],
      ['DELETED', pod('ss-2', 'c', 'terminating')],
      ['DELETED', pod('ss-1', 'b', 'terminating')],
    ]);
    expect(() => overlapping.expectOrderedTermination(refs)).toThrow(/before ss-2 was gone/);

    const reversed = timeline([
      ['DELETED', pod('ss-1', 'b', 'terminating')],
      ['DELETED', pod('ss-2', 'c', 'terminating')],
    ]);
    expect(() => reversed.expectOrderedTermination(refs)).toThrow(/termination order/);

    // A different pod (other uid) with the same name does not count.
    const otherUid = timeline([['DELETED', pod('ss-2', 'x', 'terminating')]]);
    expect(() => otherUid.expectOrderedTermination(refs)).toThrow(/ss-2 never terminated/);
  });

  it('flags a second pod of one identity while the first still exists', () => {
    const ok = timeline([
      ['ADDED', pod('ss-0', 'a', 'ready')],
      ['DELETED', pod('ss-0', 'a', 'terminating')],
      ['ADDED', pod('ss-0', 'b', 'pending')],
    ]);
    ok.expectNoViolations();

    const twice = timeline([
      ['ADDED', pod('ss-0', 'a', 'ready')],
      ['ADDED', pod('ss-0', 'b', 'pending')],
    ]);
    expect(twice.violations).toHaveLength(1);
    expect(() => twice.expectNoViolations()).toThrow(/at most one pod per identity/);
  });
});
