/**
 * apps/v1 StatefulSet: upstream defaults (pkg/apis/apps/v1/defaults.go as of
 * 1.33), validation (pkg/apis/apps/validation) with upstream messages, and the
 * `kubectl get statefulsets` table.
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import {
  ALL_VERBS,
  ensureRecord,
  goIntOrString,
  goPointer,
  goString,
  intOrPercentValue,
  invalidRepr,
  isNil,
  nonNegative,
  notMoreThan100Percent,
  num,
  scaleSubresource,
  semanticEqual,
  statusSubresource,
  validatePositiveIntOrPercent,
} from '../misc/util.js';
import { age, ageColumn, column, get, nameColumn } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  defaultPodTemplateSpec,
  eachInvalid,
  forbiddenField,
  isDNS1123Label,
  isRecord,
  notSupported,
  required,
  validateAnnotations,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import { selectorTemplateMismatch, templateCells, validateSpecSelector } from './workload.js';

/**
 * Feature gates that change the StatefulSet API surface. MaxUnavailableStatefulSet
 * is on, as in 1.35 where it is beta: `rollingUpdate.maxUnavailable` is kept and
 * defaulted to 1 (1.33, where it is alpha and off, drops it on write).
 */
export const statefulSetFeatures = { maxUnavailable: true };

export const UPDATE_FORBIDDEN_MESSAGE =
  "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/** Spec fields that may change on update (everything else is immutable). */
const MUTABLE_SPEC_FIELDS = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

const RETENTION_POLICIES = ['Retain', 'Delete'];

