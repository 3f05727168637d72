import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { messages } from '../misc/test-helpers.js';
import {
  statefulSetDefaults,
  statefulSetFeatures,
  statefulSets,
  UPDATE_FORBIDDEN_MESSAGE,
  validateStatefulSet,
  validateStatefulSetUpdate,
} from './statefulset.js';

/** The `db` StatefulSet of the go-demo-3 walkthrough, as written by the user. */
function dbManifest(): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'go-demo-3' },
    spec: {
      serviceName: 'db',
      replicas: 3,
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'db',
              image: 'mongo:3.3',
              command: ['mongod', '--replSet', 'rs0', '--smallfiles', '--noprealloc'],
              ports: [{ containerPort: 27017 }],
              resources: {
                limits: { memory: '100Mi', cpu: '100m' },
                requests: { memory: '50Mi', cpu: '10m' },
              },
              volumeMounts: [{ name: 'mongo-data', mountPath: '/data/db' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'mongo-data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
        },
      ],
    },
  };
}

function defaulted(obj: KObject): KObject {
  statefulSetDefaults(obj);
  return obj;
}

describe('StatefulSet defaults', () => {
  it('fills in what upstream 1.33 adds to the walkthrough db StatefulSet', () => {
    const obj = defaulted(dbManifest());
    expect(obj).toEqual({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'go-demo-3' },
      spec: {
        serviceName: 'db',
        replicas: 3,
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1 } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        revisionHistoryLimit: 10,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            terminationGracePeriodSeconds: 10,
            restartPolicy: 'Always',
            dnsPolicy: 'ClusterFirst',
            securityContext: {},
            schedulerName: 'default-scheduler',
            containers: [
              {
                name: 'db',
                image: 'mongo:3.3',
                imagePullPolicy: 'IfNotPresent',
                command: ['mongod', '--replSet', 'rs0', '--smallfiles', '--noprealloc'],
                ports: [{ containerPort: 27017, protocol: 'TCP' }],
                resources: {
                  limits: { memory: '100Mi', cpu: '100m' },
                  requests: { memory: '50Mi', cpu: '10m' },
                },
                terminationMessagePath: '/dev/termination-log',
                terminationMessagePolicy: 'File',
                volumeMounts: [{ name: 'mongo-data', mountPath: '/data/db' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'mongo-data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: '2Gi' } },
              volumeMode: 'Filesystem',
            },
            status: { phase: 'Pending' },
          },
        ],
      },
      status: { replicas: 0, availableReplicas: 0 },
    });
    expect(validateStatefulSet(obj)).toEqual([]);
  });

  it('defaults replicas to 1 and keeps explicit choices', () => {
    const obj = dbManifest();
    const spec = obj.spec as Record<string, unknown>;
    delete spec.replicas;
    spec.podManagementPolicy = 'Parallel';
    spec.updateStrategy = { type: 'OnDelete' };
    spec.persistentVolumeClaimRetentionPolicy = { whenScaled: 'Delete' };
    defaulted(obj);
    expect(spec.replicas).toBe(1);
    expect(spec.podManagementPolicy).toBe('Parallel');
    expect(spec.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Delete',
    });
  });

  it('does not create rollingUpdate when the type is given, but defaults its partition', () => {
    const a = dbManifest();
    (a.spec as Record<string, unknown>).updateStrategy = { type: 'RollingUpdate' };
    expect(defaulted(a).spec).toMatchObject({ updateStrategy: { type: 'RollingUpdate' } });
    expect((a.spec as { updateStrategy: object }).updateStrategy).not.toHaveProperty('rollingUpdate');
    const b = dbManifest();
    (b.spec as Record<string, unknown>).updateStrategy = { type: 'RollingUpdate', rollingUpdate: {} };
    expect(defaulted(b).spec).toMatchObject({ updateStrategy: { rollingUpdate: { partition: 0 } } });
  });

  it('keeps and defaults maxUnavailable (MaxUnavailableStatefulSet on, as 1.35), drops it when the gate is off (1.33)', () => {
    const a = dbManifest();
    (a.spec as Record<string, unknown>).updateStrategy = { rollingUpdate: { maxUnavailable: 2 } };
    expect(defaulted(a).spec).toMatchObject({
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 2 } },
    });
    expect(defaulted(dbManifest()).spec).toMatchObject({
      updateStrategy: { rollingUpdate: { partition: 0, maxUnavailable: 1 } },
    });
    statefulSetFeatures.maxUnavailable = false;
    try {
      const b = dbManifest();
      (b.spec as Record<string, unknown>).updateStrategy = { rollingUpdate: { maxUnavailable: 2 } };
      expect(JSON.stringify(defaulted(b).spec)).not.toContain('maxUnavailable');
    } finally {
      statefulSetFeatures.maxUnavailable = true;
    }
  });
});

