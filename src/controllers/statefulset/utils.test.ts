import { describe, expect, it } from 'vitest';
import type { KObject, OwnerReference } from '../../api/types.js';
import {
  applyRevision,
  CONTROLLER_REVISION_HASH_LABEL,
  claimOwnerRefsForPolicy,
  completeRollingUpdate,
  controllerRevisionName,
  countReplicas,
  fnv32,
  getPatch,
  getPersistentVolumeClaims,
  getStatefulSetMaxUnavailable,
  goJson,
  hashRevisionData,
  hasUnexpectedController,
  identityMatches,
  inconsistentStatus,
  isClaimOwnerUpToDate,
  isMemberOf,
  newRevision,
  newStatefulSetPod,
  newVersionedStatefulSetPod,
  parseParentAndOrdinal,
  readStatus,
  type StatefulSetStatus,
  safeEncodeString,
  sortControllerRevisions,
  statusToObject,
  storageMatches,
} from './utils.js';

/** The StatefulSet from upstream's testdata/compatibility_set_1.33.0.json. */
const COMPAT_SET: KObject = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: {
    creationTimestamp: '2025-10-31T18:19:02Z',
    generation: 1,
    labels: { sslabel: 'value' },
    name: 'test',
    namespace: 'default',
    resourceVersion: '2219',
    uid: 'ec335e25-1045-4216-8634-50cfbe05f3d6',
  },
  spec: {
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    podManagementPolicy: 'OrderedReady',
    replicas: 1,
    revisionHistoryLimit: 10,
    selector: { matchLabels: { app: 'foo' } },
    serviceName: '',
    template: {
      metadata: { annotations: { test: 'value' }, labels: { app: 'foo' } },
      spec: {
        containers: [
          {
            image: 'test',
            imagePullPolicy: 'Always',
            name: 'test',
            resources: {},
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
          },
        ],
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        securityContext: {},
        terminationGracePeriodSeconds: 30,
      },
    },
    updateStrategy: { rollingUpdate: { partition: 0 }, type: 'RollingUpdate' },
  },
};

/** data of upstream's testdata/compatibility_revision_1.33.0.json, byte for byte. */
const COMPAT_REVISION_DATA =
  '{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null,"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}';

function mkSet(spec: Record<string, unknown> = {}, meta: Partial<KObject['metadata']> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'set-uid', ...meta },
    spec: {
      replicas: 3,
      serviceName: 'nginx',
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' }, annotations: { a: 'b' }, finalizers: ['f/x'] },
        spec: {
          containers: [{ name: 'c', image: 'nginx:1', volumeMounts: [{ name: 'www', mountPath: '/d' }] }],
          volumes: [
            { name: 'www', emptyDir: {} },
            { name: 'cfg', configMap: { name: 'x' } },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'www', labels: { tier: 'data' } },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          status: { phase: 'Pending' },
        },
      ],
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      ...spec,
    },
  };
}

function pod(name: string, extra: Partial<KObject['metadata']> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...extra } };
}

describe('ordinals and identity', () => {
  it('parses parent and ordinal like (.*)-([0-9]+)$', () => {
    expect(parseParentAndOrdinal('web-0')).toEqual({ parent: 'web', ordinal: 0 });
    expect(parseParentAndOrdinal('my-web-12')).toEqual({ parent: 'my-web', ordinal: 12 });
    expect(parseParentAndOrdinal('web-01')).toEqual({ parent: 'web', ordinal: 1 });
    expect(parseParentAndOrdinal('web')).toEqual({ parent: '', ordinal: -1 });
    expect(parseParentAndOrdinal('web-x')).toEqual({ parent: '', ordinal: -1 });
    // Too big for int32: the parent still parses, the ordinal does not.
    expect(parseParentAndOrdinal('web-99999999999')).toEqual({ parent: 'web', ordinal: -1 });
    expect(parseParentAndOrdinal('web-2147483647')).toEqual({ parent: 'web', ordinal: 2147483647 });
    expect(parseParentAndOrdinal('-5')).toEqual({ parent: '', ordinal: 5 });
    expect(parseParentAndOrdinal('web-')).toEqual({ parent: '', ordinal: -1 });
    expect(parseParentAndOrdinal('a-b-1x')).toEqual({ parent: '', ordinal: -1 });
    // Go's `.` does not cross a newline: the match starts after it.
    expect(parseParentAndOrdinal('x\nweb-3')).toEqual({ parent: 'web', ordinal: 3 });
  });

  it('membership is decided by the parent name only', () => {
    const set = mkSet();
    expect(isMemberOf(set, pod('web-3'))).toBe(true);
    expect(isMemberOf(set, pod('web2-3'))).toBe(false);
    expect(isMemberOf(set, pod('webby'))).toBe(false);
  });
});

