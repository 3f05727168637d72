/**
 * networking.k8s.io/v1 Ingress: no defaults in v1 (pathType must be given),
 * validation of rules/paths/backends with upstream messages, and the
 * `kubectl get ingress` table (CLASS HOSTS ADDRESS PORTS).
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { ALL_VERBS, invalidRepr, isNil, statusSubresource } from '../misc/util.js';
import { age, ageColumn, column, get, nameColumn, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  invalidField,
  isDNS1035Label,
  isDNS1123Subdomain,
  isRecord,
  isValidPortName,
  isValidPortNum,
  notSupported,
  required,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

export const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

function isIPAddress(host: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return host.split('.').every((o) => Number(o) <= 255);
  return host.includes(':') && /^[0-9a-fA-F:.]+$/.test(host);
}

/** Upstream's IsWildcardDNS1123Subdomain. */
function isWildcardDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push('must be no more than 253 characters');
  if (!/^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(v)) {
    errs.push(
      "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return errs;
}

function validateHost(host: string, path: string): FieldError[] {
  if (host.includes('*')) return eachInvalid(path, host, isWildcardDNS1123Subdomain(host));
  return eachInvalid(path, host, isDNS1123Subdomain(host));
}

/** Upstream's validateIngressBackend. */
function validateBackend(backend: unknown, path: string): FieldError[] {
  const b = isRecord(backend) ? backend : {};
  const errs: FieldError[] = [];
  const hasResource = !isNil(b.resource);
  const hasService = !isNil(b.service);
  if (hasResource && hasService)
    return [invalidField(path, '', 'cannot set both resource and service backends')];
  if (hasResource) {
    const r = isRecord(b.resource) ? b.resource : {};
    if (!str(r.kind)) errs.push(required(`${path}.resource.kind`));
    if (!str(r.name)) errs.push(required(`${path}.resource.name`));
    return errs;
  }
  if (!hasService) return [invalidField(path, '', 'resource or service backend is required')];
  const svc = isRecord(b.service) ? b.service : {};
  const name = str(svc.name);
  if (name === '') errs.push(required(`${path}.service.name`));
  else for (const it of eachInvalid(`${path}.service.name`, name, isDNS1035Label(name))) errs.push(it);
  const port = isRecord(svc.port) ? svc.port : {};
  const portName = str(port.name);
  const portNumber = typeof port.number === 'number' ? port.number : 0;
  if (portName !== '' && portNumber !== 0) {
    errs.push(invalidField(path, '', 'cannot set both port name & port number'));
  } else if (portName !== '') {
    for (const it of eachInvalid(`${path}.service.port.name`, portName, isValidPortName(portName)))
      errs.push(it);
  } else if (portNumber !== 0) {
    for (const it of eachInvalid(`${path}.service.port.number`, portNumber, isValidPortNum(portNumber)))
      errs.push(it);
  } else {
    errs.push(required(path, 'port name or number is required'));
  }
  return errs;
}

/** Upstream's validateHTTPIngressPath. */
function validatePath(p: unknown, path: string): FieldError[] {
  const hp = isRecord(p) ? p : {};
  const errs: FieldError[] = [];
  const pathType = hp.pathType;
  if (isNil(pathType)) return [required(`${path}.pathType`, 'pathType must be specified')];
  const value = str(hp.path);
  switch (pathType) {
    case 'Exact':
    case 'Prefix':
      if (!value.startsWith('/')) errs.push(invalidField(`${path}.path`, value, 'must be an absolute path'));
      if (value.length > 0) {
        for (const seq of INVALID_PATH_SEQUENCES) {
          if (value.includes(seq))
            errs.push(invalidField(`${path}.path`, value, `must not contain '${seq}'`));
        }
        for (const suffix of INVALID_PATH_SUFFIXES) {
          if (value.endsWith(suffix))
            errs.push(invalidField(`${path}.path`, value, `cannot end with '${suffix}'`));
        }
      }
      break;
    case 'ImplementationSpecific':
      if (value.length > 0 && !value.startsWith('/')) {
        errs.push(invalidField(`${path}.path`, value, 'must be an absolute path'));
      }
      break;
    default:
      errs.push(notSupported(`${path}.pathType`, pathType, PATH_TYPES));
  }
  for (const it of validateBackend(hp.backend, `${path}.backend`)) errs.push(it);
  return errs;
}

function validateRules(rules: unknown[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  rules.forEach((rule, i) => {
    const r = isRecord(rule) ? rule : {};
    const host = str(r.host);
    if (host !== '') {
      if (isIPAddress(host))
        errs.push(invalidField(`${path}[${i}].host`, host, 'must be a DNS name, not an IP address'));
      for (const it of validateHost(host, `${path}[${i}].host`)) errs.push(it);
    }
    if (isRecord(r.http)) {
      const paths = Array.isArray(r.http.paths) ? r.http.paths : [];
      if (paths.length === 0) errs.push(required(`${path}[${i}].http.paths`));
      paths.forEach((p, j) => {
        for (const it of validatePath(p, `${path}[${i}].http.paths[${j}]`)) errs.push(it);
      });
    }
  });
  return errs;
}

/** Upstream's ValidateIngressSpec. */
export function validateIngressSpec(specIn: unknown, path = 'spec'): FieldError[] {
  const spec = isRecord(specIn) ? specIn : {};
  const errs: FieldError[] = [];
  const rules = Array.isArray(spec.rules) ? spec.rules : [];
  if (rules.length === 0 && isNil(spec.defaultBackend)) {
    errs.push(
      invalidRepr(
        path,
        spec.rules ?? null,
        '[]networking.IngressRule(nil)',
        'either `defaultBackend` or `rules` must be specified',
      ),
    );
  }
  if (!isNil(spec.defaultBackend))
    for (const it of validateBackend(spec.defaultBackend, `${path}.defaultBackend`)) errs.push(it);
  if (rules.length > 0) for (const it of validateRules(rules, `${path}.rules`)) errs.push(it);
  (Array.isArray(spec.tls) ? spec.tls : []).forEach((tls, i) => {
    const hosts = isRecord(tls) && Array.isArray(tls.hosts) ? tls.hosts : [];
    hosts.forEach((h, j) => {
      if (typeof h === 'string')
        for (const it of validateHost(h, `${path}.tls[${i}].hosts[${j}]`)) errs.push(it);
    });
    const secretName = isRecord(tls) ? str(tls.secretName) : '';
    if (secretName !== '') {
      for (const it of eachInvalid(
        `${path}.tls[${i}].secretName`,
        secretName,
        isDNS1123Subdomain(secretName),
      ))
        errs.push(it);
    }
  });
  if (typeof spec.ingressClassName === 'string') {
    errs.push(
      ...eachInvalid(
        `${path}.ingressClassName`,
        spec.ingressClassName,
        isDNS1123Subdomain(spec.ingressClassName),
      ),
    );
  }
  return errs;
}

export function validateIngress(obj: KObject): FieldError[] {
  const errs = [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validateIngressSpec(obj.spec)];
  const annotation = obj.metadata.annotations?.[INGRESS_CLASS_ANNOTATION];
  if (annotation !== undefined && typeof get(obj, 'spec', 'ingressClassName') === 'string') {
    errs.push(
      invalidField(
        `annotations.${INGRESS_CLASS_ANNOTATION}`,
        annotation,
        'can not be set when the class field is also set',
      ),
    );
  }
  return errs;
}

export function validateIngressUpdate(obj: KObject, old: KObject): FieldError[] {
  return [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...validateIngressSpec(obj.spec)];
}

/** Upstream's formatHosts: up to three hosts, "*" when none. */
export function formatHosts(rules: unknown): string {
  const list = Array.isArray(rules) ? rules : [];
  const hosts: string[] = [];
  let more = false;
  for (const r of list) {
    if (hosts.length === 3) more = true;
    const host = str(get(r, 'host'));
    if (!more && host !== '') hosts.push(host);
  }
  if (hosts.length === 0) return '*';
  const ret = hosts.join(',');
  return more ? `${ret} + ${list.length - 3} more...` : ret;
}

/** Load-balancer ingress points: IPs or hostnames, deduplicated and sorted. */
export function loadBalancerAddresses(obj: KObject): string {
  const set = new Set<string>();
  for (const i of Array.isArray(get(obj, 'status', 'loadBalancer', 'ingress'))
    ? (get(obj, 'status', 'loadBalancer', 'ingress') as unknown[])
    : []) {
    const ip = str(get(i, 'ip'));
    const hostname = str(get(i, 'hostname'));
    if (ip) set.add(ip);
    else if (hostname) set.add(hostname);
  }
  return [...set].sort().join(',');
}

export const ingresses: ResourceDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'Ingress',
  plural: 'ingresses',
  singular: 'ingress',
  namespaced: true,
  shortNames: ['ing'],
  verbs: ALL_VERBS,
  subresources: [statusSubresource('networking.k8s.io', 'v1', 'Ingress')],
  hasStatus: true,
  tracksGeneration: true,
  validate: validateIngress,
  validateUpdate: validateIngressUpdate,
  columns: [
    nameColumn,
    column('Class', 'The name of the IngressClass resource that should be used for additional configuration'),
    column('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
    column('Address', 'Address is a list containing ingress points for the load-balancer'),
    column('Ports', 'Ports of TLS configurations that open'),
    ageColumn,
  ],
  row(obj, now) {
    const className = get(obj, 'spec', 'ingressClassName');
    const tls = get(obj, 'spec', 'tls');
    return [
      obj.metadata.name ?? '',
      typeof className === 'string' ? className : '<none>',
      formatHosts(get(obj, 'spec', 'rules')),
      loadBalancerAddresses(obj),
      Array.isArray(tls) && tls.length > 0 ? '80, 443' : '80',
      age(obj, now),
    ];
  },
};
