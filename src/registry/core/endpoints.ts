import { isIP } from 'node:net';
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, arr, column, get, nameColumn, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  invalidField,
  isDNS1123Label,
  isRecord,
  isValidPortNum,
  notSupported,
  required,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function defaults(obj: KObject): void {
  for (const ss of arr(obj.subsets)) {
    for (const p of arr(get(ss, 'ports'))) if (isRecord(p) && !p.protocol) p.protocol = 'TCP';
  }
}

function validateSubsets(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  arr(obj.subsets).forEach((ss, i) => {
    const path = `subsets[${i}]`;
    const addresses = arr(get(ss, 'addresses'));
    const notReady = arr(get(ss, 'notReadyAddresses'));
    if (addresses.length === 0 && notReady.length === 0) {
      errs.push(required(path, 'must specify `addresses` or `notReadyAddresses`'));
    }
    for (const [field, list] of [
      ['addresses', addresses],
      ['notReadyAddresses', notReady],
    ] as const) {
      list.forEach((a, j) => {
        const ip = get(a, 'ip');
        if (typeof ip !== 'string' || isIP(ip) === 0) {
          errs.push(
            invalidField(
              `${path}.${field}[${j}].ip`,
              ip ?? '',
              'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
            ),
          );
        }
        const hostname = get(a, 'hostname');
        if (typeof hostname === 'string' && hostname !== '') {
          for (const it of eachInvalid(`${path}.${field}[${j}].hostname`, hostname, isDNS1123Label(hostname)))
            errs.push(it);
        }
      });
    }
    const ports = arr(get(ss, 'ports'));
    ports.forEach((p, j) => {
      const pp = `${path}.ports[${j}]`;
      const name = str(get(p, 'name'));
      if (ports.length > 1 && name === '') errs.push(required(`${pp}.name`));
      else if (name !== '')
        for (const it of eachInvalid(`${pp}.name`, name, isDNS1123Label(name))) errs.push(it);
      const port = Number(get(p, 'port') ?? 0);
      for (const it of eachInvalid(`${pp}.port`, port, isValidPortNum(port))) errs.push(it);
      const proto = get(p, 'protocol');
      if (!proto) errs.push(required(`${pp}.protocol`));
      else if (!PROTOCOLS.includes(proto as string))
        errs.push(notSupported(`${pp}.protocol`, proto, PROTOCOLS));
    });
  });
  return errs;
}

/** The ENDPOINTS cell: "ip:port" pairs (or bare IPs without ports), three at most, then " + N more...". */
export function formatEndpoints(obj: KObject): string {
  const subsets = arr(obj.subsets);
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  let more = false;
  const add = (s: string) => {
    if (list.length === max) more = true;
    else list.push(s);
  };
  for (const ss of subsets) {
    const addresses = arr(get(ss, 'addresses')).map((a) => str(get(a, 'ip')));
    const ports = arr(get(ss, 'ports'));
    if (ports.length === 0) {
      count += addresses.length;
      for (const ip of addresses) add(ip);
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      const port = String(get(p, 'port') ?? 0);
      for (const ip of addresses) add(ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

export const endpoints: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  hasStatus: false,
  tracksGeneration: false,
  defaults,
  validate: (obj) => [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validateSubsets(obj)],
  validateUpdate: (obj, old) => [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateSubsets(obj),
  ],
  columns: [
    nameColumn,
    column(
      'Endpoints',
      'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.',
    ),
    ageColumn,
  ],
  row: (obj, now) => [obj.metadata.name ?? '', formatEndpoints(obj), age(obj, now)],
};
