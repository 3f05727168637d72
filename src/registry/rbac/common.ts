/**
 * rbac.authorization.k8s.io/v1 validation and printing shared by Role,
 * ClusterRole, RoleBinding and ClusterRoleBinding (pkg/apis/rbac/validation).
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { goString, invalidRepr, isValidPathSegmentName, rfc3339 } from '../misc/util.js';
import { age, ageColumn, CREATION_TIMESTAMP_DESCRIPTION, column, get, nameColumn, str } from '../printers.js';
import type { TableColumn } from '../types.js';
import {
  eachInvalid,
  invalidField,
  isDNS1123Subdomain,
  isRecord,
  notSupported,
  required,
  validateLabelSelector,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Upstream's ValidatePolicyRule. */
export function validatePolicyRule(rule: unknown, namespaced: boolean, path: string): FieldError[] {
  const r = isRecord(rule) ? rule : {};
  const errs: FieldError[] = [];
  if (strings(r.verbs).length === 0)
    errs.push(required(`${path}.verbs`, 'verbs must contain at least one value'));
  const urls = strings(r.nonResourceURLs);
  if (urls.length > 0) {
    if (namespaced) {
      errs.push(
        invalidField(`${path}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'),
      );
    }
    if (
      strings(r.apiGroups).length > 0 ||
      strings(r.resources).length > 0 ||
      strings(r.resourceNames).length > 0
    ) {
      errs.push(
        invalidField(
          `${path}.nonResourceURLs`,
          urls,
          'rules cannot apply to both regular resources and non-resource URLs',
        ),
      );
    }
    return errs;
  }
  if (strings(r.apiGroups).length === 0) {
    errs.push(required(`${path}.apiGroups`, 'resource rules must supply at least one api group'));
  }
  if (strings(r.resources).length === 0) {
    errs.push(required(`${path}.resources`, 'resource rules must supply at least one resource'));
  }
  return errs;
}

/** Role and ClusterRole (ValidateRole / ValidateClusterRole). */
export function validateRoleLike(obj: KObject, namespaced: boolean): FieldError[] {
  const errs = validateObjectMeta(obj.metadata, { namespaced, nameFn: isValidPathSegmentName });
  (Array.isArray(obj.rules) ? obj.rules : []).forEach((rule, i) => {
    for (const it of validatePolicyRule(rule, namespaced, `rules[${i}]`)) errs.push(it);
  });
  if (!namespaced && isRecord(obj.aggregationRule)) {
    const selectors = Array.isArray(obj.aggregationRule.clusterRoleSelectors)
      ? obj.aggregationRule.clusterRoleSelectors
      : [];
    if (selectors.length === 0) {
      errs.push(
        required(
          'aggregationRule.clusterRoleSelectors',
          'at least one clusterRoleSelector required if aggregationRule is non-nil',
        ),
      );
    }
    selectors.forEach((sel, i) => {
      errs.push(
        ...validateLabelSelector(
          isRecord(sel) ? sel : undefined,
          `aggregationRule.clusterRoleSelectors[${i}]`,
        ),
      );
    });
  }
  return errs;
}

export function validateRoleLikeUpdate(obj: KObject, old: KObject, namespaced: boolean): FieldError[] {
  return [...validateRoleLike(obj, namespaced), ...validateObjectMetaUpdate(obj.metadata, old.metadata)];
}

/** SetDefaults for bindings: roleRef.apiGroup and User/Group subjects' apiGroup default to the RBAC group. */
export function bindingDefaults(obj: KObject): void {
  if (isRecord(obj.roleRef) && !obj.roleRef.apiGroup) obj.roleRef.apiGroup = RBAC_GROUP;
  for (const s of Array.isArray(obj.subjects) ? obj.subjects : []) {
    if (!isRecord(s) || s.apiGroup) continue;
    if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  }
}

/** Upstream's ValidateRoleBindingSubject. */
export function validateSubject(subject: unknown, namespaced: boolean, path: string): FieldError[] {
  const s = isRecord(subject) ? subject : {};
  const errs: FieldError[] = [];
  const name = str(s.name);
  const apiGroup = str(s.apiGroup);
  if (name === '') errs.push(required(`${path}.name`));
  switch (s.kind) {
    case 'ServiceAccount':
      if (name !== '')
        for (const it of eachInvalid(`${path}.name`, name, isDNS1123Subdomain(name))) errs.push(it);
      if (apiGroup !== '') errs.push(notSupported(`${path}.apiGroup`, apiGroup, ['']));
      if (!namespaced && str(s.namespace) === '') errs.push(required(`${path}.namespace`));
      break;
    case 'User':
    case 'Group':
      if (apiGroup !== RBAC_GROUP) errs.push(notSupported(`${path}.apiGroup`, apiGroup, [RBAC_GROUP]));
      break;
    default:
      errs.push(notSupported(`${path}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

/** RoleBinding (roleRef kinds Role/ClusterRole) and ClusterRoleBinding (ClusterRole only). */
export function validateBindingLike(obj: KObject, namespaced: boolean): FieldError[] {
  const errs = validateObjectMeta(obj.metadata, { namespaced, nameFn: isValidPathSegmentName });
  const ref = isRecord(obj.roleRef) ? obj.roleRef : {};
  const apiGroup = str(ref.apiGroup);
  if (apiGroup !== RBAC_GROUP) errs.push(notSupported('roleRef.apiGroup', apiGroup, [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  const kind = str(ref.kind);
  if (!kinds.includes(kind)) errs.push(notSupported('roleRef.kind', kind, kinds));
  const name = str(ref.name);
  if (name === '') errs.push(required('roleRef.name'));
  else for (const it of eachInvalid('roleRef.name', name, isValidPathSegmentName(name))) errs.push(it);
  (Array.isArray(obj.subjects) ? obj.subjects : []).forEach((s, i) => {
    for (const it of validateSubject(s, namespaced, `subjects[${i}]`)) errs.push(it);
  });
  return errs;
}

function goRoleRef(ref: unknown): string {
  return `rbac.RoleRef{APIGroup:${goString(get(ref, 'apiGroup'))}, Kind:${goString(get(ref, 'kind'))}, Name:${goString(get(ref, 'name'))}}`;
}

export function validateBindingLikeUpdate(obj: KObject, old: KObject, namespaced: boolean): FieldError[] {
  const errs = [
    ...validateBindingLike(obj, namespaced),
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
  ];
  const same = ['apiGroup', 'kind', 'name'].every(
    (k) => str(get(obj.roleRef, k)) === str(get(old.roleRef, k)),
  );
  if (!same)
    errs.push(invalidRepr('roleRef', obj.roleRef ?? null, goRoleRef(obj.roleRef), 'cannot change roleRef'));
  return errs;
}

/** The columns upstream's default table convertor uses (Roles and ClusterRoles have no printer). */
export const defaultTableColumns: TableColumn[] = [
  nameColumn,
  column('Created At', CREATION_TIMESTAMP_DESCRIPTION, { type: 'date' }),
];

export function defaultTableRow(obj: KObject): unknown[] {
  return [obj.metadata.name ?? '', rfc3339(obj.metadata.creationTimestamp)];
}

/** rbac.SubjectsStrings: users, groups, "namespace/name" service accounts. */
export function subjectsStrings(obj: KObject): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of Array.isArray(obj.subjects) ? obj.subjects : []) {
    const kind = str(get(s, 'kind'));
    const name = str(get(s, 'name'));
    if (kind === 'ServiceAccount') sas.push(`${str(get(s, 'namespace'))}/${name}`);
    else if (kind === 'User') users.push(name);
    else if (kind === 'Group') groups.push(name);
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}

export function bindingColumns(kindWord: string, roleRefDescription: string): TableColumn[] {
  return [
    nameColumn,
    column('Role', roleRefDescription),
    ageColumn,
    column('Users', `Users in the ${kindWord}`, { priority: 1 }),
    column('Groups', `Groups in the ${kindWord}`, { priority: 1 }),
    column('ServiceAccounts', `ServiceAccounts in the ${kindWord}`, { priority: 1 }),
  ];
}

export function bindingRow(obj: KObject, now: Date): unknown[] {
  const roleRef = `${str(get(obj.roleRef, 'kind'))}/${str(get(obj.roleRef, 'name'))}`;
  return [obj.metadata.name ?? '', roleRef, age(obj, now), ...subjectsStrings(obj)];
}
