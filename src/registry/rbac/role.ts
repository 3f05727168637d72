/** rbac.authorization.k8s.io/v1 Role: namespaced rules; printed with the default NAME / CREATED AT table. */

import { ALL_VERBS } from '../misc/util.js';
import type { ResourceDef } from '../types.js';
import {
  defaultTableColumns,
  defaultTableRow,
  RBAC_GROUP,
  validateRoleLike,
  validateRoleLikeUpdate,
} from './common.js';

export const roles: ResourceDef = {
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'Role',
  plural: 'roles',
  singular: 'role',
  namespaced: true,
  verbs: ALL_VERBS,
  validate: (obj) => validateRoleLike(obj, true),
  validateUpdate: (obj, old) => validateRoleLikeUpdate(obj, old, true),
  columns: defaultTableColumns,
  row: defaultTableRow,
};
