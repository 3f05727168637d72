/**
 * The real node agent (`--runtime oci`): a kubelet for one Node that runs the pods bound to it as containers
 * on runc, through src/agent/oci (sandbox, containers) and src/agent/images (pulls, rootfs).
 *
 * - Registers the Node (labels, host capacity, kubelet conditions, addresses, podCIDR, nodeInfo with
 *   `containerRuntimeVersion runc://<version>`), posts its status and renews its Lease.
 * - Per pod: image pulls per imagePullPolicy (ErrImagePull → ImagePullBackOff with back-off), volumes set up
 *   before the sandbox (volumes.ts: PVC → PV hostPath/local, emptyDir, hostPath, configMap, secret,
 *   downwardAPI, projected; resynced while the pod runs), the sandbox (pod IP from the pod CIDR, hostname,
 *   /etc/hosts, /etc/hostname, /etc/resolv.conf), init containers in order then the containers
 *   (securityContext, subPath/subPathExpr, termination-log), postStart/preStop hooks (hooks.ts), startup,
 *   readiness and liveness probes, kubelet-shaped status (started, ready, OOMKilled, termination messages),
 *   restarts with CrashLoopBackOff, graceful deletion.
 * - On start, re-adopts containers of pods that still exist and cleans up the rest; stop() removes every
 *   container, mount, netns and veth it made (and the bridge).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, realpath, rm, statfs, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { isAlreadyExists, isConflict, isNotFound } from '../../api/errors.js';
import { type Json, list, rec, str } from '../../api/json.js';
import { isObject, type KObject } from '../../api/types.js';
import type { PodStreamTarget } from '../../apiserver/pod-streams.js';
import { Informer } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../../client/workqueue.js';
import { createRecorder, type EventRecorder, type EventType } from '../../controllers/events.js';
import { type PodCondition, podConditions, rfc3339 } from '../../controllers/util/pods.js';
import { CONFIGMAPS, LEASES, NODES, PODS, SERVICES } from '../../controllers/util/resources.js';
import { criErrorMessage, ImageService, normalizeReference, parseReference } from '../images/index.js';
import {
  type BindMount,
  type ExitInfo,
  OciRuntime,
  parseCidr as parseOciCidr,
  probeRuntime,
  removeBridge,
  removeCgroup,
  runAsNonRootError,
} from '../oci/index.js';
import { PodIpAllocator } from '../sim/ipam.js';
import {
  leaseObject,
  microTime,
  NODE_LEASE_NAMESPACE,
  newBootId,
  nodeObject,
  nodeStatus,
} from '../sim/node.js';
import {
  containersReadyCondition,
  formatPod,
  goDuration,
  initializedCondition,
  isSidecar,
  jsonEqual,
  mergeKubeletConditions,
  podPhaseFor,
  readyCondition,
} from '../sim/status.js';
import { type Allocatable, kubeletPodView } from './downward.js';
import { runHook } from './hooks.js';
import {
  containerLogPath,
  followContainerLog,
  type LogOptions,
  podLogDir,
  readContainerLog,
} from './logs.js';
import {
  ContainerConfigError,
  containerEnv,
  expandCommandAndArgs,
  expandSubPathExpr,
  hostsFile,
  podHostname,
  resolvConf,
} from './pod-files.js';
import { applyProbeResult, type ContainerProbes, dueProbes, initialProbes, runProbe } from './probe.js';
import { podServiceEnv } from './service-env.js';
import { createPodStreamTarget } from './streams.js';
import { oomKilled, terminationMessage } from './termination.js';
import { isProjectedKind, PodVolumes, SERVICEACCOUNTS, VolumeSetupError } from './volumes.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };

export interface OciNodeOptions {
  nodeName: string;
  /** Agent state: images at `<dataDir>/images`, runtime state at `<dataDir>/oci`. */
  dataDir: string;
  /** IPv4 pod CIDR (default 10.244.0.0/24; an existing Node's spec.podCIDR wins). */
  podCidr?: string;
  clock?: Clock;
  /** Lease renewal interval (default 10 s). */
  heartbeatMs?: number;
  /** Node status refresh (default 60 s). */
  nodeStatusMs?: number;
  /** Cluster DNS server for dnsPolicy ClusterFirst pods (kubelet --cluster-dns). */
  dnsServer?: string;
  clusterDomain?: string;
  /** The node's InternalIP and the pods' hostIP (default: the bridge address, reachable from pods). */
  nodeIp?: string;
  /** Container logs root (default /var/log/pods, as the kubelet). */
  logDir?: string;
  /** OCI runtime binary (default: probeRuntime()). */
  runtimePath?: string;
  /** Host bridge (default ordinal0) and cgroup parent (default ordinal). */
  bridge?: string;
  cgroupParent?: string;
  /** First CrashLoopBackOff delay (default 10 s; doubles up to 30× = 5 min). */
  crashBackoffMs?: number;
  /** First image pull back-off (default 10 s; doubles up to 5 min). */
  imageBackoffMs?: number;
  /** Registry hosts reached over plain http besides loopback ones. */
  insecureRegistries?: string[];
  /** How often running containers are checked for exits (default 500 ms). */
  exitPollMs?: number;
  /** Grace period per container when stop() shuts the node down (default 5 s). */
  shutdownGraceMs?: number;
  /** How often configMap, secret, downwardAPI and projected volume files are resynced (default 10 s). */
  volumeSyncMs?: number;
  /**
   * Requests a token for a projected serviceAccountToken volume: POST serviceaccounts/<name>/token with the
   * TokenRequest, answering it with `status.token` and `status.expirationTimestamp`. Default:
   * `client.create(serviceaccounts, namespace, request, { subresource: 'token' })`.
   */
  requestToken?: (namespace: string, serviceAccount: string, request: KObject) => Promise<KObject>;
  onError?: (err: unknown) => void;
}

export interface OciNode {
  name: string;
  readonly runtime: OciRuntime;
  readonly images: ImageService;
  readonly logDir: string;
  /** The runc container id of a pod's container (latest attempt), if it has one. */
  containerId(namespace: string, pod: string, container: string): string | undefined;
  /** exec, attach and port-forward into this node's pods (register it in PodStreams under the node name). */
  streamTarget(): PodStreamTarget;
  /**
   * `GET pods/<pod>/log` without follow: the container's CRI log as kubectl shows it (LogNotFoundError when
   * there is none, e.g. `previous` before the first restart).
   */
  readContainerLog(namespace: string, pod: string, container: string, opts?: LogOptions): Promise<string>;
  /** `follow=true`: the log so far, then new lines until the container stops running or `signal` aborts. */
  followContainerLog(
    namespace: string,
    pod: string,
    container: string,
    opts?: LogOptions & { signal?: AbortSignal },
  ): AsyncGenerator<string>;
  /** Stops every container and removes every sandbox, mount, netns, veth and the bridge (Ctrl-C). */
  stop(): Promise<void>;
  /**
   * Stops the agent's loops but leaves the containers running (what a crashed or restarted agent leaves
   * behind; a new agent on the same dataDir re-adopts them). stop() afterwards still cleans up.
   */
  detach(): Promise<void>;
}

interface Term {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  /** finishedAt in ms (the status field has whole seconds only). */
  finishedMs: number;
  containerID: string;
}

