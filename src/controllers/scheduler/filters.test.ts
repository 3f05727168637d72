import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import {
  fitsResources,
  intolerablePreferNoSchedule,
  nodeAffinityFilter,
  nodePortsFilter,
  nodeUnschedulableFilter,
  podAffinity,
  preferredAffinityWeight,
  taintTolerationFilter,
  toleratesTaint,
} from './filters.js';
import { effectiveTaints, NodeInfo, type PodEntry } from './nodeinfo.js';
import { podInfo, podRequests } from './podinfo.js';

function pod(spec: Record<string, unknown>, name = 'p'): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    spec: { containers: [{ name: 'c', image: 'x' }], ...spec },
  };
}

function node(
  name: string,
  opts: {
    labels?: Record<string, string>;
    taints?: unknown[];
    unschedulable?: boolean;
    ready?: 'True' | 'False' | 'Unknown' | null;
    allocatable?: Record<string, string>;
  } = {},
): NodeInfo {
  const n = new NodeInfo(name);
  const ready = opts.ready === undefined ? 'True' : opts.ready;
  n.setNode({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: opts.labels ?? {} },
    spec: { taints: opts.taints, unschedulable: opts.unschedulable },
    status: {
      allocatable: opts.allocatable ?? { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: ready === null ? [] : [{ type: 'Ready', status: ready }],
    },
  });
  return n;
}

function place(n: NodeInfo, p: KObject): PodEntry {
  const e: PodEntry = {
    key: `ns/${p.metadata.name}`,
    uid: p.metadata.uid ?? '',
    nodeName: n.name,
    info: podInfo(p),
    namespace: 'ns',
    assumed: false,
  };
  n.addPod(e);
  return e;
}

const req = (cpu?: string, memory?: string) => ({
  containers: [
    { name: 'c', image: 'x', resources: { requests: { ...(cpu && { cpu }), ...(memory && { memory }) } } },
  ],
});

