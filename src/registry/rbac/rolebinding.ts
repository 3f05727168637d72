/** rbac.authorization.k8s.io/v1 RoleBinding: roleRef (Role or ClusterRole) is immutable. */

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

export const roleBindings: ResourceDef = {
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'RoleBinding',
  plural: 'rolebindings',
  singular: 'rolebinding',
  namespaced: true,
  verbs: ALL_VERBS,
  defaults: bindingDefaults,
  validate: (obj) => validateBindingLike(obj, true),
  validateUpdate: (obj, old) => validateBindingLikeUpdate(obj, old, true),
  columns: bindingColumns(
    'roleBinding',
    'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.',
  ),
  row: bindingRow,
};