interface CState {
  name: string;
  kind: 'init' | 'main';
  image: string;
  imageRef: string;
  imageID: string;
  restartCount: number;
  /** runc id of the current (or last) instance. */
  id: string;
  state: 'waiting' | 'running' | 'terminated';
  waitingReason: string;
  waitingMessage?: string;
  startedAt?: string;
  terminated?: Term;
  last?: Term;
  /** Current CrashLoopBackOff delay (0: next restart is immediate). */
  backoffMs: number;
  restartAt?: number;
  /** containerStatuses[].started: running and past its startupProbe (true at once without one). */
  started: boolean;
  /** Readiness (true without a readinessProbe once started). */
  ready: boolean;
  /** Probe workers: the startupProbe until it succeeded, then readiness and liveness. */
  probes: ContainerProbes['probes'];
  pullBackoffMs: number;
  pullAt?: number;
  pullFailedAt?: number;
  /** `ErrImagePull: <CRI error>` of the last failed pull, appended to the ImagePullBackOff message. */
  pullError?: string;
}

interface PodRt {
  key: string;
  uid: string;
  namespace: string;
  name: string;
  ip?: string;
  sandbox: boolean;
  cleaned: boolean;
  startTime: string;
  containers: CState[];
  volumes?: Map<string, string>;
  /** The pod's volume files (configMap, secret, downwardAPI, projected, emptyDir) under its pod dir. */
  vols?: PodVolumes;
  /** The pod resourceVersion and time of the last volume resync. */
  volumesSynced?: { rv: string; at: number };
  /** When this agent first saw the pod (the downward API's kubernetes.io/config.seen annotation). */
  seenAt: string;
  terminal?: string;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The kubelet's default pull policy: Always for `:latest` or untagged (and undigested) images. */
export function pullPolicy(container: Json): 'Always' | 'IfNotPresent' | 'Never' {
  const p = str(container.imagePullPolicy);
  if (p === 'Always' || p === 'IfNotPresent' || p === 'Never') return p;
  try {
    const r = parseReference(str(container.image));
    if (r.digest) return 'IfNotPresent';
    return !r.tag || r.tag === 'latest' ? 'Always' : 'IfNotPresent';
  } catch {
    return 'IfNotPresent';
  }
}

function runtimeVersion(path: string): string {
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8' });
    const m = /version\s+(\S+)/.exec(out);
    return m?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function termJson(t: Term): Json {
  const out: Json = { containerID: t.containerID, exitCode: t.exitCode, finishedAt: t.finishedAt };
  if (t.message !== undefined) out.message = t.message;
  out.reason = t.reason;
  out.startedAt = t.startedAt;
  return out;
}

function containerStatusJson(c: CState, spec: Json): Json {
  const out: Json = {};
  if (c.id) out.containerID = `runc://${c.id}`;
  out.image = c.imageRef || c.image;
  out.imageID = c.imageID;
  out.lastState = c.last ? { terminated: termJson(c.last) } : {};
  out.name = c.name;
  // The kubelet prober's UpdatePodStatus: a completed init container is ready; others once started.
  out.ready =
    c.kind === 'init' && !isSidecar(spec)
      ? c.state === 'terminated' && c.terminated?.exitCode === 0
      : c.state === 'running' && c.started && c.ready;
  out.restartCount = c.restartCount;
  out.started = c.state === 'running' && c.started;
  if (c.state === 'running') out.state = { running: { startedAt: c.startedAt } };
  else if (c.state === 'terminated' && c.terminated) out.state = { terminated: termJson(c.terminated) };
  else {
    const waiting: Json = { reason: c.waitingReason };
    if (c.waitingMessage !== undefined) waiting.message = c.waitingMessage;
    out.state = { waiting };
  }
  if (c.id) {
    const mounts = list(spec.volumeMounts).map((m) => {
      const o: Json = { mountPath: m.mountPath, name: m.name };
      if (m.readOnly === true) {
        o.readOnly = true;
        o.recursiveReadOnly = 'Disabled';
      }
      return o;
    });
    if (mounts.length > 0) out.volumeMounts = mounts;
  }
  return out;
}

function exitTerm(c: { id: string }, exit: ExitInfo, startedAt: string): Term {
  const t: Term = {
    exitCode: exit.exitCode,
    reason: exit.runtimeError ? 'StartError' : exit.exitCode === 0 ? 'Completed' : 'Error',
    startedAt: exit.runtimeError ? '1970-01-01T00:00:00Z' : startedAt,
    finishedAt: rfc3339(Date.parse(exit.finishedAt) || Date.now()),
    finishedMs: Date.parse(exit.finishedAt) || Date.now(),
    containerID: `runc://${c.id}`,
  };
  if (exit.runtimeError) {
    t.exitCode = 128;
    t.message = exit.runtimeError;
  }
  return t;
}

class OciNodeAgent implements OciNode {
  readonly name: string;
  readonly runtime: OciRuntime;
  readonly images: ImageService;
  readonly logDir: string;
  private readonly clock: Clock;
  private readonly informer: Informer;
  /** Every Service, for the containers' service environment variables (the kubelet's service lister). */
  private readonly services: Informer;
  private readonly queue: WorkQueue;
  private readonly recorder: EventRecorder;
  private readonly pods = new Map<string, PodRt>();
  private readonly onError: (err: unknown) => void;
  private allocator: PodIpAllocator;
  private cidr: string;
  private nodeIp: string;
  private node: KObject | undefined;
  private lease: KObject | undefined;
  private readonly bootId: string;
  private readonly runtimeVersion: string;
  private timers: unknown[] = [];
  private stopped = false;
  private cleanedUp = false;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly crashBase: number;
  private readonly pullBase: number;
  /** Node allocatable (resourceFieldRef of unset limits): the host's CPUs, memory and data-dir disk. */
  private allocatable: Allocatable = {
    milliCpu: cpus().length * 1000,
    memory: totalmem(),
    ephemeralStorage: 0,
  };

  constructor(
    private readonly client: Client,
    private readonly opts: OciNodeOptions,
    runtimePath: string,
  ) {
    this.name = opts.nodeName;
    this.clock = opts.clock ?? realClock;
    this.onError = opts.onError ?? ((err) => console.error(`node ${opts.nodeName}:`, err));
    this.runtime = new OciRuntime({
      stateDir: join(opts.dataDir, 'oci'),
      runtimePath,
      cgroupParent: opts.cgroupParent,
    });
    this.runtimeVersion = runtimeVersion(runtimePath);
    this.images = ImageService.forDataDir(opts.dataDir);
    this.logDir = opts.logDir ?? '/var/log/pods';
    this.cidr = opts.podCidr ?? '10.244.0.0/24';
    this.allocator = new PodIpAllocator(this.cidr);
    this.nodeIp = opts.nodeIp ?? parseOciCidr(this.cidr).gateway;
    this.bootId = newBootId(this.name);
    this.crashBase = opts.crashBackoffMs ?? 10_000;
    this.pullBase = opts.imageBackoffMs ?? 10_000;
    this.recorder = createRecorder(client, 'kubelet', {
      host: this.name,
      now: () => new Date(this.clock.now()),
      onError: () => undefined,
    });
    this.informer = new Informer(client, PODS, {
      clock: this.clock,
      fieldSelector: `spec.nodeName=${this.name}`,
    });
    this.services = new Informer(client, SERVICES, { clock: this.clock });
    this.queue = new WorkQueue((key) => this.sync(key), {
      name: `kubelet-${this.name}`,
      concurrency: 16,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(50, 10_000),
      onError: (key, err) => this.onError(new Error(`pod ${key}: ${errMessage(err)}`)),
    });
  }

  // ---- lifecycle ----------------------------------------------------------------

  async start(): Promise<void> {
    await this.register();
    // Nothing is synced before adoption finished: a pod worker must not race it for the same pod.
    let adopted = false;
    const add = (pod: KObject): void => {
      if (adopted && !this.stopped) this.queue.add(this.keyOf(pod));
    };
    this.informer.addEventHandler({ onAdd: add, onUpdate: (_o, p) => add(p), onDelete: add });
    this.informer.start();
    this.services.start();
    // As the kubelet, no container starts before the Services were read once: its env would lack them.
    await Promise.all([this.informer.waitForSync(), this.services.waitForSync()]);
    await this.adopt();
    adopted = true;
    for (const p of this.informer.list()) add(p);
    // Adopted pods deleted while adoption ran are seen (and cleaned up) by their worker.
    for (const key of this.pods.keys()) this.queue.add(key);
    this.every(this.opts.heartbeatMs ?? 10_000, () => this.renewLease());
    this.every(this.opts.nodeStatusMs ?? 60_000, () => this.postNodeStatus());
    this.every(this.opts.exitPollMs ?? 500, () => this.pollExits());
    // The kubelet's periodic pod resync: projected volume files follow their ConfigMaps and Secrets.
    this.every(this.opts.volumeSyncMs ?? 10_000, async () => {
      for (const key of this.pods.keys()) this.queue.add(key);
    });
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const tick = (): void => {
      if (this.stopped) return;
      const p = fn()
        .catch((e: unknown) => this.onError(e))
        .finally(() => {
          this.inflight.delete(p);
          if (!this.stopped) this.timers.push(this.clock.setTimeout(tick, ms));
        });
      this.inflight.add(p);
    };
    this.timers.push(this.clock.setTimeout(tick, ms));
  }

  async detach(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    await this.queue.shutdown();
    await this.informer.stop();
    await this.services.stop();
    await Promise.all([...this.inflight]);
  }

  async stop(): Promise<void> {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    await this.detach();
    const grace = this.opts.shutdownGraceMs ?? 5_000;
    const uids = new Set(await this.runtime.listPods());
    for (const c of await this.runtime.runtimeContainers()) if (c.podUid) uids.add(c.podUid);
    await Promise.all(
      [...uids].map(async (uid) => {
        try {
          const cs = await this.runtime.list(uid);
          await Promise.all(
            cs
              .filter((c) => c.status === 'running')
              .map((c) => this.runtime.kill(c.id, grace).catch(() => undefined)),
          );
          await this.runtime.cleanupPod(uid);
        } catch (e) {
          this.onError(e);
        }
      }),
    );
    this.pods.clear();
    await removeCgroup(`/${this.runtime.cgroupParent}`);
    await removeBridge(this.opts.bridge);
  }

  readContainerLog(
    namespace: string,
    pod: string,
    container: string,
    opts: LogOptions = {},
  ): Promise<string> {
    const uid = this.pods.get(`${namespace}/${pod}`)?.uid;
    return readContainerLog(this.logDir, namespace, pod, container, { ...opts, uid });
  }

  followContainerLog(
    namespace: string,
    pod: string,
    container: string,
    opts: LogOptions & { signal?: AbortSignal } = {},
  ): AsyncGenerator<string> {
    const rt = this.pods.get(`${namespace}/${pod}`);
    const done = (): boolean => {
      const cur = this.pods.get(`${namespace}/${pod}`);
      const c = cur?.containers.find((x) => x.name === container);
      return this.stopped || cur !== rt || !c || opts.previous === true || c.state !== 'running';
    };
    return followContainerLog(this.logDir, namespace, pod, container, { ...opts, uid: rt?.uid, done });
  }

  containerId(namespace: string, pod: string, container: string): string | undefined {
    const rt = this.pods.get(`${namespace}/${pod}`);
    const c = rt?.containers.find((x) => x.name === container);
    return c?.id || undefined;
  }

  streamTarget(): PodStreamTarget {
    return createPodStreamTarget(this);
  }

  private keyOf(pod: KObject): string {
    return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
  }

  // ---- node ---------------------------------------------------------------------

  private async capacity(): Promise<{
    cpu: string;
    memory: string;
    pods: string;
    'ephemeral-storage': string;
  }> {
    let eph = '0';
    try {
      await mkdir(this.opts.dataDir, { recursive: true });
      const s = await statfs(this.opts.dataDir);
      eph = `${Math.floor((s.blocks * s.bsize) / 1024)}Ki`;
      this.allocatable = { ...this.allocatable, ephemeralStorage: s.blocks * s.bsize };
    } catch {
      // unknown
    }
    return {
      cpu: String(cpus().length),
      memory: `${Math.floor(totalmem() / 1024)}Ki`,
      pods: '110',
      'ephemeral-storage': eph,
    };
  }

  private async register(): Promise<void> {
    const obj = nodeObject(this.name, this.cidr);
    const labels = { ...(obj.metadata.labels ?? {}) };
    delete labels.type;
    obj.metadata.labels = labels;
    try {
      this.node = await this.client.create(NODES, undefined, obj, { fieldManager: 'kubelet' });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const cur = await this.client.get(NODES, undefined, this.name);
      const cidr = str(rec(cur.spec).podCIDR);
      if (cidr) {
        this.cidr = cidr;
        this.allocator = new PodIpAllocator(cidr);
        if (!this.opts.nodeIp) this.nodeIp = parseOciCidr(cidr).gateway;
        this.node = cur;
      } else {
        this.node = await this.client.patch(
          NODES,
          undefined,
          this.name,
          'merge',
          { metadata: { labels }, spec: { podCIDR: this.cidr, podCIDRs: [this.cidr] } },
          { fieldManager: 'kubelet' },
        );
      }
    }
    this.nodeEvent('Normal', 'Starting', 'Starting kubelet.');
    this.nodeEvent('Normal', 'NodeAllocatableEnforced', 'Updated Node Allocatable limit across pods');
    await this.postNodeStatus();
    await this.renewLease().catch((e: unknown) => this.onError(e));
  }

  private nodeEvent(type: EventType, reason: string, message: string): void {
    void this.recorder.event(
      { apiVersion: 'v1', kind: 'Node', metadata: { name: this.name, uid: this.name } },
      type,
      reason,
      message,
    );
  }

  private async postNodeStatus(): Promise<void> {
    const capacity = await this.capacity();
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const cur = this.node ?? (await this.client.get(NODES, undefined, this.name));
        const { status, events } = nodeStatus(
          cur.status,
          { name: this.name, ip: this.nodeIp, capacity, bootId: this.bootId },
          this.clock.now(),
        );
        status.nodeInfo = {
          ...rec(status.nodeInfo),
          containerRuntimeVersion: `runc://${this.runtimeVersion}`,
          osImage: osImage(),
        };
        this.node = await this.client.update(
          NODES,
          undefined,
          { ...cur, status },
          { subresource: 'status', fieldManager: 'kubelet' },
        );
        for (const ev of events) this.nodeEvent('Normal', ev, `Node ${this.name} status is now: ${ev}`);
        return;
      } catch (e) {
        this.node = undefined;
        if (isConflict(e)) continue;
        if (isNotFound(e)) return;
        throw e;
      }
    }
  }

