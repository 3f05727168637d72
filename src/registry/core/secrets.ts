import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, column, nameColumn, rec, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  invalidField,
  isRecord,
  required,
  validateImmutableField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import { isConfigMapKey, MAX_DATA_SIZE, validateImmutableData } from './configmaps.js';

const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Secret type Opaque by default; stringData is merged into data (base64) and dropped, as upstream's conversion does. */
function defaults(obj: KObject): void {
  if (!obj.type) obj.type = 'Opaque';
  if (isRecord(obj.stringData)) {
    const data: Record<string, unknown> = isRecord(obj.data) ? obj.data : {};
    for (const [k, v] of Object.entries(obj.stringData)) {
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    obj.data = data;
  }
  delete obj.stringData;
}

function requireKey(data: Record<string, unknown>, key: string): FieldError[] {
  return Object.hasOwn(data, key) ? [] : [required(`data[${key}]`)];
}

function validateSecret(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const data = rec(obj.data);
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const it of eachInvalid(`data[${k}]`, k, isConfigMapKey(k))) errs.push(it);
    if (typeof v !== 'string' || !base64Re.test(v)) {
      errs.push(invalidField(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded bytes'));
    } else {
      total += Buffer.from(v, 'base64').length;
    }
  }
  if (total > MAX_DATA_SIZE) {
    errs.push({
      type: 'FieldValueTooLong',
      field: 'data',
      value: '',
      detail: `may not be more than ${MAX_DATA_SIZE} bytes`,
    });
  }
  const type = str(obj.type);
  switch (type) {
    case 'kubernetes.io/service-account-token': {
      const ann = obj.metadata.annotations ?? {};
      if (!ann['kubernetes.io/service-account.name']) {
        errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    }
    case 'kubernetes.io/dockercfg':
      for (const it of requireKey(data, '.dockercfg')) errs.push(it);
      break;
    case 'kubernetes.io/dockerconfigjson':
      for (const it of requireKey(data, '.dockerconfigjson')) errs.push(it);
      break;
    case 'kubernetes.io/basic-auth':
      if (!Object.hasOwn(data, 'username') && !Object.hasOwn(data, 'password')) {
        errs.push(required('data[username]'), required('data[password]'));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      for (const it of requireKey(data, 'ssh-privatekey')) errs.push(it);
      break;
    case 'kubernetes.io/tls':
      for (const it of [...requireKey(data, 'tls.key'), ...requireKey(data, 'tls.crt')]) errs.push(it);
      break;
    default:
      break;
  }
  return errs;
}

export const secrets: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  hasStatus: false,
  tracksGeneration: false,
  defaults,
  validate: (obj) => [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validateSecret(obj)],
  validateUpdate: (obj, old) => [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateImmutableField(obj.type, old.type, 'type'),
    ...validateImmutableData(obj, old, ['data']),
    ...validateSecret(obj),
  ],
  columns: [
    nameColumn,
    column(
      'Type',
      'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
    ),
    column(
      'Data',
      "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
    ),
    ageColumn,
  ],
  row: (obj, now) => [
    obj.metadata.name ?? '',
    str(obj.type),
    Object.keys(rec(obj.data)).length,
    age(obj, now),
  ],
  fieldLabels: (obj) => ({ type: str(obj.type) }),
};
