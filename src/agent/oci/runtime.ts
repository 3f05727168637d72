/**
 * Container lifecycle on an OCI runtime binary (runc or crun) for pods: sandbox, start (through a detached
 * supervisor that writes CRI logs and the exit status and serves attach), state, kill with a grace period,
 * delete, exec (collected for probes, or streaming with an optional terminal), listing after an agent
 * restart, and full cleanup of a pod. Layout on disk: see README.md.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, realpath, rm, rmdir, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { KObject } from '../../api/types.js';
import { ExecProcess, type ExecStreamOptions } from './exec.js';
import { mountsUnder, prepareRootfs, unmountAll } from './rootfs.js';
import { createSandbox, removeSandbox, type Sandbox, type SandboxInput } from './sandbox.js';
import { type BindMount, buildBundle, type ImageConfig, type OciSpec, writeBundle } from './spec.js';
import { ATTACH_SOCKET, SUPERVISOR_SOURCE, type SupervisorOptions } from './supervisor.js';
import { findScript, scriptArgs } from './terminal.js';
import { findBusybox, pidAlive, run, sleep, which } from './util.js';

export interface OciRuntimeOptions {
  /** Root of everything this runtime writes (see README.md), e.g. `<data-dir>/oci`. */
  stateDir: string;
  /** Runtime binary, from probeRuntime. */
  runtimePath: string;
  /** Top cgroup under which pods live (default "ordinal"). */
  cgroupParent?: string;
  /**
   * util-linux `script`, which gives tty containers and `exec -t` a terminal (default: found on PATH;
   * null: never, containers asking for a tty then run without one).
   */
  scriptPath?: string | null;
}

export interface StartContainerInput {
  podUid: string;
  /** Container name (spec.containers[].name). */
  name: string;
  /** Restart count / attempt; part of the container id so a restarted container gets a fresh one. */
  attempt?: number;
  container: KObject | Record<string, unknown>;
  image: ImageConfig;
  /** Unpacked image rootfs (read-only lower layer). */
  imageRootfs: string;
  env?: { name: string; value: string }[];
  mounts?: BindMount[];
  /** CRI log file, e.g. /var/log/pods/<ns>_<pod>_<uid>/<name>/<attempt>.log. */
  logPath: string;
  podSecurityContext?: Record<string, unknown>;
}

export interface ExitInfo {
  exitCode: number;
  finishedAt: string;
  /** The runtime's own error, when the container could not be created or started. */
  runtimeError?: string;
}

export interface ContainerInfo {
  id: string;
  podUid: string;
  name: string;
  attempt: number;
  logPath: string;
  createdAt: string;
  startedAt?: string;
  supervisorPid: number;
  cgroupsPath: string;
  /** From the container spec: stdin kept open for attach, closed after the first attach, on a terminal. */
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerState extends ContainerInfo {
  status: ContainerStatus;
  /** Host pid of the container's init process while running. */
  pid?: number;
  exit?: ExitInfo;
}

export interface ExecOptions {
  stdin?: string | Buffer;
  env?: string[];
  cwd?: string;
  /** "uid[:gid]"; default the runtime's (root). */
  user?: string;
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const ANN_POD = 'dev.ordinal.pod-uid';
const ANN_NAME = 'dev.ordinal.container-name';

export class OciRuntime {
  readonly stateDir: string;
  readonly runtimePath: string;
  readonly cgroupParent: string;
  /** util-linux `script` for terminals, if available. */
  readonly scriptPath: string | undefined;

  constructor(opts: OciRuntimeOptions) {
    this.stateDir = opts.stateDir;
    this.runtimePath = opts.runtimePath;
    this.cgroupParent = opts.cgroupParent ?? 'ordinal';
    this.scriptPath = opts.scriptPath === null ? undefined : (opts.scriptPath ?? findScript());
  }

  /** The runtime's --root (its own state; separate from any other runc user on the host). */
  get runtimeRoot(): string {
    return join(this.stateDir, 'runtime');
  }