describe('newStatefulSetPod', () => {
  it('builds identity, labels, owner and claim volumes', () => {
    const set = mkSet();
    const p = newStatefulSetPod(set, 2);
    expect(p.metadata.name).toBe('web-2');
    expect(p.metadata.generateName).toBe('web-');
    expect(p.metadata.namespace).toBe('ns');
    expect(p.metadata.labels).toEqual({
      app: 'nginx',
      'statefulset.kubernetes.io/pod-name': 'web-2',
      'apps.kubernetes.io/pod-index': '2',
    });
    expect(p.metadata.annotations).toEqual({ a: 'b' });
    expect(p.metadata.finalizers).toEqual(['f/x']);
    expect(p.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'web',
        uid: 'set-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const spec = p.spec as Record<string, unknown>;
    expect(spec.hostname).toBe('web-2');
    expect(spec.subdomain).toBe('nginx');
    // The claim volume replaces the template's same-named volume; other volumes follow.
    expect(spec.volumes).toEqual([
      { name: 'www', persistentVolumeClaim: { claimName: 'www-web-2' } },
      { name: 'cfg', configMap: { name: 'x' } },
    ]);
    expect(identityMatches(set, p)).toBe(true);
    expect(storageMatches(set, p)).toBe(true);
    // The template itself is untouched.
    const tpl = (set.spec as { template: { spec: { volumes: unknown[] } } }).template;
    expect(tpl.spec.volumes[0]).toEqual({ name: 'www', emptyDir: {} });
  });

  it('leaves subdomain unset without a serviceName', () => {
    const p = newStatefulSetPod(mkSet({ serviceName: '' }), 0);
    expect((p.spec as Record<string, unknown>).subdomain).toBeUndefined();
    expect((p.spec as Record<string, unknown>).hostname).toBe('web-0');
  });

  it('detects broken identity and storage', () => {
    const set = mkSet();
    const p = newStatefulSetPod(set, 1);
    const noLabel = structuredClone(p);
    delete noLabel.metadata.labels?.['statefulset.kubernetes.io/pod-name'];
    expect(identityMatches(set, noLabel)).toBe(false);
    const badVol = structuredClone(p);
    (badVol.spec as { volumes: unknown[] }).volumes = [{ name: 'www', emptyDir: {} }];
    expect(storageMatches(set, badVol)).toBe(false);
    expect(identityMatches(set, { ...p, metadata: { ...p.metadata, namespace: 'other' } })).toBe(false);
  });

  it('picks the revision by partition (compared with ordinal - start)', () => {
    const set = mkSet({
      ordinals: { start: 5 },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } },
    });
    const cur = mkSet({
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: { containers: [{ name: 'c', image: 'old' }] },
      },
    });
    const curSet = {
      ...set,
      spec: { ...(set.spec as object), template: (cur.spec as { template: unknown }).template },
    };
    const image = (p: KObject) => (p.spec as { containers: Array<{ image: string }> }).containers[0]?.image;
    const p6 = newVersionedStatefulSetPod(curSet, set, 'web-old', 'web-new', 6);
    expect(p6.metadata.labels?.['controller-revision-hash']).toBe('web-old');
    expect(image(p6)).toBe('old');
    const p7 = newVersionedStatefulSetPod(curSet, set, 'web-old', 'web-new', 7);
    expect(p7.metadata.labels?.['controller-revision-hash']).toBe('web-new');
    expect(image(p7)).toBe('nginx:1');
  });

  it('OnDelete always creates from the update revision', () => {
    const set = mkSet({ updateStrategy: { type: 'OnDelete' } });
    const withStatus = { ...set, status: { currentReplicas: 3 } };
    expect(
      newVersionedStatefulSetPod(withStatus, set, 'a', 'b', 0).metadata.labels?.['controller-revision-hash'],
    ).toBe('b');
  });

  it('without a rollingUpdate block, slots below start+status.currentReplicas use the current revision', () => {
    const set = mkSet({ updateStrategy: { type: 'RollingUpdate' } });
    const withStatus = { ...set, status: { currentReplicas: 2 } };
    const rev = (o: number) =>
      newVersionedStatefulSetPod(withStatus, set, 'a', 'b', o).metadata.labels?.['controller-revision-hash'];
    expect([rev(0), rev(1), rev(2)]).toEqual(['a', 'a', 'b']);
  });
});

