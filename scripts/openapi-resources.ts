import type { ResourceDef } from '../src/registry/types.js';

/** What the OpenAPI generator needs to know about a served resource. */
export type OpenApiResource = Pick<
  ResourceDef,
  'group' | 'version' | 'kind' | 'plural' | 'namespaced' | 'verbs' | 'subresources'
>;

// Temporary stand-in for `resources` from src/registry/index.ts: this list is the only
// place that names the served resources for OpenAPI generation.

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const CREATE_ONLY = ['create'];

const status = (group: string, kind: string) => ({
  name: 'status',
  kind: { group, version: 'v1', kind },
  verbs: ['get', 'patch', 'update'],
});
const scale = {
  name: 'scale',
  kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  verbs: ['get', 'patch', 'update'],
};

function r(
  group: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<OpenApiResource> = {},
): OpenApiResource {
  return { group, version: 'v1', kind, plural, namespaced, verbs: ALL, ...extra };
}

export const openapiResources: OpenApiResource[] = [
  // core
  r('', 'Namespace', 'namespaces', false),
  r('', 'Pod', 'pods', true, {
    subresources: [
      status('', 'Pod'),
      { name: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] },
      { name: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] },
    ],
  }),
  r('', 'Service', 'services', true, { subresources: [status('', 'Service')] }),
  r('', 'Endpoints', 'endpoints', true),
  r('', 'ConfigMap', 'configmaps', true),
  r('', 'Secret', 'secrets', true),
  r('', 'ServiceAccount', 'serviceaccounts', true, {
    subresources: [
      {
        name: 'token',
        kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
        verbs: ['create'],
      },
    ],
  }),
  r('', 'Event', 'events', true),
  r('', 'Node', 'nodes', false, { subresources: [status('', 'Node')] }),
  r('', 'PersistentVolume', 'persistentvolumes', false, { subresources: [status('', 'PersistentVolume')] }),
  r('', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, {
    subresources: [status('', 'PersistentVolumeClaim')],
  }),
  // apps
  r('apps', 'StatefulSet', 'statefulsets', true, { subresources: [status('apps', 'StatefulSet'), scale] }),
  r('apps', 'Deployment', 'deployments', true, { subresources: [status('apps', 'Deployment'), scale] }),
  r('apps', 'ReplicaSet', 'replicasets', true, { subresources: [status('apps', 'ReplicaSet'), scale] }),
  r('apps', 'ControllerRevision', 'controllerrevisions', true),
  // storage, coordination, networking
  r('storage.k8s.io', 'StorageClass', 'storageclasses', false),
  r('coordination.k8s.io', 'Lease', 'leases', true),
  r('networking.k8s.io', 'Ingress', 'ingresses', true, {
    subresources: [status('networking.k8s.io', 'Ingress')],
  }),
  r('networking.k8s.io', 'IngressClass', 'ingressclasses', false),
  // rbac
  r('rbac.authorization.k8s.io', 'Role', 'roles', true),
  r('rbac.authorization.k8s.io', 'RoleBinding', 'rolebindings', true),
  r('rbac.authorization.k8s.io', 'ClusterRole', 'clusterroles', false),
  r('rbac.authorization.k8s.io', 'ClusterRoleBinding', 'clusterrolebindings', false),
  // authorization, authentication (create-only reviews)
  r('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, {
    verbs: CREATE_ONLY,
  }),
  r('authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, {
    verbs: CREATE_ONLY,
  }),
  r('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews', false, { verbs: CREATE_ONLY }),
  r('authentication.k8s.io', 'TokenReview', 'tokenreviews', false, { verbs: CREATE_ONLY }),
  // discovery, events, policy
  r('discovery.k8s.io', 'EndpointSlice', 'endpointslices', true),
  r('events.k8s.io', 'Event', 'events', true),
  r('policy', 'PodDisruptionBudget', 'poddisruptionbudgets', true, {
    subresources: [status('policy', 'PodDisruptionBudget')],
  }),
];
