import { describe, expect, it } from 'vitest';
import { isStatusError, type StatusError } from '../api/errors.js';
import type { KObject, ManagedFieldsEntry } from '../api/types.js';
import {
  applyPatch,
  computeFieldSet,
  decodeManagedFields,
  fieldSetPaths,
  LAST_APPLIED_ANNOTATION,
  managedFieldsForWrite,
  stripSystemFields,
  updateManagedFields,
  validateFieldManager,
  validateManagedFields,
} from './apply.js';
import { S, type TypeSchema } from './type-schema.js';

const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-01-01T00:01:00Z';
const T2 = '2024-01-01T00:02:00Z';

const str = S.scalar;
const atomicObject = (fields: Record<string, TypeSchema>): TypeSchema =>
  ({ ...S.object(fields), mapType: 'atomic' }) as TypeSchema;

const container = S.object({
  name: str(),
  image: str(),
  args: S.atomicList(),
  ports: S.mapList('containerPort', S.object({ containerPort: str(), protocol: str(), name: str() }), {
    mapKeys: ['containerPort', 'protocol'],
  }),
  env: S.mapList('name', S.object({ name: str(), value: str() })),
  resources: S.object({ limits: S.map(), requests: S.map() }),
});

const deploymentSchema = S.object({
  apiVersion: str(),
  kind: str(),
  metadata: S.object({
    name: str(),
    namespace: str(),
    uid: str(),
    resourceVersion: str(),
    generation: str(),
    creationTimestamp: str(),
    labels: S.map(),
    annotations: S.map(),
    finalizers: S.setList(),
    managedFields: S.atomicList(S.any()),
  }),
  spec: S.object({
    replicas: str(),
    paused: str(),
    selector: atomicObject({ matchLabels: S.map() }),
    strategy: S.object({ type: str(), rollingUpdate: S.object({ maxSurge: str(), maxUnavailable: str() }) }),
    template: S.object({
      metadata: S.object({ labels: S.map(), annotations: S.map() }),
      spec: S.object({
        containers: S.mapList('name', container),
        tolerations: S.atomicList(S.object({ key: str(), operator: str(), effect: str() })),
        nodeSelector: S.map(),
      }),
    }),
  }),
  status: S.object({
    replicas: str(),
    conditions: S.mapList('type', S.object({ type: str(), status: str() })),
  }),
});

/** Schema without metadata: the built-in ObjectMeta schema applies. */
const configMapSchema = S.object({ apiVersion: str(), kind: str(), data: S.map() });

function deployment(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', ...metadata },
    spec,
  };
}

function basicSpec(): Record<string, unknown> {
  return {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [{ name: 'nginx', image: 'nginx:1', ports: [{ containerPort: 80 }] }],
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
    },
  };
}

function entries(obj: KObject): ManagedFieldsEntry[] {
  return obj.metadata.managedFields ?? [];
}

function entryOf(obj: KObject, manager: string): ManagedFieldsEntry | undefined {
  return entries(obj).find((e) => e.manager === manager);
}

function ownedPaths(obj: KObject, manager: string): string[] {
  const e = entryOf(obj, manager);
  if (!e) return [];
  return fieldSetPaths(
    decodeManagedFields([e]).values().next().value?.set ?? { members: new Set(), children: new Map() },
  );
}

function spec(obj: KObject): Record<string, unknown> {
  return obj.spec as Record<string, unknown>;
}

function catchStatus(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (isStatusError(e)) return e;
    throw e;
  }
  throw new Error('expected a StatusError');
}