describe('claims', () => {
  it('copies the template with name, namespace and template + selector labels', () => {
    const claims = getPersistentVolumeClaims(mkSet(), pod('web-4'));
    expect([...claims.keys()]).toEqual(['www']);
    expect(claims.get('www')).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'www-web-4', namespace: 'ns', labels: { tier: 'data', app: 'nginx' } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  });
});

describe('retention policy ownerRefs', () => {
  const setRef: OwnerReference = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    name: 'web',
    uid: 'set-uid',
    controller: true,
    blockOwnerDeletion: true,
  };
  const podRef = (name: string): OwnerReference => ({
    apiVersion: 'v1',
    kind: 'Pod',
    name,
    uid: `uid-${name}`,
    controller: true,
    blockOwnerDeletion: true,
  });
  const claim = (refs?: OwnerReference[]): KObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'www-web-x', namespace: 'ns', ownerReferences: refs },
  });
  const policy = (whenScaled: string, whenDeleted: string) =>
    mkSet({ replicas: 2, persistentVolumeClaimRetentionPolicy: { whenScaled, whenDeleted } });

  // [whenScaled, whenDeleted, refs for an in-range pod, refs for a condemned pod]
  const table: Array<[string, string, string[], string[]]> = [
    ['Retain', 'Retain', [], []],
    ['Retain', 'Delete', ['set'], ['set']],
    ['Delete', 'Retain', [], ['pod']],
    ['Delete', 'Delete', ['set'], ['pod']],
  ];
  for (const [ws, wd, inRange, condemned] of table) {
    it(`whenScaled=${ws} whenDeleted=${wd}`, () => {
      const set = policy(ws, wd);
      for (const [p, want] of [
        [pod('web-1'), inRange],
        [pod('web-5'), condemned],
      ] as const) {
        const refs = claimOwnerRefsForPolicy(claim(), set, p);
        const kinds = refs.map((r) => (r.kind === 'Pod' ? 'pod' : 'set'));
        expect(kinds).toEqual(want);
        for (const r of refs) expect(r.controller).toBe(true);
        // The computed refs are up to date; no refs is up to date only when nothing is wanted.
        expect(isClaimOwnerUpToDate(claim(refs), set, p)).toBe(true);
        expect(isClaimOwnerUpToDate(claim(), set, p)).toBe(want.length === 0);
      }
    });
  }

  it('swaps the set ref for a pod ref when a Delete/Delete pod is scaled away', () => {
    const set = policy('Delete', 'Delete');
    const p = pod('web-5');
    expect(isClaimOwnerUpToDate(claim([setRef]), set, p)).toBe(false);
    expect(claimOwnerRefsForPolicy(claim([setRef]), set, p)).toEqual([podRef('web-5')]);
  });

  it('a non-controller ref of ours is fixed; foreign non-controller refs are kept', () => {
    const set = policy('Retain', 'Delete');
    const p = pod('web-0');
    const other: OwnerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'cm-uid' };
    const weak = { ...setRef, controller: false };
    expect(isClaimOwnerUpToDate(claim([other, weak]), set, p)).toBe(false);
    expect(claimOwnerRefsForPolicy(claim([other, weak]), set, p)).toEqual([other, setRef]);
  });

  it('another controller: our refs are stripped and none added back', () => {
    const set = policy('Delete', 'Delete');
    const p = pod('web-0');
    const foreign: OwnerReference = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'cm',
      uid: 'cm-uid',
      controller: true,
    };
    expect(hasUnexpectedController(claim([foreign]), set, p)).toBe(true);
    expect(isClaimOwnerUpToDate(claim([foreign]), set, p)).toBe(true);
    expect(isClaimOwnerUpToDate(claim([foreign, setRef]), set, p)).toBe(false);
    expect(claimOwnerRefsForPolicy(claim([foreign, setRef]), set, p)).toEqual([foreign]);
    // Under Retain/Retain another controller is nobody's business.
    expect(hasUnexpectedController(claim([foreign]), policy('Retain', 'Retain'), p)).toBe(false);
  });

  it('a stale ref (same name, other uid) leaves the claim alone', () => {
    const set = policy('Delete', 'Delete');
    const stale = { ...setRef, uid: 'old-set-uid' };
    expect(isClaimOwnerUpToDate(claim([stale]), set, pod('web-0'))).toBe(true);
    const stalePod = { ...podRef('web-5'), uid: 'old-pod' };
    expect(isClaimOwnerUpToDate(claim([stalePod]), set, pod('web-5'))).toBe(true);
  });
});

