/**
 * OCI runtime-spec (config.json) generation for one container of a pod, following what containerd's CRI
 * plugin generates for the kubelet: Kubernetes command/args semantics over the image config, Docker's
 * default capability set, own pid + mount namespaces, network/ipc/uts joined from the pod sandbox, the
 * standard /proc, /sys, /dev mounts plus caller-provided bind mounts, cgroup limits from resources.limits,
 * the securityContext (users and groups incl. the image's /etc/group membership, fsGroup, capabilities,
 * privileged, readOnlyRootFilesystem, allowPrivilegeEscalation, pod sysctls) and the kubelet's
 * runAsNonRoot check.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isObject, type KObject } from '../../api/types.js';
import { quantityNumber } from '../../controllers/scheduler/podinfo.js';

/** The parts of an OCI image config (`config` of the image configuration) that shape a container. */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export interface BindMount {
  /** Path inside the container. */
  containerPath: string;
  /** Exact host path (the caller resolves subPath). */
  hostPath: string;
  readOnly?: boolean;
}

/** Namespace paths of the pod sandbox the container joins. */
export interface SandboxNamespaces {
  network: string;
  ipc: string;
  uts: string;
}

export interface BundleInput {
  /** The container entry of the pod spec (`spec.containers[i]`). */
  container: KObject | Record<string, unknown>;
  image: ImageConfig;
  /** Absolute path of the container's writable rootfs (see prepareRootfs). */
  rootfs: string;
  /** Container env already resolved by the caller (valueFrom, envFrom), in pod-spec order. */
  env?: { name: string; value: string }[];
  sandbox: SandboxNamespaces;
  mounts?: BindMount[];
  /** cgroupsPath for the runtime, e.g. `/ordinal/pod<uid>/<name>`. */
  cgroupsPath: string;
  /** The pod's hostname (HOSTNAME env, as containerd sets it). */
  hostname?: string;
  /** Pod-level securityContext (runAsUser/runAsGroup/supplementalGroups defaults). */
  podSecurityContext?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: {
      devices: { allow: boolean; access: string; type?: string; major?: number; minor?: number }[];
      memory?: { limit: number };
      cpu?: { quota?: number; period?: number; shares?: number };
    };
    maskedPaths?: string[];
    readonlyPaths?: string[];
    /** Namespaced kernel parameters from the pod's securityContext.sysctls. */
    sysctl?: Record<string, string>;
  };
}

/** Docker's (and containerd's) default capability set for unprivileged containers. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability up to CAP_CHECKPOINT_RESTORE (Linux 5.9), for privileged containers. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CPU_PERIOD = 100_000;

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.map((x) => String(x)) : undefined;
}

/** Kubernetes semantics: `command` replaces Entrypoint (and drops Cmd); `args` replaces Cmd. */
export function processArgs(container: Record<string, unknown>, image: ImageConfig): string[] {
  const command = strings(container.command);
  const args = strings(container.args);
  if (command && command.length > 0) return [...command, ...(args ?? [])];
  const entry = image.Entrypoint ?? [];
  if (args && args.length > 0) return [...entry, ...args];
  return [...entry, ...(image.Cmd ?? [])];
}

/** Image env then container env; a later entry with the same name replaces the earlier one in place. */
export function mergeEnv(
  imageEnv: readonly string[],
  env: readonly { name: string; value: string }[],
): string[] {
  const out = new Map<string, string>();
  for (const kv of imageEnv) {
    const i = kv.indexOf('=');
    out.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1));
  }
  for (const { name, value } of env) out.set(name, value);
  return [...out].map(([k, v]) => `${k}=${v}`);
}

function lookupId(
  rootfs: string,
  file: 'passwd' | 'group',
  name: string,
): { id: number; gid?: number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(rootfs, 'etc', file), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined) {
      return { id: Number(f[2]), gid: f[3] !== undefined && file === 'passwd' ? Number(f[3]) : undefined };
    }
  }
  return undefined;
}

/**
 * The process user: runAsUser/runAsGroup (container, then pod securityContext) override the image's
 * `User` ("uid", "uid:gid", "name", "name:group"; names resolved from the rootfs /etc/passwd and /etc/group).
 */
