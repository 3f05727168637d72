import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, arr, column, nameColumn, rec, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  isDNS1123Label,
  isQualifiedName,
  isRecord,
  notSupported,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

const STANDARD_FINALIZERS = ['kubernetes', 'orphan', 'foregroundDeletion'];

function defaults(obj: KObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec = obj.spec as Record<string, unknown>;
  if (spec.finalizers === undefined) spec.finalizers = ['kubernetes'];
  if (!isRecord(obj.status)) obj.status = {};
  const status = obj.status as Record<string, unknown>;
  if (!status.phase) status.phase = 'Active';
  // The kubernetes.io/metadata.name label always mirrors the name (upstream's namespace defaulting).
  if (obj.metadata.name)
    obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
}

function validateFinalizers(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  arr(rec(obj.spec).finalizers).forEach((f, i) => {
    const path = `spec.finalizers[${i}]`;
    const name = String(f);
    const msgs = isQualifiedName(name);
    for (const it of eachInvalid(path, name, msgs)) errs.push(it);
    // Standard finalizers have no "/"; anything else must be domain-qualified.
    if (msgs.length === 0 && !name.includes('/') && !STANDARD_FINALIZERS.includes(name)) {
      errs.push({
        type: 'FieldValueInvalid',
        field: path,
        value: name,
        detail: 'name is neither a standard finalizer name nor is it fully qualified',
      });
    }
  });
  const phase = rec(obj.status).phase;
  if (phase !== undefined && phase !== 'Active' && phase !== 'Terminating') {
    errs.push(notSupported('status.phase', phase, ['Active', 'Terminating']));
  }
  return errs;
}

export const namespaces: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [
    { name: 'finalize', kind: { group: '', version: 'v1', kind: 'Namespace' }, verbs: ['update'] },
    {
      name: 'status',
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      verbs: ['get', 'patch', 'update'],
    },
  ],
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  validate: (obj) => [
    ...validateObjectMeta(obj.metadata, { namespaced: false, nameFn: isDNS1123Label }),
    ...validateFinalizers(obj),
  ],
  validateUpdate: (obj, old) => [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateFinalizers(obj),
  ],
  columns: [nameColumn, column('Status', 'The status of the namespace'), ageColumn],
  row: (obj, now) => [obj.metadata.name ?? '', str(rec(obj.status).phase), age(obj, now)],
  fieldLabels: (obj) => ({ 'status.phase': str(rec(obj.status).phase) }),
};
