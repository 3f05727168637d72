/** rbac.authorization.k8s.io/v1 ClusterRoleBinding: roleRef must be a ClusterRole and is immutable. */

import { ALL_VERBS } from '../misc/util.js';
import type { ResourceDef } from '../types.js';
import {
  bindingColumns,
  bindingDefaults,
  bindingRow,
  RBAC_GROUP,
  validateBindingLike,
  validateBindingLikeUpdate,
} from './common.js';

export const clusterRoleBindings: ResourceDef = {
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'ClusterRoleBinding',
  plural: 'clusterrolebindings',
  singular: 'clusterrolebinding',
  namespaced: false,
  verbs: ALL_VERBS,
  defaults: bindingDefaults,
  validate: (obj) => validateBindingLike(obj, false),
  validateUpdate: (obj, old) => validateBindingLikeUpdate(obj, old, false),
  columns: bindingColumns(
    'clusterRoleBinding',
    'RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.',
  ),
  row: bindingRow,
};