describe('revisions', () => {
  it('FNV-1 32 and SafeEncodeString as Go computes them', () => {
    const enc = new TextEncoder();
    expect(fnv32(enc.encode(''))).toBe(0x811c9dc5);
    expect(fnv32(enc.encode('a'))).toBe(0x050c5d7e);
    expect(fnv32(enc.encode('foobar'))).toBe(0x31f0b262);
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
  });

  it('reproduces upstream 1.33 revision data, hash and name (compatibility testdata)', () => {
    const rev = newRevision(COMPAT_SET, 1, 0);
    expect(goJson(rev.data)).toBe(COMPAT_REVISION_DATA);
    // Stored in the same key order, so the API serves the same bytes.
    expect(JSON.stringify(rev.data)).toBe(COMPAT_REVISION_DATA);
    expect(rev.metadata.name).toBe('test-c77f6d978');
    expect(rev.metadata.labels).toEqual({ app: 'foo', [CONTROLLER_REVISION_HASH_LABEL]: 'c77f6d978' });
    expect(rev.revision).toBe(1);
    expect(rev.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'StatefulSet',
      name: 'test',
      controller: true,
    });
  });

  it('the collision count changes the hash and the name', () => {
    const data = getPatch(COMPAT_SET);
    expect(hashRevisionData(data, 1)).not.toBe(hashRevisionData(data, 0));
    expect(newRevision(COMPAT_SET, 1, 1).metadata.name).toBe(`test-${hashRevisionData(data, 1)}`);
  });

  it('escapes like Go and sorts keys at every level', () => {
    expect(goJson({ b: 1, a: ['<&>', { z: null, y: true }] })).toBe(
      '{"a":["\\u003c\\u0026\\u003e",{"y":true,"z":null}],"b":1}',
    );
  });

  it('only the template goes into the data', () => {
    const a = newRevision(mkSet(), 1, 0);
    const b = newRevision(
      mkSet({ replicas: 7, minReadySeconds: 3, updateStrategy: { type: 'OnDelete' } }),
      1,
      0,
    );
    expect(b.metadata.name).toBe(a.metadata.name);
    const c = newRevision(
      mkSet({ template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [] } } }),
      1,
      0,
    );
    expect(c.metadata.name).not.toBe(a.metadata.name);
  });

  it('copies the set annotations and truncates long name prefixes', () => {
    const rev = newRevision(mkSet({}, { annotations: { note: 'x' } }), 3, 0);
    expect(rev.metadata.annotations).toEqual({ note: 'x' });
    expect(controllerRevisionName('a'.repeat(300), 'h')).toBe(`${'a'.repeat(223)}-h`);
  });

  it('applyRevision restores the template and nothing else', () => {
    const old = mkSet();
    const rev = newRevision(old, 1, 0);
    const changed = mkSet({
      replicas: 9,
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: { containers: [{ name: 'n', image: 'new' }] },
      },
    });
    const restored = applyRevision(changed, rev);
    expect((restored.spec as { template: unknown }).template).toEqual(
      (old.spec as { template: unknown }).template,
    );
    expect((restored.spec as { replicas: number }).replicas).toBe(9);
    // The restored set yields the same revision (what makes a rollback detectable).
    expect(newRevision(restored, 1, 0).metadata.name).toBe(rev.metadata.name);
  });

  it('sorts by revision, then creation time, then name', () => {
    const r = (name: string, revision: number, ts: string): KObject => ({
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name, creationTimestamp: ts },
      revision,
    });
    const sorted = sortControllerRevisions([
      r('c', 2, '2020-01-01T00:00:00Z'),
      r('b', 1, '2020-01-02T00:00:00Z'),
      r('a', 1, '2020-01-02T00:00:00Z'),
      r('d', 1, '2020-01-01T00:00:00Z'),
    ]);
    expect(sorted.map((x) => x.metadata.name)).toEqual(['d', 'a', 'b', 'c']);
  });
});

