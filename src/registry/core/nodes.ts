import { isIP } from 'node:net';
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, arr, column, get, nameColumn, rec, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  duplicate,
  eachInvalid,
  forbiddenField,
  invalidField,
  isQualifiedName,
  isRecord,
  isValidLabelValue,
  notSupported,
  validateObjectMeta,
  validateObjectMetaUpdate,
  validateResourceList,
} from '../validation.js';

const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

function defaults(obj: KObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  if (!isRecord(obj.status)) obj.status = {};
  const status = obj.status as Record<string, unknown>;
  if (status.allocatable === undefined && isRecord(status.capacity))
    status.allocatable = { ...status.capacity };
}

function isCIDR(v: string): boolean {
  const slash = v.indexOf('/');
  if (slash < 0) return false;
  const ip = v.slice(0, slash);
  const bits = Number(v.slice(slash + 1));
  const fam = isIP(ip);
  if (fam === 0 || !/^\d+$/.test(v.slice(slash + 1))) return false;
  return bits >= 0 && bits <= (fam === 4 ? 32 : 128);
}

function validateNode(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = rec(obj.spec);
  const seen = new Set<string>();
  arr(spec.taints).forEach((t, i) => {
    const path = `spec.taints[${i}]`;
    const key = str(get(t, 'key'));
    for (const it of eachInvalid(`${path}.key`, key, isQualifiedName(key))) errs.push(it);
    const value = get(t, 'value');
    if (typeof value === 'string')
      for (const it of eachInvalid(`${path}.value`, value, isValidLabelValue(value))) errs.push(it);
    const effect = get(t, 'effect');
    if (!TAINT_EFFECTS.includes(effect as string))
      errs.push(notSupported(`${path}.effect`, effect ?? '', TAINT_EFFECTS));
    const id = `${key}:${String(effect)}`;
    if (seen.has(id)) errs.push(duplicate(path, t));
    seen.add(id);
  });
  const cidrs = arr(spec.podCIDRs);
  cidrs.forEach((c, i) => {
    if (typeof c !== 'string' || !isCIDR(c))
      errs.push(
        invalidField(
          `spec.podCIDRs[${i}]`,
          c,
          'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
        ),
      );
  });
  if (typeof spec.podCIDR === 'string' && spec.podCIDR !== '' && !isCIDR(spec.podCIDR)) {
    errs.push(
      invalidField(
        'spec.podCIDR',
        spec.podCIDR,
        'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      ),
    );
  }
  const status = rec(obj.status);
  for (const it of validateResourceList(status.capacity, 'status.capacity')) errs.push(it);
  for (const it of validateResourceList(status.allocatable, 'status.allocatable')) errs.push(it);
  return errs;
}

function validateUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...validateNode(obj)];
  const spec = rec(obj.spec);
  const oldSpec = rec(old.spec);
  if (str(oldSpec.podCIDR) !== '' && str(spec.podCIDR) !== str(oldSpec.podCIDR)) {
    errs.push(forbiddenField('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  }
  if (str(oldSpec.providerID) !== '' && str(spec.providerID) !== str(oldSpec.providerID)) {
    errs.push(
      forbiddenField('spec.providerID', 'node updates may not change providerID except from "" to valid'),
    );
  }
  return errs;
}

/** The STATUS cell: Ready/NotReady/Unknown, plus ",SchedulingDisabled" when cordoned. */
export function nodeStatusCell(obj: KObject): string {
  const parts: string[] = [];
  const ready = arr(get(obj.status, 'conditions')).find((c) => get(c, 'type') === 'Ready');
  if (ready !== undefined) parts.push(get(ready, 'status') === 'True' ? 'Ready' : 'NotReady');
  else parts.push('Unknown');
  if (get(obj.spec, 'unschedulable') === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

/** Roles from node-role.kubernetes.io/<role> labels and the kubernetes.io/role label, sorted. */
export function nodeRoles(obj: KObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(v);
    }
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function address(obj: KObject, type: string): string {
  const a = arr(get(obj.status, 'addresses')).find((x) => get(x, 'type') === type);
  return a === undefined ? '<none>' : str(get(a, 'address'));
}

function row(obj: KObject, now: Date): unknown[] {
  const info = rec(get(obj.status, 'nodeInfo'));
  return [
    obj.metadata.name ?? '',
    nodeStatusCell(obj),
    nodeRoles(obj),
    age(obj, now),
    str(info.kubeletVersion),
    address(obj, 'InternalIP'),
    address(obj, 'ExternalIP'),
    str(info.osImage) || '<unknown>',
    str(info.kernelVersion) || '<unknown>',
    str(info.containerRuntimeVersion) || '<unknown>',
  ];
}

export const nodes: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [
    {
      name: 'proxy',
      kind: { group: '', version: 'v1', kind: 'NodeProxyOptions' },
      verbs: ['create', 'delete', 'get', 'patch', 'update'],
    },
    { name: 'status', kind: { group: '', version: 'v1', kind: 'Node' }, verbs: ['get', 'patch', 'update'] },
  ],
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  validate: (obj) => [...validateObjectMeta(obj.metadata, { namespaced: false }), ...validateNode(obj)],
  validateUpdate,
  columns: [
    nameColumn,
    column('Status', 'The status of the node'),
    column('Roles', 'The roles of the node'),
    ageColumn,
    column('Version', 'Kubelet Version reported by the node.'),
    column(
      'Internal-IP',
      "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
      { priority: 1 },
    ),
    column(
      'External-IP',
      "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
      { priority: 1 },
    ),
    column(
      'OS-Image',
      'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      { priority: 1 },
    ),
    column(
      'Kernel-Version',
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      { priority: 1 },
    ),
    column(
      'Container-Runtime',
      'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
      { priority: 1 },
    ),
  ],
  row,
  fieldLabels: (obj) => ({ 'spec.unschedulable': String(get(obj.spec, 'unschedulable') === true) }),
};
