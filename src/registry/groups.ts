/**
 * Registry entries for every kind outside the core ("") group: apps, storage,
 * coordination, networking, rbac, discovery, events, policy, authorization and
 * authentication.
 */
import { controllerRevisions } from './apps/controllerrevision.js';
import { deployments } from './apps/deployment.js';
import { replicaSets } from './apps/replicaset.js';
import { statefulSets } from './apps/statefulset.js';
import { endpointSlices } from './misc/endpointslice.js';
import { events } from './misc/event.js';
import { leases } from './misc/lease.js';
import { podDisruptionBudgets } from './misc/poddisruptionbudget.js';
import { selfSubjectAccessReviews } from './misc/selfsubjectaccessreview.js';
import { selfSubjectReviews } from './misc/selfsubjectreview.js';
import { selfSubjectRulesReviews } from './misc/selfsubjectrulesreview.js';
import { subjectAccessReviews } from './misc/subjectaccessreview.js';
import { tokenReviews } from './misc/tokenreview.js';
import { ingresses } from './networking/ingress.js';
import { ingressClasses } from './networking/ingressclass.js';
import { clusterRoles } from './rbac/clusterrole.js';
import { clusterRoleBindings } from './rbac/clusterrolebinding.js';
import { roles } from './rbac/role.js';
import { roleBindings } from './rbac/rolebinding.js';
import { storageClasses } from './storage/storageclass.js';
import type { ResourceDef } from './types.js';

export const groupResources: ResourceDef[] = [
  // apps/v1
  statefulSets,
  deployments,
  replicaSets,
  controllerRevisions,
  // storage.k8s.io/v1
  storageClasses,
  // coordination.k8s.io/v1
  leases,
  // networking.k8s.io/v1
  ingresses,
  ingressClasses,
  // rbac.authorization.k8s.io/v1
  roles,
  roleBindings,
  clusterRoles,
  clusterRoleBindings,
  // discovery.k8s.io/v1
  endpointSlices,
  // events.k8s.io/v1
  events,
  // policy/v1
  podDisruptionBudgets,
  // authorization.k8s.io/v1
  selfSubjectAccessReviews,
  selfSubjectRulesReviews,
  subjectAccessReviews,
  // authentication.k8s.io/v1
  tokenReviews,
  selfSubjectReviews,
];

export { deploymentDefaults } from './apps/deployment.js';
export { replicaSetDefaults } from './apps/replicaset.js';
export {
  statefulSetDefaults,
  statefulSetFeatures,
  validateStatefulSet,
  validateStatefulSetUpdate,
} from './apps/statefulset.js';