  podDir(podUid: string): string {
    return join(this.stateDir, 'pods', podUid);
  }

  containerId(podUid: string, name: string, attempt = 0): string {
    return `${podUid}_${name}_${attempt}`;
  }

  private containerDir(podUid: string, name: string, attempt: number): string {
    return join(this.podDir(podUid), 'containers', `${name}_${attempt}`);
  }

  private dirOfId(id: string): string {
    const [podUid = '', name = '', attempt = '0'] = id.split('_');
    return this.containerDir(podUid, name, Number(attempt));
  }

  private runtime(args: string[], timeoutMs = 30_000) {
    return run(this.runtimePath, ['--root', this.runtimeRoot, ...args], { timeoutMs });
  }

  /** Creates the pod sandbox (netns, veth, IPC/UTS holder) and records it in `<pod>/sandbox.json`. */
  async createSandbox(input: SandboxInput): Promise<Sandbox> {
    await mkdir(this.podDir(input.podUid), { recursive: true });
    const s = await createSandbox(input);
    await writeFile(join(this.podDir(input.podUid), 'sandbox.json'), JSON.stringify(s));
    await writeFile(join(this.podDir(input.podUid), 'hostname'), `${input.hostname}\n`);
    return s;
  }

  async loadSandbox(podUid: string): Promise<Sandbox | undefined> {
    try {
      return JSON.parse(await readFile(join(this.podDir(podUid), 'sandbox.json'), 'utf8')) as Sandbox;
    } catch {
      return undefined;
    }
  }

  /** Pod UIDs that have state on disk (for finding pods again after an agent restart). */
  async listPods(): Promise<string[]> {
    return readdir(join(this.stateDir, 'pods')).catch(() => []);
  }

