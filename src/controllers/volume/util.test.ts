import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import {
  checkVolumeSatisfyClaim,
  claimClass,
  claimHasClass,
  defaultClass,
  findMatchingVolume,
  nodeSelectorMatches,
  podClaimNames,
} from './util.js';

function pv(name: string, spec: Record<string, unknown>, extra: Partial<KObject> = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, ...(extra.metadata ?? {}) },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', ...spec },
    status: { phase: 'Available' },
  };
}

function pvc(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'c', namespace: 'n', uid: 'u1', ...meta },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: '',
      ...spec,
    },
  };
}

const cap = (s: string) => ({ capacity: { storage: s } });
const names = (v: KObject | undefined) => v?.metadata.name;

describe('findMatchingVolume', () => {
  it('picks the smallest volume with enough capacity', () => {
    const vols = [pv('a', cap('10Gi')), pv('b', cap('2Gi')), pv('c', cap('512Mi')), pv('d', cap('1Gi'))];
    expect(names(findMatchingVolume(pvc({}), vols))).toBe('d');
    expect(names(findMatchingVolume(pvc({ resources: { requests: { storage: '1500Mi' } } }), vols))).toBe(
      'b',
    );
    expect(findMatchingVolume(pvc({ resources: { requests: { storage: '20Gi' } } }), vols)).toBeUndefined();
  });

  it('prefers volumes offering fewer access modes, then smaller ones', () => {
    const vols = [
      pv('many', { ...cap('1Gi'), accessModes: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany'] }),
      pv('two', { ...cap('5Gi'), accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] }),
    ];
    expect(names(findMatchingVolume(pvc({}), vols))).toBe('two');
    expect(names(findMatchingVolume(pvc({ accessModes: ['ReadWriteMany'] }), vols))).toBe('many');
  });

  it('filters on class, selector, volume mode, phase, deletion and claimRef', () => {
    const labelled = pv('blue', cap('1Gi'), { metadata: { name: 'blue', labels: { color: 'blue' } } });
    expect(findMatchingVolume(pvc({ storageClassName: 'fast' }), [pv('a', cap('1Gi'))])).toBeUndefined();
    expect(
      names(
        findMatchingVolume(pvc({ storageClassName: 'fast' }), [
          pv('a', { ...cap('1Gi'), storageClassName: 'fast' }),
        ]),
      ),
    ).toBe('a');
    expect(
      findMatchingVolume(pvc({ selector: { matchLabels: { color: 'red' } } }), [labelled]),
    ).toBeUndefined();
    expect(names(findMatchingVolume(pvc({ selector: { matchLabels: { color: 'blue' } } }), [labelled]))).toBe(
      'blue',
    );
    expect(findMatchingVolume(pvc({ volumeMode: 'Block' }), [pv('a', cap('1Gi'))])).toBeUndefined();
    const released = { ...pv('r', cap('1Gi')), status: { phase: 'Released' } };
    expect(findMatchingVolume(pvc({}), [released])).toBeUndefined();
    const deleting = pv('d', cap('1Gi'), {
      metadata: { name: 'd', deletionTimestamp: '2024-01-01T00:00:00Z' },
    });
    expect(findMatchingVolume(pvc({}), [deleting])).toBeUndefined();
    const taken = pv('t', { ...cap('1Gi'), claimRef: { namespace: 'n', name: 'other' } });
    expect(findMatchingVolume(pvc({}), [taken])).toBeUndefined();
  });

  it('returns a volume pre-bound to the claim first, even when not Available', () => {
    const pre = {
      ...pv('pre', { ...cap('5Gi'), claimRef: { namespace: 'n', name: 'c' } }),
      status: { phase: 'Pending' },
    };
    expect(names(findMatchingVolume(pvc({}), [pv('small', cap('1Gi')), pre]))).toBe('pre');
    const otherUid = pv('x', { ...cap('1Gi'), claimRef: { namespace: 'n', name: 'c', uid: 'old' } });
    expect(findMatchingVolume(pvc({}), [otherUid])).toBeUndefined();
  });

  it('with delayed binding and no node, only pre-bound volumes match; with a node, affinity must admit it', () => {
    const onA = pv('on-a', {
      ...cap('1Gi'),
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['a'] }] },
          ],
        },
      },
    });
    expect(findMatchingVolume(pvc({}), [onA], { delayBinding: true })).toBeUndefined();
    const node = (n: string) => ({ name: n, labels: { 'kubernetes.io/hostname': n } });
    expect(names(findMatchingVolume(pvc({}), [onA], { node: node('a') }))).toBe('on-a');
    expect(findMatchingVolume(pvc({}), [onA], { node: node('b') })).toBeUndefined();
    const preOnA = pv('p', {
      ...cap('1Gi'),
      claimRef: { namespace: 'n', name: 'c' },
      nodeAffinity: onA.spec && (onA.spec as Record<string, unknown>).nodeAffinity,
    });
    // A pre-bound volume the node cannot use means no match at all.
    expect(
      findMatchingVolume(pvc({}), [preOnA, pv('free', cap('1Gi'))], { node: node('b') }),
    ).toBeUndefined();
  });
});