describe('taints and tolerations', () => {
  it('matches tolerations as upstream ToleratesTaint', () => {
    const t = { key: 'k', value: 'v', effect: 'NoSchedule' };
    expect(toleratesTaint({ key: 'k', operator: 'Equal', value: 'v' }, t)).toBe(true);
    expect(toleratesTaint({ key: 'k', value: 'v' }, t)).toBe(true);
    expect(toleratesTaint({ key: 'k', value: 'w' }, t)).toBe(false);
    expect(toleratesTaint({ key: 'k', operator: 'Exists' }, t)).toBe(true);
    expect(toleratesTaint({ operator: 'Exists' }, t)).toBe(true);
    expect(toleratesTaint({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, t)).toBe(false);
    expect(toleratesTaint({ key: 'other', operator: 'Exists' }, t)).toBe(false);
    expect(toleratesTaint({ key: 'k', operator: 'Bogus', value: 'v' }, t)).toBe(false);
  });

  it('reports the first untolerated NoSchedule/NoExecute taint with its value', () => {
    const n = node('n1', {
      taints: [
        { key: 'soft', effect: 'PreferNoSchedule' },
        { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
        { key: 'dedicated', value: 'db', effect: 'NoExecute' },
      ],
    });
    const s = taintTolerationFilter(podInfo(pod({})), n);
    expect(s).toEqual({
      code: 'UnschedulableAndUnresolvable',
      reasons: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'],
      plugin: 'TaintToleration',
    });
    const tolerating = pod({
      tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }],
    });
    expect(taintTolerationFilter(podInfo(tolerating), n)?.reasons).toEqual([
      'node(s) had untolerated taint {dedicated: db}',
    ]);
    const all = pod({ tolerations: [{ operator: 'Exists' }] });
    expect(taintTolerationFilter(podInfo(all), n)).toBeUndefined();
    expect(intolerablePreferNoSchedule(podInfo(pod({})), n)).toBe(1);
    expect(intolerablePreferNoSchedule(podInfo(all), n)).toBe(0);
  });

  it('treats a node that is not Ready as tainted not-ready / unreachable', () => {
    const ready = (r: 'False' | 'Unknown' | null) => effectiveTaints(node('n', { ready: r }).node!);
    expect(ready('False')).toEqual([{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
    expect(ready(null)).toEqual([{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
    expect(ready('Unknown')).toEqual([{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]);
    expect(effectiveTaints(node('n').node!)).toEqual([]);
    // Already tainted by the lifecycle controller: not duplicated.
    const tainted = node('n', {
      ready: 'False',
      taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }],
    });
    expect(tainted.taints).toHaveLength(1);
    expect(taintTolerationFilter(podInfo(pod({})), node('n', { ready: 'Unknown' }))?.reasons).toEqual([
      'node(s) had untolerated taint {node.kubernetes.io/unreachable: }',
    ]);
  });

  it('rejects cordoned nodes unless the pod tolerates the unschedulable taint', () => {
    const n = node('n', { unschedulable: true });
    expect(nodeUnschedulableFilter(podInfo(pod({})), n)).toEqual({
      code: 'UnschedulableAndUnresolvable',
      reasons: ['node(s) were unschedulable'],
      plugin: 'NodeUnschedulable',
    });
    const tol = pod({
      tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
    });
    expect(nodeUnschedulableFilter(podInfo(tol), n)).toBeUndefined();
    expect(nodeUnschedulableFilter(podInfo(pod({})), node('m'))).toBeUndefined();
  });
});

describe('node affinity', () => {
  const n = node('node-a', { labels: { zone: 'z1', disk: 'ssd', cores: '8' } });
  const required = (...exprs: unknown[]) =>
    pod({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: exprs }],
          },
        },
      },
    });
  const fits = (p: KObject) => nodeAffinityFilter(podAffinity(p), n) === undefined;

  it('nodeSelector needs every label', () => {
    expect(fits(pod({ nodeSelector: { zone: 'z1' } }))).toBe(true);
    expect(fits(pod({ nodeSelector: { zone: 'z1', disk: 'hdd' } }))).toBe(false);
    expect(fits(pod({ nodeSelector: { gpu: 'true' } }))).toBe(false);
    expect(nodeAffinityFilter(podAffinity(pod({ nodeSelector: { gpu: 'true' } })), n)).toEqual({
      code: 'UnschedulableAndUnresolvable',
      reasons: ["node(s) didn't match Pod's node affinity/selector"],
      plugin: 'NodeAffinity',
    });
  });

  it('supports In, NotIn, Exists, DoesNotExist, Gt and Lt', () => {
    expect(fits(required({ key: 'zone', operator: 'In', values: ['z1', 'z2'] }))).toBe(true);
    expect(fits(required({ key: 'zone', operator: 'In', values: ['z2'] }))).toBe(false);
    expect(fits(required({ key: 'zone', operator: 'NotIn', values: ['z2'] }))).toBe(true);
    expect(fits(required({ key: 'zone', operator: 'NotIn', values: ['z1'] }))).toBe(false);
    expect(fits(required({ key: 'absent', operator: 'NotIn', values: ['x'] }))).toBe(true);
    expect(fits(required({ key: 'disk', operator: 'Exists' }))).toBe(true);
    expect(fits(required({ key: 'gpu', operator: 'Exists' }))).toBe(false);
    expect(fits(required({ key: 'gpu', operator: 'DoesNotExist' }))).toBe(true);
    expect(fits(required({ key: 'disk', operator: 'DoesNotExist' }))).toBe(false);
    expect(fits(required({ key: 'cores', operator: 'Gt', values: ['4'] }))).toBe(true);
    expect(fits(required({ key: 'cores', operator: 'Gt', values: ['8'] }))).toBe(false);
    expect(fits(required({ key: 'cores', operator: 'Lt', values: ['16'] }))).toBe(true);
    expect(fits(required({ key: 'cores', operator: 'Lt', values: ['8'] }))).toBe(false);
    expect(fits(required({ key: 'zone', operator: 'Gt', values: ['1'] }))).toBe(false);
    // ANDed within a term.
    expect(
      fits(
        required(
          { key: 'zone', operator: 'In', values: ['z1'] },
          { key: 'disk', operator: 'In', values: ['hdd'] },
        ),
      ),
    ).toBe(false);
  });

  it('ORs terms, ignores empty terms and matches metadata.name fields', () => {
    const terms = (...t: unknown[]) =>
      pod({
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: t } },
        },
      });
    expect(
      fits(
        terms(
          { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z9'] }] },
          { matchExpressions: [{ key: 'disk', operator: 'Exists' }] },
        ),
      ),
    ).toBe(true);
    expect(fits(terms({}))).toBe(false);
    expect(fits(terms({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-a'] }] }))).toBe(
      true,
    );
    expect(
      fits(terms({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['node-a'] }] })),
    ).toBe(false);
    // Both nodeSelector and affinity must match.
    const both = pod({
      nodeSelector: { zone: 'z2' },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }],
          },
        },
      },
    });
    expect(fits(both)).toBe(false);
  });

  it('narrows to the nodes named by matchFields (daemon pods) and detects conflicts', () => {
    const named = podAffinity(
      pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] },
              ],
            },
          },
        },
      }),
    );
    expect(named.nodeNames).toEqual(new Set(['n2']));
    const conflict = podAffinity(
      pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchFields: [
                    { key: 'metadata.name', operator: 'In', values: ['n1'] },
                    { key: 'metadata.name', operator: 'In', values: ['n2'] },
                  ],
                },
              ],
            },
          },
        },
      }),
    );
    expect(conflict.nodeNames).toBe('conflict');
    expect(podAffinity(pod({})).nodeNames).toBeUndefined();
  });

  it('sums the weights of matching preferred terms', () => {
    const p = pod({
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 10,
              preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] },
            },
            {
              weight: 5,
              preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
            },
            {
              weight: 7,
              preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['hdd'] }] },
            },
            { weight: 9, preference: {} },
          ],
        },
      },
    });
    expect(preferredAffinityWeight(podAffinity(p), n)).toBe(15);
  });
});