describe('StatefulSet validation', () => {
  it('rejects a selector that does not match the template labels', () => {
    const obj = dbManifest();
    (obj.spec as { selector: unknown }).selector = { matchLabels: { app: 'x' } };
    (obj.spec as { template: { metadata: unknown } }).template.metadata = { labels: { app: 'y' } };
    expect(messages(validateStatefulSet(defaulted(obj)))).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"y"}: `selector` does not match template `labels`',
    ]);
  });

  it('reports a missing selector as upstream does (Required plus mismatch)', () => {
    const obj = dbManifest();
    delete (obj.spec as Record<string, unknown>).selector;
    (obj.spec as { template: { metadata: unknown } }).template.metadata = { labels: { app: 'x' } };
    expect(messages(validateStatefulSet(defaulted(obj)))).toEqual([
      'spec.selector: Required value',
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    ]);
  });

  it('checks replicas, podManagementPolicy, strategy, retention policy and name', () => {
    const obj = defaulted(dbManifest());
    obj.metadata.name = 'db.v1';
    const spec = obj.spec as Record<string, unknown>;
    spec.replicas = -1;
    spec.podManagementPolicy = 'Random';
    spec.updateStrategy = { type: 'OnDelete', rollingUpdate: { partition: 2 } };
    spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Keep', whenScaled: 'Retain' };
    expect(messages(validateStatefulSet(obj))).toEqual([
      expect.stringMatching(/^metadata\.name: Invalid value: "db\.v1": /),
      `spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'`,
      "spec.updateStrategy.rollingUpdate: Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:2, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'",
      'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"',
      'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    ]);
  });

  it('rejects an empty selector and a non-Always restart policy', () => {
    const obj = defaulted(dbManifest());
    const spec = obj.spec as { selector: unknown; template: { spec: Record<string, unknown> } };
    spec.selector = {};
    spec.template.spec.restartPolicy = 'Never';
    expect(messages(validateStatefulSet(obj))).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset',
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ]);
  });

  it('does not validate the pod spec (upstream 1.33 accepts a container without image)', () => {
    const obj = dbManifest();
    const c = (obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers[0];
    delete c?.image;
    expect(validateStatefulSet(defaulted(obj))).toEqual([]);
  });

  it('forbids updates to immutable spec fields with the exact upstream message', () => {
    const old = defaulted(dbManifest());
    const changed = structuredClone(old);
    (changed.spec as Record<string, unknown>).serviceName = 'mongo';
    const errs = validateStatefulSetUpdate(changed, old);
    expect(messages(errs)).toEqual([
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
    expect(errs[0]?.detail).toBe(UPDATE_FORBIDDEN_MESSAGE);
  });

  it('allows updates to replicas, template, updateStrategy, retention policy, minReadySeconds, ordinals', () => {
    const old = defaulted(dbManifest());
    const changed = structuredClone(old);
    const spec = changed.spec as Record<string, unknown> & {
      template: { spec: { containers: { image: string }[] } };
    };
    spec.replicas = 5;
    spec.minReadySeconds = 3;
    spec.ordinals = { start: 1 };
    spec.updateStrategy = { type: 'OnDelete' };
    spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete', whenScaled: 'Delete' };
    const first = spec.template.spec.containers[0];
    if (first) first.image = 'mongo:3.4';
    expect(validateStatefulSetUpdate(changed, old)).toEqual([]);
  });

  it('forbids changing volumeClaimTemplates and revisionHistoryLimit (1.33)', () => {
    const old = defaulted(dbManifest());
    const a = structuredClone(old);
    (a.spec as Record<string, unknown>).revisionHistoryLimit = 3;
    expect(validateStatefulSetUpdate(a, old).map((e) => e.field)).toEqual(['spec']);
    const b = structuredClone(old);
    (b.spec as { volumeClaimTemplates: { spec: Record<string, unknown> }[] })
      .volumeClaimTemplates[0]!.spec.storageClassName = 'fast';
    expect(validateStatefulSetUpdate(b, old).map((e) => e.field)).toEqual(['spec']);
  });
});

describe('StatefulSet table', () => {
  it('prints NAME READY AGE CONTAINERS IMAGES', () => {
    const obj = defaulted(dbManifest());
    obj.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    (obj.status as Record<string, unknown>).readyReplicas = 2;
    const now = new Date('2024-01-01T00:05:30Z');
    expect(statefulSets.columns.map((c) => c.name)).toEqual(['Name', 'Ready', 'Age', 'Containers', 'Images']);
    expect(statefulSets.columns.map((c) => c.priority)).toEqual([0, 0, 0, 1, 1]);
    expect(statefulSets.row(obj, now)).toEqual(['db', '2/3', '5m30s', 'db', 'mongo:3.3']);
  });

  it('has upstream discovery info', () => {
    expect(statefulSets).toMatchObject({
      group: 'apps',
      version: 'v1',
      plural: 'statefulsets',
      singular: 'statefulset',
      shortNames: ['sts'],
      categories: ['all'],
      hasStatus: true,
    });
    expect(statefulSets.subresources?.map((s) => s.name)).toEqual(['status', 'scale']);
  });
});
