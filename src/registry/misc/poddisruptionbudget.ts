/**
 * policy/v1 PodDisruptionBudget: minAvailable xor maxUnavailable (int or
 * percent), a label selector, and the MIN AVAILABLE / MAX UNAVAILABLE /
 * ALLOWED DISRUPTIONS table.
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject, LabelSelector } from '../../api/types.js';
import { age, ageColumn, column, get, nameColumn } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  isRecord,
  notSupported,
  validateLabelSelector,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import {
  ALL_VERBS,
  ensureRecord,
  goIntOrString,
  goLabelSelector,
  goPointer,
  intOrStringText,
  invalidRepr,
  isNil,
  notMoreThan100Percent,
  num,
  statusSubresource,
  validatePositiveIntOrPercent,
} from './util.js';

const EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'];

export function podDisruptionBudgetDefaults(obj: KObject): void {
  ensureRecord(obj, 'spec');
  // Non-omitempty status counters of a freshly created PDB.
  const status = ensureRecord(obj, 'status');
  for (const k of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods']) {
    if (isNil(status[k])) status[k] = 0;
  }
}

function goIntOrStringPtr(v: unknown): string {
  return isNil(v) ? '(*intstr.IntOrString)(nil)' : `&${goIntOrString(v)}`;
}

export function validatePodDisruptionBudgetSpec(specIn: unknown, path = 'spec'): FieldError[] {
  const spec = isRecord(specIn) ? specIn : {};
  const errs: FieldError[] = [];
  if (!isNil(spec.minAvailable) && !isNil(spec.maxUnavailable)) {
    const repr = `policy.PodDisruptionBudgetSpec{MinAvailable:${goIntOrStringPtr(spec.minAvailable)}, Selector:${goPointer('v1.LabelSelector', spec.selector)}, MaxUnavailable:${goIntOrStringPtr(spec.maxUnavailable)}, UnhealthyPodEvictionPolicy:${goPointer('policy.UnhealthyPodEvictionPolicyType', spec.unhealthyPodEvictionPolicy)}}`;
    errs.push(invalidRepr(path, specIn, repr, 'minAvailable and maxUnavailable cannot be both set'));
  }
  for (const key of ['minAvailable', 'maxUnavailable']) {
    if (isNil(spec[key])) continue;
    for (const it of validatePositiveIntOrPercent(spec[key], `${path}.${key}`)) errs.push(it);
    for (const it of notMoreThan100Percent(spec[key], `${path}.${key}`)) errs.push(it);
  }
  if (isRecord(spec.selector)) {
    for (const it of validateLabelSelector(spec.selector as LabelSelector, `${path}.selector`)) errs.push(it);
  } else if (!isNil(spec.selector)) {
    errs.push(
      invalidRepr(`${path}.selector`, spec.selector, goLabelSelector(undefined), 'must be a label selector'),
    );
  }
  const policy = spec.unhealthyPodEvictionPolicy;
  if (!isNil(policy) && !EVICTION_POLICIES.includes(policy as string)) {
    errs.push(notSupported(`${path}.unhealthyPodEvictionPolicy`, policy, EVICTION_POLICIES));
  }
  return errs;
}

export function validatePodDisruptionBudget(obj: KObject): FieldError[] {
  return [
    ...validateObjectMeta(obj.metadata, { namespaced: true }),
    ...validatePodDisruptionBudgetSpec(obj.spec),
  ];
}

export function validatePodDisruptionBudgetUpdate(obj: KObject, old: KObject): FieldError[] {
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validatePodDisruptionBudgetSpec(obj.spec),
  ];
}

export const podDisruptionBudgets: ResourceDef = {
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  namespaced: true,
  shortNames: ['pdb'],
  verbs: ALL_VERBS,
  subresources: [statusSubresource('policy', 'v1', 'PodDisruptionBudget')],
  hasStatus: true,
  tracksGeneration: true,
  defaults: podDisruptionBudgetDefaults,
  validate: validatePodDisruptionBudget,
  validateUpdate: validatePodDisruptionBudgetUpdate,
  columns: [
    nameColumn,
    column('Min Available', 'The minimum number of pods that must be available.'),
    column('Max Unavailable', 'The maximum number of pods that may be unavailable.'),
    column('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', {
      type: 'integer',
    }),
    ageColumn,
  ],
  row(obj, now) {
    const min = get(obj, 'spec', 'minAvailable');
    const max = get(obj, 'spec', 'maxUnavailable');
    return [
      obj.metadata.name ?? '',
      isNil(min) ? 'N/A' : intOrStringText(min),
      isNil(max) ? 'N/A' : intOrStringText(max),
      num(get(obj, 'status', 'disruptionsAllowed')),
      age(obj, now),
    ];
  },
};
