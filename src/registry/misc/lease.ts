/** coordination.k8s.io/v1 Lease: leader election and node heartbeats. */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, column, get, nameColumn } from '../printers.js';
import type { ResourceDef } from '../types.js';
import { invalidField, isRecord, validateObjectMeta, validateObjectMetaUpdate } from '../validation.js';
import { ALL_VERBS, isNil, nonNegative } from './util.js';

function validateLeaseSpec(specIn: unknown, path = 'spec'): FieldError[] {
  const spec = isRecord(specIn) ? specIn : {};
  const errs: FieldError[] = [];
  if (typeof spec.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0) {
    errs.push(
      invalidField(`${path}.leaseDurationSeconds`, spec.leaseDurationSeconds, 'must be greater than 0'),
    );
  }
  if (!isNil(spec.leaseTransitions))
    for (const it of nonNegative(spec.leaseTransitions, `${path}.leaseTransitions`)) errs.push(it);
  return errs;
}

export function validateLease(obj: KObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validateLeaseSpec(obj.spec)];
}

export function validateLeaseUpdate(obj: KObject, old: KObject): FieldError[] {
  return [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...validateLeaseSpec(obj.spec)];
}

export const leases: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  verbs: ALL_VERBS,
  validate: validateLease,
  validateUpdate: validateLeaseUpdate,
  columns: [
    nameColumn,
    column(
      'Holder',
      'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
    ),
    ageColumn,
  ],
  row(obj, now) {
    const holder = get(obj, 'spec', 'holderIdentity');
    return [obj.metadata.name ?? '', typeof holder === 'string' ? holder : '', age(obj, now)];
  },
};