  /**
   * Prepares the rootfs and bundle and starts the container through a detached supervisor. Resolves once the
   * runtime reports it running (or it already exited, e.g. a failed start: see `state().exit.runtimeError`).
   */
  async startContainer(input: StartContainerInput): Promise<ContainerState> {
    const sandbox = await this.loadSandbox(input.podUid);
    if (!sandbox) throw new Error(`pod ${input.podUid} has no sandbox`);
    const attempt = input.attempt ?? 0;
    const id = this.containerId(input.podUid, input.name, attempt);
    const dir = this.containerDir(input.podUid, input.name, attempt);
    if (existsSync(join(dir, 'meta.json'))) throw new Error(`container ${id} already exists`);
    await mkdir(dir, { recursive: true });
    await mkdir(this.runtimeRoot, { recursive: true });
    await mkdir(dirname(input.logPath), { recursive: true });
    const rootfs = await prepareRootfs(input.imageRootfs, dir);
    const cgroupsPath = `/${this.cgroupParent}/pod${input.podUid}/${input.name}_${attempt}`;
    const spec: OciSpec = buildBundle({
      container: input.container,
      image: input.image,
      rootfs: rootfs.path,
      env: input.env,
      sandbox: { network: sandbox.netnsPath, ipc: sandbox.ipcPath, uts: sandbox.utsPath },
      mounts: input.mounts,
      cgroupsPath,
      hostname: sandbox.hostname,
      podSecurityContext: input.podSecurityContext,
      annotations: { [ANN_POD]: input.podUid, [ANN_NAME]: input.name },
    });
    const c = input.container as Record<string, unknown>;
    const stdio = { stdin: c.stdin === true, stdinOnce: c.stdinOnce === true, tty: c.tty === true };
    const sup: SupervisorOptions = { stdin: stdio.stdin, stdinOnce: stdio.stdinOnce };
    if (stdio.tty && this.scriptPath) {
      // As containerd's WithTTY: a terminal and TERM=xterm. runc needs its own stdin to be a terminal for
      // that, which `script` provides (terminal.ts).
      spec.process.terminal = true;
      spec.process.env = [...spec.process.env.filter((e) => !e.startsWith('TERM=')), 'TERM=xterm'];
      sup.tty = true;
      sup.command = [
        this.scriptPath,
        ...scriptArgs([
          this.runtimePath,
          '--root',
          this.runtimeRoot,
          '--log',
          join(dir, 'runtime.log'),
          '--log-format',
          'json',
          'run',
          '--bundle',
          dir,
          id,
        ]),
      ];
      sup.stty = sttyCommand();
    }
    await writeBundle(dir, spec);
    const script = join(this.stateDir, 'supervisor.cjs');
    await writeFile(script, SUPERVISOR_SOURCE);
    const child = spawn(
      process.execPath,
      [
        script,
        this.runtimePath,
        this.runtimeRoot,
        dir,
        id,
        input.logPath,
        join(dir, 'exit.json'),
        join(dir, 'runtime.log'),
        JSON.stringify(sup),
      ],
      // The container dir is the supervisor's working directory: its attach socket is bound there by a
      // relative name, so socket paths never hit the 108-byte limit of unix socket addresses.
      { detached: true, stdio: 'ignore', cwd: dir },
    );
    child.unref();
    const info: ContainerInfo = {
      id,
      podUid: input.podUid,
      name: input.name,
      attempt,
      logPath: input.logPath,
      createdAt: new Date().toISOString(),
      supervisorPid: child.pid ?? 0,
      cgroupsPath,
      ...stdio,
      tty: sup.tty === true,
    };
    await writeFile(join(dir, 'meta.json'), JSON.stringify(info));
    for (let i = 0; i < 2000; i++) {
      const st = await this.state(id);
      if (st.status === 'running' || st.status === 'exited') {
        if (!info.startedAt) {
          info.startedAt = new Date().toISOString();
          await writeFile(join(dir, 'meta.json'), JSON.stringify(info));
        }
        return { ...st, startedAt: info.startedAt };
      }
      if (st.status === 'unknown' && !pidAlive(info.supervisorPid)) {
        // The supervisor writes exit.json before it exits: look once more (it may have raced the check).
        const last = await this.state(id);
        if (last.status === 'exited') return { ...last, startedAt: info.startedAt };
        break;
      }
      await sleep(10);
    }
    throw new Error(
      `container ${id} did not start (supervisor ${info.supervisorPid} gone without exit status)`,
    );
  }

