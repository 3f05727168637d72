import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, arr, column, get, nameColumn } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  isDNS1123Subdomain,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

function validateRefs(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  arr(obj.secrets).forEach((s, i) => {
    const name = get(s, 'name');
    if (typeof name === 'string' && name !== '') {
      for (const it of eachInvalid(`secrets[${i}].name`, name, isDNS1123Subdomain(name))) errs.push(it);
    }
  });
  arr(obj.imagePullSecrets).forEach((s, i) => {
    const name = get(s, 'name');
    if (typeof name === 'string' && name !== '') {
      for (const it of eachInvalid(`imagePullSecrets[${i}].name`, name, isDNS1123Subdomain(name)))
        errs.push(it);
    }
  });
  return errs;
}

export const serviceaccounts: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [
    {
      name: 'token',
      kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
      verbs: ['create'],
    },
  ],
  hasStatus: false,
  tracksGeneration: false,
  validate: (obj) => [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validateRefs(obj)],
  validateUpdate: (obj, old) => [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateRefs(obj),
  ],
  columns: [
    nameColumn,
    column(
      'Secrets',
      'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret',
    ),
    ageColumn,
  ],
  row: (obj, now) => [obj.metadata.name ?? '', arr(obj.secrets).length, age(obj, now)],
};
