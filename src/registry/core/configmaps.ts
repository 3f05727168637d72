import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, column, nameColumn, rec } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  forbiddenField,
  invalidField,
  jsonEqual,
  maxLenError,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

/** 1 MiB: upstream's MaxSecretSize, shared by ConfigMaps and Secrets. */
export const MAX_DATA_SIZE = 1024 * 1024;

const configKeyFmt = '[-._a-zA-Z0-9]+';
const configKeyRe = /^[-._a-zA-Z0-9]+$/;

/** Upstream's IsConfigMapKey (also used for Secret keys). */
export function isConfigMapKey(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push(maxLenError(253));
  if (!configKeyRe.test(key)) {
    errs.push(
      `a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '${configKeyFmt}')`,
    );
  }
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

function validateConfigMapData(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const data = rec(obj.data);
  const binary = rec(obj.binaryData);
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const it of eachInvalid(`data[${k}]`, k, isConfigMapKey(k))) errs.push(it);
    if (typeof v !== 'string') errs.push(invalidField(`data[${k}]`, v, 'must be a string'));
    else total += Buffer.byteLength(v);
  }
  for (const [k, v] of Object.entries(binary)) {
    for (const it of eachInvalid(`binaryData[${k}]`, k, isConfigMapKey(k))) errs.push(it);
    if (Object.hasOwn(data, k))
      errs.push(invalidField(`data[${k}]`, k, 'duplicate of key present in binaryData'));
    if (typeof v === 'string') total += Math.floor((v.length * 3) / 4);
  }
  if (total > MAX_DATA_SIZE) {
    errs.push({
      type: 'FieldValueTooLong',
      field: '',
      value: '',
      detail: `may not be more than ${MAX_DATA_SIZE} bytes`,
    });
  }
  return errs;
}

/** Upstream's immutable-ConfigMap/Secret update rule for the given data fields. */
export function validateImmutableData(obj: KObject, old: KObject, fields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true)
    errs.push(forbiddenField('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields) {
    if (!jsonEqual(obj[f], old[f]))
      errs.push(forbiddenField(f, 'field is immutable when `immutable` is set'));
  }
  return errs;
}

export const configmaps: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  hasStatus: false,
  tracksGeneration: false,
  validate: (obj) => [
    ...validateObjectMeta(obj.metadata, { namespaced: true }),
    ...validateConfigMapData(obj),
  ],
  validateUpdate: (obj, old) => [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateImmutableData(obj, old, ['data', 'binaryData']),
    ...validateConfigMapData(obj),
  ],
  columns: [
    nameColumn,
    column(
      'Data',
      "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
    ),
    ageColumn,
  ],
  row: (obj, now) => [
    obj.metadata.name ?? '',
    Object.keys(rec(obj.data)).length + Object.keys(rec(obj.binaryData)).length,
    age(obj, now),
  ],
};