describe('host ports', () => {
  const withPort = (hostPort: number, extra: Record<string, unknown> = {}, name = 'p') =>
    pod(
      { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort, ...extra }] }] },
      name,
    );

  it('conflicts on the same protocol and port, with 0.0.0.0 matching every IP', () => {
    const n = node('n');
    place(n, withPort(8080, {}, 'used'));
    expect(nodePortsFilter(podInfo(withPort(8080)), n)).toEqual({
      code: 'Unschedulable',
      reasons: ["node(s) didn't have free ports for the requested pod ports"],
      plugin: 'NodePorts',
    });
    expect(nodePortsFilter(podInfo(withPort(8081)), n)).toBeUndefined();
    expect(nodePortsFilter(podInfo(withPort(8080, { protocol: 'UDP' })), n)).toBeUndefined();
    expect(nodePortsFilter(podInfo(withPort(8080, { hostIP: '10.0.0.1' })), n)).toBeDefined();

    const m = node('m');
    const e = place(m, withPort(9000, { hostIP: '10.0.0.1' }, 'ip1'));
    expect(nodePortsFilter(podInfo(withPort(9000, { hostIP: '10.0.0.2' })), m)).toBeUndefined();
    expect(nodePortsFilter(podInfo(withPort(9000, { hostIP: '10.0.0.1' })), m)).toBeDefined();
    expect(nodePortsFilter(podInfo(withPort(9000)), m)).toBeDefined();
    m.removePod(e);
    expect(nodePortsFilter(podInfo(withPort(9000)), m)).toBeUndefined();
  });
});

describe('resources', () => {
  it('computes effective requests: max(sum of containers, each init container) + overhead', () => {
    const r = podRequests({
      initContainers: [
        { name: 'i1', resources: { requests: { cpu: '2', memory: '1G' } } },
        { name: 'i2', resources: { requests: { cpu: '2', memory: '3G' } } },
      ],
      containers: [
        { name: 'c1', resources: { requests: { cpu: '2', memory: '1G' } } },
        { name: 'c2', resources: { requests: { cpu: '1', memory: '1G', 'example.com/gpu': '1' } } },
      ],
      overhead: { cpu: '250m' },
    });
    expect(r.milliCpu).toBe(3250);
    expect(r.memory).toBe(3_000_000_000);
    expect(r.scalar.get('example.com/gpu')).toBe(1);
  });

  it('adds sidecar (restartable) init containers to everything after them', () => {
    const r = podRequests({
      initContainers: [
        { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '500m' } } },
        { name: 'init', resources: { requests: { cpu: '1' } } },
      ],
      containers: [{ name: 'c', resources: { requests: { cpu: '200m' } } }],
    });
    // max(200m + 500m, 1 + 500m) = 1500m
    expect(r.milliCpu).toBe(1500);
  });

  it('uses default non-zero requests for scoring only', () => {
    const info = podInfo(pod({}));
    expect(info.requests.milliCpu).toBe(0);
    expect(info.nonZeroCpu).toBe(100);
    expect(info.nonZeroMemory).toBe(200 * 1024 * 1024);
  });

  it('reports Too many pods and each insufficient resource, unresolvable when larger than the node', () => {
    const n = node('n', { allocatable: { cpu: '2', memory: '1Gi', pods: '2', 'example.com/gpu': '1' } });
    place(n, pod(req('1500m', '512Mi'), 'a'));
    const fitOn = (spec: Record<string, unknown>) =>
      fitsResources(podInfo(pod(spec, 'x')), n, n.allocatable, n.allowedPods);
    expect(fitOn(req('500m'))).toBeUndefined();
    expect(fitOn(req('600m'))).toEqual({
      code: 'Unschedulable',
      reasons: ['Insufficient cpu'],
      plugin: 'NodeResourcesFit',
    });
    expect(fitOn(req('600m', '600Mi'))?.reasons).toEqual(['Insufficient cpu', 'Insufficient memory']);
    expect(fitOn(req('3'))?.code).toBe('UnschedulableAndUnresolvable');
    const gpu = {
      containers: [{ name: 'c', image: 'x', resources: { requests: { 'example.com/gpu': '2' } } }],
    };
    expect(fitOn(gpu)).toEqual({
      code: 'UnschedulableAndUnresolvable',
      reasons: ['Insufficient example.com/gpu'],
      plugin: 'NodeResourcesFit',
    });
    place(n, pod({}, 'b'));
    expect(fitOn({})).toEqual({
      code: 'Unschedulable',
      reasons: ['Too many pods'],
      plugin: 'NodeResourcesFit',
    });
    expect(fitOn(req('1'))?.reasons).toEqual(['Too many pods', 'Insufficient cpu']);
  });
});