  private async renewLease(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = this.clock.now();
      try {
        if (!this.lease) {
          try {
            this.lease = await this.client.get(LEASES, NODE_LEASE_NAMESPACE, this.name);
          } catch (e) {
            if (!isNotFound(e)) throw e;
            const node = this.node ?? (await this.client.get(NODES, undefined, this.name));
            this.lease = await this.client.create(LEASES, NODE_LEASE_NAMESPACE, leaseObject(node, now), {
              fieldManager: 'kubelet',
            });
            return;
          }
        }
        const next = structuredClone(this.lease);
        next.spec = {
          ...rec(next.spec),
          holderIdentity: this.name,
          leaseDurationSeconds: 40,
          renewTime: microTime(now),
        };
        this.lease = await this.client.update(LEASES, NODE_LEASE_NAMESPACE, next, {
          fieldManager: 'kubelet',
        });
        return;
      } catch (e) {
        this.lease = undefined;
        if (isConflict(e) || isNotFound(e) || isAlreadyExists(e)) continue;
        throw e;
      }
    }
  }

  // ---- adoption -----------------------------------------------------------------

  /** Containers left by an earlier agent: keep those of pods that still run here, remove the rest. */
  private async adopt(): Promise<void> {
    const byUid = new Map<string, KObject>();
    for (const p of this.informer.list()) if (p.metadata.uid) byUid.set(p.metadata.uid, p);
    const uids = new Set(await this.runtime.listPods());
    for (const c of await this.runtime.runtimeContainers()) if (c.podUid) uids.add(c.podUid);
    for (const uid of uids) {
      const pod = byUid.get(uid);
      const sandbox = await this.runtime.loadSandbox(uid);
      const phase = str(rec(pod?.status).phase);
      if (
        !pod ||
        !sandbox ||
        phase === 'Succeeded' ||
        phase === 'Failed' ||
        !this.sandboxAlive(sandbox.holderPid)
      ) {
        await this.runtime.cleanupPod(uid).catch((e: unknown) => this.onError(e));
        continue;
      }
      const rt = this.newRt(pod);
      rt.ip = sandbox.ip;
      rt.sandbox = true;
      this.allocator.reserve(sandbox.ip);
      const startTime = str(rec(pod.status).startTime);
      if (startTime) rt.startTime = startTime;
      const states = await this.runtime.list(uid);
      for (const c of rt.containers) {
        const mine = states.filter((s) => s.name === c.name).sort((a, b) => a.attempt - b.attempt);
        const cur = mine[mine.length - 1];
        if (!cur) continue;
        c.id = cur.id;
        c.restartCount = cur.attempt;
        await this.resolveImageId(c).catch(() => undefined);
        const started = cur.startedAt ? rfc3339(Date.parse(cur.startedAt)) : rt.startTime;
        const spec =
          list(c.kind === 'init' ? rec(pod.spec).initContainers : rec(pod.spec).containers).find(
            (x) => x.name === c.name,
          ) ?? {};
        if (cur.status === 'exited' && cur.exit) {
          c.state = 'terminated';
          c.terminated = await this.terminated(rt, c.id, cur.exit, started, spec);
        } else if (cur.status === 'running') {
          c.state = 'running';
          c.startedAt = started;
          this.resetProbes(c, spec);
          // Keep what the last agent reported for this very container (no second startup phase).
          const old = [
            ...list(rec(pod.status).initContainerStatuses),
            ...list(rec(pod.status).containerStatuses),
          ].find((s) => s.name === c.name && s.containerID === `runc://${c.id}`);
          if (old?.started === true) {
            c.started = true;
            if (!c.probes.readiness || old.ready === true) c.ready = true;
          }
        }
        const prev = mine[mine.length - 2];
        if (prev?.exit) {
          c.last = await this.terminated(
            rt,
            prev.id,
            prev.exit,
            prev.startedAt ? rfc3339(Date.parse(prev.startedAt)) : rt.startTime,
            spec,
          );
        }
      }
      this.pods.set(rt.key, rt);
    }
  }

  private sandboxAlive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  private newRt(pod: KObject): PodRt {
    const spec = rec(pod.spec);
    const mk = (c: Json, kind: 'init' | 'main'): CState => ({
      name: str(c.name),
      kind,
      image: str(c.image),
      imageRef: '',
      imageID: '',
      restartCount: 0,
      id: '',
      state: 'waiting',
      // convertToAPIContainerStatuses: every container waits in PodInitializing while init containers exist.
      waitingReason: list(spec.initContainers).length > 0 ? 'PodInitializing' : 'ContainerCreating',
      backoffMs: 0,
      pullBackoffMs: 0,
      started: false,
      ready: false,
      probes: {},
    });
    return {
      key: this.keyOf(pod),
      uid: pod.metadata.uid ?? '',
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name ?? '',
      sandbox: false,
      cleaned: false,
      startTime: rfc3339(this.clock.now()),
      seenAt: new Date(this.clock.now()).toISOString(),
      containers: [
        ...list(spec.initContainers).map((c) => mk(c, 'init')),
        ...list(spec.containers).map((c) => mk(c, 'main')),
      ],
    };
  }

  private resetProbes(c: CState, spec: Json): void {
    Object.assign(c, initialProbes(spec, this.clock.now(), c.kind === 'init'));
  }

  /**
   * Runs the probes that are due (each in the background; results requeue the pod when they matter): the
   * startupProbe until it succeeded once, then readiness and liveness. A failed startup or liveness probe
   * kills the container (preStop hook, stop signal) for its restart.
   */
  private runProbes(): void {
    const now = this.clock.now();
    for (const rt of this.pods.values()) {
      if (!rt.ip) continue;
      for (const c of rt.containers) {
        if (c.state !== 'running' || !c.id || c.kind === 'init') continue;
        for (const kind of dueProbes(c, now)) {
          const st = c.probes[kind];
          const pod = this.informer.get(rt.namespace, rt.name);
          const spec = list(rec(pod?.spec).containers).find((x) => x.name === c.name);
          if (!st || !pod || !spec) continue;
          const probe = rec(spec[`${kind}Probe`]);
          st.busy = true;
          const id = c.id;
          const p = runProbe(probe, {
            podIP: rt.ip,
            container: spec,
            exec: (argv, timeoutMs) => this.runtime.exec(id, argv, { timeoutMs }),
          })
            .then(async (r) => {
              if (c.id !== id || c.state !== 'running') return;
              if (!r.ok) {
                const what = `${kind[0]?.toUpperCase()}${kind.slice(1)}`;
                this.event(pod, 'Warning', 'Unhealthy', `${what} probe failed: ${r.output}`);
              }
              const change = applyProbeResult(c, kind, probe, r.ok, this.clock.now());
              if (change === 'kill') {
                const again = this.willRestart(pod, 137);
                await this.killContainer(pod, rt, c, spec, {
                  message: `Container ${c.name} failed ${kind} probe${again ? ', will be restarted' : ''}`,
                  graceSeconds: Number(
                    probe.terminationGracePeriodSeconds ?? rec(pod.spec).terminationGracePeriodSeconds ?? 30,
                  ),
                });
              }
              if (change) this.queue.add(rt.key);
            })
            .catch((e: unknown) => this.onError(e))
            .finally(() => {
              st.busy = false;
              this.inflight.delete(p);
            });
          this.inflight.add(p);
        }
      }
    }
  }

  /** ShouldContainerBeRestarted for a main container that exits with `exitCode`. */
  private willRestart(pod: KObject, exitCode: number): boolean {
    const policy = str(rec(pod.spec).restartPolicy) || 'Always';
    return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
  }

  /** The hook/probe target of a running container. */
  private hookTarget(pod: KObject, rt: PodRt, spec: Json, id: string) {
    return {
      podIP: rt.ip ?? '',
      container: spec,
      podRef: formatPod(pod),
      exec: (argv: string[], timeoutMs: number) =>
        this.runtime.exec(id, argv, timeoutMs > 0 ? { timeoutMs } : {}),
    };
  }

  /**
   * The kubelet's killContainer: a Killing event, the preStop hook (within the grace period; skipped when it
   * is 0; FailedPreStopHook when it fails), then the stop signal with what is left of the grace period (at
   * least 2 s), then SIGKILL. Resolves with the exit.
   */
  private async killContainer(
    pod: KObject | undefined,
    rt: PodRt,
    c: CState,
    spec: Json,
    opts: { graceSeconds: number; message?: string },
  ): Promise<ExitInfo | undefined> {
    const id = c.id;
    let grace = Math.max(0, opts.graceSeconds);
    if (pod) this.event(pod, 'Normal', 'Killing', opts.message ?? `Stopping container ${c.name}`);
    const preStop = rec(spec.lifecycle).preStop;
    if (pod && isObject(preStop) && grace > 0) {
      const t0 = Date.now();
      const ac = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hook = runHook(preStop, {
        ...this.hookTarget(pod, rt, spec, id),
        signal: ac.signal,
        timeoutMs: grace * 1000,
      }).then((r) => {
        if (!r.ok) this.event(pod, 'Warning', 'FailedPreStopHook', 'PreStopHook failed');
      });
      await Promise.race([hook, new Promise<void>((r) => (timer = setTimeout(r, grace * 1000)))]);
      clearTimeout(timer);
      ac.abort();
      grace -= Math.floor((Date.now() - t0) / 1000);
    }
    const stopSignal = str(rec(spec.lifecycle).stopSignal) || 'SIGTERM';
    return this.runtime.kill(id, Math.max(grace, 2) * 1000, stopSignal);
  }

  /** Runs lifecycle.postStart; when it fails: FailedPostStartHook, the container is killed, false. */
  private async postStart(pod: KObject, rt: PodRt, c: CState, spec: Json): Promise<boolean> {
    const hook = rec(spec.lifecycle).postStart;
    if (!isObject(hook)) return true;
    const r = await runHook(hook, this.hookTarget(pod, rt, spec, c.id));
    if (r.ok) return true;
    this.event(pod, 'Warning', 'FailedPostStartHook', 'PostStartHook failed');
    await this.killContainer(pod, rt, c, spec, {
      graceSeconds: Number(rec(pod.spec).terminationGracePeriodSeconds ?? 30),
      message: 'FailedPostStartHook',
    });
    return false;
  }

  /**
   * `state.terminated` of an exit (`id` = that instance): exit code and reason, OOMKilled when the kernel's
   * OOM killer ended it, and the termination message.
   */
  private async terminated(
    rt: PodRt,
    id: string,
    exit: ExitInfo,
    startedAt: string,
    spec: Json,
  ): Promise<Term> {
    const t = exitTerm({ id }, exit, startedAt);
    if (exit.runtimeError) return t;
    if (t.exitCode === 137) {
      const st = await this.runtime.state(id).catch(() => undefined);
      if (st?.cgroupsPath && (await oomKilled(st.cgroupsPath))) t.reason = 'OOMKilled';
    }
    const attempt = Number(id.slice(id.lastIndexOf('_') + 1));
    const name = str(spec.name);
    const msg = await terminationMessage({
      file: this.terminationFile(rt, name, attempt),
      policy: str(spec.terminationMessagePolicy),
      exitCode: t.exitCode,
      logPath: containerLogPath(this.logDir, rt.namespace, rt.name, rt.uid, name, attempt),
    });
    if (msg !== undefined) t.message = msg;
    return t;
  }

  /** Host file bind-mounted at the container's terminationMessagePath. */
  private terminationFile(rt: PodRt, name: string, attempt: number): string {
    return join(this.runtime.podDir(rt.uid), 'termination', `${name}_${attempt}`);
  }

  private async pollExits(): Promise<void> {
    this.runProbes();
    for (const rt of this.pods.values()) {
      for (const c of rt.containers) {
        if (c.state !== 'running' || !c.id) continue;
        const ex = await this.runtime.waitExit(c.id, 0);
        if (ex) this.queue.add(rt.key);
      }
    }
  }

  // ---- pods -----------------------------------------------------------------------

  private event(pod: KObject, type: EventType, reason: string, message: string): void {
    void this.recorder.event(pod, type, reason, message);
  }

  private async sync(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    if (this.stopped) return undefined;
    const i = key.indexOf('/');
    const pod = this.informer.get(key.slice(0, i), key.slice(i + 1));
    let rt = this.pods.get(key);
    if (rt && (!pod || rt.uid !== pod.metadata.uid)) {
      await this.teardown(rt, pod && rt.uid === pod.metadata.uid ? pod : undefined, 2);
      this.pods.delete(key);
      rt = undefined;
    }
    if (!pod || str(rec(pod.spec).nodeName) !== this.name) return undefined;

    if (pod.metadata.deletionTimestamp) {
      if (rt) {
        const grace =
          typeof pod.metadata.deletionGracePeriodSeconds === 'number'
            ? pod.metadata.deletionGracePeriodSeconds
            : Number(rec(pod.spec).terminationGracePeriodSeconds ?? 30);
        await this.teardown(rt, pod, grace);
        if (!rt.terminal) rt.terminal = podPhaseFor(rec(pod.spec), this.statuses(rt, pod), true);
        await this.writeStatus(pod, rt).catch(() => undefined);
        this.pods.delete(key);
      }
      try {
        await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? '', {
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid ?? '' },
        });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
      await rm(podLogDir(this.logDir, rt?.namespace ?? '', rt?.name ?? '', rt?.uid ?? ''), {
        recursive: true,
        force: true,
      }).catch(() => undefined);
      return undefined;
    }

    const phase = str(rec(pod.status).phase);
    if (!rt && (phase === 'Succeeded' || phase === 'Failed')) return undefined;
    if (!rt) {
      rt = this.newRt(pod);
      this.pods.set(key, rt);
    }
    let wake: number | undefined;
    const at = (ms: number): void => {
      wake = wake === undefined ? ms : Math.min(wake, ms);
    };
    if (!rt.terminal) await this.run(pod, rt, at);
    const r = await this.writeStatus(pod, rt);
    if (r) return r;
    return wake === undefined ? undefined : { requeueAfterMs: Math.max(0, wake - this.clock.now()) };
  }

  /** Stops the pod's containers (SIGTERM, then SIGKILL after `graceSeconds`) and removes its sandbox. */
  private async teardown(rt: PodRt, pod: KObject | undefined, graceSeconds: number): Promise<void> {
    if (rt.cleaned) return;
    const specs = pod ? [...list(rec(pod.spec).initContainers), ...list(rec(pod.spec).containers)] : [];
    await Promise.all(
      rt.containers.map(async (c) => {
        if (c.state !== 'running' || !c.id) return;
        const spec = specs.find((s) => s.name === c.name) ?? {};
        const exit = await this.killContainer(pod, rt, c, spec, { graceSeconds });
        if (exit) {
          c.terminated = await this.terminated(rt, c.id, exit, c.startedAt ?? rt.startTime, spec);
          c.state = 'terminated';
        }
      }),
    );
    await this.runtime.cleanupPod(rt.uid);
    if (rt.ip) this.allocator.release(rt.ip);
    rt.cleaned = true;
  }

  private statuses(rt: PodRt, pod: KObject): Json[] {
    const spec = rec(pod.spec);
    const specs = [...list(spec.initContainers), ...list(spec.containers)];
    return rt.containers.map((c) => containerStatusJson(c, specs.find((s) => s.name === c.name) ?? {}));
  }

  private async writeStatus(pod: KObject, rt: PodRt): Promise<{ requeueAfterMs: number } | undefined> {
    const spec = rec(pod.spec);
    const old = rec(pod.status);
    const specs = [...list(spec.initContainers), ...list(spec.containers)];
    const js = (c: CState): Json => containerStatusJson(c, specs.find((s) => s.name === c.name) ?? {});
    const inits = rt.containers.filter((c) => c.kind === 'init').map(js);
    const mains = rt.containers.filter((c) => c.kind === 'main').map(js);
    const all = [...inits, ...mains];
    const phase = rt.terminal ?? podPhaseFor(spec, all, false);
    const now = rfc3339(this.clock.now());
    const oldConds: PodCondition[] = podConditions(pod);
    const generated: PodCondition[] = [
      { type: 'PodReadyToStartContainers', status: rt.sandbox && !rt.cleaned ? 'True' : 'False' },
      initializedCondition(spec, all, phase),
      readyCondition(spec, oldConds, all, phase),
      containersReadyCondition(spec, all, phase),
      { type: 'PodScheduled', status: 'True' },
    ];
    const out: Json = { ...old };
    out.conditions = mergeKubeletConditions(oldConds, generated, now);
    if (inits.length > 0) out.initContainerStatuses = inits;
    else delete out.initContainerStatuses;
    out.containerStatuses = mains;
    out.hostIP = this.nodeIp;
    out.hostIPs = [{ ip: this.nodeIp }];
    if (rt.ip) {
      out.podIP = rt.ip;
      out.podIPs = [{ ip: rt.ip }];
    }
    if (old.phase !== phase) {
      delete out.reason;
      delete out.message;
    }
    out.phase = phase;
    out.startTime = str(old.startTime) || rt.startTime;
    if (jsonEqual(out, pod.status)) return undefined;
    try {
      await this.client.update(
        PODS,
        pod.metadata.namespace,
        { ...pod, status: out },
        { subresource: 'status', fieldManager: 'kubelet' },
      );
    } catch (e) {
      if (isNotFound(e)) return undefined;
      if (isConflict(e)) return { requeueAfterMs: 50 };
      throw e;
    }
    return undefined;
  }

  /** One pass of the pod worker: sandbox, then init containers in order, then the containers. */
  private async run(pod: KObject, rt: PodRt, at: (ms: number) => void): Promise<void> {
    const spec = rec(pod.spec);
    const now = this.clock.now();
    if (!rt.sandbox) {
      const ok = await this.createSandbox(pod, rt);
      if (!ok) {
        at(now + 2_000);
        return;
      }
    } else await this.refreshVolumes(pod, rt);
    const policy = str(spec.restartPolicy) || 'Always';
    const specOf = (c: CState): Json =>
      list(c.kind === 'init' ? spec.initContainers : spec.containers).find((s) => s.name === c.name) ?? {};
    // Exits since the last pass.
    for (const c of rt.containers) {
      if (c.state !== 'running' || !c.id) continue;
      const exit = await this.runtime.waitExit(c.id, 0);
      if (exit) {
        c.terminated = await this.terminated(rt, c.id, exit, c.startedAt ?? rt.startTime, specOf(c));
        c.state = 'terminated';
      }
    }
    const inits = rt.containers.filter((c) => c.kind === 'init');
    for (const c of inits) {
      if (c.state === 'terminated' && c.terminated?.exitCode === 0) continue;
      if (c.state === 'running') return;
      if (c.state === 'terminated' || c.last) {
        if (policy === 'Never') {
          rt.terminal = 'Failed';
          await this.finish(rt);
          return;
        }
        await this.restart(pod, rt, c, specOf(c), at);
        return;
      }
      await this.startContainer(pod, rt, c, specOf(c), at);
      if ((c.state as CState['state']) !== 'terminated' || c.terminated?.exitCode !== 0) return;
    }
    for (const c of rt.containers.filter((x) => x.kind === 'main')) {
      if (c.state === 'running') continue;
      if (c.state === 'waiting' && !c.id && !c.last) {
        await this.startContainer(pod, rt, c, specOf(c), at);
        continue;
      }
      const exit = c.terminated?.exitCode ?? 0;
      const again = policy === 'Always' || (policy === 'OnFailure' && (exit !== 0 || c.state === 'waiting'));
      if (again) await this.restart(pod, rt, c, specOf(c), at);
    }
    const all = this.statuses(rt, pod);
    const phase = podPhaseFor(spec, all, false);
    if (phase === 'Succeeded' || phase === 'Failed') {
      rt.terminal = phase;
      await this.finish(rt);
    }
  }

  /** A pod that ended (all containers done for good): its sandbox goes, its status stays. */
  private async finish(rt: PodRt): Promise<void> {
    await this.runtime.cleanupPod(rt.uid);
    if (rt.ip) this.allocator.release(rt.ip);
    rt.cleaned = true;
  }

  /**
   * restartPolicy restarts with the kubelet's CrashLoopBackOff: the first restart is immediate, later ones
   * wait 10 s, 20 s, … (doubling, at most 5 min) after the container finished.
   */
  private async restart(
    pod: KObject,
    rt: PodRt,
    c: CState,
    spec: Json,
    at: (ms: number) => void,
  ): Promise<void> {
    const now = this.clock.now();
    if (c.state === 'terminated' && c.terminated) {
      const finished = c.terminated.finishedMs;
      c.last = c.terminated;
      c.terminated = undefined;
      if (c.backoffMs > 0) {
        c.restartAt = finished + c.backoffMs;
        c.state = 'waiting';
        c.waitingReason = 'CrashLoopBackOff';
        c.waitingMessage = `back-off ${goDuration(c.backoffMs)} restarting failed container=${c.name} pod=${formatPod(pod)}`;
        if (now < c.restartAt) {
          this.event(
            pod,
            'Warning',
            'BackOff',
            `Back-off restarting failed container ${c.name} in pod ${formatPod(pod)}`,
          );
          at(c.restartAt);
          return;
        }
      }
    } else if (c.state === 'waiting' && c.waitingReason === 'CrashLoopBackOff') {
      if (c.restartAt !== undefined && now < c.restartAt) {
        at(c.restartAt);
        return;
      }
    } else if (c.state === 'waiting') {
      // Image pull or config error of a restart: try again (no new restart).
      await this.startContainer(pod, rt, c, spec, at);
      return;
    }
    c.backoffMs = c.backoffMs === 0 ? this.crashBase : Math.min(c.backoffMs * 2, this.crashBase * 30);
    c.restartAt = undefined;
    c.restartCount++;
    c.id = '';
    c.state = 'waiting';
    c.waitingReason = 'ContainerCreating';
    c.waitingMessage = undefined;
    await this.startContainer(pod, rt, c, spec, at);
  }

  private async resolveImageId(c: CState): Promise<boolean> {
    const img = await this.images.get(c.image);
    if (!img) return false;
    let repo = c.image;
    try {
      const n = normalizeReference(c.image);
      c.imageRef = n;
      const r = parseReference(c.image);
      repo = `${r.domain}/${r.path}`;
    } catch {
      // keep as written
    }
    // The digest the reference resolved to (an index for multi-platform images), as containerd's RepoDigests.
    c.imageID = `${repo}@${img.target.digest}`;
    return true;
  }

  /** Pulls per imagePullPolicy; false (with the waiting state and events set) when the image is not there. */
  private async ensureImage(pod: KObject, c: CState, spec: Json, at: (ms: number) => void): Promise<boolean> {
    const now = this.clock.now();
    const policy = pullPolicy(spec);
    const present = await this.images.get(c.image);
    if (policy === 'Never' && !present) {
      c.state = 'waiting';
      c.waitingReason = 'ErrImageNeverPull';
      c.waitingMessage = `Container image "${c.image}" is not present with pull policy of Never`;
      this.event(pod, 'Warning', 'ErrImageNeverPull', c.waitingMessage);
      at(now + this.pullBase);
      return false;
    }
    if (present && policy !== 'Always') {
      this.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
      await this.resolveImageId(c);
      return true;
    }
    if (c.pullAt !== undefined && now < c.pullAt) {
      c.state = 'waiting';
      if (
        c.pullFailedAt !== undefined &&
        now - c.pullFailedAt < 1_000 &&
        c.waitingReason === 'ErrImagePull'
      ) {
        at(c.pullFailedAt + 1_000);
        return false;
      }
      c.waitingReason = 'ImagePullBackOff';
      c.waitingMessage = `Back-off pulling image "${c.image}"${c.pullError ? `: ${c.pullError}` : ''}`;
      this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
      this.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      at(c.pullAt);
      return false;
    }
    this.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
    const t0 = Date.now();
    try {
      const img = await this.images.pull(c.image, { insecureHosts: this.opts.insecureRegistries });
      const took = goDuration(Date.now() - t0);
      this.event(
        pod,
        'Normal',
        'Pulled',
        `Successfully pulled image "${c.image}" in ${took} (${took} including waiting). Image size: ${img.size} bytes.`,
      );
      c.pullBackoffMs = 0;
      c.pullAt = undefined;
      c.pullError = undefined;
      await this.resolveImageId(c);
      return true;
    } catch (e) {
      const msg = criErrorMessage(e);
      this.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${msg}`);
      this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
      c.state = 'waiting';
      c.waitingReason = 'ErrImagePull';
      c.waitingMessage = msg;
      c.pullBackoffMs = c.pullBackoffMs === 0 ? this.pullBase : Math.min(c.pullBackoffMs * 2, 300_000);
      c.pullFailedAt = now;
      c.pullError = `ErrImagePull: ${msg}`;
      c.pullAt = now + c.pullBackoffMs;
      at(now + Math.min(1_000, c.pullBackoffMs));
      return false;
    }
  }

  private async readData(
    kind: 'configmap' | 'secret',
    namespace: string,
    name: string,
  ): Promise<Record<string, string> | undefined> {
    try {
      const obj = await this.client.get(kind === 'configmap' ? CONFIGMAPS : SECRETS, namespace, name);
      const out: Record<string, string> = {};
      const data = rec(obj.data);
      for (const [k, v] of Object.entries(data)) {
        if (typeof v !== 'string') continue;
        out[k] = kind === 'secret' ? Buffer.from(v, 'base64').toString() : v;
      }
      if (kind === 'configmap') {
        for (const [k, v] of Object.entries(rec(obj.binaryData))) {
          if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString();
        }
      } else {
        for (const [k, v] of Object.entries(rec(obj.stringData))) if (typeof v === 'string') out[k] = v;
      }
      return out;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async startContainer(
    pod: KObject,
    rt: PodRt,
    c: CState,
    spec: Json,
    at: (ms: number) => void,
  ): Promise<void> {
    if (!(await this.ensureImage(pod, c, spec, at))) return;
    let env: { name: string; value: string }[];
    let mounts: BindMount[];
    const cfg = await this.images.imageConfig(c.image);
    try {
      env = await containerEnv(kubeletPodView(pod, rt.seenAt), spec, {
        podIP: rt.ip ?? '',
        hostIP: this.nodeIp,
        nodeName: this.name,
        allocatable: this.allocatable,
        serviceEnv: podServiceEnv(pod, this.services.list()),
        readData: (k, ns, n) => this.readData(k, ns, n),
      });
      const nonRoot = runAsNonRootError(spec, rec(rec(pod.spec).securityContext), cfg.raw, formatPod(pod));
      if (nonRoot) throw new ContainerConfigError(nonRoot);
      mounts = await this.mountsFor(pod, rt, c, spec, env);
    } catch (e) {
      c.state = 'waiting';
      at(this.clock.now() + 2_000);
      if (e instanceof VolumeSetupError) {
        c.waitingReason = 'ContainerCreating';
        this.event(pod, 'Warning', 'FailedMount', e.message);
        return;
      }
      if (!(e instanceof ContainerConfigError)) throw e;
      c.waitingReason = 'CreateContainerConfigError';
      c.waitingMessage = e.message;
      this.event(pod, 'Warning', 'Failed', `Error: ${e.message}`);
      return;
    }
    const rootfs = await this.images.rootfs(c.image);
    const logPath = containerLogPath(this.logDir, rt.namespace, rt.name, rt.uid, c.name, c.restartCount);
    await rm(logPath, { force: true });
    c.id = this.runtime.containerId(rt.uid, c.name, c.restartCount);
    try {
      const st = await this.runtime.startContainer({
        podUid: rt.uid,
        name: c.name,
        attempt: c.restartCount,
        container: expandCommandAndArgs(spec, env),
        image: cfg.raw,
        imageRootfs: rootfs,
        env,
        mounts,
        logPath,
        podSecurityContext: rec(rec(pod.spec).securityContext),
      });
      const startedAt = rfc3339(st.startedAt ? Date.parse(st.startedAt) : this.clock.now());
      if (st.exit?.runtimeError) {
        c.state = 'terminated';
        c.terminated = exitTerm(c, st.exit, startedAt);
        this.event(pod, 'Warning', 'Failed', `Error: ${st.exit.runtimeError}`);
        return;
      }
      this.event(pod, 'Normal', 'Created', `Created container: ${c.name}`);
      this.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
      c.startedAt = startedAt;
      // Like the kubelet's pod worker, the status stays ContainerCreating while postStart runs.
      const exit =
        st.status === 'exited'
          ? st.exit
          : (await this.postStart(pod, rt, c, spec))
            ? undefined
            : await this.runtime.waitExit(c.id, 10_000);
      if (exit) {
        c.state = 'terminated';
        c.terminated = await this.terminated(rt, c.id, exit, startedAt, spec);
      } else {
        c.state = 'running';
        c.waitingMessage = undefined;
        this.resetProbes(c, spec);
      }
    } catch (e) {
      const msg = errMessage(e);
      c.state = 'terminated';
      c.terminated = {
        exitCode: 128,
        reason: 'StartError',
        message: msg,
        startedAt: '1970-01-01T00:00:00Z',
        finishedAt: rfc3339(this.clock.now()),
        finishedMs: this.clock.now(),
        containerID: `runc://${c.id}`,
      };
      this.event(pod, 'Warning', 'Failed', `Error: ${msg}`);
    }
  }

  // ---- sandbox and volumes ----------------------------------------------------------

  private async createSandbox(pod: KObject, rt: PodRt): Promise<boolean> {
    if (rec(pod.spec).hostNetwork === true) {
      this.event(
        pod,
        'Warning',
        'FailedCreatePodSandBox',
        'Failed to create pod sandbox: hostNetwork pods are not supported by this node',
      );
      return false;
    }
    // As the kubelet: volumes are set up (WaitForAttachAndMount) before the sandbox is made.
    let volumes: Map<string, string>;
    try {
      volumes = await this.volumesOf(rt).setUp(pod);
    } catch (e) {
      const msg = e instanceof VolumeSetupError ? e.message : `MountVolume.SetUp failed: ${errMessage(e)}`;
      this.event(pod, 'Warning', 'FailedMount', msg);
      return false;
    }
    const ip = rt.ip ?? this.allocator.allocate();
    if (!ip) {
      this.event(
        pod,
        'Warning',
        'FailedCreatePodSandBox',
        `Failed to create pod sandbox: failed to allocate for range 0: no IP addresses available in range set: ${this.cidr}`,
      );
      return false;
    }
    rt.ip = ip;
    const { hostname } = podHostname(pod);
    try {
      await this.runtime.createSandbox({
        podUid: rt.uid,
        hostname,
        ip,
        podCidr: this.cidr,
        bridge: this.opts.bridge,
      });
    } catch (e) {
      this.allocator.release(ip);
      rt.ip = undefined;
      this.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${errMessage(e)}`);
      await this.runtime.cleanupPod(rt.uid).catch(() => undefined);
      return false;
    }
    const etc = join(this.runtime.podDir(rt.uid), 'etc');
    await mkdir(etc, { recursive: true });
    await writeFile(join(etc, 'hosts'), hostsFile(pod, ip, this.opts.clusterDomain));
    await writeFile(join(etc, 'hostname'), `${hostname}\n`);
    let hostResolv = '';
    try {
      hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      // none
    }
    await writeFile(
      join(etc, 'resolv.conf'),
      resolvConf(pod, {
        dnsServer: this.opts.dnsServer,
        clusterDomain: this.opts.clusterDomain,
        hostResolvConf: hostResolv,
      }),
    );
    rt.volumes = volumes;
    rt.sandbox = true;
    this.event(pod, 'Normal', 'SandboxReady', 'Pod sandbox created');
    return true;
  }

  private volumesOf(rt: PodRt): PodVolumes {
    rt.vols ??= new PodVolumes(
      {
        client: this.client,
        allocatable: this.allocatable,
        now: () => this.clock.now(),
        requestToken:
          this.opts.requestToken ??
          ((ns, _sa, req) => this.client.create(SERVICEACCOUNTS, ns, req, { subresource: 'token' })),
      },
      this.runtime.podDir(rt.uid),
      (p) => kubeletPodView(p, rt.seenAt),
    );
    return rt.vols;
  }

  /**
   * The kubelet's resync of configMap, secret, downwardAPI and projected volumes: when the pod changed or
   * every volumeSyncMs, their files are rewritten if their sources changed (and tokens renewed).
   */
  private async refreshVolumes(pod: KObject, rt: PodRt): Promise<void> {
    if (rt.cleaned || !list(rec(pod.spec).volumes).some(isProjectedKind)) return;
    const now = this.clock.now();
    const rv = pod.metadata.resourceVersion ?? '';
    const last = rt.volumesSynced;
    if (last && last.rv === rv && now - last.at < (this.opts.volumeSyncMs ?? 10_000)) return;
    rt.volumesSynced = { rv, at: now };
    for (const msg of await this.volumesOf(rt).refresh(pod)) this.event(pod, 'Warning', 'FailedMount', msg);
  }

  /**
   * The container's bind mounts (kubelet makeMounts): the pod's /etc files, its termination-log file, and its
   * volumeMounts with subPath / subPathExpr (which must stay inside the volume) and readOnly.
   */
  private async mountsFor(
    pod: KObject,
    rt: PodRt,
    c: CState,
    spec: Json,
    env: { name: string; value: string }[],
  ): Promise<BindMount[]> {
    rt.volumes ??= await this.volumesOf(rt).setUp(pod);
    const etc = join(this.runtime.podDir(rt.uid), 'etc');
    const out: BindMount[] = [
      { containerPath: '/etc/hosts', hostPath: join(etc, 'hosts') },
      { containerPath: '/etc/hostname', hostPath: join(etc, 'hostname') },
      { containerPath: '/etc/resolv.conf', hostPath: join(etc, 'resolv.conf') },
    ];
    const tmp =
      spec.terminationMessagePath === undefined ? '/dev/termination-log' : str(spec.terminationMessagePath);
    if (tmp) {
      const file = this.terminationFile(rt, c.name, c.restartCount);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, '');
      await chmod(file, 0o666);
      out.push({ containerPath: tmp, hostPath: file });
    }
    for (const m of list(spec.volumeMounts)) {
      const name = str(m.name);
      const base = rt.volumes.get(name);
      if (!base)
        throw new ContainerConfigError(`cannot find volume "${name}" to mount into container "${c.name}"`);
      let host = base;
      const sub = m.subPathExpr ? expandSubPathExpr(str(m.subPathExpr), env) : str(m.subPath);
      if (sub) {
        if (sub.startsWith('/'))
          throw new ContainerConfigError(`error SubPath \`${sub}\` must not be an absolute path`);
        if (sub.split('/').includes('..')) {
          throw new ContainerConfigError(`unable to provision SubPath \`${sub}\`: must not contain '..'`);
        }
        host = join(base, sub);
        const failed = `failed to prepare subPath for volumeMount "${name}" of container "${c.name}"`;
        try {
          if (!existsSync(host)) await mkdir(host, { recursive: true });
          // The resolved path (symlinks followed) must stay inside the volume.
          const [real, realBase] = await Promise.all([realpath(host), realpath(base)]);
          if (real !== realBase && !real.startsWith(`${realBase}/`)) throw new Error(failed);
          host = real;
        } catch {
          throw new ContainerConfigError(failed);
        }
      }
      out.push({ containerPath: str(m.mountPath), hostPath: host, readOnly: m.readOnly === true });
    }
    return out;
  }
}

/** Starts the real node agent for one Node (see the module comment). */
export async function startOciNode(client: Client, opts: OciNodeOptions): Promise<OciNode> {
  let runtimePath = opts.runtimePath;
  if (!runtimePath) {
    const probe = await probeRuntime();
    if ('error' in probe) throw new Error(probe.error);
    runtimePath = probe.path;
  }
  const agent = new OciNodeAgent(client, opts, runtimePath);
  try {
    await agent.start();
  } catch (e) {
    await agent.stop();
    throw e;
  }
  return agent;
}