describe('computeFieldSet', () => {
  it('records leaves, list items with ".", map keys, atomic lists/structs as leaves', () => {
    const set = stripSystemFields(
      computeFieldSet(deployment(basicSpec(), { finalizers: ['example.com/x'] }), deploymentSchema),
    );
    expect(fieldSetPaths(set)).toEqual([
      '.metadata.finalizers[="example.com/x"]',
      '.spec.replicas',
      '.spec.selector',
      '.spec.template.metadata.labels.app',
      '.spec.template.spec.tolerations',
      '.spec.template.spec.containers[name="nginx"]',
      '.spec.template.spec.containers[name="nginx"].image',
      '.spec.template.spec.containers[name="nginx"].name',
      '.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]',
      '.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"].containerPort',
    ]);
  });

  it('includes apiVersion, kind and metadata.name until stripped', () => {
    const set = computeFieldSet(deployment({ replicas: 1 }), deploymentSchema);
    expect(fieldSetPaths(set)).toEqual([
      '.apiVersion',
      '.kind',
      '.metadata.name',
      '.metadata.namespace',
      '.spec.replicas',
    ]);
  });
});

describe('applyPatch: create', () => {
  it('creates the object with one Apply entry (exact managedFields JSON)', () => {
    const cm: KObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', namespace: 'default', labels: { app: 'a' } },
      data: { k: 'v' },
    };
    const out = applyPatch(undefined, cm, configMapSchema, 'kubectl', false, '2024-01-01T00:00:00.123Z');
    const { managedFields, ...meta } = out.metadata;
    expect(meta).toEqual(cm.metadata);
    expect(out.data).toEqual({ k: 'v' });
    expect(JSON.stringify(managedFields)).toBe(
      '[{"manager":"kubectl","operation":"Apply","apiVersion":"v1","time":"2024-01-01T00:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:k":{}},"f:metadata":{"f:labels":{"f:app":{}}}}}]',
    );
  });

  it('records deployment fields upstream-style', () => {
    const out = applyPatch(undefined, deployment(basicSpec()), deploymentSchema, 'kubectl', false, T0);
    expect(entries(out)).toHaveLength(1);
    expect(entries(out)[0]?.fieldsV1).toEqual({
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"nginx"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': {
                  'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} },
                },
              },
            },
            'f:tolerations': {},
          },
        },
      },
    });
  });

  it('rejects managedFields in the config, an empty manager, and untyped configs', () => {
    const withMF = deployment({ replicas: 1 }, { managedFields: [] });
    let e = catchStatus(() => applyPatch(undefined, withMF, deploymentSchema, 'kubectl', false, T0));
    expect([e.code, e.message]).toEqual([400, 'metadata.managedFields must be nil']);

    e = catchStatus(() =>
      applyPatch(undefined, deployment({ replicas: 1 }), deploymentSchema, '', false, T0),
    );
    expect(e.code).toBe(422);
    expect(e.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );

    const dup = basicSpec();
    (dup.template as { spec: { containers: unknown[] } }).spec.containers = [{ name: 'a' }, { name: 'a' }];
    e = catchStatus(() => applyPatch(undefined, deployment(dup), deploymentSchema, 'kubectl', false, T0));
    expect(e.code).toBe(400);
    expect(e.message).toBe(
      'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="a"]',
    );

    const nokey = basicSpec();
    (nokey.template as { spec: { containers: unknown[] } }).spec.containers = [{ image: 'x' }];
    e = catchStatus(() => applyPatch(undefined, deployment(nokey), deploymentSchema, 'kubectl', false, T0));
    expect(e.message).toContain(
      'element 0: associative list with keys has an element that omits key field "name"',
    );

    e = catchStatus(() =>
      applyPatch(undefined, deployment({}), deploymentSchema, 'kubectl', false, T0, {
        expectedApiVersion: 'apps/v2',
      }),
    );
    expect(e.message).toBe(
      'Incorrect version specified in apply patch. Specified patch version: apps/v1, expected: apps/v2',
    );
  });
});

