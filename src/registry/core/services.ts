import { isIP } from 'node:net';
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { age, ageColumn, arr, column, formatLabels, get, nameColumn, rec, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  duplicate,
  eachInvalid,
  forbiddenField,
  invalidField,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isRecord,
  isValidPortName,
  isValidPortNum,
  notSupported,
  required,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

type Json = Record<string, unknown>;

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const AFFINITIES = ['ClientIP', 'None'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const IP_FAMILY_POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const NODE_PORT_RANGE = { lo: 30000, hi: 32767 };
const IP_DETAIL = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

function isHeadless(spec: Json): boolean {
  return spec.clusterIP === 'None';
}

function externallyAccessible(spec: Json): boolean {
  return (
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && arr(spec.externalIPs).length > 0)
  );
}

/** Upstream's SetDefaults_Service plus the clusterIP/clusterIPs/ipFamilies normalisation of the REST layer. */
function defaults(obj: KObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec = obj.spec as Json;
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (
    spec.sessionAffinity === 'ClientIP' &&
    get(spec, 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds') === undefined
  ) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of arr(spec.ports)) {
    if (!isRecord(p)) continue;
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') {
      p.targetPort = p.port;
    }
  }
  if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (spec.internalTrafficPolicy === undefined && spec.type !== 'ExternalName')
    spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) {
    spec.allocateLoadBalancerNodePorts = true;
  }
  if (spec.type !== 'ExternalName') {
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && arr(spec.clusterIPs).length === 0) {
      spec.clusterIPs = [spec.clusterIP];
    } else if (!spec.clusterIP && typeof get(spec, 'clusterIPs', 0) === 'string') {
      spec.clusterIP = get(spec, 'clusterIPs', 0);
    }
    if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = 'SingleStack';
    if (arr(spec.ipFamilies).length === 0) {
      const ip = str(spec.clusterIP);
      spec.ipFamilies = [isIP(ip) === 6 ? 'IPv6' : 'IPv4'];
    }
  }
  if (!isRecord(obj.status)) obj.status = { loadBalancer: {} };
}

function validateSpec(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  const type = spec.type;
  if (!SERVICE_TYPES.includes(type as string))
    errs.push(notSupported('spec.type', type ?? '', SERVICE_TYPES));
  if (!AFFINITIES.includes(spec.sessionAffinity as string)) {
    errs.push(notSupported('spec.sessionAffinity', spec.sessionAffinity ?? '', AFFINITIES));
  }
  const ports = arr(spec.ports);
  if (ports.length === 0 && !isHeadless(spec) && type !== 'ExternalName') errs.push(required('spec.ports'));
  if (type === 'ExternalName') {
    const en = str(spec.externalName);
    if (en === '') errs.push(required('spec.externalName'));
    else
      for (const it of eachInvalid('spec.externalName', en, isDNS1123Subdomain(en.replace(/\.$/, ''))))
        errs.push(it);
  }

  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    if (!isRecord(p)) {
      errs.push(invalidField(path, p, 'must be an object'));
      return;
    }
    const name = str(p.name);
    if (ports.length > 1 && name === '') errs.push(required(`${path}.name`));
    else if (name !== '') {
      for (const it of eachInvalid(`${path}.name`, name, isDNS1123Label(name))) errs.push(it);
      if (names.has(name)) errs.push(duplicate(`${path}.name`, name));
      names.add(name);
    }
    for (const it of eachInvalid(`${path}.port`, p.port ?? 0, isValidPortNum(Number(p.port ?? 0))))
      errs.push(it);
    if (!p.protocol) errs.push(required(`${path}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol as string))
      errs.push(notSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
    const tp = p.targetPort;
    if (typeof tp === 'number')
      for (const it of eachInvalid(`${path}.targetPort`, tp, isValidPortNum(tp))) errs.push(it);
    else if (typeof tp === 'string')
      for (const it of eachInvalid(`${path}.targetPort`, tp, isValidPortName(tp))) errs.push(it);
    const nodePort = Number(p.nodePort ?? 0);
    if (nodePort !== 0) {
      if (type === 'ClusterIP') {
        errs.push(forbiddenField(`${path}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
      } else if (type === 'ExternalName') {
        errs.push(forbiddenField(`${path}.nodePort`, "may not be used when `type` is 'ExternalName'"));
      } else if (nodePort < NODE_PORT_RANGE.lo || nodePort > NODE_PORT_RANGE.hi) {
        errs.push(
          invalidField(
            `${path}.nodePort`,
            nodePort,
            `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.lo}-${NODE_PORT_RANGE.hi}`,
          ),
        );
      }
    }
    const key = `${p.port}/${p.protocol}`;
    if (seen.has(key)) {
      errs.push(duplicate(path, { port: p.port, protocol: p.protocol }));
    }
    seen.add(key);
  });

  if (type !== 'ExternalName') {
    arr(spec.clusterIPs).forEach((ip, i) => {
      if (ip === 'None' && i === 0) return;
      if (typeof ip !== 'string' || isIP(ip) === 0)
        errs.push(invalidField(`spec.clusterIPs[${i}]`, ip, IP_DETAIL));
    });
    if (spec.ipFamilyPolicy && !IP_FAMILY_POLICIES.includes(spec.ipFamilyPolicy as string)) {
      errs.push(notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, IP_FAMILY_POLICIES));
    }
  }
  arr(spec.externalIPs).forEach((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0)
      errs.push(invalidField(`spec.externalIPs[${i}]`, ip, IP_DETAIL));
  });
  for (const it of validateLabels(spec.selector, 'spec.selector')) errs.push(it);
  if (spec.externalTrafficPolicy) {
    if (!externallyAccessible(spec)) {
      errs.push(
        invalidField(
          'spec.externalTrafficPolicy',
          spec.externalTrafficPolicy,
          'may only be set for externally-accessible services',
        ),
      );
    } else if (!TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy as string)) {
      errs.push(notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, TRAFFIC_POLICIES));
    }
  }
  if (spec.internalTrafficPolicy && !TRAFFIC_POLICIES.includes(spec.internalTrafficPolicy as string)) {
    errs.push(notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, TRAFFIC_POLICIES));
  }
  const timeout = get(spec, 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds');
  if (
    spec.sessionAffinity === 'ClientIP' &&
    typeof timeout === 'number' &&
    (timeout <= 0 || timeout > 86400)
  ) {
    errs.push(
      invalidField(
        'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
        timeout,
        'must be greater than 0 and less than 86400',
      ),
    );
  }
  return errs;
}

