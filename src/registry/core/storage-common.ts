import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { arr } from '../printers.js';
import {
  eachInvalid,
  forbiddenField,
  invalidField,
  isDNS1123Subdomain,
  notSupported,
  parseQuantity,
  QUANTITY_REGEX_TEXT,
} from '../validation.js';

export const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
export const VOLUME_MODES = ['Block', 'Filesystem'];

/** Access modes of a PV or PVC spec: known values, ReadWriteOncePod alone. */
export function validateAccessModes(modes: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let rwop = false;
  let other = false;
  for (const m of arr(modes)) {
    if (!ACCESS_MODES.includes(m as string)) errs.push(notSupported(path, m, ACCESS_MODES));
    if (m === 'ReadWriteOncePod') rwop = true;
    else other = true;
  }
  if (rwop && other) errs.push(forbiddenField(path, 'may not use ReadWriteOncePod with other access modes'));
  return errs;
}

/** A storage quantity that must parse and be > 0 ("must be greater than zero"). */
export function validatePositiveQuantity(q: unknown, path: string): FieldError[] {
  const v = parseQuantity(q);
  if (v === null) {
    return [invalidField(path, q, `quantities must match the regular expression '${QUANTITY_REGEX_TEXT}'`)];
  }
  return v <= 0 ? [invalidField(path, String(q), 'must be greater than zero')] : [];
}

export function validateClassName(name: unknown, path: string): FieldError[] {
  if (typeof name !== 'string' || name === '') return [];
  return eachInvalid(path, name, isDNS1123Subdomain(name));
}

/** The StorageClass of a PV or PVC: the beta annotation wins over spec.storageClassName (upstream's helper). */
export function storageClassOf(annotations: Record<string, string> | undefined, specClass: unknown): string {
  const beta = annotations?.['volume.beta.kubernetes.io/storage-class'];
  if (beta !== undefined) return beta;
  return typeof specClass === 'string' ? specClass : '';
}

export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

/**
 * Whether `defaults` runs for a create: ResourceDef has no create-only hook,
 * and on create the object has no resourceVersion yet and its status was
 * reset to {} (updates carry the stored status, which always has a phase).
 */
export function isCreate(obj: KObject): boolean {
  if (obj.metadata.resourceVersion) return false;
  const status = obj.status;
  return (
    status === undefined || status === null || (isRecordLike(status) && Object.keys(status).length === 0)
  );
}

function isRecordLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Appends a finalizer unless present (the admission plugin's addFinalizer). */
export function addFinalizer(obj: KObject, finalizer: string): void {
  const fins = obj.metadata.finalizers ?? [];
  if (!fins.includes(finalizer)) obj.metadata.finalizers = [...fins, finalizer];
}
