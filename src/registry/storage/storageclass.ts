/**
 * storage.k8s.io/v1 StorageClass: reclaimPolicy Delete and volumeBindingMode
 * Immediate by default; provisioner, parameters and reclaimPolicy are frozen
 * after creation. The table marks the default class with " (default)".
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { ALL_VERBS, isNil, semanticEqual } from '../misc/util.js';
import { age, ageColumn, column, nameColumn } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  forbiddenField,
  invalidField,
  isQualifiedName,
  isRecord,
  notSupported,
  required,
  tooLong,
  validateImmutableField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
export const BETA_DEFAULT_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';

const RECLAIM_POLICIES = ['Delete', 'Retain'];
const BINDING_MODES = ['Immediate', 'WaitForFirstConsumer'];
const MAX_PARAMETERS = 512;
const MAX_PARAMETERS_SIZE = 256 * 1024;

/** Whether a StorageClass carries the (beta or GA) default-class annotation set to "true". */
export function isDefaultStorageClass(obj: KObject): boolean {
  const a = obj.metadata.annotations ?? {};
  return a[DEFAULT_CLASS_ANNOTATION] === 'true' || a[BETA_DEFAULT_CLASS_ANNOTATION] === 'true';
}

export function storageClassDefaults(obj: KObject): void {
  if (isNil(obj.reclaimPolicy)) obj.reclaimPolicy = 'Delete';
  if (isNil(obj.volumeBindingMode)) obj.volumeBindingMode = 'Immediate';
}

export function validateStorageClass(obj: KObject): FieldError[] {
  const errs = validateObjectMeta(obj.metadata, { namespaced: false });
  const provisioner = typeof obj.provisioner === 'string' ? obj.provisioner : '';
  if (provisioner === '') errs.push(required('provisioner'));
  else
    for (const it of eachInvalid('provisioner', provisioner, isQualifiedName(provisioner.toLowerCase())))
      errs.push(it);

  if (isRecord(obj.parameters)) {
    const entries = Object.entries(obj.parameters);
    if (entries.length > MAX_PARAMETERS) {
      errs.push(tooLong('parameters', 'Provisioner Parameters exceeded max allowed', MAX_PARAMETERS));
    } else {
      let size = 0;
      for (const [k, v] of entries) {
        if (k.length < 1) errs.push(invalidField('parameters', k, 'field can not be empty.'));
        size += k.length + (typeof v === 'string' ? v.length : 0);
      }
      if (size > MAX_PARAMETERS_SIZE) {
        errs.push(tooLong('parameters', '', MAX_PARAMETERS_SIZE));
      }
    }
  }

  const reclaim = obj.reclaimPolicy;
  if (typeof reclaim === 'string' && reclaim !== '' && !RECLAIM_POLICIES.includes(reclaim)) {
    errs.push(notSupported('reclaimPolicy', reclaim, RECLAIM_POLICIES));
  }
  const mode = obj.volumeBindingMode;
  if (isNil(mode)) errs.push(required('volumeBindingMode'));
  else if (!BINDING_MODES.includes(mode as string))
    errs.push(notSupported('volumeBindingMode', mode, BINDING_MODES));

  if (Array.isArray(obj.allowedTopologies)) {
    obj.allowedTopologies.forEach((term, i) => {
      const exprs =
        isRecord(term) && Array.isArray(term.matchLabelExpressions) ? term.matchLabelExpressions : [];
      if (exprs.length === 0) {
        errs.push(
          required(
            `allowedTopologies[${i}].matchLabelExpressions`,
            'must have at least one label selector requirement',
          ),
        );
      }
      exprs.forEach((e, j) => {
        const p = `allowedTopologies[${i}].matchLabelExpressions[${j}]`;
        const key = isRecord(e) && typeof e.key === 'string' ? e.key : '';
        for (const it of eachInvalid(`${p}.key`, key, isQualifiedName(key))) errs.push(it);
        const values = isRecord(e) && Array.isArray(e.values) ? e.values : [];
        if (values.length === 0) errs.push(required(`${p}.values`, 'must specify as least one value'));
      });
    });
  }
  return errs;
}

export function validateStorageClassUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = validateObjectMetaUpdate(obj.metadata, old.metadata);
  if (!semanticEqual(obj.parameters, old.parameters)) {
    errs.push(forbiddenField('parameters', 'updates to parameters are forbidden.'));
  }
  if ((obj.provisioner ?? '') !== (old.provisioner ?? '')) {
    errs.push(forbiddenField('provisioner', 'updates to provisioner are forbidden.'));
  }
  if ((obj.reclaimPolicy ?? '') !== (old.reclaimPolicy ?? '')) {
    errs.push(forbiddenField('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
  }
  for (const it of validateImmutableField(obj.volumeBindingMode, old.volumeBindingMode, 'volumeBindingMode'))
    errs.push(it);
  return errs;
}

export const storageClasses: ResourceDef = {
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  singular: 'storageclass',
  namespaced: false,
  shortNames: ['sc'],
  verbs: ALL_VERBS,
  defaults: storageClassDefaults,
  validate: validateStorageClass,
  validateUpdate: validateStorageClassUpdate,
  columns: [
    nameColumn,
    column('Provisioner', 'provisioner indicates the type of the provisioner.'),
    column(
      'ReclaimPolicy',
      'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.',
    ),
    column(
      'VolumeBindingMode',
      'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.',
    ),
    column(
      'AllowVolumeExpansion',
      'allowVolumeExpansion shows whether the storage class allow volume expand.',
    ),
    ageColumn,
  ],
  row(obj, now) {
    const name = `${obj.metadata.name ?? ''}${isDefaultStorageClass(obj) ? ' (default)' : ''}`;
    return [
      name,
      typeof obj.provisioner === 'string' ? obj.provisioner : '',
      typeof obj.reclaimPolicy === 'string' && obj.reclaimPolicy ? obj.reclaimPolicy : 'Delete',
      typeof obj.volumeBindingMode === 'string' && obj.volumeBindingMode
        ? obj.volumeBindingMode
        : 'Immediate',
      obj.allowVolumeExpansion === true,
      age(obj, now),
    ];
  },
};
