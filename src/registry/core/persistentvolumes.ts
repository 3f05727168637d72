import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
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
  required,
  validateImmutableField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import {
  addFinalizer,
  isCreate,
  PV_PROTECTION_FINALIZER,
  storageClassOf,
  VOLUME_MODES,
  validateAccessModes,
  validateClassName,
  validatePositiveQuantity,
} from './storage-common.js';

type Json = Record<string, unknown>;

const RECLAIM_POLICIES = ['Delete', 'Recycle', 'Retain'];
const PV_PHASES = ['Available', 'Bound', 'Failed', 'Pending', 'Released'];
/** The members of PersistentVolumeSource, in upstream's validation order. */
export const PV_SOURCES = [
  'hostPath',
  'glusterfs',
  'nfs',
  'rbd',
  'quobyte',
  'cephfs',
  'iscsi',
  'cinder',
  'fc',
  'flocker',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'photonPersistentDisk',
  'portworxVolume',
  'azureDisk',
  'scaleIO',
  'local',
  'storageos',
  'csi',
  'gcePersistentDisk',
  'awsElasticBlockStore',
];

function defaults(obj: KObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec = obj.spec as Json;
  if (!spec.persistentVolumeReclaimPolicy) spec.persistentVolumeReclaimPolicy = 'Retain';
  if (spec.volumeMode === undefined || spec.volumeMode === null) spec.volumeMode = 'Filesystem';
  if (isRecord(spec.hostPath) && spec.hostPath.type === undefined) spec.hostPath.type = '';
  const creating = isCreate(obj);
  // StorageObjectInUseProtection admission: a Bound volume is not removed under its claim.
  if (creating) addFinalizer(obj, PV_PROTECTION_FINALIZER);
  if (!isRecord(obj.status)) obj.status = {};
  const status = obj.status as Json;
  if (!status.phase) status.phase = 'Pending';
  // The strategy's PrepareForCreate stamps the first phase (PersistentVolumeLastPhaseTransitionTime).
  if (creating && !status.lastPhaseTransitionTime && obj.metadata.creationTimestamp) {
    status.lastPhaseTransitionTime = obj.metadata.creationTimestamp;
  }
}

function validateSpec(obj: KObject): FieldError[] {
  const spec = rec(obj.spec);
  const errs: FieldError[] = [];
  const modes = Array.isArray(spec.accessModes) ? spec.accessModes : [];
  if (modes.length === 0) errs.push(required('spec.accessModes'));
  for (const it of validateAccessModes(modes, 'spec.accessModes')) errs.push(it);
  const capacity = rec(spec.capacity);
  if (Object.keys(capacity).length === 0) errs.push(required('spec.capacity'));
  if (capacity.storage === undefined || Object.keys(capacity).length > 1) {
    errs.push(notSupported('spec.capacity', capacity, ['storage']));
  }
  for (const [k, q] of Object.entries(capacity))
    for (const it of validatePositiveQuantity(q, `spec.capacity[${k}]`)) errs.push(it);
  const policy = spec.persistentVolumeReclaimPolicy;
  if (policy && !RECLAIM_POLICIES.includes(policy as string)) {
    errs.push(notSupported('spec.persistentVolumeReclaimPolicy', policy, RECLAIM_POLICIES));
  }
  const sources = PV_SOURCES.filter((s) => spec[s] !== undefined && spec[s] !== null);
  if (sources.length === 0) errs.push(required('spec', 'must specify a volume type'));
  for (const extra of sources.slice(1))
    errs.push(forbiddenField(`spec.${extra}`, 'may not specify more than 1 volume type'));
  if (isRecord(spec.hostPath)) {
    if (!str(spec.hostPath.path)) errs.push(required('spec.hostPath.path'));
    if (policy === 'Recycle' && str(spec.hostPath.path).replace(/\/+$/, '') === '') {
      errs.push(
        forbiddenField(
          'spec.persistentVolumeReclaimPolicy',
          "may not be 'recycle' for a hostPath mount of '/'",
        ),
      );
    }
  }
  if (isRecord(spec.local)) {
    if (!str(spec.local.path)) errs.push(required('spec.local.path'));
    if (!isRecord(get(spec, 'nodeAffinity', 'required'))) {
      errs.push(required('metadata.annotations', 'Local volume requires node affinity'));
    }
  }
  if (isRecord(spec.nfs)) {
    if (!str(spec.nfs.server)) errs.push(required('spec.nfs.server'));
    if (!str(spec.nfs.path)) errs.push(required('spec.nfs.path'));
  }
  if (isRecord(spec.csi)) {
    if (!str(spec.csi.driver)) errs.push(required('spec.csi.driver'));
    if (!str(spec.csi.volumeHandle)) errs.push(required('spec.csi.volumeHandle'));
  }
  for (const it of validateClassName(spec.storageClassName, 'spec.storageClassName')) errs.push(it);
  if (
    spec.volumeMode !== undefined &&
    spec.volumeMode !== null &&
    !VOLUME_MODES.includes(spec.volumeMode as string)
  ) {
    errs.push(notSupported('spec.volumeMode', spec.volumeMode, VOLUME_MODES));
  }
  const phase = rec(obj.status).phase;
  if (phase !== undefined && !PV_PHASES.includes(phase as string))
    errs.push(notSupported('status.phase', phase, PV_PHASES));
  return errs;
}

function validateUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...validateSpec(obj)];
  const spec = rec(obj.spec);
  const oldSpec = rec(old.spec);
  if (PV_SOURCES.some((s) => !jsonEqual(spec[s], oldSpec[s]))) {
    errs.push(
      forbiddenField(
        'spec.persistentvolumesource',
        'spec.persistentvolumesource is immutable after creation',
      ),
    );
  }
  for (const it of validateImmutableField(spec.volumeMode, oldSpec.volumeMode, 'volumeMode')) errs.push(it);
  if (oldSpec.nodeAffinity !== undefined && oldSpec.nodeAffinity !== null) {
    for (const it of validateImmutableField(spec.nodeAffinity, oldSpec.nodeAffinity, 'nodeAffinity'))
      errs.push(it);
  }
  return errs;
}

function row(obj: KObject, now: Date): unknown[] {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const claimRef = rec(spec.claimRef);
  const claim = isRecord(spec.claimRef) ? `${str(claimRef.namespace)}/${str(claimRef.name)}` : '';
  return [
    obj.metadata.name ?? '',
    quantityString(get(spec, 'capacity', 'storage')),
    accessModesString(spec.accessModes),
    str(spec.persistentVolumeReclaimPolicy),
    obj.metadata.deletionTimestamp ? 'Terminating' : str(status.phase),
    claim,
    storageClassOf(obj.metadata.annotations, spec.storageClassName),
    str(spec.volumeAttributesClassName) || '<unset>',
    str(status.reason),
    age(obj, now),
    str(spec.volumeMode) || '<unset>',
  ];
}

export const persistentvolumes: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [
    {
      name: 'status',
      kind: { group: '', version: 'v1', kind: 'PersistentVolume' },
      verbs: ['get', 'patch', 'update'],
    },
  ],
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  validate: (obj) => [...validateObjectMeta(obj.metadata, { namespaced: false }), ...validateSpec(obj)],
  validateUpdate,
  columns: [
    nameColumn,
    column(
      'Capacity',
      "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity",
    ),
    column(
      'Access Modes',
      'accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes',
    ),
    column(
      'Reclaim Policy',
      'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming',
    ),
    column(
      'Status',
      'phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase',
    ),
    column(
      'Claim',
      'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding',
    ),
    column('StorageClass', 'StorageClass of the pv'),
    column('VolumeAttributesClass', 'VolumeAttributesClass of the pv'),
    column(
      'Reason',
      'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.',
    ),
    ageColumn,
    column(
      'VolumeMode',
      'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.',
      { priority: 1 },
    ),
  ],
  row,
};
