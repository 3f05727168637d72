/** rbac.authorization.k8s.io/v1 ClusterRole: cluster-wide rules, optional aggregationRule. */

import { ALL_VERBS } from '../misc/util.js';
import type { ResourceDef } from '../types.js';
import {
  defaultTableColumns,
  defaultTableRow,
  RBAC_GROUP,
  validateRoleLike,
  validateRoleLikeUpdate,
} from './common.js';

export const clusterRoles: ResourceDef = {
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'ClusterRole',
  plural: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  verbs: ALL_VERBS,
  validate: (obj) => validateRoleLike(obj, false),
  validateUpdate: (obj, old) => validateRoleLikeUpdate(obj, old, false),
  columns: defaultTableColumns,
  row: defaultTableRow,
};