describe('applyPatch: re-apply', () => {
  it('removes fields the manager stopped applying', () => {
    const s1 = basicSpec();
    const first = applyPatch(
      undefined,
      deployment(s1, { labels: { a: '1', b: '2' } }),
      deploymentSchema,
      'kubectl',
      false,
      T0,
    );
    const s2 = basicSpec();
    delete s2.replicas;
    (s2.template as { spec: Record<string, unknown> }).spec.containers = [
      { name: 'nginx', image: 'nginx:2' },
    ];
    const second = applyPatch(
      first,
      deployment(s2, { labels: { a: '1' } }),
      deploymentSchema,
      'kubectl',
      false,
      T1,
    );
    expect(second.metadata.labels).toEqual({ a: '1' });
    expect(spec(second).replicas).toBeUndefined();
    expect(spec(second).template).toEqual({
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [{ name: 'nginx', image: 'nginx:2' }],
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
    });
    expect(entries(second)).toHaveLength(1);
    expect(entries(second)[0]?.time).toBe(T1);
    expect(ownedPaths(second, 'kubectl')).not.toContain('.spec.replicas');
  });

  it('keeps a dropped field another manager also owns', () => {
    const first = applyPatch(undefined, deployment(basicSpec()), deploymentSchema, 'kubectl', false, T0);
    // Another applier sets replicas to the same value: shared ownership, no conflict.
    const shared = applyPatch(first, deployment({ replicas: 2 }), deploymentSchema, 'hpa', false, T1);
    expect(ownedPaths(shared, 'hpa')).toEqual(['.spec.replicas']);
    expect(ownedPaths(shared, 'kubectl')).toContain('.spec.replicas');
    const s2 = basicSpec();
    delete s2.replicas;
    const third = applyPatch(shared, deployment(s2), deploymentSchema, 'kubectl', false, T2);
    expect(spec(third).replicas).toBe(2);
    expect(ownedPaths(third, 'kubectl')).not.toContain('.spec.replicas');
    expect(ownedPaths(third, 'hpa')).toEqual(['.spec.replicas']);
  });

  it('leaves fields set by Update managers when an applier drops its own', () => {
    const first = applyPatch(undefined, deployment(basicSpec()), deploymentSchema, 'kubectl', false, T0);
    const edited = structuredClone(first);
    spec(edited).paused = true;
    const afterEdit = updateManagedFields(
      first,
      edited,
      deploymentSchema,
      'kubectl-edit',
      'Update',
      undefined,
      T1,
    );
    expect(ownedPaths(afterEdit, 'kubectl-edit')).toEqual(['.spec.paused']);
    const s2 = basicSpec();
    delete s2.selector;
    const next = applyPatch(afterEdit, deployment(s2), deploymentSchema, 'kubectl', false, T2);
    expect(spec(next).paused).toBe(true);
    expect(spec(next).selector).toBeUndefined();
  });

  it('leaves no-op applies unchanged apart from ownership, keeping the old time', () => {
    const first = applyPatch(undefined, deployment(basicSpec()), deploymentSchema, 'kubectl', false, T0);
    const again = applyPatch(first, deployment(basicSpec()), deploymentSchema, 'kubectl', false, T1);
    expect(again).toEqual(first);
  });

  it('merges list-maps by key, unions sets, replaces atomic lists, and removes nulls', () => {
    const first = applyPatch(
      undefined,
      deployment(basicSpec(), { finalizers: ['example.com/a'] }),
      deploymentSchema,
      'kubectl',
      false,
      T0,
    );
    // A controller injects a sidecar, a finalizer and a nodeSelector.
    const injected = structuredClone(first);
    const podSpec = (spec(injected).template as { spec: Record<string, unknown> }).spec;
    (podSpec.containers as unknown[]).unshift({ name: 'sidecar', image: 'proxy:1' });
    podSpec.nodeSelector = { disk: 'ssd' };
    injected.metadata.finalizers = ['example.com/a', 'example.com/b'];
    const afterInject = updateManagedFields(
      first,
      injected,
      deploymentSchema,
      'injector',
      'Update',
      undefined,
      T1,
    );

    const s2 = basicSpec();
    const tpl = (s2.template as { spec: Record<string, unknown> }).spec;
    tpl.containers = [
      { name: 'nginx', image: 'nginx:2', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
      { name: 'extra', image: 'extra:1' },
    ];
    tpl.tolerations = [{ key: 'other', operator: 'Exists' }];
    tpl.nodeSelector = { zone: 'a' };
    s2.paused = null;
    const out = applyPatch(
      afterInject,
      deployment(s2, { finalizers: ['example.com/c'] }),
      deploymentSchema,
      'kubectl',
      false,
      T2,
    );
    const outSpec = (spec(out).template as { spec: Record<string, unknown> }).spec;
    expect(outSpec.containers).toEqual([
      { name: 'sidecar', image: 'proxy:1' },
      { name: 'nginx', image: 'nginx:2', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
      { name: 'extra', image: 'extra:1' },
    ]);
    expect(outSpec.tolerations).toEqual([{ key: 'other', operator: 'Exists' }]);
    expect(outSpec.nodeSelector).toEqual({ disk: 'ssd', zone: 'a' });
    // a was only the applier's: pruned; b belongs to the injector; c is new.
    expect(out.metadata.finalizers).toEqual(['example.com/b', 'example.com/c']);
    expect('paused' in spec(out)).toBe(false);
    expect(ownedPaths(out, 'kubectl')).toContain('.spec.paused');
    expect(ownedPaths(out, 'injector')).toEqual([
      '.metadata.finalizers[="example.com/b"]',
      '.spec.template.spec.nodeSelector',
      '.spec.template.spec.containers[name="sidecar"]',
      '.spec.template.spec.containers[name="sidecar"].image',
      '.spec.template.spec.containers[name="sidecar"].name',
      '.spec.template.spec.nodeSelector.disk',
    ]);
  });
});

describe('applyPatch: details', () => {
  it('orders merged list items like structured-merge-diff', () => {
    const s = basicSpec();
    const podSpec = (s.template as { spec: Record<string, unknown> }).spec;
    podSpec.containers = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
    const created = updateManagedFields(
      undefined,
      deployment(s),
      deploymentSchema,
      'creator',
      'Update',
      undefined,
      T0,
    );
    const s2 = basicSpec();
    (s2.template as { spec: Record<string, unknown> }).spec.containers = [{ name: 'c' }, { name: 'a' }];
    const out = applyPatch(created, deployment(s2), deploymentSchema, 'x', false, T1);
    const names = (
      (spec(out).template as { spec: { containers: { name: string }[] } }).spec.containers ?? []
    ).map((c) => c.name);
    expect(names).toEqual(['b', 'c', 'a']);
  });

  it('keeps live system metadata and drops nulls from the config', () => {
    const live = applyPatch(undefined, deployment(basicSpec()), deploymentSchema, 'kubectl', false, T0);
    live.metadata.uid = 'u1';
    live.metadata.creationTimestamp = T0;
    live.metadata.resourceVersion = '5';
    const s = basicSpec();
    (s.template as { metadata: Record<string, unknown> }).metadata.creationTimestamp = null;
    const out = applyPatch(
      live,
      deployment(s, { creationTimestamp: null, resourceVersion: '4', uid: 'other' }),
      deploymentSchema,
      'kubectl',
      false,
      T1,
    );
    expect([out.metadata.uid, out.metadata.creationTimestamp, out.metadata.resourceVersion]).toEqual([
      'u1',
      T0,
      '5',
    ]);
    expect((spec(out).template as { metadata: Record<string, unknown> }).metadata).toEqual({
      labels: { app: 'web' },
    });
  });

  it('never records ignored (strategy-reset) fields', () => {
    const d = deployment({ replicas: 1 });
    d.status = { replicas: 3 };
    const out = applyPatch(undefined, d, deploymentSchema, 'kubectl', false, T0, {
      ignoredFields: [['status']],
    });
    expect(ownedPaths(out, 'kubectl')).toEqual(['.spec.replicas']);
    const next = structuredClone(out);
    next.status = { replicas: 4 };
    next.spec = { replicas: 2 };
    const upd = updateManagedFields(out, next, deploymentSchema, 'ctl', 'Update', undefined, T1, {
      ignoredFields: [['status']],
    });
    expect(ownedPaths(upd, 'ctl')).toEqual(['.spec.replicas']);
  });
});

describe('applyPatch: conflicts', () => {
  const base = (): KObject =>
    applyPatch(undefined, deployment(basicSpec()), deploymentSchema, 'alice', false, T0);

  it('409s when another applier owns a changed field', () => {
    const e = catchStatus(() =>
      applyPatch(base(), deployment({ replicas: 5 }), deploymentSchema, 'bob', false, T1),
    );
    expect(e.code).toBe(409);
    expect(e.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas',
      reason: 'Conflict',
      details: {
        causes: [
          { reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' },
        ],
      },
      code: 409,
    });
  });

  it('names Update managers with their apiVersion and lists several conflicts', () => {
    const live = deployment(basicSpec(), { labels: { tier: 'fe' } });
    const created = updateManagedFields(
      undefined,
      live,
      deploymentSchema,
      'kubectl-client-side-apply',
      'Update',
      undefined,
      T0,
    );
    const s = basicSpec();
    s.replicas = 3;
    (s.template as { spec: { containers: unknown[] } }).spec.containers = [
      { name: 'nginx', image: 'nginx:2' },
    ];
    const e = catchStatus(() =>
      applyPatch(created, deployment(s, { labels: { tier: 'be' } }), deploymentSchema, 'bob', false, T1),
    );
    expect(e.message).toBe(
      [
        'Apply failed with 3 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:',
        '- .metadata.labels.tier',
        '- .spec.replicas',
        '- .spec.template.spec.containers[name="nginx"].image',
      ].join('\n'),
    );
    expect(e.status.details?.causes?.map((c) => c.field)).toEqual([
      '.metadata.labels.tier',
      '.spec.replicas',
      '.spec.template.spec.containers[name="nginx"].image',
    ]);
    expect(e.status.details?.causes?.[0]?.message).toBe(
      'conflict with "kubectl-client-side-apply" using apps/v1',
    );

    const single = catchStatus(() =>
      applyPatch(created, deployment({ replicas: 3 }), deploymentSchema, 'bob', false, T1),
    );
    expect(single.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
  });

  it('force takes ownership', () => {
    const out = applyPatch(base(), deployment({ replicas: 5 }), deploymentSchema, 'bob', true, T1);
    expect(spec(out).replicas).toBe(5);
    expect(ownedPaths(out, 'bob')).toEqual(['.spec.replicas']);
    expect(ownedPaths(out, 'alice')).not.toContain('.spec.replicas');
    // alice re-applying her old value now conflicts with bob.
    const e = catchStatus(() =>
      applyPatch(out, deployment(basicSpec()), deploymentSchema, 'alice', false, T2),
    );
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "bob": .spec.replicas');
  });

  it('an Update by another manager steals ownership', () => {
    const live = base();
    const scaled = structuredClone(live);
    spec(scaled).replicas = 7;
    const afterScale = updateManagedFields(
      live,
      scaled,
      deploymentSchema,
      'kubectl-scale',
      'Update',
      'scale',
      T1,
    );
    expect(ownedPaths(afterScale, 'alice')).not.toContain('.spec.replicas');
    const scaleEntry = entryOf(afterScale, 'kubectl-scale');
    expect(scaleEntry).toEqual({
      manager: 'kubectl-scale',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: T1,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      subresource: 'scale',
    });
    const e = catchStatus(() =>
      applyPatch(afterScale, deployment(basicSpec()), deploymentSchema, 'alice', false, T2),
    );
    expect(e.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-scale" with subresource "scale" using apps/v1: .spec.replicas',
    );
    // Applying without replicas is fine, and leaves the scaled value.
    const s = basicSpec();
    delete s.replicas;
    const ok = applyPatch(afterScale, deployment(s), deploymentSchema, 'alice', false, T2);
    expect(spec(ok).replicas).toBe(7);
  });

  it('lets kubectl take over fields matching its client-side last-applied annotation', () => {
    const lastApplied = JSON.stringify(deployment(basicSpec()));
    const live = deployment(basicSpec(), { annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied } });
    const created = updateManagedFields(
      undefined,
      live,
      deploymentSchema,
      'kubectl-client-side-apply',
      'Update',
      undefined,
      T0,
    );
    const s = basicSpec();
    s.replicas = 4;
    const out = applyPatch(created, deployment(s), deploymentSchema, 'kubectl', false, T1);
    expect(spec(out).replicas).toBe(4);
    expect(ownedPaths(out, 'kubectl')).toContain('.spec.replicas');
    expect(ownedPaths(out, 'kubectl-client-side-apply')).not.toContain('.spec.replicas');
    // The annotation now mirrors the server-side applied config.
    expect(JSON.parse(out.metadata.annotations?.[LAST_APPLIED_ANNOTATION] ?? '')).toEqual(deployment(s));
    // Another manager name gets the conflict.
    const e = catchStatus(() => applyPatch(created, deployment(s), deploymentSchema, 'other', false, T1));
    expect(e.code).toBe(409);
  });
});

describe('updateManagedFields', () => {
  it('records a create like upstream (exact ConfigMap entry)', () => {
    const cm: KObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', namespace: 'default', labels: { app: 'a' }, uid: 'u', creationTimestamp: T0 },
      data: { k: 'v' },
    };
    const out = updateManagedFields(
      undefined,
      cm,
      configMapSchema,
      'kubectl-create',
      'Update',
      undefined,
      T0,
    );
    expect(JSON.stringify(out.metadata.managedFields)).toBe(
      '[{"manager":"kubectl-create","operation":"Update","apiVersion":"v1","time":"2024-01-01T00:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:k":{}},"f:metadata":{"f:labels":{".":{},"f:app":{}}}}}]',
    );
    expect(cm.metadata.managedFields).toBeUndefined();
  });

  it('does not mark non-empty structs from the root on create', () => {
    const d = deployment({
      ...basicSpec(),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
    });
    const out = updateManagedFields(
      undefined,
      d,
      deploymentSchema,
      'kubectl-create',
      'Update',
      undefined,
      T0,
    );
    const fields = entries(out)[0]?.fieldsV1 as Record<string, Record<string, unknown>>;
    expect(fields['f:spec']?.['f:strategy']).toEqual({
      'f:rollingUpdate': { 'f:maxSurge': {} },
      'f:type': {},
    });
    expect(fields['f:spec']?.['f:template']).toEqual({
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': {
        'f:containers': {
          'k:{"name":"nginx"}': {
            '.': {},
            'f:image': {},
            'f:name': {},
            'f:ports': {
              '.': {},
              'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} },
            },
          },
        },
        'f:tolerations': {},
      },
    });
  });

  it('merges into the manager entry, updating time only when it gained fields', () => {
    const created = updateManagedFields(
      undefined,
      deployment(basicSpec()),
      deploymentSchema,
      'ctl',
      'Update',
      undefined,
      T0,
    );
    const a = structuredClone(created);
    spec(a).paused = true;
    const updated = updateManagedFields(created, a, deploymentSchema, 'ctl', 'Update', undefined, T1);
    expect(entries(updated)).toHaveLength(1);
    expect(entries(updated)[0]?.time).toBe(T1);
    expect(ownedPaths(updated, 'ctl')).toContain('.spec.paused');
    expect(ownedPaths(updated, 'ctl')).toContain('.spec.replicas');
    // A no-op write by another manager leaves everything as is.
    const same = updateManagedFields(
      updated,
      structuredClone(updated),
      deploymentSchema,
      'other',
      'Update',
      undefined,
      T2,
    );
    expect(same.metadata.managedFields).toEqual(updated.metadata.managedFields);
    // Removing a field removes it from its owner.
    const b = structuredClone(updated);
    delete spec(b).paused;
    const removed = updateManagedFields(updated, b, deploymentSchema, 'other', 'Update', undefined, T2);
    expect(ownedPaths(removed, 'ctl')).not.toContain('.spec.paused');
    expect(entryOf(removed, 'other')).toBeUndefined();
  });

  it('keeps one entry per manager, apiVersion and subresource; status writes ignore request managedFields', () => {
    const created = updateManagedFields(
      undefined,
      deployment(basicSpec()),
      deploymentSchema,
      'ctl',
      'Update',
      undefined,
      T0,
    );
    const withStatus = structuredClone(created);
    withStatus.status = { replicas: 2, conditions: [{ type: 'Available', status: 'True' }] };
    withStatus.metadata.managedFields = [];
    const out = updateManagedFields(created, withStatus, deploymentSchema, 'ctl', 'Update', 'status', T1);
    expect(entries(out).map((e) => [e.manager, e.subresource])).toEqual([
      ['ctl', undefined],
      ['ctl', 'status'],
    ]);
    expect(ownedPaths(out, 'ctl')).toContain('.spec.replicas');
    expect(entries(out)[1]?.fieldsV1).toEqual({
      'f:status': {
        'f:conditions': { '.': {}, 'k:{"type":"Available"}': { '.': {}, 'f:status': {}, 'f:type': {} } },
        'f:replicas': {},
      },
    });
  });

  it('honours edited, reset and malformed request managedFields', () => {
    const created = updateManagedFields(
      undefined,
      deployment(basicSpec()),
      deploymentSchema,
      'ctl',
      'Update',
      undefined,
      T0,
    );
    const reset = structuredClone(created);
    reset.metadata.managedFields = [{}];
    expect(
      updateManagedFields(created, reset, deploymentSchema, 'x', 'Update', undefined, T1).metadata
        .managedFields,
    ).toBe(undefined);
    const garbage = structuredClone(created);
    garbage.metadata.managedFields = [{ manager: 'x', operation: 'Bogus' } as unknown as ManagedFieldsEntry];
    const kept = updateManagedFields(created, garbage, deploymentSchema, 'x', 'Update', undefined, T1);
    expect(kept.metadata.managedFields).toEqual(created.metadata.managedFields);
    const edited = structuredClone(created);
    const e0 = edited.metadata.managedFields?.[0] as ManagedFieldsEntry;
    e0.manager = 'renamed';
    const out = updateManagedFields(created, edited, deploymentSchema, 'x', 'Update', undefined, T1);
    expect(entries(out).map((e) => e.manager)).toEqual(['renamed']);
    // The live object's malformed managedFields are dropped.
    const badLive = structuredClone(created);
    badLive.metadata.managedFields = [{ operation: 'Update' } as ManagedFieldsEntry];
    expect(managedFieldsForWrite(badLive, deployment({}), false).size).toBe(0);
    const applied = applyPatch(badLive, deployment({ replicas: 9 }), deploymentSchema, 'k', false, T1);
    expect(entries(applied).map((e) => e.manager)).toEqual(['k']);
  });

  it('caps Update entries at 10, merging the oldest into ancient-changes', () => {
    let obj = applyPatch(undefined, deployment({ replicas: 1 }), deploymentSchema, 'applier', false, T0);
    for (let i = 0; i < 12; i++) {
      const next = structuredClone(obj);
      next.metadata.labels = { ...(next.metadata.labels ?? {}), [`l${i}`]: 'x' };
      const t = `2024-01-01T01:${String(i).padStart(2, '0')}:00Z`;
      obj = updateManagedFields(obj, next, deploymentSchema, `m${i}`, 'Update', undefined, t);
    }
    const ms = entries(obj).map((e) => e.manager);
    expect(ms).toHaveLength(11);
    expect(ms[0]).toBe('applier');
    expect(ms[1]).toBe('ancient-changes');
    expect(ownedPaths(obj, 'ancient-changes')).toEqual([
      '.metadata.labels',
      '.metadata.labels.l0',
      '.metadata.labels.l1',
      '.metadata.labels.l2',
    ]);
  });
});

describe('validation helpers', () => {
  it('validates field managers and entries', () => {
    expect(validateFieldManager('kubectl')).toEqual([]);
    expect(validateFieldManager('x'.repeat(129))[0]?.type).toBe('FieldValueTooLong');
    expect(validateFieldManager('a\u0001b')[0]).toMatchObject({
      type: 'FieldValueInvalid',
      detail: 'invalid characters at index 1',
    });
    expect(
      validateManagedFields([{ manager: 'a', operation: 'Patch', fieldsType: 'FieldsV2' }]).map(
        (e) => e.field,
      ),
    ).toEqual(['metadata.managedFields[0].operation', 'metadata.managedFields[0].fieldsType']);
  });
});
