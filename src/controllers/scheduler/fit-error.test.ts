import { describe, expect, it } from 'vitest';
import type { FilterStatus } from './filters.js';
import { fitErrorMessage, reasonHistogram } from './fit-error.js';

const st = (...reasons: string[]): FilterStatus => ({ code: 'Unschedulable', reasons, plugin: 'x' });

describe('FitError message', () => {
  it('counts reasons over nodes, sorts the "<n> <reason>" strings and appends the PostFilter message', () => {
    const taint = 'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }';
    const msg = fitErrorMessage(
      { numAllNodes: 3, nodeStatuses: [st('Insufficient cpu'), st(taint), st(taint)], evaluated: 3 },
      'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
    expect(msg).toBe(
      '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
  });

  it('sorts by the whole string, count first (as Go sort.Strings)', () => {
    const hist = reasonHistogram({
      numAllNodes: 13,
      nodeStatuses: [
        ...Array.from({ length: 10 }, () => st('b')),
        st('a', 'Insufficient memory'),
        st('a'),
        st('Insufficient cpu', 'Insufficient memory'),
      ],
      evaluated: 13,
    });
    expect(hist).toEqual(['10 b', '2 Insufficient memory', '2 a', '1 Insufficient cpu'].sort());
    expect(hist).toEqual(['1 Insufficient cpu', '10 b', '2 Insufficient memory', '2 a']);
  });

  it('counts nodes that were not evaluated with the absent status', () => {
    const msg = fitErrorMessage({
      numAllNodes: 3,
      nodeStatuses: [st('Insufficient cpu')],
      evaluated: 1,
      absentStatus: st("node(s) didn't satisfy plugin(s) [NodeAffinity]"),
    });
    expect(msg).toBe(
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
    );
  });

  it('uses the PreFilter message instead of the histogram', () => {
    const msg = fitErrorMessage(
      {
        numAllNodes: 2,
        preFilterMsg: 'pod has unbound immediate PersistentVolumeClaims',
        nodeStatuses: [st('ignored')],
        evaluated: 1,
      },
      'preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
    expect(msg).toBe(
      '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
  });
});
