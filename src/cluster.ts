/**
 * Wires one Ordinal cluster in this process: store → REST → HTTPS API server,
 * plus the built-in controllers. `ordinal up` and the tests start clusters here.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LogNotFoundError, type OciNode, startOciNode } from './agent/node/index.js';
import {
  describeProbe,
  ensureBridge,
  type ProbeResult,
  parseCidr,
  probeRuntime,
  which,
} from './agent/oci/index.js';
import { type ServiceProxy, startServiceProxy } from './agent/proxy/index.js';
import { type SimNodes, startSimNodes } from './agent/sim/index.js';
import { badRequest, isAlreadyExists, isNotFound } from './api/errors.js';
import type { KObject } from './api/types.js';
import { createAuthenticator, isPublicPath, type UserInfo } from './apiserver/auth/authn.js';
import { type Authorizer, alwaysAllow } from './apiserver/auth/authz.js';
import type { Pki } from './apiserver/auth/pki.js';
import { ServiceAccountTokens } from './apiserver/auth/sa-token.js';
import { PodLogs } from './apiserver/logs.js';
import { PodStreams } from './apiserver/pod-streams.js';
import { Rest } from './apiserver/rest.js';
import { ApiServer } from './apiserver/server.js';
import { VirtualResources } from './apiserver/virtual.js';
import { InProcessClient } from './client/in-process.js';
import { type Controllers, startControllers } from './controllers/index.js';
import { ensureDefaultStorageClass } from './controllers/volume/index.js';
import { type ClusterDns, startClusterDns } from './dns/index.js';
import { resources } from './registry/index.js';
import type { Store } from './storage/interface.js';
import { MemoryStore } from './storage/memory.js';
import { SqliteStore } from './storage/sqlite.js';

export interface ClusterOptions {
  dataDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  store: 'sqlite' | 'memory';
  /**
   * 'sim' registers `nodes` simulated nodes (the default); 'oci' runs one real node on runc (fails when it
   * cannot); 'auto' picks oci when it can (Linux, root, a working runtime, one node) and sim otherwise;
   * 'none' runs no node agent.
   */
  runtime?: string;
  nodes?: number;
  /** Simulated nodes: bound pod → Running and Ready after this many ms (default 500). */
  simReadyDelayMs?: number;
  /** Directory for the shared-directory provisioner (default <dataDir>/shared). */
  sharedDir?: string;
  /** Cluster DNS port on the API host (UDP and TCP; 0 picks a free one, the default; -1 disables it). */
  dnsPort?: number;
  pki: Pki;
  /** Replaces the authorizer (default: every authenticated user is allowed). */
  authorizer?: Authorizer;
  /** Run the built-in controllers (default true). */
  controllers?: boolean;
  /** How long watch history is kept before compaction, in ms (default 5 minutes). */
  compactionIntervalMs?: number;
}

export interface Cluster {
  url: string;
  port: number;
  rest: Rest;
  store: Store;
  client: InProcessClient;
  /** Node agents register their container log sources here (`kubectl logs`). */
  logs: PodLogs;
  /** Node agents register their exec/attach/port-forward targets here. */
  streams: PodStreams;
  /** Where the cluster DNS listens, if it runs. */
  dns?: { host: string; port: number };
  /** The node runtime in use ('sim', 'oci' or 'none') and, for people, what it is or why it was chosen. */
  runtime: { name: string; detail: string };
  stop(): Promise<void>;
}