/** SetDefaults_StatefulSet plus the generated defaulters for the pod and claim templates. */
export function statefulSetDefaults(obj: KObject): void {
  const spec = ensureRecord(obj, 'spec');
  if (!spec.podManagementPolicy) spec.podManagementPolicy = 'OrderedReady';

  const strategy = ensureRecord(spec, 'updateStrategy');
  if (!strategy.type) {
    strategy.type = 'RollingUpdate';
    if (!isRecord(strategy.rollingUpdate)) strategy.rollingUpdate = {};
  }
  const ru = strategy.rollingUpdate;
  if (isRecord(ru)) {
    if (!statefulSetFeatures.maxUnavailable) delete ru.maxUnavailable;
    if (strategy.type === 'RollingUpdate') {
      if (isNil(ru.partition)) ru.partition = 0;
      if (statefulSetFeatures.maxUnavailable && isNil(ru.maxUnavailable)) ru.maxUnavailable = 1;
    }
  }

  const retention = ensureRecord(spec, 'persistentVolumeClaimRetentionPolicy');
  if (!retention.whenDeleted) retention.whenDeleted = 'Retain';
  if (!retention.whenScaled) retention.whenScaled = 'Retain';

  if (isNil(spec.replicas)) spec.replicas = 1;
  if (isNil(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;

  if (isRecord(spec.template)) {
    ensureRecord(spec.template, 'spec');
    defaultPodTemplateSpec(spec.template);
  }

  if (Array.isArray(spec.volumeClaimTemplates)) {
    for (const claim of spec.volumeClaimTemplates) {
      if (!isRecord(claim)) continue;
      // The API server returns claim templates as full PersistentVolumeClaims.
      if (!claim.apiVersion) claim.apiVersion = 'v1';
      if (!claim.kind) claim.kind = 'PersistentVolumeClaim';
      const claimSpec = ensureRecord(claim, 'spec');
      if (!claimSpec.volumeMode) claimSpec.volumeMode = 'Filesystem';
      const claimStatus = ensureRecord(claim, 'status');
      if (!claimStatus.phase) claimStatus.phase = 'Pending';
    }
  }

  // Non-omitempty status fields, as a freshly created StatefulSet shows them.
  const status = ensureRecord(obj, 'status');
  if (isNil(status.replicas)) status.replicas = 0;
  if (isNil(status.availableReplicas)) status.availableReplicas = 0;
}

function goRollingUpdate(ru: unknown): string {
  const r = isRecord(ru) ? ru : {};
  const mu = isNil(r.maxUnavailable)
    ? '(*intstr.IntOrString)(nil)'
    : goPointer('intstr.IntOrString', r.maxUnavailable);
  return `apps.RollingUpdateStatefulSetStrategy{Partition:${num(r.partition)}, MaxUnavailable:${mu}}`;
}

function validateUpdateStrategy(spec: Record<string, unknown>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : {};
  const type = strategy.type ?? '';
  const ru = strategy.rollingUpdate;
  switch (type) {
    case '':
      errs.push(required(path));
      break;
    case 'OnDelete':
      if (!isNil(ru)) {
        errs.push(
          invalidRepr(
            `${path}.rollingUpdate`,
            ru,
            goRollingUpdate(ru),
            "only allowed for updateStrategy 'RollingUpdate'",
          ),
        );
      }
      break;
    case 'RollingUpdate':
      if (isRecord(ru)) {
        const p = `${path}.rollingUpdate`;
        for (const it of nonNegative(ru.partition, `${p}.partition`)) errs.push(it);
        if (!isNil(ru.maxUnavailable)) {
          const mu = ru.maxUnavailable;
          for (const it of validatePositiveIntOrPercent(mu, `${p}.maxUnavailable`)) errs.push(it);
          if (intOrPercentValue(mu) === 0) {
            errs.push(invalidRepr(`${p}.maxUnavailable`, mu, goIntOrString(mu), 'cannot be 0'));
          }
          for (const it of notMoreThan100Percent(mu, `${p}.maxUnavailable`)) errs.push(it);
        }
      }
      break;
    default:
      errs.push(
        invalidRepr(
          path,
          strategy,
          `apps.StatefulSetUpdateStrategy{Type:${goString(type)}, RollingUpdate:${goPointer('apps.RollingUpdateStatefulSetStrategy', ru)}}`,
          "must be 'RollingUpdate' or 'OnDelete'",
        ),
      );
  }
  return errs;
}

/** Upstream's ValidateStatefulSetSpec. */
export function validateStatefulSetSpec(specIn: unknown, path = 'spec'): FieldError[] {
  const spec = isRecord(specIn) ? specIn : {};
  const errs: FieldError[] = [];

  const pmp = spec.podManagementPolicy ?? '';
  if (pmp === '') errs.push(required(`${path}.podManagementPolicy`));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') {
    errs.push(
      invalidRepr(`${path}.podManagementPolicy`, pmp, goString(pmp), "must be 'OrderedReady' or 'Parallel'"),
    );
  }

  for (const it of validateUpdateStrategy(spec, `${path}.updateStrategy`)) errs.push(it);

  const retention = spec.persistentVolumeClaimRetentionPolicy;
  if (isRecord(retention)) {
    for (const key of ['whenDeleted', 'whenScaled']) {
      const v = retention[key] ?? '';
      if (!RETENTION_POLICIES.includes(v as string)) {
        errs.push(notSupported(`${path}.persistentVolumeClaimRetentionPolicy.${key}`, v, RETENTION_POLICIES));
      }
    }
  }

  for (const it of nonNegative(spec.replicas, `${path}.replicas`)) errs.push(it);
  for (const it of nonNegative(spec.minReadySeconds, `${path}.minReadySeconds`)) errs.push(it);
  if (isRecord(spec.ordinals))
    for (const it of nonNegative(spec.ordinals.start, `${path}.ordinals.start`)) errs.push(it);

  // 1.33 (kubernetes#130233): serviceName becomes the pods' subdomain, so it must be a DNS label.
  if (typeof spec.serviceName === 'string' && spec.serviceName !== '') {
    for (const it of eachInvalid(`${path}.serviceName`, spec.serviceName, isDNS1123Label(spec.serviceName)))
      errs.push(it);
  }

  const sel = validateSpecSelector(spec.selector, `${path}.selector`, 'statefulset', '');
  for (const it of sel.errors) errs.push(it);

  const tplPath = `${path}.template`;
  const template = spec.template;
  if (sel.parsed) {
    // Upstream checks only the template's metadata here: the pod spec is not
    // validated for StatefulSets (claim-template volumes would fail it).
    for (const it of selectorTemplateMismatch(spec.selector, template, tplPath)) errs.push(it);
    const meta = get(template, 'metadata');
    for (const it of validateLabels(get(meta, 'labels'), `${tplPath}.labels`)) errs.push(it);
    for (const it of validateAnnotations(get(meta, 'annotations'), `${tplPath}.annotations`)) errs.push(it);
  }

  const restartPolicy = get(template, 'spec', 'restartPolicy') ?? '';
  if (restartPolicy !== 'Always') {
    errs.push(notSupported(`${tplPath}.spec.restartPolicy`, restartPolicy, ['Always']));
  }
  if (!isNil(get(template, 'spec', 'activeDeadlineSeconds'))) {
    errs.push(
      forbiddenField(
        `${tplPath}.spec.activeDeadlineSeconds`,
        'activeDeadlineSeconds in StatefulSet is not Supported',
      ),
    );
  }
  return errs;
}

export function validateStatefulSet(obj: KObject): FieldError[] {
  return [
    ...validateObjectMeta(obj.metadata, { namespaced: true, nameFn: isDNS1123Label }),
    ...validateStatefulSetSpec(obj.spec),
  ];
}

/** Upstream's ValidateStatefulSetUpdate: the name is not re-validated; most of the spec is immutable. */
export function validateStatefulSetUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateStatefulSetSpec(obj.spec),
  ];
  const spec = isRecord(obj.spec) ? { ...obj.spec } : {};
  const oldSpec = isRecord(old.spec) ? { ...old.spec } : {};
  for (const f of MUTABLE_SPEC_FIELDS) {
    delete spec[f];
    delete oldSpec[f];
  }
  if (!semanticEqual(spec, oldSpec)) errs.push(forbiddenField('spec', UPDATE_FORBIDDEN_MESSAGE));
  return errs;
}

export const statefulSets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  plural: 'statefulsets',
  singular: 'statefulset',
  namespaced: true,
  shortNames: ['sts'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: [statusSubresource('apps', 'v1', 'StatefulSet'), scaleSubresource()],
  hasStatus: true,
  tracksGeneration: true,
  defaults: statefulSetDefaults,
  validate: validateStatefulSet,
  validateUpdate: validateStatefulSetUpdate,
  columns: [
    nameColumn,
    column('Ready', 'Number of the pod with ready state'),
    ageColumn,
    column('Containers', 'Names of each container in the template.', { priority: 1 }),
    column('Images', 'Images referenced by each container in the template.', { priority: 1 }),
  ],
  row(obj, now) {
    const ready = num(get(obj, 'status', 'readyReplicas'));
    const desired = num(get(obj, 'spec', 'replicas'));
    return [obj.metadata.name ?? '', `${ready}/${desired}`, age(obj, now), ...templateCells(obj)];
  },
};
