import { describe, expect, it } from 'vitest';
import type { KObject } from '../api/types.js';
import { groupResources } from './groups.js';
import { messages } from './misc/test-helpers.js';
import type { ResourceDef } from './types.js';

function def(plural: string, group: string): ResourceDef {
  const d = groupResources.find((r) => r.plural === plural && r.group === group);
  if (!d) throw new Error(`no ${plural}.${group}`);
  return d;
}

function obj(
  apiVersion: string,
  kind: string,
  rest: Record<string, unknown>,
  name = 'x',
  namespace?: string,
): KObject {
  return {
    apiVersion,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), creationTimestamp: '2024-01-01T00:00:00Z' },
    ...rest,
  };
}

const now = new Date('2024-01-01T01:00:00Z');

describe('discovery', () => {
  it('lists every non-core kind once, with upstream names', () => {
    const keys = groupResources.map((r) => `${r.plural}.${r.group}/${r.version}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual([
      'statefulsets.apps/v1',
      'deployments.apps/v1',
      'replicasets.apps/v1',
      'controllerrevisions.apps/v1',
      'storageclasses.storage.k8s.io/v1',
      'leases.coordination.k8s.io/v1',
      'ingresses.networking.k8s.io/v1',
      'ingressclasses.networking.k8s.io/v1',
      'roles.rbac.authorization.k8s.io/v1',
      'rolebindings.rbac.authorization.k8s.io/v1',
      'clusterroles.rbac.authorization.k8s.io/v1',
      'clusterrolebindings.rbac.authorization.k8s.io/v1',
      'endpointslices.discovery.k8s.io/v1',
      'events.events.k8s.io/v1',
      'poddisruptionbudgets.policy/v1',
      'selfsubjectaccessreviews.authorization.k8s.io/v1',
      'selfsubjectrulesreviews.authorization.k8s.io/v1',
      'subjectaccessreviews.authorization.k8s.io/v1',
      'tokenreviews.authentication.k8s.io/v1',
      'selfsubjectreviews.authentication.k8s.io/v1',
    ]);
    const short = Object.fromEntries(
      groupResources.filter((r) => r.shortNames).map((r) => [r.plural, r.shortNames]),
    );
    expect(short).toEqual({
      statefulsets: ['sts'],
      deployments: ['deploy'],
      replicasets: ['rs'],
      storageclasses: ['sc'],
      ingresses: ['ing'],
      events: ['ev'],
      poddisruptionbudgets: ['pdb'],
    });
    expect(groupResources.filter((r) => r.categories?.includes('all')).map((r) => r.plural)).toEqual([
      'statefulsets',
      'deployments',
      'replicasets',
    ]);
    expect(
      groupResources
        .filter((r) => r.hasStatus)
        .map((r) => `${r.plural}:${r.subresources?.map((s) => s.name)}`),
    ).toEqual([
      'statefulsets:status,scale',
      'deployments:status,scale',
      'replicasets:status,scale',
      'ingresses:status',
      'poddisruptionbudgets:status',
    ]);
    for (const r of groupResources) {
      expect(r.singular).toBe(r.kind.toLowerCase());
      if (r.plural.endsWith('reviews')) {
        expect(r.verbs).toEqual(['create']);
        expect(r.namespaced).toBe(false);
        expect(r.columns).toEqual([]);
      }
    }
  });

  it('produces one cell per column for every kind, even for bare objects', () => {
    for (const r of groupResources) {
      const o = obj(`${r.group}/${r.version}`, r.kind, {}, 'bare', r.namespaced ? 'default' : undefined);
      r.defaults?.(o);
      expect(r.row(o, now).length, r.plural).toBe(r.columns.length);
    }
  });
});

describe('tables', () => {
  it('controllerrevisions: NAME CONTROLLER REVISION AGE', () => {
    const cr = obj('apps/v1', 'ControllerRevision', { revision: 2, data: {} }, 'db-5d8f', 'default');
    cr.metadata.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true },
    ];
    expect(def('controllerrevisions', 'apps').row(cr, now)).toEqual([
      'db-5d8f',
      'statefulset.apps/db',
      2,
      '60m',
    ]);
  });

  it('storageclasses: default marker and defaults', () => {
    const r = def('storageclasses', 'storage.k8s.io');
    const sc = obj(
      'storage.k8s.io/v1',
      'StorageClass',
      { provisioner: 'ordinal.dev/local-path' },
      'local-path',
    );
    sc.metadata.annotations = { 'storageclass.kubernetes.io/is-default-class': 'true' };
    r.defaults?.(sc);
    expect(sc).toMatchObject({ reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
    expect(r.columns.map((c) => c.name)).toEqual([
      'Name',
      'Provisioner',
      'ReclaimPolicy',
      'VolumeBindingMode',
      'AllowVolumeExpansion',
      'Age',
    ]);
    expect(r.row(sc, now)).toEqual([
      'local-path (default)',
      'ordinal.dev/local-path',
      'Delete',
      'Immediate',
      false,
      '60m',
    ]);
    expect(r.validate?.(sc)).toEqual([]);
  });

  it('rolebindings and clusterrolebindings: ROLE and wide subjects', () => {
    const rb = obj(
      'rbac.authorization.k8s.io/v1',
      'RoleBinding',
      {
        roleRef: { kind: 'Role', name: 'pods-reader' },
        subjects: [
          { kind: 'ServiceAccount', name: 'db', namespace: 'go-demo-3' },
          { kind: 'User', name: 'jdoe' },
          { kind: 'Group', name: 'devs' },
        ],
      },
      'db',
      'go-demo-3',
    );
    const r = def('rolebindings', 'rbac.authorization.k8s.io');
    r.defaults?.(rb);
    expect(rb).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io' },
      subjects: [
        { kind: 'ServiceAccount' },
        { apiGroup: 'rbac.authorization.k8s.io' },
        { apiGroup: 'rbac.authorization.k8s.io' },
      ],
    });
    expect((rb.subjects as object[])[0]).not.toHaveProperty('apiGroup');
    expect(r.validate?.(rb)).toEqual([]);
    expect(r.row(rb, now)).toEqual(['db', 'Role/pods-reader', '60m', 'jdoe', 'devs', 'go-demo-3/db']);
    expect(def('clusterrolebindings', 'rbac.authorization.k8s.io').columns.map((c) => c.name)).toEqual([
      'Name',
      'Role',
      'Age',
      'Users',
      'Groups',
      'ServiceAccounts',
    ]);
  });

  it('roles and clusterroles: the default NAME / CREATED AT table', () => {
    const r = def('clusterroles', 'rbac.authorization.k8s.io');
    expect(r.columns.map((c) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Created At', 'date'],
    ]);
    const role = obj('rbac.authorization.k8s.io/v1', 'ClusterRole', { rules: [] }, 'view');
    role.metadata.creationTimestamp = '2024-01-01T00:00:00.123Z';
    expect(r.row(role, now)).toEqual(['view', '2024-01-01T00:00:00Z']);
  });

  it('leases: NAME HOLDER AGE', () => {
    const l = obj(
      'coordination.k8s.io/v1',
      'Lease',
      { spec: { holderIdentity: 'node-1' } },
      'node-1',
      'kube-node-lease',
    );
    expect(def('leases', 'coordination.k8s.io').row(l, now)).toEqual(['node-1', 'node-1', '60m']);
  });

  it('ingresses and ingressclasses', () => {
    const ing = obj(
      'networking.k8s.io/v1',
      'Ingress',
      {
        spec: {
          ingressClassName: 'ordinal',
          rules: [
            { host: 'a.example.com' },
            { host: 'b.example.com' },
            {},
            { host: 'c.example.com' },
            { host: 'd.example.com' },
          ],
          tls: [{ hosts: ['a.example.com'] }],
        },
        status: {
          loadBalancer: { ingress: [{ ip: '10.0.0.2' }, { hostname: 'lb.local' }, { ip: '10.0.0.1' }] },
        },
      },
      'web',
      'default',
    );
    expect(def('ingresses', 'networking.k8s.io').row(ing, now)).toEqual([
      'web',
      'ordinal',
      'a.example.com,b.example.com,c.example.com + 2 more...',
      '10.0.0.1,10.0.0.2,lb.local',
      '80, 443',
      '60m',
    ]);
    const cls = obj('networking.k8s.io/v1', 'IngressClass', {
      spec: {
        controller: 'ordinal.dev/ingress',
        parameters: { apiGroup: 'k8s.example.com', kind: 'Params', name: 'p' },
      },
    });
    const r = def('ingressclasses', 'networking.k8s.io');
    r.defaults?.(cls);
    expect(cls).toMatchObject({ spec: { parameters: { scope: 'Cluster' } } });
    expect(r.validate?.(cls)).toEqual([]);
    expect(r.row(cls, now)).toEqual(['x', 'ordinal.dev/ingress', 'Params.k8s.example.com/p', '60m']);
  });

  it('endpointslices: NAME ADDRESSTYPE PORTS ENDPOINTS AGE', () => {
    const r = def('endpointslices', 'discovery.k8s.io');
    const eps = obj(
      'discovery.k8s.io/v1',
      'EndpointSlice',
      {
        addressType: 'IPv4',
        ports: [{ port: 27017 }],
        endpoints: [
          { addresses: ['10.0.0.1'] },
          { addresses: ['10.0.0.2'] },
          { addresses: ['10.0.0.3'] },
          { addresses: ['10.0.0.4'] },
        ],
      },
      'db-abcde',
      'go-demo-3',
    );
    r.defaults?.(eps);
    expect(eps.ports).toEqual([{ port: 27017, name: '', protocol: 'TCP' }]);
    expect(r.validate?.(eps)).toEqual([]);
    expect(r.row(eps, now)).toEqual([
      'db-abcde',
      'IPv4',
      '27017',
      '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...',
      '60m',
    ]);
    const empty = obj('discovery.k8s.io/v1', 'EndpointSlice', { addressType: 'IPv4' }, 'e', 'default');
    expect(r.row(empty, now).slice(2, 4)).toEqual(['<unset>', '<unset>']);
  });

  it('poddisruptionbudgets: MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS', () => {
    const r = def('poddisruptionbudgets', 'policy');
    const pdb = obj(
      'policy/v1',
      'PodDisruptionBudget',
      { spec: { minAvailable: 2, selector: { matchLabels: { app: 'db' } } } },
      'db',
      'default',
    );
    r.defaults?.(pdb);
    expect(r.validate?.(pdb)).toEqual([]);
    expect(r.row(pdb, now)).toEqual(['db', '2', 'N/A', 0, '60m']);
    (pdb.spec as Record<string, unknown>).maxUnavailable = '50%';
    expect(messages(r.validate?.(pdb) ?? [])).toEqual([
      'spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:&intstr.IntOrString{Type:0, IntVal:2, StrVal:""}, Selector:(*v1.LabelSelector)(0xc000000000), MaxUnavailable:&intstr.IntOrString{Type:1, IntVal:0, StrVal:"50%"}, UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}: minAvailable and maxUnavailable cannot be both set',
    ]);
  });

  it('events.k8s.io events: the core events columns', () => {
    const r = def('events', 'events.k8s.io');
    expect(r.columns.map((c) => `${c.name}${c.priority ? '*' : ''}`)).toEqual([
      'Last Seen',
      'Type',
      'Reason',
      'Object',
      'Subobject*',
      'Source*',
      'Message',
      'First Seen*',
      'Count*',
      'Name*',
    ]);
    const ev = obj(
      'events.k8s.io/v1',
      'Event',
      {
        eventTime: '2024-01-01T00:50:00.000000Z',
        series: { count: 3, lastObservedTime: '2024-01-01T00:59:00.000000Z' },
        reportingController: 'statefulset-controller',
        reportingInstance: 'ordinal',
        action: 'Create',
        reason: 'SuccessfulCreate',
        type: 'Normal',
        note: 'create Pod db-0 in StatefulSet db successful ',
        regarding: { kind: 'StatefulSet', name: 'db', namespace: 'go-demo-3' },
      },
      'db.17a',
      'go-demo-3',
    );
    expect(r.validate?.(ev)).toEqual([]);
    expect(r.row(ev, now)).toEqual([
      '60s',
      'Normal',
      'SuccessfulCreate',
      'statefulset/db',
      '',
      'statefulset-controller, ordinal',
      'create Pod db-0 in StatefulSet db successful',
      '10m',
      3,
      'db.17a',
    ]);
    expect(r.fieldLabels?.(ev)).toMatchObject({
      'regarding.name': 'db',
      reason: 'SuccessfulCreate',
      type: 'Normal',
    });
  });
});

describe('validation of other kinds', () => {
  it('rbac: verbs required, roleRef immutable', () => {
    const role = def('roles', 'rbac.authorization.k8s.io');
    const r = obj(
      'rbac.authorization.k8s.io/v1',
      'Role',
      { rules: [{ apiGroups: [''], resources: ['pods'] }] },
      'r',
      'ns',
    );
    expect(messages(role.validate?.(r) ?? [])).toEqual([
      'rules[0].verbs: Required value: verbs must contain at least one value',
    ]);
    const rbDef = def('rolebindings', 'rbac.authorization.k8s.io');
    const old = obj(
      'rbac.authorization.k8s.io/v1',
      'RoleBinding',
      { roleRef: { kind: 'Role', name: 'a' } },
      'b',
      'ns',
    );
    rbDef.defaults?.(old);
    const changed = structuredClone(old);
    (changed.roleRef as Record<string, unknown>).name = 'b';
    expect(messages(rbDef.validateUpdate?.(changed, old) ?? [])).toEqual([
      'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"b"}: cannot change roleRef',
    ]);
    const crb = def('clusterrolebindings', 'rbac.authorization.k8s.io');
    const bad = obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'a' },
      subjects: [{ kind: 'ServiceAccount', name: 'default' }],
    });
    expect(messages(crb.validate?.(bad) ?? [])).toEqual([
      'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
      'subjects[0].namespace: Required value',
    ]);
  });

  it('ingress: pathType is required in v1', () => {
    const r = def('ingresses', 'networking.k8s.io');
    const ing = obj(
      'networking.k8s.io/v1',
      'Ingress',
      {
        spec: {
          rules: [
            {
              host: 'db.local',
              http: { paths: [{ path: '/', backend: { service: { name: 'db', port: { number: 80 } } } }] },
            },
          ],
        },
      },
      'web',
      'default',
    );
    expect(messages(r.validate?.(ing) ?? [])).toEqual([
      'spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified',
    ]);
    const empty = obj('networking.k8s.io/v1', 'Ingress', { spec: {} }, 'web', 'default');
    expect(messages(r.validate?.(empty) ?? [])).toEqual([
      'spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified',
    ]);
  });

  it('storageclass: provisioner, parameters and reclaimPolicy are frozen', () => {
    const r = def('storageclasses', 'storage.k8s.io');
    const old = obj(
      'storage.k8s.io/v1',
      'StorageClass',
      { provisioner: 'a.io/x', parameters: { k: 'v' } },
      'nfs-reliable',
    );
    r.defaults?.(old);
    const changed = structuredClone(old);
    Object.assign(changed, {
      provisioner: 'b.io/x',
      parameters: {},
      reclaimPolicy: 'Retain',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    expect(messages(r.validateUpdate?.(changed, old) ?? [])).toEqual([
      'parameters: Forbidden: updates to parameters are forbidden.',
      'provisioner: Forbidden: updates to provisioner are forbidden.',
      'reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.',
      'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
    ]);
  });

  it('access reviews: exactly one of resource/nonResource attributes', () => {
    const r = def('selfsubjectaccessreviews', 'authorization.k8s.io');
    const review = obj('authorization.k8s.io/v1', 'SelfSubjectAccessReview', { spec: {} });
    expect(messages(r.validate?.(review) ?? [])).toEqual([
      'spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified',
    ]);
  });
});

describe('review kinds', () => {
  it('accept a nameless review (kubectl auth can-i / whoami send none)', () => {
    for (const r of groupResources.filter((d) => d.plural.endsWith('reviews'))) {
      const review: KObject = { apiVersion: `${r.group}/v1`, kind: r.kind, metadata: {}, spec: {} };
      const fields = (r.validate?.(review) ?? []).map((e) => e.field);
      expect(
        fields.filter((f) => f.startsWith('metadata')),
        r.plural,
      ).toEqual([]);
    }
  });
});