const BOOTSTRAP_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  mkdirSync(opts.dataDir, { recursive: true });
  const store: Store =
    opts.store === 'memory' ? new MemoryStore() : SqliteStore.open(join(opts.dataDir, 'state.db'));
  // Admission needs what the controllers publish (the default ServiceAccount, kube-root-ca.crt).
  const rest = new Rest(store, resources, { admission: opts.controllers !== false });
  const tokens = new ServiceAccountTokens(opts.pki.serverKeyPem);
  const saDef = rest.resource('', 'v1', 'serviceaccounts')!;
  const authenticateToken = async (token: string): Promise<UserInfo | undefined> => {
    const claims = tokens.verify(token, rest.now());
    if (!claims) return undefined;
    const k = claims['kubernetes.io'];
    try {
      const sa = await rest.get(saDef, k.namespace, k.serviceaccount.name);
      if (sa.metadata.uid !== k.serviceaccount.uid) return undefined;
    } catch {
      return undefined;
    }
    return {
      username: `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`,
      uid: k.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`],
    };
  };
  const authenticate = createAuthenticator({
    pki: opts.pki,
    tokenAuthenticators: [{ authenticateToken }],
  });
  const authorizer = opts.authorizer ?? alwaysAllow;
  const virtual = new VirtualResources(rest, authorizer, tokens, authenticateToken);
  let serverAddress = `${opts.host}:${opts.port}`;
  const logs = new PodLogs();
  const streams = new PodStreams();
  const api = new ApiServer({
    rest,
    logs,
    streams,
    authenticate,
    authorizer,
    isPublicPath,
    virtual,
    get serverAddress() {
      return serverAddress;
    },
  });
  await bootstrap(rest);
  const server: Server = createServer(
    {
      key: opts.pki.serverKeyPem,
      cert: opts.pki.serverCertPem,
      ca: opts.pki.caCertPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    api.handle,
  );
  server.on('upgrade', api.handleUpgrade);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  serverAddress = `${opts.host}:${port}`;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  await publishApiEndpoints(rest, opts.host, port);
  const client = new InProcessClient(rest, undefined, virtual);
  let controllers: Controllers | undefined;
  if (opts.controllers !== false) {
    await ensureDefaultStorageClass(client);
    controllers = await startControllers(client, rest, {
      caPem: opts.pki.caCertPem,
      dataDir: opts.dataDir,
      ...(opts.sharedDir ? { sharedDir: opts.sharedDir } : {}),
    });
  }
  let dns: ClusterDns | undefined;
  if ((opts.dnsPort ?? 0) >= 0 && opts.controllers !== false) {
    const dnsHost = concreteAddress(opts.host);
    dns = await startClusterDns(client, { host: dnsHost, port: opts.dnsPort ?? 0 });
  }
  let sim: SimNodes | undefined;
  let ociNode: OciNode | undefined;
  let podDns: ClusterDns | undefined;
  let proxy: ServiceProxy | undefined;
  const nodes = opts.nodes ?? 1;
  const runtime = await chooseRuntime(opts.runtime ?? 'sim', nodes);
  if (runtime.name === 'sim' && nodes > 0) {
    sim = await startSimNodes(client, { nodes, readyDelayMs: opts.simReadyDelayMs ?? 500 });
  } else if (runtime.name === 'oci') {
    ({ node: ociNode, podDns } = await startRealNode(client, logs, streams, opts, runtime.probe));
    proxy = await startServiceProxy(client, { podCidr: POD_CIDR });
  }
  const compaction = startCompaction(store, opts.compactionIntervalMs ?? 5 * 60_000);
  let stopped = false;
  return {
    url: `https://${hostForUrl}:${port}`,
    port,
    rest,
    store,
    client,
    logs,
    streams,
    ...(dns ? { dns: { host: dns.host, port: dns.port } } : {}),
    runtime: { name: runtime.name, detail: runtime.detail },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(compaction);
      await dns?.stop();
      await podDns?.stop();
      await sim?.stop();
      await proxy?.stop(); // before the node removes the bridge whose settings it restores
      await ociNode?.stop();
      await controllers?.stop();
      api.closeWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}

const POD_CIDR = '10.244.0.0/24';

export type RuntimeChoice =
  | { name: 'oci'; detail: string; probe: Exclude<ProbeResult, { error: string }> }
  | { name: 'sim' | 'none'; detail: string; probe?: undefined };

const REAL_PODS_HINT =
  'for real pods run ordinal up as root on Linux with runc, iproute2 and busybox-static installed (apt-get install -y runc iproute2 busybox-static)';

/** What chooseRuntime looks at on this host (tests substitute it). */
export interface RuntimeHost {
  platform: string;
  isRoot: boolean;
  hasCommand(name: string): boolean;
  probe(): Promise<ProbeResult>;
}

const THIS_HOST: RuntimeHost = {
  platform: process.platform,
  isRoot: typeof process.getuid !== 'function' || process.getuid() === 0,
  hasCommand: (name) => which(name) !== undefined,
  probe: () => probeRuntime(),
};

/**
 * Resolves --runtime. 'oci' must work (the probe's explanation is the error otherwise); 'auto' takes oci
 * when this host can run containers and falls back to simulated nodes, saying exactly why.
 */
export async function chooseRuntime(
  requested: string,
  nodes: number,
  host: RuntimeHost = THIS_HOST,
): Promise<RuntimeChoice> {
  if (requested === 'sim' || requested === 'none') {
    return { name: requested, detail: requested === 'sim' ? 'simulated nodes, no processes' : 'no nodes' };
  }
  if (requested === 'oci') {
    const probe = await host.probe();
    if ('error' in probe) throw new Error(`no OCI runtime: ${describeProbe(probe)}`);
    return { name: 'oci', detail: describeProbe(probe), probe };
  }
  const sim = (why: string): RuntimeChoice => ({
    name: 'sim',
    detail: `simulated nodes, no processes: ${why}; ${REAL_PODS_HINT}`,
  });
  if (host.platform !== 'linux') return sim(`real containers need Linux, this is ${host.platform}`);
  if (nodes !== 1)
    return { name: 'sim', detail: `${nodes} simulated nodes (real pods run on a single node)` };
  if (!host.isRoot) return sim('not running as root');
  if (!host.hasCommand('ip')) return sim('the ip command (iproute2) is missing');
  const probe = await host.probe();
  if ('error' in probe) return sim(probe.error);
  return { name: 'oci', detail: describeProbe(probe), probe };
}

/**
 * `--runtime oci`: one node running pods as containers with runc. Pods
 * resolve names through a cluster DNS listener on the pod bridge's address
 * (port 53, as resolv.conf requires). Throws with the runtime probe's
 * explanation when no OCI runtime works here.
 */
async function startRealNode(
  client: InProcessClient,
  logs: PodLogs,
  streams: PodStreams,
  opts: ClusterOptions,
  probe: Exclude<ProbeResult, { error: string }>,
): Promise<{ node: OciNode; podDns: ClusterDns | undefined }> {
  const gateway = parseCidr(POD_CIDR).gateway;
  const host = hostname().toLowerCase();
  const nodeName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(host) && host.length <= 63 ? host : 'ordinal-node';
  const node = await startOciNode(client, {
    nodeName,
    dataDir: opts.dataDir,
    podCidr: POD_CIDR,
    runtimePath: probe.path,
    dnsServer: gateway,
    logDir: join(opts.dataDir, 'pod-logs'),
  });
  let podDns: ClusterDns | undefined;
  try {
    await ensureBridge(POD_CIDR); // the agent makes it with the first pod; DNS must bind to it now
    podDns = await startClusterDns(client, { host: gateway, port: 53 });
  } catch (e) {
    console.error(
      `cluster DNS for pods on ${gateway}:53 not started: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  streams.register(node.name, node.streamTarget());
  logs.register(node.name, {
    async *stream(pod, o, signal) {
      const ns = pod.metadata.namespace ?? '';
      const name = pod.metadata.name ?? '';
      const lo = {
        timestamps: o.timestamps,
        previous: o.previous,
        ...(o.tailLines !== undefined ? { tailLines: o.tailLines } : {}),
        ...(o.sinceSeconds !== undefined ? { sinceSeconds: o.sinceSeconds } : {}),
        ...(o.sinceTime !== undefined ? { sinceTime: o.sinceTime } : {}),
      };
      try {
        if (o.follow) yield* node.followContainerLog(ns, name, o.container, { ...lo, signal });
        else yield await node.readContainerLog(ns, name, o.container, lo);
      } catch (e) {
        if (e instanceof LogNotFoundError) throw badRequest(e.message);
        throw e;
      }
    },
  });
  return { node, podDns };
}

/** Objects every cluster has: the four system namespaces and the `kubernetes` Service. */
export async function bootstrap(rest: Rest): Promise<void> {
  const nsDef = rest.resource('', 'v1', 'namespaces')!;
  for (const name of BOOTSTRAP_NAMESPACES) {
    await createIfMissing(() =>
      rest.create(
        nsDef,
        undefined,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        { fieldManager: 'ordinal' },
      ),
    );
  }
  const svcDef = rest.resource('', 'v1', 'services')!;
  const svc: KObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      sessionAffinity: 'None',
    },
  };
  await createIfMissing(() => rest.create(svcDef, 'default', svc, { fieldManager: 'ordinal' }));
}

/** The address a listen host stands for: wildcards and `localhost` become loopback. */
function concreteAddress(host: string): string {
  if (host === '0.0.0.0' || host === 'localhost') return '127.0.0.1';
  return host === '::' ? '::1' : host;
}

/**
 * The `kubernetes` Service's Endpoints and EndpointSlice name where the API
 * server listens (upstream's apiserver keeps them itself; no controller does).
 */
async function publishApiEndpoints(rest: Rest, host: string, port: number): Promise<void> {
  const ip = concreteAddress(host);
  const v6 = ip.includes(':');
  const epDef = rest.resource('', 'v1', 'endpoints')!;
  const endpoints: KObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
  };
  const sliceDef = rest.resource('discovery.k8s.io', 'v1', 'endpointslices')!;
  const slice: KObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes' },
    },
    addressType: v6 ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  };
  for (const [def, obj] of [
    [epDef, endpoints],
    [sliceDef, slice],
  ] as const) {
    try {
      const cur = await rest.get(def, 'default', 'kubernetes');
      const next = { ...structuredClone(obj), metadata: { ...cur.metadata, labels: obj.metadata.labels } };
      await rest.update(def, 'default', 'kubernetes', next, { fieldManager: 'ordinal' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await createIfMissing(() =>
        rest.create(def, 'default', structuredClone(obj), { fieldManager: 'ordinal' }),
      );
    }
  }
}

async function createIfMissing(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/** Compacts history older than one interval, every interval (like the apiserver's etcd compactor). */
function startCompaction(store: Store, intervalMs: number): NodeJS.Timeout {
  let previous = 0;
  const t = setInterval(() => {
    void (async () => {
      const current = await store.currentRevision();
      if (previous > 0) await store.compact(previous);
      previous = current;
    })().catch((e: unknown) => console.error('compaction failed:', e));
  }, intervalMs);
  t.unref();
  return t;
}
