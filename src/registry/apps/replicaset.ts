/**
 * apps/v1 ReplicaSet: replicas default 1, validation as upstream (including the
 * "empty selector is invalid for deployment" wording it shares with
 * Deployments), selector immutable, `status.replicas` field selector.
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import {
  ALL_VERBS,
  ensureRecord,
  isNil,
  nonNegative,
  num,
  scaleSubresource,
  statusSubresource,
} from '../misc/util.js';
import { age, ageColumn, column, get, nameColumn } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  defaultPodTemplateSpec,
  isRecord,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import { selectorImmutable } from './deployment.js';
import { selectorCell, templateCells, validateReplicaSetTemplate, validateSpecSelector } from './workload.js';

export function replicaSetDefaults(obj: KObject): void {
  const spec = ensureRecord(obj, 'spec');
  if (isNil(spec.replicas)) spec.replicas = 1;
  if (isRecord(spec.template)) {
    ensureRecord(spec.template, 'spec');
    defaultPodTemplateSpec(spec.template);
  }
  const status = ensureRecord(obj, 'status');
  if (isNil(status.replicas)) status.replicas = 0;
}

/** Upstream's ValidateReplicaSetSpec. */
export function validateReplicaSetSpec(specIn: unknown, path = 'spec'): FieldError[] {
  const spec = isRecord(specIn) ? specIn : {};
  const errs: FieldError[] = [];
  for (const it of nonNegative(spec.replicas, `${path}.replicas`)) errs.push(it);
  for (const it of nonNegative(spec.minReadySeconds, `${path}.minReadySeconds`)) errs.push(it);
  // Upstream's wording says "deployment" here too.
  const sel = validateSpecSelector(spec.selector, `${path}.selector`, 'deployment', 'invalid label selector');
  for (const it of sel.errors) errs.push(it);
  if (sel.parsed)
    for (const it of validateReplicaSetTemplate(spec.selector, spec.template, `${path}.template`))
      errs.push(it);
  return errs;
}

export function validateReplicaSet(obj: KObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validateReplicaSetSpec(obj.spec)];
}

export function validateReplicaSetUpdate(obj: KObject, old: KObject): FieldError[] {
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateReplicaSetSpec(obj.spec),
    ...selectorImmutable(obj, old),
  ];
}

export const replicaSets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: [statusSubresource('apps', 'v1', 'ReplicaSet'), scaleSubresource()],
  hasStatus: true,
  tracksGeneration: true,
  defaults: replicaSetDefaults,
  validate: validateReplicaSet,
  validateUpdate: validateReplicaSetUpdate,
  columns: [
    nameColumn,
    column(
      'Desired',
      'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
      { type: 'integer' },
    ),
    column(
      'Current',
      'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
      { type: 'integer' },
    ),
    column(
      'Ready',
      'readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.',
      {
        type: 'integer',
      },
    ),
    ageColumn,
    column('Containers', 'Names of each container in the template.', { priority: 1 }),
    column('Images', 'Images referenced by each container in the template.', { priority: 1 }),
    column(
      'Selector',
      'Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
      { priority: 1 },
    ),
  ],
  row(obj, now) {
    return [
      obj.metadata.name ?? '',
      num(get(obj, 'spec', 'replicas')),
      num(get(obj, 'status', 'replicas')),
      num(get(obj, 'status', 'readyReplicas')),
      age(obj, now),
      ...templateCells(obj),
      selectorCell(obj),
    ];
  },
  fieldLabels(obj) {
    return { 'status.replicas': String(num(get(obj, 'status', 'replicas'))) };
  },
};
