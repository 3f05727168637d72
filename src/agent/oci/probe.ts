/**
 * Picks the OCI runtime to use: tries `runc` then `crun` from PATH by actually running a trivial busybox
 * container, and explains why the others were rejected (e.g. crun refuses hybrid cgroup v1/v2 hosts).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs } from './rootfs.js';
import { type OciSpec, writeBundle } from './spec.js';
import { findBusybox, run, which } from './util.js';

export type RuntimeName = 'runc' | 'crun';
export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface RuntimeRejection {
  runtime: RuntimeName;
  path?: string;
  reason: string;
}

export type ProbeResult =
  | { runtime: RuntimeName; path: string; version: string; cgroup: CgroupMode; rejected: RuntimeRejection[] }
  | { error: string; rejected: RuntimeRejection[] };

export interface ProbeOptions {
  /** Order to try (default runc, crun). */
  candidates?: RuntimeName[];
  /** PATH to search (default process.env.PATH). */
  path?: string;
  /** Static busybox binary for the test rootfs (default /bin/busybox). */
  busybox?: string;
  /** Scratch directory parent (default os.tmpdir()). */
  tmpDir?: string;
  timeoutMs?: number;
}

/** cgroup v2 only (unified), v1 only, or hybrid (v1 controllers plus a v2 hierarchy at /sys/fs/cgroup/unified). */
export function cgroupMode(root = '/sys/fs/cgroup'): CgroupMode {
  if (existsSync(join(root, 'cgroup.controllers'))) return 'v2';
  if (existsSync(join(root, 'unified', 'cgroup.controllers'))) return 'hybrid';
  return 'v1';
}

function probeSpec(rootfs: string): OciSpec {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/bin/sh', '-c', 'echo ordinal-probe-ok'],
      env: ['PATH=/bin'],
      cwd: '/',
      capabilities: { bounding: [], effective: [], permitted: [] },
      rlimits: [],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }],
      cgroupsPath: '',
      resources: { devices: [{ allow: false, access: 'rwm' }] },
    },
  };
}

/** Finds a working OCI runtime (see the module comment); never throws. */
export async function probeRuntime(opts: ProbeOptions = {}): Promise<ProbeResult> {
  const rejected: RuntimeRejection[] = [];
  const cgroup = cgroupMode();
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { error: 'real containers need root (run `ordinal up` as root, or use --runtime sim)', rejected };
  }
  const busybox = opts.busybox ?? findBusybox();
  if (!busybox) {
    return {
      error: 'no static busybox found to test the container runtime (apt-get install -y busybox-static)',
      rejected,
    };
  }
  const scratch = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'ordinal-probe-'));
  try {
    const bundle = join(scratch, 'bundle');
    const rootfs = join(bundle, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await busyboxRootfs(rootfs, busybox);
    await writeBundle(bundle, probeSpec(rootfs));
    for (const name of opts.candidates ?? ['runc', 'crun']) {
      const path = which(name, opts.path);
      if (!path) {
        rejected.push({ runtime: name, reason: `${name} not found on PATH` });
        continue;
      }
      const v = await run(path, ['--version'], { timeoutMs: 10_000 });
      const version = v.stdout.split('\n')[0]?.trim() ?? '';
      const state = join(scratch, `state-${name}`);
      const id = `ordinal-probe-${process.pid}-${name}`;
      const r = await run(path, ['--root', state, 'run', '--bundle', bundle, id], {
        timeoutMs: opts.timeoutMs ?? 20_000,
      });
      await run(path, ['--root', state, 'delete', '--force', id]);
      if (r.code === 0 && r.stdout.includes('ordinal-probe-ok')) {
        return { runtime: name, path, version, cgroup, rejected };
      }
      const why = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ') || `exit code ${r.code}`;
      const hint =
        name === 'crun' && cgroup === 'hybrid'
          ? ' (crun does not support hosts with hybrid cgroup v1/v2 hierarchies)'
          : '';
      rejected.push({
        runtime: name,
        path,
        reason: `${name} (${version}) could not run a test container: ${why}${hint}`,
      });
    }
    return {
      error: `no working OCI runtime (install runc: apt-get install -y runc); cgroups are ${cgroup}. ${rejected
        .map((x) => x.reason)
        .join('; ')}`,
      rejected,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** One line for `ordinal up` to print. */
export function describeProbe(r: ProbeResult): string {
  if ('error' in r) return `container runtime: ${r.error}`;
  const others = r.rejected.map((x) => `; not ${x.runtime}: ${x.reason}`).join('');
  const name = r.version.startsWith(r.runtime) ? r.version : `${r.runtime} ${r.version}`;
  return `container runtime: ${name} at ${r.path} (cgroup ${r.cgroup})${others}`;
}
