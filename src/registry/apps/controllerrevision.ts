/**
 * apps/v1 ControllerRevision: immutable snapshots written by the StatefulSet
 * (and DaemonSet) controllers. No defaults; `data` is required and immutable.
 */
import type { FieldError } from '../../api/errors.js';
import { type KObject, parseApiVersion } from '../../api/types.js';
import { ALL_VERBS, isNil, nonNegative, num, semanticEqual } from '../misc/util.js';
import { age, ageColumn, column, nameColumn } from '../printers.js';
import type { ResourceDef } from '../types.js';
import { invalidField, required, validateObjectMeta, validateObjectMetaUpdate } from '../validation.js';

export function validateControllerRevision(obj: KObject): FieldError[] {
  const errs = validateObjectMeta(obj.metadata, { namespaced: true });
  if (isNil(obj.data)) errs.push(required('data', 'data is mandatory'));
  for (const it of nonNegative(obj.revision, 'revision')) errs.push(it);
  return errs;
}

export function validateControllerRevisionUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...validateControllerRevision(obj)];
  if (!semanticEqual(obj.data, old.data))
    errs.push(invalidField('data', obj.data ?? null, 'field is immutable'));
  return errs;
}

/** "statefulset.apps/web" for the controller owner reference, as upstream's printer. */
export function controllerOf(obj: KObject): string {
  const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (!ref) return '<none>';
  const { group } = parseApiVersion(ref.apiVersion);
  const groupKind = group ? `${ref.kind}.${group}` : ref.kind;
  return `${groupKind.toLowerCase()}/${ref.name}`;
}

export const controllerRevisions: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  verbs: ALL_VERBS,
  validate: validateControllerRevision,
  validateUpdate: validateControllerRevisionUpdate,
  columns: [
    nameColumn,
    column('Controller', 'Controller of the object'),
    column('Revision', 'Revision indicates the revision of the state represented by Data.'),
    ageColumn,
  ],
  row(obj, now) {
    return [obj.metadata.name ?? '', controllerOf(obj), num(obj.revision), age(obj, now)];
  },
};
