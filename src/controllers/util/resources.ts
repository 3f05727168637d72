/** ResourceRefs the built-in controllers and the node agent use. */
import type { ResourceRef } from '../../client/interface.js';

export const PODS: ResourceRef = { group: '', version: 'v1', resource: 'pods' };
export const NODES: ResourceRef = { group: '', version: 'v1', resource: 'nodes' };
export const SERVICES: ResourceRef = { group: '', version: 'v1', resource: 'services' };
export const ENDPOINTS: ResourceRef = { group: '', version: 'v1', resource: 'endpoints' };
export const PVCS: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumeclaims' };
export const PVS: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumes' };
export const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
export const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
export const STATEFULSETS: ResourceRef = { group: 'apps', version: 'v1', resource: 'statefulsets' };
export const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments' };
export const REPLICASETS: ResourceRef = { group: 'apps', version: 'v1', resource: 'replicasets' };
export const CONTROLLERREVISIONS: ResourceRef = {
  group: 'apps',
  version: 'v1',
  resource: 'controllerrevisions',
};
export const ENDPOINTSLICES: ResourceRef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  resource: 'endpointslices',
};
export const LEASES: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
export const STORAGECLASSES: ResourceRef = {
  group: 'storage.k8s.io',
  version: 'v1',
  resource: 'storageclasses',
};
