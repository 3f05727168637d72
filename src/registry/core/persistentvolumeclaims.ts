import type { FieldError } from '../../api/errors.js';
import type { KObject, LabelSelector } from '../../api/types.js';
import {
  accessModesString,
  age,
  ageColumn,
  column,
  get,
  nameColumn,
  quantityString,
  rec,
  str,
} from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  forbiddenField,
  isRecord,
  jsonEqual,
  notSupported,
  parseQuantity,
  required,
  validateLabelSelector,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import {
  addFinalizer,
  isCreate,
  PVC_PROTECTION_FINALIZER,
  storageClassOf,
  VOLUME_MODES,
  validateAccessModes,
  validateClassName,
  validatePositiveQuantity,
} from './storage-common.js';

type Json = Record<string, unknown>;

/** Upstream's SetDefaults_PersistentVolumeClaimSpec (volumeMode Filesystem); exported for volumeClaimTemplates. */
export function defaultPVCSpec(spec: Json): void {
  if (spec.volumeMode === undefined || spec.volumeMode === null) spec.volumeMode = 'Filesystem';
}

function defaults(obj: KObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  defaultPVCSpec(obj.spec as Json);
  // StorageObjectInUseProtection admission: every new claim is protected while pods use it.
  if (isCreate(obj)) addFinalizer(obj, PVC_PROTECTION_FINALIZER);
  if (!isRecord(obj.status)) obj.status = {};
  const status = obj.status as Json;
  if (!status.phase) status.phase = 'Pending';
}

/** Upstream's ValidatePersistentVolumeClaimSpec; exported for StatefulSet volumeClaimTemplates. */
export function validatePVCSpec(spec: unknown, path: string): FieldError[] {
  const s = rec(spec);
  const errs: FieldError[] = [];
  const modes = Array.isArray(s.accessModes) ? s.accessModes : [];
  if (modes.length === 0) errs.push(required(`${path}.accessModes`, 'at least 1 access mode is required'));
  if (isRecord(s.selector))
    for (const it of validateLabelSelector(s.selector as LabelSelector, `${path}.selector`)) errs.push(it);
  for (const it of validateAccessModes(modes, `${path}.accessModes`)) errs.push(it);
  const storage = get(s, 'resources', 'requests', 'storage');
  if (storage === undefined) errs.push(required(`${path}.resources[storage]`));
  else for (const it of validatePositiveQuantity(storage, `${path}.resources[storage]`)) errs.push(it);
  for (const it of validateClassName(s.storageClassName, `${path}.storageClassName`)) errs.push(it);
  if (s.volumeMode !== undefined && s.volumeMode !== null && !VOLUME_MODES.includes(s.volumeMode as string)) {
    errs.push(notSupported(`${path}.volumeMode`, s.volumeMode, VOLUME_MODES));
  }
  return errs;
}

function validateStatus(obj: KObject): FieldError[] {
  const phase = rec(obj.status).phase;
  const phases = ['Bound', 'Lost', 'Pending'];
  return phase !== undefined && !phases.includes(phase as string)
    ? [notSupported('status.phase', phase, phases)]
    : [];
}

function validateUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validatePVCSpec(obj.spec, 'spec'),
  ];
  const spec = rec(obj.spec);
  const oldSpec = rec(old.spec);
  const oldClone: Json = structuredClone(oldSpec);
  const newClone: Json = structuredClone(spec);
  // volumeName may be set once (by the binder); storageClassName may be set once when it was unset.
  if (!oldSpec.volumeName) oldClone.volumeName = newClone.volumeName;
  if (oldSpec.storageClassName === undefined || oldSpec.storageClassName === null) {
    oldClone.storageClassName = newClone.storageClassName;
  }
  oldClone.volumeAttributesClassName = newClone.volumeAttributesClassName;
  const bound = get(obj.status, 'phase') === 'Bound';
  if (bound && isRecord(get(newClone, 'resources', 'requests'))) {
    const reqs = get(newClone, 'resources', 'requests') as Json;
    const oldStorage = get(oldSpec, 'resources', 'requests', 'storage');
    if (oldStorage === undefined) delete reqs.storage;
    else reqs.storage = oldStorage;
  }
  if (!jsonEqual(newClone, oldClone)) {
    errs.push(
      forbiddenField(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  }
  const newSize = parseQuantity(get(spec, 'resources', 'requests', 'storage'));
  const oldSize = parseQuantity(get(oldSpec, 'resources', 'requests', 'storage'));
  if (newSize !== null && oldSize !== null && newSize < oldSize) {
    const statusSize = parseQuantity(get(old.status, 'capacity', 'storage'));
    if (statusSize === null || newSize <= statusSize) {
      errs.push(
        forbiddenField('spec.resources.requests.storage', 'field can not be less than status.capacity'),
      );
    }
  }
  for (const it of validateStatus(obj)) errs.push(it);
  return errs;
}

function row(obj: KObject, now: Date): unknown[] {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const phase = obj.metadata.deletionTimestamp ? 'Terminating' : str(status.phase);
  const volumeName = str(spec.volumeName);
  let capacity = '';
  let modes = '';
  if (volumeName !== '') {
    capacity = quantityString(get(status, 'capacity', 'storage'));
    modes = accessModesString(status.accessModes);
  }
  return [
    obj.metadata.name ?? '',
    phase,
    volumeName,
    capacity,
    modes,
    storageClassOf(obj.metadata.annotations, spec.storageClassName),
    str(spec.volumeAttributesClassName) || '<unset>',
    age(obj, now),
    str(spec.volumeMode) || '<unset>',
  ];
}

export const persistentvolumeclaims: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [
    {
      name: 'status',
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      verbs: ['get', 'patch', 'update'],
    },
  ],
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  validate: (obj) => [
    ...validateObjectMeta(obj.metadata, { namespaced: true }),
    ...validatePVCSpec(obj.spec, 'spec'),
    ...validateStatus(obj),
  ],
  validateUpdate,
  columns: [
    nameColumn,
    column('Status', 'phase represents the current phase of PersistentVolumeClaim.'),
    column('Volume', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    column('Capacity', 'capacity represents the actual resources of the underlying volume.'),
    column(
      'Access Modes',
      'accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1',
    ),
    column('StorageClass', 'StorageClass of the pvc'),
    column('VolumeAttributesClass', 'VolumeAttributesClass of the pvc'),
    ageColumn,
    column(
      'VolumeMode',
      'volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.',
      { priority: 1 },
    ),
  ],
  row,
};
