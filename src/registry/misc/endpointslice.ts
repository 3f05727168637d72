/**
 * discovery.k8s.io/v1 EndpointSlice: ports default to name "" / protocol TCP;
 * addressType is required, supported and immutable.
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, column, get, nameColumn, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  duplicate,
  eachInvalid,
  invalidField,
  isDNS1123Label,
  isDNS1123Subdomain,
  isRecord,
  isValidPortNum,
  notSupported,
  required,
  validateImmutableField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import { ALL_VERBS, isNil } from './util.js';

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_ENDPOINTS = 1000;
const MAX_PORTS = 20000;
const MAX_ADDRESSES = 100;

export function endpointSliceDefaults(obj: KObject): void {
  for (const p of Array.isArray(obj.ports) ? obj.ports : []) {
    if (!isRecord(p)) continue;
    if (isNil(p.name)) p.name = '';
    if (isNil(p.protocol)) p.protocol = 'TCP';
  }
}

function isIPv4(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && s.split('.').every((o) => Number(o) <= 255 && !/^0\d/.test(o));
}

function isIPv6(s: string): boolean {
  return s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s) && s.split('::').length <= 2;
}

function validateAddress(address: string, addressType: unknown, path: string): FieldError[] {
  switch (addressType) {
    case 'IPv4':
      return isIPv4(address) ? [] : [invalidField(path, address, 'must be a valid IPv4 address')];
    case 'IPv6':
      return isIPv6(address) ? [] : [invalidField(path, address, 'must be a valid IPv6 address')];
    case 'FQDN':
      return eachInvalid(path, address, isDNS1123Subdomain(address));
    default:
      return [];
  }
}

export function validateEndpointSlice(obj: KObject): FieldError[] {
  const errs = validateObjectMeta(obj.metadata, { namespaced: true });
  const addressType = obj.addressType;
  if (isNil(addressType) || addressType === '') errs.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(addressType as string))
    errs.push(notSupported('addressType', addressType, ADDRESS_TYPES));

  const endpoints = Array.isArray(obj.endpoints) ? obj.endpoints : [];
  if (endpoints.length > MAX_ENDPOINTS) {
    errs.push({
      type: 'FieldValueTooMany',
      field: 'endpoints',
      detail: `must have at most ${MAX_ENDPOINTS} items`,
    });
  }
  endpoints.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    const addresses = isRecord(ep) && Array.isArray(ep.addresses) ? ep.addresses : [];
    if (addresses.length === 0) errs.push(required(`${p}.addresses`, 'must contain at least 1 address'));
    else if (addresses.length > MAX_ADDRESSES) {
      errs.push({
        type: 'FieldValueTooMany',
        field: `${p}.addresses`,
        detail: `must have at most ${MAX_ADDRESSES} items`,
      });
    }
    addresses.forEach((a, j) => {
      for (const it of validateAddress(typeof a === 'string' ? a : '', addressType, `${p}.addresses[${j}]`))
        errs.push(it);
    });
    const hostname = isRecord(ep) ? ep.hostname : undefined;
    if (typeof hostname === 'string')
      for (const it of eachInvalid(`${p}.hostname`, hostname, isDNS1123Label(hostname))) errs.push(it);
    const nodeName = isRecord(ep) ? ep.nodeName : undefined;
    if (typeof nodeName === 'string')
      for (const it of eachInvalid(`${p}.nodeName`, nodeName, isDNS1123Subdomain(nodeName))) errs.push(it);
  });

  const ports = Array.isArray(obj.ports) ? obj.ports : [];
  if (ports.length > MAX_PORTS) {
    errs.push({ type: 'FieldValueTooMany', field: 'ports', detail: `must have at most ${MAX_PORTS} items` });
  }
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `ports[${i}]`;
    const pr = isRecord(port) ? port : {};
    const name = str(pr.name);
    if (name !== '') for (const it of eachInvalid(`${p}.name`, name, isDNS1123Label(name))) errs.push(it);
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    names.add(name);
    if (isNil(pr.protocol)) errs.push(required(`${p}.protocol`));
    else if (!PROTOCOLS.includes(pr.protocol as string))
      errs.push(notSupported(`${p}.protocol`, pr.protocol, PROTOCOLS));
    if (typeof pr.port === 'number')
      for (const it of eachInvalid(`${p}.port`, pr.port, isValidPortNum(pr.port))) errs.push(it);
  });
  return errs;
}

export function validateEndpointSliceUpdate(obj: KObject, old: KObject): FieldError[] {
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateEndpointSlice(obj).filter((e) => !e.field.startsWith('metadata.')),
    ...validateImmutableField(obj.addressType, old.addressType, 'addressType'),
  ];
}

function listWithMore(items: string[], count: number): string {
  if (count > 3) return `${items.slice(0, 3).join(',')} + ${count - 3} more...`;
  return items.length === 0 ? '<unset>' : items.join(',');
}

/** Upstream's formatDiscoveryPorts: port numbers (or names, or "*"), at most three. */
export function formatSlicePorts(ports: unknown): string {
  const list = Array.isArray(ports) ? ports : [];
  const items = list.map((p) => {
    const n = get(p, 'port');
    if (typeof n === 'number') return String(n);
    const name = get(p, 'name');
    return typeof name === 'string' ? name : '*';
  });
  return listWithMore(items, items.length);
}

/** Upstream's formatDiscoveryEndpoints: addresses of all endpoints, at most three. */
export function formatSliceEndpoints(endpoints: unknown): string {
  const addresses: string[] = [];
  for (const ep of Array.isArray(endpoints) ? endpoints : []) {
    const as = get(ep, 'addresses');
    for (const a of Array.isArray(as) ? as : []) addresses.push(str(a));
  }
  return listWithMore(addresses, addresses.length);
}

export const endpointSlices: ResourceDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  verbs: ALL_VERBS,
  tracksGeneration: true,
  defaults: endpointSliceDefaults,
  validate: validateEndpointSlice,
  validateUpdate: validateEndpointSliceUpdate,
  columns: [
    nameColumn,
    column(
      'AddressType',
      'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.',
    ),
    column(
      'Ports',
      'ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates "all ports". Each slice may include a maximum of 100 ports.',
    ),
    column(
      'Endpoints',
      'endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.',
    ),
    ageColumn,
  ],
  row(obj, now) {
    return [
      obj.metadata.name ?? '',
      str(obj.addressType),
      formatSlicePorts(obj.ports),
      formatSliceEndpoints(obj.endpoints),
      age(obj, now),
    ];
  },
};
