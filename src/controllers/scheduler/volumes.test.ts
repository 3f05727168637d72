import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { NodeInfo } from './nodeinfo.js';
import { podClaims } from './podinfo.js';
import {
  checkVolumeBindings,
  findMatchingVolume,
  type VolumeLookups,
  volumeFilter,
  volumePreFilter,
} from './volumes.js';

function mkNode(name: string, labels: Record<string, string> = {}): NodeInfo {
  const n = new NodeInfo(name);
  n.setNode({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { pods: '10' } },
  });
  return n;
}

function pvc(
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<KObject['metadata']> = {},
  status?: unknown,
): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '10', ...extra },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
    status: status ?? { phase: 'Pending' },
  };
}

function pv(
  name: string,
  spec: Record<string, unknown>,
  phase = 'Available',
  extra: Partial<KObject['metadata']> = {},
): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, resourceVersion: '10', ...extra },
    spec: { accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, ...spec },
    status: { phase },
  };
}

function sc(name: string, mode: string, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: 'example.com/p',
    volumeBindingMode: mode,
    ...extra,
  };
}

function lookups(objs: {
  pvcs?: KObject[];
  pvs?: KObject[];
  classes?: KObject[];
  assumed?: Record<string, string>;
}): VolumeLookups {
  return {
    pvc: (ns, name) => objs.pvcs?.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    pv: (name) => objs.pvs?.find((v) => v.metadata.name === name),
    pvs: () => objs.pvs ?? [],
    storageClass: (name) => objs.classes?.find((c) => c.metadata.name === name),
    assumedClaimOf: (name) => objs.assumed?.[name],
  };
}

function podWith(...claims: Array<string | { ephemeral: string }>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'ns', uid: 'pod-uid' },
    spec: {
      containers: [{ name: 'c', image: 'x' }],
      volumes: claims.map((c, i) =>
        typeof c === 'string'
          ? { name: `v${i}`, persistentVolumeClaim: { claimName: c } }
          : { name: c.ephemeral, ephemeral: { volumeClaimTemplate: { spec: {} } } },
      ),
    },
  };
}

const hostAffinity = (host: string) => ({
  required: {
    nodeSelectorTerms: [
      { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [host] }] },
    ],
  },
});

describe('volume PreFilter', () => {
  const pre = (pod: KObject, lk: VolumeLookups) => volumePreFilter(pod, podClaims(pod), lk);

  it('rejects missing, lost and terminating claims with upstream messages', () => {
    expect(pre(podWith('data'), lookups({})).status?.reasons).toEqual([
      'persistentvolumeclaim "data" not found',
    ]);
    expect(pre(podWith({ ephemeral: 'scratch' }), lookups({})).status?.reasons).toEqual([
      'waiting for ephemeral volume controller to create the persistentvolumeclaim "web-scratch"',
    ]);
    const lost = pvc('data', { volumeName: 'gone' }, {}, { phase: 'Lost' });
    expect(pre(podWith('data'), lookups({ pvcs: [lost] })).status?.reasons).toEqual([
      'persistentvolumeclaim "data" bound to non-existent persistentvolume "gone"',
    ]);
    const deleting = pvc('data', {}, { deletionTimestamp: '2024-01-01T00:00:00Z' });
    expect(pre(podWith('data'), lookups({ pvcs: [deleting] })).status).toEqual({
      code: 'UnschedulableAndUnresolvable',
      reasons: ['persistentvolumeclaim "data" is being deleted'],
      plugin: 'VolumeBinding',
    });
  });

  it('rejects unbound immediate claims (no class, missing class, Immediate class, pre-bound)', () => {
    const msg = ['pod has unbound immediate PersistentVolumeClaims'];
    const classes = [sc('fast', 'Immediate'), sc('wffc', 'WaitForFirstConsumer')];
    expect(pre(podWith('a'), lookups({ pvcs: [pvc('a', {})], classes })).status?.reasons).toEqual(msg);
    expect(
      pre(podWith('a'), lookups({ pvcs: [pvc('a', { storageClassName: 'nope' })], classes })).status?.reasons,
    ).toEqual(msg);
    expect(
      pre(podWith('a'), lookups({ pvcs: [pvc('a', { storageClassName: 'fast' })], classes })).status?.reasons,
    ).toEqual(msg);
    const prebound = pvc('a', { storageClassName: 'wffc', volumeName: 'pv1' });
    expect(pre(podWith('a'), lookups({ pvcs: [prebound], classes })).status?.reasons).toEqual(msg);
    const delayed = pre(podWith('a'), lookups({ pvcs: [pvc('a', { storageClassName: 'wffc' })], classes }));
    expect(delayed.status).toBeUndefined();
    expect(delayed.claims?.unboundDelay.map((c) => c.metadata.name)).toEqual(['a']);
  });

  it('accepts fully bound claims and notes ReadWriteOncePod ones', () => {
    const bound = pvc(
      'a',
      { volumeName: 'pv1', accessModes: ['ReadWriteOncePod'] },
      { annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } },
      { phase: 'Bound' },
    );
    const r = pre(podWith('a'), lookups({ pvcs: [bound] }));
    expect(r.claims?.bound).toHaveLength(1);
    expect(r.claims?.readWriteOncePod).toEqual(['ns/a']);
    expect(pre({ ...podWith(), spec: { containers: [] } }, lookups({}))).toEqual({});
  });
});

