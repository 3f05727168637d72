/**
 * networking.k8s.io/v1 IngressClass: cluster-scoped; spec.controller is a
 * domain-prefixed path and immutable; parameters.scope defaults to Cluster.
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { ALL_VERBS, isNil } from '../misc/util.js';
import { age, ageColumn, column, get, nameColumn, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  invalidField,
  isDNS1123Subdomain,
  isRecord,
  notSupported,
  required,
  tooLong,
  validateImmutableField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

const MAX_CONTROLLER_LENGTH = 250;
const HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
const HTTP_PATH_RE = new RegExp(`^${HTTP_PATH_FMT}$`);

export function ingressClassDefaults(obj: KObject): void {
  const params = get(obj, 'spec', 'parameters');
  if (isRecord(params) && isNil(params.scope)) params.scope = 'Cluster';
}

/** Upstream's IsDomainPrefixedPath ("acme.io/foo"). */
function validateDomainPrefixedPath(value: string, path: string): FieldError[] {
  if (value === '') return [required(path)];
  const slash = value.indexOf('/');
  const host = slash < 0 ? value : value.slice(0, slash);
  const rest = slash < 0 ? '' : value.slice(slash + 1);
  if (slash < 0 || host === '' || rest === '') {
    return [invalidField(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  }
  const errs = eachInvalid(path, host, isDNS1123Subdomain(host));
  if (!HTTP_PATH_RE.test(rest)) {
    errs.push(invalidField(path, rest, `Invalid path (regex used for validation is '${HTTP_PATH_FMT}')`));
  }
  return errs;
}

function validateParameters(params: unknown, path: string): FieldError[] {
  if (!isRecord(params)) return [];
  const errs: FieldError[] = [];
  if (!str(params.kind)) errs.push(required(`${path}.kind`));
  if (!str(params.name)) errs.push(required(`${path}.name`));
  const scope = params.scope;
  if (scope === 'Namespace') {
    const ns = str(params.namespace);
    if (ns === '') errs.push(required(`${path}.namespace`, '`parameters.scope` is set to "Namespace"'));
  } else if (scope === 'Cluster') {
    if (!isNil(params.namespace)) {
      errs.push({
        type: 'FieldValueForbidden',
        field: `${path}.namespace`,
        detail: '`parameters.scope` is set to "Cluster"',
      });
    }
  } else {
    errs.push(notSupported(`${path}.scope`, scope ?? '', ['Cluster', 'Namespace']));
  }
  return errs;
}

export function validateIngressClass(obj: KObject): FieldError[] {
  const errs = validateObjectMeta(obj.metadata, { namespaced: false });
  const controller = str(get(obj, 'spec', 'controller'));
  if (controller.length > MAX_CONTROLLER_LENGTH) {
    errs.push(tooLong('spec.controller', controller, MAX_CONTROLLER_LENGTH));
  }
  for (const it of validateDomainPrefixedPath(controller, 'spec.controller')) errs.push(it);
  for (const it of validateParameters(get(obj, 'spec', 'parameters'), 'spec.parameters')) errs.push(it);
  return errs;
}

export function validateIngressClassUpdate(obj: KObject, old: KObject): FieldError[] {
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateImmutableField(
      get(obj, 'spec', 'controller'),
      get(old, 'spec', 'controller'),
      'spec.controller',
    ),
    ...validateIngressClass(obj).filter((e) => !e.field.startsWith('metadata.')),
  ];
}

/** "Kind.group/name" (group omitted when unset) or "<none>". */
export function parametersCell(obj: KObject): string {
  const p = get(obj, 'spec', 'parameters');
  if (!isRecord(p)) return '<none>';
  const group = typeof p.apiGroup === 'string' ? `.${p.apiGroup}` : '';
  return `${str(p.kind)}${group}/${str(p.name)}`;
}

export const ingressClasses: ResourceDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'IngressClass',
  plural: 'ingressclasses',
  singular: 'ingressclass',
  namespaced: false,
  verbs: ALL_VERBS,
  tracksGeneration: true,
  defaults: ingressClassDefaults,
  validate: validateIngressClass,
  validateUpdate: validateIngressClassUpdate,
  columns: [
    nameColumn,
    column('Controller', 'Controller that is responsible for handling this class'),
    column('Parameters', 'A reference to a resource with additional parameters'),
    ageColumn,
  ],
  row(obj, now) {
    return [obj.metadata.name ?? '', str(get(obj, 'spec', 'controller')), parametersCell(obj), age(obj, now)];
  },
};