export function resolveUser(
  image: ImageConfig,
  rootfs: string,
  sc: Record<string, unknown>,
  podSc: Record<string, unknown>,
): { uid: number; gid: number; additionalGids?: number[] } {
  let uid = 0;
  let gid = 0;
  const spec = image.User ?? '';
  if (spec !== '') {
    const [u = '', g] = spec.split(':');
    if (/^\d+$/.test(u)) {
      uid = Number(u);
      const pw = readPasswdByUid(rootfs, uid);
      gid = pw ?? 0;
    } else {
      const pw = lookupId(rootfs, 'passwd', u);
      if (!pw) throw new Error(`image user ${JSON.stringify(u)} not found in the image's /etc/passwd`);
      uid = pw.id;
      gid = pw.gid ?? 0;
    }
    if (g !== undefined && g !== '') {
      if (/^\d+$/.test(g)) gid = Number(g);
      else {
        const gr = lookupId(rootfs, 'group', g);
        if (!gr) throw new Error(`image group ${JSON.stringify(g)} not found in the image's /etc/group`);
        gid = gr.id;
      }
    }
  }
  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  const runAsGroup = sc.runAsGroup ?? podSc.runAsGroup;
  if (typeof runAsUser === 'number') {
    uid = runAsUser;
    if (typeof runAsGroup !== 'number') gid = readPasswdByUid(rootfs, uid) ?? 0;
  }
  if (typeof runAsGroup === 'number') gid = runAsGroup;
  // containerd adds the groups the image's /etc/group lists the user in (SupplementalGroupsPolicy Merge).
  const extra: number[] = imageGroupsOf(rootfs, uid).filter((g) => g !== gid);
  for (const g of [...(Array.isArray(podSc.supplementalGroups) ? podSc.supplementalGroups : [])]) {
    if (typeof g === 'number' && !extra.includes(g)) extra.push(g);
  }
  if (typeof podSc.fsGroup === 'number' && !extra.includes(podSc.fsGroup)) extra.push(podSc.fsGroup);
  return extra.length > 0 ? { uid, gid, additionalGids: extra } : { uid, gid };
}