describe('volume Filter', () => {
  const classes = [
    sc('wffc', 'WaitForFirstConsumer'),
    sc('local', 'WaitForFirstConsumer', { provisioner: 'kubernetes.io/no-provisioner' }),
  ];
  const n1 = mkNode('n1', { zone: 'a' });
  const n2 = mkNode('n2', { zone: 'b' });

  it('checks the node affinity of bound PVs', () => {
    const claim = pvc('a', { volumeName: 'pv1' }, {}, { phase: 'Bound' });
    const lk = lookups({ pvcs: [claim], pvs: [pv('pv1', { nodeAffinity: hostAffinity('n1') }, 'Bound')] });
    const claims = volumePreFilter(podWith('a'), podClaims(podWith('a')), lk).claims!;
    expect(volumeFilter(claims, n1, lk).status).toBeUndefined();
    expect(volumeFilter(claims, n2, lk).status).toEqual({
      code: 'UnschedulableAndUnresolvable',
      reasons: ['node(s) had volume node affinity conflict'],
      plugin: 'VolumeBinding',
    });
    const missing = lookups({ pvcs: [claim] });
    expect(volumeFilter(claims, n1, missing).status?.reasons).toEqual([
      'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)',
    ]);
  });

  it('provisions WaitForFirstConsumer claims where the class allows, honouring selected-node', () => {
    const zoned = sc('zoned', 'WaitForFirstConsumer', {
      allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: ['a'] }] }],
    });
    const lk = lookups({ pvcs: [pvc('a', { storageClassName: 'zoned' })], classes: [...classes, zoned] });
    const claims = volumePreFilter(podWith('a'), podClaims(podWith('a')), lk).claims!;
    expect(volumeFilter(claims, n1, lk).plan?.provisions.map((c) => c.metadata.name)).toEqual(['a']);
    expect(volumeFilter(claims, n2, lk).status?.reasons).toEqual([
      "node(s) didn't find available persistent volumes to bind",
    ]);

    const selected = pvc(
      'b',
      { storageClassName: 'wffc' },
      { annotations: { 'volume.kubernetes.io/selected-node': 'n2' } },
    );
    const lk2 = lookups({ pvcs: [selected], classes });
    const c2 = volumePreFilter(podWith('b'), podClaims(podWith('b')), lk2).claims!;
    expect(volumeFilter(c2, n1, lk2).status?.reasons).toEqual([
      "node(s) didn't find available persistent volumes to bind",
    ]);
    expect(volumeFilter(c2, n2, lk2).plan?.provisions).toHaveLength(1);
  });

  it('matches Available static PVs on the node, smallest first; no provisioner means no fallback', () => {
    const small = pv('small', { storageClassName: 'local', nodeAffinity: hostAffinity('n1') });
    const big = pv('big', {
      storageClassName: 'local',
      capacity: { storage: '10Gi' },
      nodeAffinity: hostAffinity('n1'),
    });
    const claim = pvc('a', { storageClassName: 'local' });
    const lk = lookups({ pvcs: [claim], pvs: [big, small], classes });
    const claims = volumePreFilter(podWith('a'), podClaims(podWith('a')), lk).claims!;
    const plan = volumeFilter(claims, n1, lk).plan!;
    expect(plan.staticBindings.map((b) => b.pv.metadata.name)).toEqual(['small']);
    expect(volumeFilter(claims, n2, lk).status?.reasons).toEqual([
      "node(s) didn't find available persistent volumes to bind",
    ]);
    // A PV assumed for another claim is not offered again.
    const taken = lookups({ pvcs: [claim], pvs: [big, small], classes, assumed: { small: 'ns/other' } });
    expect(volumeFilter(claims, n1, taken).plan?.staticBindings.map((b) => b.pv.metadata.name)).toEqual([
      'big',
    ]);
    // Too small, wrong access mode, or not Available: no match.
    const wrong = [
      pv('tiny', { storageClassName: 'local', capacity: { storage: '1Mi' } }),
      pv('rox', { storageClassName: 'local', accessModes: ['ReadOnlyMany'] }),
      pv('released', { storageClassName: 'local' }, 'Released'),
    ];
    for (const v of wrong) expect(findMatchingVolume(claim, [v], n1, new Set(), lookups({}))).toBeUndefined();
  });
});