function validate(obj: KObject): FieldError[] {
  return [
    ...validateObjectMeta(obj.metadata, { namespaced: true, nameFn: isDNS1035Label }),
    ...validateSpec(rec(obj.spec)),
  ];
}

function validateUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...validateSpec(rec(obj.spec))];
  const spec = rec(obj.spec);
  const oldSpec = rec(old.spec);
  // The primary cluster IP may not change unless moving to or from ExternalName.
  if (spec.type !== 'ExternalName' && oldSpec.type !== 'ExternalName') {
    const oldIPs = arr(oldSpec.clusterIPs);
    const newIPs = arr(spec.clusterIPs);
    if (oldIPs.length > 0 && newIPs.length > 0 && oldIPs[0] !== newIPs[0]) {
      errs.push(invalidField('spec.clusterIPs[0]', newIPs, 'may not change once set'));
    }
  }
  return errs;
}

function portsCell(spec: Json): string {
  const pieces = arr(spec.ports).map((p) => {
    const port = get(p, 'port');
    const proto = str(get(p, 'protocol'));
    const nodePort = Number(get(p, 'nodePort') ?? 0);
    return nodePort > 0 ? `${port}:${nodePort}/${proto}` : `${port}/${proto}`;
  });
  return pieces.length === 0 ? '<none>' : pieces.join(',');
}

function externalIPCell(obj: KObject): string {
  const spec = rec(obj.spec);
  const externalIPs = arr(spec.externalIPs).map(String);
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = new Set<string>();
      for (const ing of arr(get(obj.status, 'loadBalancer', 'ingress'))) {
        const v = str(get(ing, 'ip')) || str(get(ing, 'hostname'));
        if (v) lb.add(v);
      }
      const lbIPs = [...lb].sort();
      if (externalIPs.length > 0) return [...lbIPs, ...externalIPs].join(',');
      return lbIPs.length > 0 ? lbIPs.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

function row(obj: KObject, now: Date): unknown[] {
  const spec = rec(obj.spec);
  const clusterIP =
    typeof get(spec, 'clusterIPs', 0) === 'string' ? String(get(spec, 'clusterIPs', 0)) : '<none>';
  return [
    obj.metadata.name ?? '',
    str(spec.type),
    clusterIP,
    externalIPCell(obj),
    portsCell(spec),
    age(obj, now),
    formatLabels(isRecord(spec.selector) ? (spec.selector as Record<string, string>) : undefined),
  ];
}

export const services: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [
    {
      name: 'proxy',
      kind: { group: '', version: 'v1', kind: 'ServiceProxyOptions' },
      verbs: ['create', 'delete', 'get', 'patch', 'update'],
    },
    {
      name: 'status',
      kind: { group: '', version: 'v1', kind: 'Service' },
      verbs: ['get', 'patch', 'update'],
    },
  ],
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  validate,
  validateUpdate,
  columns: [
    nameColumn,
    column(
      'Type',
      'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
    ),
    column(
      'Cluster-IP',
      'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
    ),
    column(
      'External-IP',
      'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.',
    ),
    column(
      'Port(s)',
      'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
    ),
    ageColumn,
    column(
      'Selector',
      'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/',
      { priority: 1 },
    ),
  ],
  row,
  fieldLabels(obj) {
    const spec = rec(obj.spec);
    return { 'spec.clusterIP': str(spec.clusterIP), 'spec.type': str(spec.type) };
  },
};
