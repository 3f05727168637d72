/**
 * apps/v1 Deployment: upstream defaults (RollingUpdate 25%/25%, history 10,
 * progress deadline 600s), validation with upstream messages (selector immutable
 * in apps/v1), and the `kubectl get deployments` table.
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import {
  ALL_VERBS,
  ensureRecord,
  goIntOrString,
  goLabelSelector,
  goPointer,
  goString,
  intOrPercentValue,
  invalidRepr,
  isNil,
  nonNegative,
  notMoreThan100Percent,
  notSupportedRepr,
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
  forbiddenField,
  invalidField,
  isRecord,
  required,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import { selectorCell, templateCells, validateReplicaSetTemplate, validateSpecSelector } from './workload.js';

/** SetDefaults_Deployment plus the pod template defaults. */
export function deploymentDefaults(obj: KObject): void {
  const spec = ensureRecord(obj, 'spec');
  if (isNil(spec.replicas)) spec.replicas = 1;
  const strategy = ensureRecord(spec, 'strategy');
  if (!strategy.type) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = ensureRecord(strategy, 'rollingUpdate');
    if (isNil(ru.maxUnavailable)) ru.maxUnavailable = '25%';
    if (isNil(ru.maxSurge)) ru.maxSurge = '25%';
  }
  if (isNil(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  if (isNil(spec.progressDeadlineSeconds)) spec.progressDeadlineSeconds = 600;
  if (isRecord(spec.template)) {
    ensureRecord(spec.template, 'spec');
    defaultPodTemplateSpec(spec.template);
  }
  ensureRecord(obj, 'status');
}

function validateStrategy(strategyIn: unknown, path: string): FieldError[] {
  const strategy = isRecord(strategyIn) ? strategyIn : {};
  const errs: FieldError[] = [];
  const ru = strategy.rollingUpdate;
  switch (strategy.type) {
    case 'Recreate':
      if (!isNil(ru)) {
        errs.push(
          forbiddenField(`${path}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'"),
        );
      }
      break;
    case 'RollingUpdate': {
      if (!isRecord(ru)) {
        errs.push(required(`${path}.rollingUpdate`, 'this should be defaulted and never be nil'));
        break;
      }
      const p = `${path}.rollingUpdate`;
      for (const it of validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`)) errs.push(it);
      for (const it of validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`)) errs.push(it);
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(
          invalidRepr(
            `${p}.maxUnavailable`,
            ru.maxUnavailable,
            goIntOrString(ru.maxUnavailable),
            'may not be 0 when `maxSurge` is 0',
          ),
        );
      }
      for (const it of notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`)) errs.push(it);
      break;
    }
    default:
      errs.push(
        notSupportedRepr(
          path,
          strategyIn ?? {},
          `apps.DeploymentStrategy{Type:${goString(strategy.type)}, RollingUpdate:${goPointer('apps.RollingUpdateDeployment', ru)}}`,
          ['Recreate', 'RollingUpdate'],
        ),
      );
  }
  return errs;
}

/** Upstream's ValidateDeploymentSpec. */
export function validateDeploymentSpec(specIn: unknown, path = 'spec'): FieldError[] {
  const spec = isRecord(specIn) ? specIn : {};
  const errs: FieldError[] = [];
  for (const it of nonNegative(spec.replicas, `${path}.replicas`)) errs.push(it);
  const sel = validateSpecSelector(spec.selector, `${path}.selector`, 'deployment', 'invalid label selector');
  for (const it of sel.errors) errs.push(it);
  if (sel.parsed)
    for (const it of validateReplicaSetTemplate(spec.selector, spec.template, `${path}.template`))
      errs.push(it);
  for (const it of validateStrategy(spec.strategy, `${path}.strategy`)) errs.push(it);
  for (const it of nonNegative(spec.minReadySeconds, `${path}.minReadySeconds`)) errs.push(it);
  if (!isNil(spec.revisionHistoryLimit)) {
    for (const it of nonNegative(spec.revisionHistoryLimit, `${path}.revisionHistoryLimit`)) errs.push(it);
  }
  if (isRecord(spec.rollbackTo))
    for (const it of nonNegative(spec.rollbackTo.revision, `${path}.rollback.version`)) errs.push(it);
  if (!isNil(spec.progressDeadlineSeconds)) {
    const pds = spec.progressDeadlineSeconds;
    for (const it of nonNegative(pds, `${path}.progressDeadlineSeconds`)) errs.push(it);
    if (num(pds) <= num(spec.minReadySeconds)) {
      errs.push(invalidField(`${path}.progressDeadlineSeconds`, pds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

export function validateDeployment(obj: KObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validateDeploymentSpec(obj.spec)];
}

/** spec.selector may not change in apps/v1 (Deployment and ReplicaSet strategies). */
export function selectorImmutable(obj: KObject, old: KObject): FieldError[] {
  const sel = get(obj, 'spec', 'selector');
  if (semanticEqual(sel, get(old, 'spec', 'selector'))) return [];
  return [invalidRepr('spec.selector', sel ?? null, goLabelSelector(sel), 'field is immutable')];
}

export function validateDeploymentUpdate(obj: KObject, old: KObject): FieldError[] {
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateDeploymentSpec(obj.spec),
    ...selectorImmutable(obj, old),
  ];
}

export const deployments: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  verbs: ALL_VERBS,
  subresources: [statusSubresource('apps', 'v1', 'Deployment'), scaleSubresource()],
  hasStatus: true,
  tracksGeneration: true,
  defaults: deploymentDefaults,
  validate: validateDeployment,
  validateUpdate: validateDeploymentUpdate,
  columns: [
    nameColumn,
    column('Ready', 'Number of the pod with ready state'),
    column(
      'Up-to-date',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    column(
      'Available',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    ageColumn,
    column('Containers', 'Names of each container in the template.', { priority: 1 }),
    column('Images', 'Images referenced by each container in the template.', { priority: 1 }),
    column(
      'Selector',
      'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
      { priority: 1 },
    ),
  ],
  row(obj, now) {
    const ready = num(get(obj, 'status', 'readyReplicas'));
    const desired = num(get(obj, 'spec', 'replicas'));
    // printDeployment uses selector.String(): empty, not "<none>", for an empty selector.
    const selector = selectorCell(obj);
    return [
      obj.metadata.name ?? '',
      `${ready}/${desired}`,
      num(get(obj, 'status', 'updatedReplicas')),
      num(get(obj, 'status', 'availableReplicas')),
      age(obj, now),
      ...templateCells(obj),
      selector === '<none>' ? '' : selector,
    ];
  },
};