describe('checkVolumeBindings', () => {
  const n1 = mkNode('n1');
  it('waits for the claim to be bound, then reports bound; fails when provisioning was undone', () => {
    const claim = pvc(
      'a',
      { storageClassName: 'wffc' },
      { annotations: { 'volume.kubernetes.io/selected-node': 'n1' } },
    );
    const plan = { staticBindings: [], provisions: [claim] };
    expect(checkVolumeBindings(plan, 'ns', n1, lookups({ pvcs: [claim] }))).toBe('wait');
    const bound = pvc(
      'a',
      { storageClassName: 'wffc', volumeName: 'pv1' },
      {
        resourceVersion: '12',
        annotations: { 'volume.kubernetes.io/selected-node': 'n1', 'pv.kubernetes.io/bind-completed': 'yes' },
      },
      { phase: 'Bound' },
    );
    const boundPV = pv('pv1', { nodeAffinity: hostAffinity('n1') }, 'Bound');
    expect(checkVolumeBindings(plan, 'ns', n1, lookups({ pvcs: [bound], pvs: [boundPV] }))).toBe('bound');
    const wrongNode = pv('pv1', { nodeAffinity: hostAffinity('n9') }, 'Bound');
    expect(checkVolumeBindings(plan, 'ns', n1, lookups({ pvcs: [bound], pvs: [wrongNode] }))).toEqual({
      error: 'pv "pv1" node affinity doesn\'t match node "n1"',
    });
    const reset = pvc('a', { storageClassName: 'wffc' }, { resourceVersion: '13' });
    expect(checkVolumeBindings(plan, 'ns', n1, lookups({ pvcs: [reset] }))).toEqual({
      error: 'provisioning failed for PVC "a"',
    });
    // The cache still shows an older claim than the one written: wait.
    const older = pvc('a', { storageClassName: 'wffc' }, { resourceVersion: '9' });
    expect(checkVolumeBindings(plan, 'ns', n1, lookups({ pvcs: [older] }))).toBe('wait');
  });
});