describe('helpers', () => {
  it('checkVolumeSatisfyClaim explains a mismatch', () => {
    expect(checkVolumeSatisfyClaim(pv('a', cap('1Gi')), pvc({}))).toBeUndefined();
    expect(checkVolumeSatisfyClaim(pv('a', cap('1Mi')), pvc({}))).toBe('requested PV is too small');
    expect(checkVolumeSatisfyClaim(pv('a', { ...cap('1Gi'), storageClassName: 'x' }), pvc({}))).toBe(
      'storageClassName does not match',
    );
    expect(checkVolumeSatisfyClaim(pv('a', { ...cap('1Gi'), volumeMode: 'Block' }), pvc({}))).toBe(
      'incompatible volumeMode',
    );
    expect(checkVolumeSatisfyClaim(pv('a', { ...cap('1Gi'), accessModes: ['ReadOnlyMany'] }), pvc({}))).toBe(
      'incompatible accessMode',
    );
  });

  it('claim class: the beta annotation wins; unset differs from ""', () => {
    expect(
      claimClass(
        pvc({ storageClassName: 'a' }, { annotations: { 'volume.beta.kubernetes.io/storage-class': 'b' } }),
      ),
    ).toBe('b');
    const unset = pvc({});
    delete (unset.spec as Record<string, unknown>).storageClassName;
    expect(claimHasClass(unset)).toBe(false);
    expect(claimHasClass(pvc({ storageClassName: '' }))).toBe(true);
    expect(claimClass(unset)).toBe('');
  });

  it('defaultClass picks the newest default-annotated class', () => {
    const sc = (name: string, ts: string, isDefault: boolean): KObject => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name,
        creationTimestamp: ts,
        annotations: isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {},
      },
    });
    expect(
      defaultClass([
        sc('a', '2024-01-01T00:00:00Z', true),
        sc('b', '2024-02-01T00:00:00Z', true),
        sc('c', '2025-01-01T00:00:00Z', false),
      ])?.metadata.name,
    ).toBe('b');
    expect(defaultClass([sc('c', '2025-01-01T00:00:00Z', false)])).toBeUndefined();
  });

  it('nodeSelectorMatches: ORed terms, ANDed requirements, matchFields on the name', () => {
    const labels = { zone: 'z1', size: '8' };
    const sel = (terms: unknown[]) => ({ nodeSelectorTerms: terms });
    expect(
      nodeSelectorMatches(
        sel([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }]),
        'n',
        labels,
      ),
    ).toBe(true);
    expect(
      nodeSelectorMatches(
        sel([
          {
            matchExpressions: [
              { key: 'zone', operator: 'In', values: ['z1'] },
              { key: 'size', operator: 'Gt', values: ['9'] },
            ],
          },
        ]),
        'n',
        labels,
      ),
    ).toBe(false);
    expect(
      nodeSelectorMatches(
        sel([
          { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z1'] }] },
          { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] },
        ]),
        'n',
        labels,
      ),
    ).toBe(true);
    expect(
      nodeSelectorMatches(
        sel([{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }]),
        'n',
        labels,
      ),
    ).toBe(true);
    expect(nodeSelectorMatches(sel([{}]), 'n', labels)).toBe(false);
    expect(nodeSelectorMatches(sel([]), 'n', labels)).toBe(false);
  });

  it('podClaimNames lists persistentVolumeClaim and ephemeral claims', () => {
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0' },
      spec: {
        volumes: [
          { name: 'a', persistentVolumeClaim: { claimName: 'data' } },
          { name: 'tmp', emptyDir: {} },
          { name: 'scratch', ephemeral: { volumeClaimTemplate: {} } },
        ],
      },
    };
    expect(podClaimNames(pod)).toEqual(['data', 'web-0-scratch']);
  });
});
