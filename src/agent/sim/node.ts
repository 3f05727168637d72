/**
 * Node objects, node status and Leases as the kubelet writes them for a
 * simulated node (labels, capacity, conditions with upstream reasons, node
 * info, daemon endpoints; Lease renewTime in MicroTime format).
 */
import { createHash } from 'node:crypto';
import { release } from 'node:os';
import { isObject, type KObject } from '../../api/types.js';
import { type NodeCondition, nodeConditions } from '../../controllers/util/nodes.js';
import { rfc3339 } from '../../controllers/util/pods.js';
import type { Json } from './status.js';

export const KUBELET_VERSION = 'v1.33.1';
export const RUNTIME_VERSION = 'sim://0.1.0';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;
export const KUBELET_PORT = 10250;

export interface NodeCapacity {
  cpu?: string;
  memory?: string;
  pods?: string;
  'ephemeral-storage'?: string;
}

export const DEFAULT_CAPACITY: Required<NodeCapacity> = {
  cpu: '32',
  memory: '256Gi',
  pods: '1000',
  'ephemeral-storage': '1Ti',
};

/** Go's GOARCH for this process (node labels and nodeInfo.architecture). */
export function goArch(): string {
  switch (process.arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return process.arch;
  }
}

/**
 * A loopback alias per node: 127.0.0.1 for the first, then 127.0.0.2, …,
 * 127.0.0.254, 127.0.1.1, … (the whole 127/8 is local on Linux).
 */
export function nodeAddress(index: number): string {
  const block = Math.floor(index / 254);
  return `127.${Math.floor(block / 256) % 256}.${block % 256}.${(index % 254) + 1}`;
}

/** Labels the kubelet sets on its Node (plus type=sim). */
export function nodeLabels(name: string): Record<string, string> {
  const arch = goArch();
  return {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    type: 'sim',
  };
}

export const NODE_ANNOTATIONS: Record<string, string> = {
  'node.alpha.kubernetes.io/ttl': '0',
  'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
};

/** The Node object registered for a simulated node (status is written separately). */
export function nodeObject(name: string, podCidr: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: nodeLabels(name), annotations: { ...NODE_ANNOTATIONS } },
    spec: { podCIDR: podCidr, podCIDRs: [podCidr] },
  };
}

function hex(name: string, salt: string): string {
  return createHash('sha256').update(`${salt}/${name}`).digest('hex');
}

function uuid(h: string): string {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The kubelet's healthy conditions, in its order. */
const HEALTHY: readonly { type: string; status: string; reason: string; message: string; event: string }[] = [
  {
    type: 'MemoryPressure',
    status: 'False',
    reason: 'KubeletHasSufficientMemory',
    message: 'kubelet has sufficient memory available',
    event: 'NodeHasSufficientMemory',
  },
  {
    type: 'DiskPressure',
    status: 'False',
    reason: 'KubeletHasNoDiskPressure',
    message: 'kubelet has no disk pressure',
    event: 'NodeHasNoDiskPressure',
  },
  {
    type: 'PIDPressure',
    status: 'False',
    reason: 'KubeletHasSufficientPID',
    message: 'kubelet has sufficient PID available',
    event: 'NodeHasSufficientPID',
  },
  {
    type: 'Ready',
    status: 'True',
    reason: 'KubeletReady',
    message: 'kubelet is posting ready status',
    event: 'NodeReady',
  },
];

export interface NodeStatusInput {
  name: string;
  ip: string;
  capacity: Required<NodeCapacity>;
  bootId: string;
}

/**
 * The node status the kubelet posts at `now`, merged onto `old` (conditions
 * keep their lastTransitionTime while their status holds). Also returns the
 * node events the kubelet records for condition changes: a new pressure
 * condition or one changing back to False, and Ready turning True again.
 */
export function nodeStatus(
  old: unknown,
  input: NodeStatusInput,
  now: number,
): { status: Json; events: string[] } {
  const prev = isObject(old) ? old : {};
  const oldConds = nodeConditions(prev);
  const stamp = rfc3339(now);
  const events: string[] = [];
  const conditions: NodeCondition[] = [];
  // Conditions someone else owns (NetworkUnavailable, custom ones) stay, first.
  for (const c of oldConds) if (!HEALTHY.some((h) => h.type === c.type)) conditions.push(c);
  for (const h of HEALTHY) {
    const o = oldConds.find((c) => c.type === h.type);
    const changed = !o || o.status !== h.status;
    if ((!o && h.type !== 'Ready') || (o && changed)) events.push(h.event);
    conditions.push({
      type: h.type,
      status: h.status,
      lastHeartbeatTime: stamp,
      lastTransitionTime: changed ? stamp : (o?.lastTransitionTime ?? stamp),
      reason: h.reason,
      message: h.message,
    });
  }
  const cap: Json = { ...input.capacity, 'hugepages-1Gi': '0', 'hugepages-2Mi': '0' };
  const status: Json = {
    ...prev,
    addresses: [
      { type: 'InternalIP', address: input.ip },
      { type: 'Hostname', address: input.name },
    ],
    allocatable: { ...cap },
    capacity: cap,
    conditions,
    daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
    nodeInfo: {
      architecture: goArch(),
      bootID: input.bootId,
      containerRuntimeVersion: RUNTIME_VERSION,
      kernelVersion: release(),
      kubeProxyVersion: '',
      kubeletVersion: KUBELET_VERSION,
      machineID: hex(input.name, 'machine').slice(0, 32),
      operatingSystem: 'linux',
      osImage: 'Ordinal simulated node',
      systemUUID: uuid(hex(input.name, 'system')),
    },
  };
  return { status, events };
}

/** A fresh boot id (changes with every agent start, as a reboot would). */
export function newBootId(name: string): string {
  return uuid(hex(name, `boot/${Date.now()}/${Math.random()}`));
}

/** metav1.MicroTime as the API writes it: "2006-01-02T15:04:05.000000Z". */
export function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

/** The node's heartbeat Lease, owned by its Node as the kubelet creates it. */
export function leaseObject(node: KObject, renewMs: number): KObject {
  const name = node.metadata.name ?? '';
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid ?? '' }],
    },
    spec: {
      holderIdentity: name,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      renewTime: microTime(renewMs),
    },
  };
}