/** Groups of the image's /etc/group whose member list names the user with this uid (containerd's WithAdditionalGIDs). */
function imageGroupsOf(rootfs: string, uid: number): number[] {
  let user: string | undefined;
  let groups: string;
  try {
    for (const line of readFileSync(join(rootfs, 'etc/passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === String(uid)) {
        user = f[0];
        break;
      }
    }
    groups = readFileSync(join(rootfs, 'etc/group'), 'utf8');
  } catch {
    return [];
  }
  if (!user) return [];
  const out: number[] = [];
  for (const line of groups.split('\n')) {
    const f = line.split(':');
    const members = (f[3] ?? '').split(',').map((m) => m.trim());
    // As containerd: only supplemental groups (not the group named like the user).
    if (f[0] === user || f[2] === undefined || !/^\d+$/.test(f[2])) continue;
    if (members.includes(user)) out.push(Number(f[2]));
  }
  return out;
}

/**
 * upstream verifyRunAsNonRoot: with `runAsNonRoot: true` (container, else pod securityContext) the
 * container must not run as uid 0, and an image user given by name cannot be verified. Returns the
 * kubelet's error (a CreateContainerConfigError) or undefined. `podRef` is `name_namespace(uid)`.
 */
export function runAsNonRootError(
  container: Record<string, unknown>,
  podSc: Record<string, unknown>,
  image: ImageConfig,
  podRef: string,
): string | undefined {
  const sc = isObject(container.securityContext) ? container.securityContext : {};
  const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
  if (nonRoot !== true) return undefined;
  const name = String(container.name ?? '');
  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  if (typeof runAsUser === 'number') {
    return runAsUser === 0
      ? `container's runAsUser breaks non-root policy (pod: "${podRef}", container: ${name})`
      : undefined;
  }
  const user = (image.User ?? '').split(':')[0] ?? '';
  if (user === '' || user === '0') {
    return `container has runAsNonRoot and image will run as root (pod: "${podRef}", container: ${name})`;
  }
  if (!/^\d+$/.test(user)) {
    return `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root (pod: "${podRef}", container: ${name})`;
  }
  return undefined;
}

/** Pod-level securityContext.sysctls as the runtime spec's `linux.sysctl`. */
export function podSysctls(podSc: Record<string, unknown>): Record<string, string> | undefined {
  const list = Array.isArray(podSc.sysctls) ? podSc.sysctls.filter(isObject) : [];
  if (list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const s of list) if (typeof s.name === 'string') out[s.name] = String(s.value ?? '');
  return out;
}

function readPasswdByUid(rootfs: string, uid: number): number | undefined {
  try {
    for (const line of readFileSync(join(rootfs, 'etc/passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === String(uid) && f[3] !== undefined) return Number(f[3]);
    }
  } catch {
    // no passwd
  }
  return undefined;
}

/** cgroup limits from `resources.limits` (cpu → CFS quota over a 100ms period, memory → bytes). */
export function resourceLimits(container: Record<string, unknown>): OciSpec['linux']['resources'] {
  const res: OciSpec['linux']['resources'] = { devices: [{ allow: false, access: 'rwm' }] };
  const resources = isObject(container.resources) ? container.resources : {};
  const limits = isObject(resources.limits) ? resources.limits : {};
  const requests = isObject(resources.requests) ? resources.requests : {};
  if (limits.memory !== undefined) {
    const bytes = quantityNumber(limits.memory, false);
    if (bytes > 0) res.memory = { limit: bytes };
  }
  const cpu: { quota?: number; period?: number; shares?: number } = {};
  if (limits.cpu !== undefined) {
    const milli = quantityNumber(limits.cpu, true);
    if (milli > 0) {
      // kubelet MilliCPUToQuota: minimum 1ms quota.
      cpu.quota = Math.max(1000, Math.floor((milli * CPU_PERIOD) / 1000));
      cpu.period = CPU_PERIOD;
    }
  }
  const reqCpu = requests.cpu ?? limits.cpu;
  if (reqCpu !== undefined) {
    // kubelet MilliCPUToShares: shares = milli * 1024 / 1000, minimum 2.
    cpu.shares = Math.max(2, Math.floor((quantityNumber(reqCpu, true) * 1024) / 1000));
  }
  if (Object.keys(cpu).length > 0) res.cpu = cpu;
  return res;
}

/** Builds the OCI runtime spec for one container (see the module comment). */
export function buildBundle(input: BundleInput): OciSpec {
  const c = input.container as Record<string, unknown>;
  const sc = isObject(c.securityContext) ? c.securityContext : {};
  const podSc = input.podSecurityContext ?? {};
  const privileged = sc.privileged === true;
  const args = processArgs(c, input.image);
  if (args.length === 0)
    throw new Error(`container ${String(c.name)}: no command specified (image has none)`);

  const imageEnv = input.image.Env ?? [];
  const baseEnv = imageEnv.some((e) => e.startsWith('PATH=')) ? imageEnv : [DEFAULT_PATH, ...imageEnv];
  const extra = input.hostname ? [{ name: 'HOSTNAME', value: input.hostname }] : [];
  const env = mergeEnv(baseEnv, [...extra, ...(input.env ?? [])]);

  let caps = privileged ? [...ALL_CAPABILITIES] : [...DEFAULT_CAPABILITIES];
  const capsSpec = isObject(sc.capabilities) ? sc.capabilities : {};
  const norm = (x: unknown) => {
    const s = String(x).toUpperCase();
    return s.startsWith('CAP_') ? s : `CAP_${s}`;
  };
  if (!privileged) {
    for (const a of strings(capsSpec.add) ?? []) {
      if (norm(a) === 'CAP_ALL') caps = [...ALL_CAPABILITIES];
      else if (!caps.includes(norm(a))) caps.push(norm(a));
    }
    const drop = (strings(capsSpec.drop) ?? []).map(norm);
    caps = drop.includes('CAP_ALL') ? [] : caps.filter((x) => !drop.includes(x));
  }

  const user = resolveUser(input.image, input.rootfs, sc, podSc);
  const sysOpts = ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'];
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOpts },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
  ];
  const taken = new Set(mounts.map((m) => m.destination));
  for (const m of input.mounts ?? []) {
    if (taken.has(m.containerPath)) {
      // A caller mount replaces a default one at the same destination (e.g. a memory-backed /dev/shm).
      const i = mounts.findIndex((x) => x.destination === m.containerPath);
      if (i >= 0) mounts.splice(i, 1);
    }
    mounts.push({
      destination: m.containerPath,
      type: 'bind',
      source: m.hostPath,
      options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'],
    });
  }

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user,
      args,
      env,
      cwd:
        typeof c.workingDir === 'string' && c.workingDir !== ''
          ? c.workingDir
          : input.image.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [],
      noNewPrivileges: !privileged && sc.allowPrivilegeEscalation === false,
    },
    root: { path: input.rootfs, readonly: sc.readOnlyRootFilesystem === true },
    mounts,
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'mount' },
        { type: 'network', path: input.sandbox.network },
        { type: 'ipc', path: input.sandbox.ipc },
        { type: 'uts', path: input.sandbox.uts },
      ],
      cgroupsPath: input.cgroupsPath,
      resources: resourceLimits(c),
    },
  };
  if (privileged) {
    spec.linux.resources.devices = [{ allow: true, access: 'rwm' }];
  } else {
    spec.linux.maskedPaths = [
      '/proc/acpi',
      '/proc/asound',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/proc/scsi',
      '/sys/firmware',
      '/sys/devices/virtual/powercap',
    ];
    spec.linux.readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
  }
  const sysctl = podSysctls(podSc);
  if (sysctl) spec.linux.sysctl = sysctl;
  if (input.annotations) spec.annotations = { ...input.annotations };
  return spec;
}

/** Writes `config.json` into a bundle directory. */
export async function writeBundle(bundleDir: string, spec: OciSpec): Promise<void> {
  await writeFile(join(bundleDir, 'config.json'), `${JSON.stringify(spec, null, 2)}\n`);
}