  private async info(id: string): Promise<ContainerInfo | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dirOfId(id), 'meta.json'), 'utf8')) as ContainerInfo;
    } catch {
      return undefined;
    }
  }

  private async exitInfo(id: string): Promise<ExitInfo | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dirOfId(id), 'exit.json'), 'utf8')) as ExitInfo;
    } catch {
      return undefined;
    }
  }

  /** Current state: from exit.json once exited, else from `<runtime> state`. */
  async state(id: string): Promise<ContainerState> {
    const info = (await this.info(id)) ?? {
      id,
      podUid: '',
      name: '',
      attempt: 0,
      logPath: '',
      createdAt: '',
      supervisorPid: 0,
      cgroupsPath: '',
    };
    const exit = await this.exitInfo(id);
    if (exit) return { ...info, status: 'exited', exit };
    const r = await this.runtime(['state', id]);
    if (r.code === 0) {
      const s = JSON.parse(r.stdout) as { status?: string; pid?: number };
      const status: ContainerStatus =
        s.status === 'running' || s.status === 'paused'
          ? 'running'
          : s.status === 'created'
            ? 'created'
            : 'unknown';
      return { ...info, status, pid: s.pid && s.pid > 0 ? s.pid : undefined };
    }
    return { ...info, status: 'unknown' };
  }

  /** Waits for the container to exit (polling exit.json); undefined on timeout. */
  async waitExit(id: string, timeoutMs: number): Promise<ExitInfo | undefined> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const e = await this.exitInfo(id);
      if (e) return e;
      const info = await this.info(id);
      if (!info || !pidAlive(info.supervisorPid)) return this.exitInfo(id);
      if (Date.now() >= until) return undefined;
      await sleep(20);
    }
  }

  /** SIGTERM (or the given stop signal), then SIGKILL after the grace period; resolves with the exit. */
  async kill(id: string, gracePeriodMs: number, stopSignal = 'SIGTERM'): Promise<ExitInfo | undefined> {
    const done = await this.exitInfo(id);
    if (done) return done;
    await this.runtime(['kill', id, stopSignal]);
    const e = await this.waitExit(id, gracePeriodMs);
    if (e) return e;
    await this.runtime(['kill', '--all', id, 'SIGKILL']);
    return this.waitExit(id, 10_000);
  }

  /** Removes a stopped container: runtime state, rootfs mount, cgroup, its directory (the log file stays). */
  async deleteContainer(id: string): Promise<void> {
    const info = await this.info(id);
    await this.runtime(['delete', '--force', id]);
    const dir = this.dirOfId(id);
    if (info && pidAlive(info.supervisorPid)) await this.waitExit(id, 5_000);
    await unmountAll(dir);
    if (info) await removeCgroup(info.cgroupsPath);
    await rm(dir, { recursive: true, force: true });
  }

  /** Runs an extra process in a running container (`<runtime> exec`), streaming stdio through the child. */
  execStream(
    id: string,
    argv: string[],
    opts: Omit<ExecOptions, 'stdin' | 'timeoutMs'> = {},
  ): ChildProcessWithoutNullStreams {
    const args = ['--root', this.runtimeRoot, 'exec'];
    for (const e of opts.env ?? []) args.push('--env', e);
    if (opts.cwd) args.push('--cwd', opts.cwd);
    if (opts.user) args.push('--user', opts.user);
    args.push(id, ...argv);
    return spawn(this.runtimePath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /**
   * Starts a streaming exec session (kubectl exec): see ExecProcess. `tty` needs `script`; without it the
   * session runs without a terminal (`tty` of the result says which).
   */
  startExec(id: string, argv: string[], opts: ExecStreamOptions = {}): Promise<ExecProcess> {
    return ExecProcess.start(
      {
        runtimePath: this.runtimePath,
        runtimeRoot: this.runtimeRoot,
        containerId: id,
        workDir: join(this.dirOfId(id), 'exec'),
        script: this.scriptPath,
      },
      argv,
      opts,
    );
  }

  /** Container info as recorded at start (stdin/tty flags, supervisor pid, ...), if the container exists. */
  containerInfo(id: string): Promise<ContainerInfo | undefined> {
    return this.info(id);
  }

  /**
   * Connects to the container's attach socket (supervisor.ts), through `/proc/<supervisor>/cwd` so the
   * address stays short. Undefined when the supervisor is gone or predates attach support.
   */
  async connectAttach(id: string): Promise<Socket | undefined> {
    const info = await this.info(id);
    if (!info?.supervisorPid || !pidAlive(info.supervisorPid)) return undefined;
    const dir = await realpath(this.dirOfId(id)).catch(() => undefined);
    const cwd = await readlink(`/proc/${info.supervisorPid}/cwd`).catch(() => undefined);
    if (!dir || cwd !== dir) return undefined;
    const path = `/proc/${info.supervisorPid}/cwd/${ATTACH_SOCKET}`;
    return new Promise((resolve) => {
      const sock = connect(path);
      const failed = (): void => resolve(undefined);
      sock.once('error', failed);
      sock.once('connect', () => {
        sock.off('error', failed);
        resolve(sock);
      });
    });
  }

  /** Runs a command in a running container and collects its output and exit code (exec probes). */
  exec(id: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = this.execStream(id, argv, opts);
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const timer =
        opts.timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, opts.timeoutMs)
          : undefined;
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', (err) => {
        if (timer) clearTimeout(timer);
        resolve({ exitCode: 126, stdout, stderr: stderr + err.message, timedOut });
      });
      child.on('close', (code) => {
        if (timer) clearTimeout(timer);
        resolve({ exitCode: code ?? 137, stdout, stderr, timedOut });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin ?? '');
    });
  }

  /** Every container with state on disk (optionally of one pod), with its current state. */
  async list(podUid?: string): Promise<ContainerState[]> {
    const out: ContainerState[] = [];
    for (const uid of podUid ? [podUid] : await this.listPods()) {
      const names = await readdir(join(this.podDir(uid), 'containers')).catch(() => []);
      for (const n of names) {
        const i = n.lastIndexOf('_');
        out.push(await this.state(this.containerId(uid, n.slice(0, i), Number(n.slice(i + 1)))));
      }
    }
    return out;
  }

  /** Containers the runtime itself knows under our --root, with the pod they belong to (from annotations). */
  async runtimeContainers(): Promise<{ id: string; status: string; pid: number; podUid?: string }[]> {
    const r = await this.runtime(['list', '--format', 'json']);
    if (r.code !== 0 || r.stdout.trim() === '' || r.stdout.trim() === 'null') return [];
    const rows = JSON.parse(r.stdout) as {
      id: string;
      status: string;
      pid: number;
      annotations?: Record<string, string>;
    }[];
    return rows.map((x) => ({ id: x.id, status: x.status, pid: x.pid, podUid: x.annotations?.[ANN_POD] }));
  }

  /**
   * Removes everything a pod used: kills and deletes its containers, unmounts rootfs overlays and anything
   * else mounted under the pod dir, removes cgroups, the sandbox (holder, netns, veth) and the pod dir.
   */
  async cleanupPod(podUid: string): Promise<void> {
    const ids = new Set((await this.list(podUid)).map((c) => c.id));
    for (const c of await this.runtimeContainers()) {
      if (c.podUid === podUid || c.id.startsWith(`${podUid}_`)) ids.add(c.id);
    }
    for (const id of ids) {
      const info = await this.info(id);
      if (!(await this.exitInfo(id))) {
        await this.runtime(['kill', '--all', id, 'SIGKILL']);
        if (info) await this.waitExit(id, 10_000);
      }
      await this.deleteContainer(id);
    }
    const sandbox = await this.loadSandbox(podUid);
    await removeSandbox({ podUid, holderPid: sandbox?.holderPid });
    await unmountAll(this.podDir(podUid));
    await removeCgroup(`/${this.cgroupParent}/pod${podUid}`);
    await rm(this.podDir(podUid), { recursive: true, force: true });
  }

  /** Mount points still present under the pod dir (for leak checks). */
  async podMounts(podUid: string): Promise<string[]> {
    return mountsUnder(this.podDir(podUid));
  }
}

/** An stty invocation that understands `-F <tty> rows R cols C` (coreutils, else busybox). */
function sttyCommand(): string[] | undefined {
  const stty = which('stty');
  if (stty) return [stty];
  const busybox = findBusybox();
  return busybox ? [busybox, 'stty'] : undefined;
}

/** Host directories of a cgroup path in every mounted hierarchy (v1 controllers, unified, or v2). */
export async function cgroupDirs(cgroupsPath: string, root = '/sys/fs/cgroup'): Promise<string[]> {
  if (existsSync(join(root, 'cgroup.controllers'))) return [join(root, cgroupsPath)];
  const out: string[] = [];
  for (const h of await readdir(root).catch(() => [])) out.push(join(root, h, cgroupsPath));
  return out;
}

/** Removes a cgroup (and empty children) in every hierarchy; missing ones are ignored. */
export async function removeCgroup(cgroupsPath: string): Promise<void> {
  for (const dir of await cgroupDirs(cgroupsPath)) await rmdirTree(dir);
}

async function rmdirTree(dir: string): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await rmdirTree(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}