describe('status', () => {
  const base = (): StatefulSetStatus => ({
    observedGeneration: 2,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision: 'web-a',
    updateRevision: 'web-b',
    collisionCount: 0,
  });
  const p = (
    name: string,
    phase: string,
    ready: boolean,
    rev: string,
    extra: Partial<KObject['metadata']> = {},
  ): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { 'controller-revision-hash': rev }, ...extra },
    status: {
      phase,
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2025-01-01T00:00:00Z' },
      ],
    },
  });

  it('counts replicas, ready, available, current and updated', () => {
    const s = base();
    const now = Date.parse('2025-01-01T00:00:10Z');
    countReplicas(
      s,
      5,
      now,
      'web-a',
      'web-b',
      [
        p('web-0', 'Running', true, 'web-a'),
        p('web-1', 'Running', true, 'web-b'),
        p('web-2', 'Pending', false, 'web-b'),
      ],
      [p('web-3', 'Running', true, 'web-a', { deletionTimestamp: '2025-01-01T00:00:05Z' })],
      // A slot not created yet counts for nothing.
      [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'web-4', labels: { 'controller-revision-hash': 'web-b' } },
        },
      ],
    );
    expect(s).toMatchObject({
      replicas: 4,
      readyReplicas: 3,
      availableReplicas: 3,
      currentReplicas: 1,
      updatedReplicas: 2,
    });
    countReplicas(s, 30, now, 'web-a', 'web-b', [p('web-0', 'Running', true, 'web-a')]);
    expect(s).toMatchObject({ replicas: 1, readyReplicas: 1, availableReplicas: 0 });
  });

  it('completes a rolling update only when everything matches spec.replicas', () => {
    const set = mkSet({ replicas: 3 });
    const s = { ...base(), replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 0 };
    completeRollingUpdate(set, s);
    expect(s.currentRevision).toBe('web-b');
    expect(s.currentReplicas).toBe(3);
    const partial = { ...base(), replicas: 3, readyReplicas: 2, updatedReplicas: 3 };
    completeRollingUpdate(set, partial);
    expect(partial.currentRevision).toBe('web-a');
    const onDelete = { ...base(), replicas: 3, readyReplicas: 3, updatedReplicas: 3 };
    completeRollingUpdate(mkSet({ updateStrategy: { type: 'OnDelete' } }), onDelete);
    expect(onDelete.currentRevision).toBe('web-a');
  });

  it('writes omitempty fields as Go does and detects changes', () => {
    const s = base();
    expect(statusToObject(s)).toEqual({
      observedGeneration: 2,
      replicas: 0,
      currentRevision: 'web-a',
      updateRevision: 'web-b',
      collisionCount: 0,
      availableReplicas: 0,
    });
    const set = { ...mkSet(), status: statusToObject(s) };
    expect(readStatus(set)).toEqual(s);
    expect(inconsistentStatus(set, s)).toBe(false);
    expect(inconsistentStatus(set, { ...s, availableReplicas: 1 })).toBe(true);
    expect(inconsistentStatus(set, { ...s, observedGeneration: 3 })).toBe(true);
    // collisionCount alone does not force a write (as upstream).
    expect(inconsistentStatus(set, { ...s, collisionCount: 1 })).toBe(false);
  });

  it('resolves maxUnavailable: int, percent rounded down, at least 1', () => {
    expect(getStatefulSetMaxUnavailable(undefined, 10)).toBe(1);
    expect(getStatefulSetMaxUnavailable(3, 10)).toBe(3);
    expect(getStatefulSetMaxUnavailable('25%', 10)).toBe(2);
    expect(getStatefulSetMaxUnavailable('10%', 5)).toBe(1);
    expect(getStatefulSetMaxUnavailable('100%', 4)).toBe(4);
    expect(() => getStatefulSetMaxUnavailable('x', 4)).toThrow(/not a percentage/);
  });
});
