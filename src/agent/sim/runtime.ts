/**
 * The simulated container runtime of one pod: what its containers are doing
 * (waiting, running, terminated, in crash back-off), driven by time and by the
 * pod's `sim.ordinal.dev/*` annotations, and the pod status the kubelet would
 * report for it. No processes run; a "container" is a record.
 *
 * `SimPod.advance` moves the containers forward to `now` and reports the
 * kubelet events that happened and when it next needs to look; `SimPod.status`
 * renders the pod status (upstream generateAPIPodStatus + status manager merge
 * + TerminatePod for killed pods).
 */
import { randomBytes } from 'node:crypto';
import { isObject, type KObject } from '../../api/types.js';
import type { EventType } from '../../controllers/events.js';
import { type PodCondition, podConditions, rfc3339 } from '../../controllers/util/pods.js';
import {
  containersReadyCondition,
  formatPod,
  goDuration,
  initializedCondition,
  isSidecar,
  type Json,
  mergeKubeletConditions,
  podPhaseFor,
  readyCondition,
} from './status.js';

/** Annotations that steer a simulated pod (see README.md). */
export const ANN = {
  ready: 'sim.ordinal.dev/ready',
  fail: 'sim.ordinal.dev/fail',
  crash: 'sim.ordinal.dev/crash',
  phase: 'sim.ordinal.dev/phase',
  reason: 'sim.ordinal.dev/reason',
  message: 'sim.ordinal.dev/message',
  exitOnSigterm: 'sim.ordinal.dev/exit-on-sigterm',
  terminationDelayMs: 'sim.ordinal.dev/termination-delay-ms',
  readyDelayMs: 'sim.ordinal.dev/ready-delay-ms',
} as const;

export interface KubeletEvent {
  type: EventType;
  reason: string;
  message: string;
}

interface Terminated {
  containerID: string;
  exitCode: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
}

export interface ContainerRt {
  name: string;
  kind: 'init' | 'sidecar' | 'main';
  image: string;
  state: 'waiting' | 'running' | 'terminated';
  waitingReason: string;
  waitingMessage?: string;
  /** Current (or last) container id; '' until first created. */
  id: string;
  startedAt?: string;
  terminated?: Terminated;
  last?: Terminated;
  restartCount: number;
  ready: boolean;
  started: boolean;
  /** Exits seen that led to a restart (the first restart is immediate, as the kubelet's back-off). */
  failures: number;
  backoffMs: number;
  restartAt?: number;
  /** The readiness annotation said "false" at the last look (for Unhealthy events). */
  unready: boolean;
}

export interface Timing {
  crashBackoffMs: number;
  maxCrashBackoffMs: number;
}

function rec(v: unknown): Json {
  return isObject(v) ? v : {};
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** An integer annotation value, or undefined when absent or not a number. */
export function annInt(pod: KObject, key: string): number | undefined {
  const v = pod.metadata.annotations?.[key];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

const ID_PREFIX = randomBytes(20).toString('hex');
let idCounter = 0;

/** A unique 64-hex-digit container id (random per process, then a counter). */
function newContainerId(): string {
  idCounter++;
  return `${ID_PREFIX}${idCounter.toString(16).padStart(24, '0')}`;
}

function terminatedJson(t: Terminated): Json {
  const out: Json = {};
  if (t.containerID) out.containerID = `sim://${t.containerID}`;
  out.exitCode = t.exitCode;
  // Unknown times are zero metav1.Times, which serialise as null.
  out.finishedAt = t.finishedAt || null;
  if (t.message !== undefined) out.message = t.message;
  out.reason = t.reason;
  out.startedAt = t.startedAt || null;
  return out;
}

function volumeMountsOf(spec: Json): Json[] | undefined {
  const mounts = list(spec.volumeMounts);
  if (mounts.length === 0) return undefined;
  return mounts.map((m) => {
    const out: Json = { mountPath: m.mountPath, name: m.name };
    if (m.readOnly === true) {
      out.readOnly = true;
      out.recursiveReadOnly = m.recursiveReadOnly === 'Enabled' ? 'Enabled' : 'Disabled';
    }
    return out;
  });
}

/** One container's status as the kubelet reports it. */
export function containerStatusJson(c: ContainerRt, spec: Json): Json {
  const out: Json = {};
  if (c.id) out.containerID = `sim://${c.id}`;
  out.image = c.image;
  out.imageID = c.id ? `sim://${c.image}` : '';
  out.lastState = c.last ? { terminated: terminatedJson(c.last) } : {};
  out.name = c.name;
  out.ready = c.ready;
  out.restartCount = c.restartCount;
  out.started = c.started;
  if (c.state === 'running') out.state = { running: { startedAt: c.startedAt } };
  else if (c.state === 'terminated' && c.terminated) out.state = { terminated: terminatedJson(c.terminated) };
  else {
    const waiting: Json = { reason: c.waitingReason };
    if (c.waitingMessage !== undefined) waiting.message = c.waitingMessage;
    out.state = { waiting };
  }
  if (c.id) {
    const mounts = volumeMountsOf(spec);
    if (mounts) out.volumeMounts = mounts;
  }
  return out;
}

export interface Rejection {
  reason: string;
  message: string;
}

export class SimPod {
  readonly uid: string;
  readonly key: string;
  readonly node: string;
  readonly containers: ContainerRt[] = [];
  /** When the first containers may start (ready delay). */
  readyAt: number;
  ip: string | undefined;
  startTime: string;
  rejected: Rejection | undefined;
  /** Set once the pod reached a terminal phase (kubelet-decided or annotation-forced). */
  terminal: { phase: string; reason?: string; message?: string } | undefined;
  /** The pod's containers were stopped because it is being deleted. */
  killed = false;
  killAt: number | undefined;
  finishAt: number | undefined;
  deleteSent = false;
  /** IP and host ports handed back (terminal or killed). */
  released = false;
  /** Host ports claimed at admission. */
  hostPorts: { protocol: string; ip: string; port: number }[] = [];
  /** Adopted in a terminal phase: its status is final and is not rewritten. */
  keepStatus = false;

  constructor(pod: KObject, node: string, now: number, readyDelayMs: number) {
    this.uid = pod.metadata.uid ?? '';
    this.key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
    this.node = node;
    this.readyAt = now + Math.max(0, annInt(pod, ANN.readyDelayMs) ?? readyDelayMs);
    this.startTime = rfc3339(now);
    const spec = rec(pod.spec);
    const hasInit = list(spec.initContainers).length > 0;
    const waitingReason = hasInit ? 'PodInitializing' : 'ContainerCreating';
    for (const c of list(spec.initContainers)) {
      this.containers.push(this.blank(c, isSidecar(c) ? 'sidecar' : 'init', waitingReason));
    }
    for (const c of list(spec.containers)) this.containers.push(this.blank(c, 'main', waitingReason));
  }

  private blank(c: Json, kind: ContainerRt['kind'], waitingReason: string): ContainerRt {
    return {
      name: String(c.name ?? ''),
      kind,
      image: String(c.image ?? ''),
      state: 'waiting',
      waitingReason,
      id: '',
      restartCount: 0,
      ready: false,
      started: false,
      failures: 0,
      backoffMs: 0,
      unready: false,
    };
  }

  /**
   * Takes over a pod some earlier agent already ran (restart with the same
   * store): containers keep their ids, start times and restart counts.
   * Returns false when the status has nothing worth adopting.
   */
  adopt(pod: KObject, now: number): boolean {
    const status = rec(pod.status);
    if (typeof status.startTime !== 'string') return false;
    this.startTime = status.startTime;
    if (typeof status.podIP === 'string' && status.podIP) this.ip = status.podIP;
    const all = [...list(status.initContainerStatuses), ...list(status.containerStatuses)];
    for (const c of this.containers) {
      const s = all.find((x) => x.name === c.name);
      if (!s) continue;
      c.restartCount = Number(s.restartCount ?? 0);
      const cid = typeof s.containerID === 'string' ? s.containerID.replace(/^[a-z]+:\/\//, '') : '';
      c.id = cid;
      const last = rec(rec(s.lastState).terminated);
      if (Object.keys(last).length > 0) c.last = this.readTerminated(last);
      const st = rec(s.state);
      if (isObject(st.running)) {
        c.state = 'running';
        c.startedAt = String(st.running.startedAt ?? rfc3339(now));
        c.started = s.started === true;
        c.ready = s.ready === true;
      } else if (isObject(st.terminated)) {
        c.state = 'terminated';
        c.terminated = this.readTerminated(st.terminated);
      } else if (isObject(st.waiting)) {
        c.state = 'waiting';
        c.waitingReason = String(st.waiting.reason ?? c.waitingReason);
        if (c.last) {
          // In back-off: restart at the next look.
          c.failures = 1;
          c.restartAt = now;
        }
      }
    }
    const phase = status.phase;
    if (phase === 'Failed' && all.length === 0 && typeof status.reason === 'string') {
      // Rejected at admission by an earlier agent.
      const msg = typeof status.message === 'string' ? status.message : '';
      this.rejected = { reason: status.reason, message: msg.replace(/^Pod was rejected: /, '') };
      this.keepStatus = true;
    } else if (phase === 'Succeeded' || phase === 'Failed') {
      this.terminal = {
        phase,
        reason: typeof status.reason === 'string' ? status.reason : undefined,
        message: typeof status.message === 'string' ? status.message : undefined,
      };
      this.keepStatus = true;
    }
    if (this.containers.some((c) => c.state !== 'waiting' || c.id))
      this.readyAt = Math.min(this.readyAt, now);
    return true;
  }

  private readTerminated(t: Json): Terminated {
    const out: Terminated = {
      containerID: typeof t.containerID === 'string' ? t.containerID.replace(/^[a-z]+:\/\//, '') : '',
      exitCode: Number(t.exitCode ?? 0),
      reason: String(t.reason ?? ''),
      startedAt: String(t.startedAt ?? ''),
      finishedAt: String(t.finishedAt ?? ''),
    };
    if (typeof t.message === 'string') out.message = t.message;
    return out;
  }

  /** No container runs any more and none will (terminal, killed or rejected). */
  get finished(): boolean {
    return this.rejected !== undefined || this.terminal !== undefined || this.killed;
  }

  private start(c: ContainerRt, now: number, events: KubeletEvent[]): void {
    c.id = newContainerId();
    c.state = 'running';
    c.startedAt = rfc3339(now);
    c.terminated = undefined;
    c.waitingMessage = undefined;
    c.started = true;
    c.ready = false;
    events.push(
      {
        type: 'Normal',
        reason: 'Pulled',
        message: `Container image "${c.image}" already present on machine`,
      },
      { type: 'Normal', reason: 'Created', message: `Created container: ${c.name}` },
      { type: 'Normal', reason: 'Started', message: `Started container ${c.name}` },
    );
  }

  private stop(c: ContainerRt, now: number, exitCode: number, reason?: string, message?: string): void {
    const t: Terminated = {
      containerID: c.id,
      exitCode,
      reason: reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
      startedAt: c.startedAt ?? rfc3339(now),
      finishedAt: rfc3339(now),
    };
    if (message !== undefined) t.message = message;
    c.state = 'terminated';
    c.terminated = t;
    c.ready = false;
    c.started = false;
  }

  /** Kills every container (deletion, eviction, deadline); `exitCode` for running ones. */
  private stopAll(pod: KObject, now: number, exitCode: number): void {
    const spec = rec(pod.spec);
    const initialized = this.hasInitialized(spec);
    const lastInitTried = this.lastTriedInit();
    for (const [i, c] of this.containers.entries()) {
      if (c.state === 'running') this.stop(c, now, exitCode);
      else if (c.state === 'waiting' && c.last) {
        // In back-off: the most recent exit is the final state.
        c.state = 'terminated';
        c.terminated = c.last;
        c.ready = false;
        c.started = false;
      } else if (c.state === 'waiting') {
        // TerminatePod: never-started containers count as failed once the pod initialized;
        // of the init containers, all up to the last one that was tried (at least the first).
        const unknown = c.kind === 'main' ? initialized : i <= lastInitTried;
        if (unknown) {
          c.state = 'terminated';
          c.terminated = {
            containerID: '',
            exitCode: 137,
            reason: 'ContainerStatusUnknown',
            message: 'The container could not be located when the pod was terminated',
            startedAt: '',
            finishedAt: '',
          };
        }
      }
      c.restartAt = undefined;
    }
  }

  /** status_manager.hasPodInitialized over our containers. */
  private hasInitialized(spec: Json): boolean {
    if (list(spec.initContainers).length === 0) return true;
    for (const c of this.containers) {
      if (c.kind === 'main' && (c.last || c.state !== 'waiting')) return true;
    }
    const inits = this.containers.filter((c) => c.kind !== 'main');
    const lastInit = inits[inits.length - 1];
    if (lastInit) {
      if (lastInit.last?.exitCode === 0) return true;
      if (lastInit.state === 'terminated' && lastInit.terminated?.exitCode === 0) return true;
    }
    return false;
  }

  /** Index of the last init container that ever left "waiting" (0 when none did). */
  private lastTriedInit(): number {
    let idx = 0;
    this.containers.forEach((c, i) => {
      if (c.kind !== 'main' && (c.state !== 'waiting' || c.last)) idx = i;
    });
    return idx;
  }

  /**
   * Moves the pod's containers forward to `now`. Returns the kubelet events
   * that happened and the next time something is due (undefined: nothing).
   */
  advance(pod: KObject, now: number, timing: Timing): { events: KubeletEvent[]; wakeAt: number | undefined } {
    const events: KubeletEvent[] = [];
    let wakeAt: number | undefined;
    const wake = (t: number | undefined): void => {
      if (t !== undefined && (wakeAt === undefined || t < wakeAt)) wakeAt = t;
    };
    if (this.rejected || this.killed) return { events, wakeAt };
    const spec = rec(pod.spec);
    const ann = pod.metadata.annotations ?? {};

    if (pod.metadata.deletionTimestamp) {
      if (this.terminal) return { events, wakeAt };
      if (this.killAt === undefined) {
        this.killAt = now;
        for (const c of this.containers) {
          if (c.state === 'running') {
            events.push({ type: 'Normal', reason: 'Killing', message: `Stopping container ${c.name}` });
          }
        }
        const grace = pod.metadata.deletionGracePeriodSeconds ?? 30;
        const delay = Math.max(0, Math.min(annInt(pod, ANN.terminationDelayMs) ?? 0, grace * 1000));
        this.finishAt = now + delay;
      }
      if (now < (this.finishAt ?? now)) {
        wake(this.finishAt);
        return { events, wakeAt };
      }
      this.stopAll(pod, now, annInt(pod, ANN.exitOnSigterm) ?? 0);
      this.killed = true;
      // TerminatePod: a pod that is done ends in a terminal phase.
      let phase = podPhaseFor(spec, this.statusesJson(spec), true);
      if (phase !== 'Succeeded' && phase !== 'Failed') phase = 'Failed';
      this.terminal = { phase };
      return { events, wakeAt };
    }
    if (this.terminal) return { events, wakeAt };

    // Forced terminal phase (eviction, kubelet rejection) and activeDeadlineSeconds.
    const forced = ann[ANN.phase];
    if (forced === 'Failed' || forced === 'Succeeded') {
      const code = annInt(pod, ANN.fail) ?? (forced === 'Failed' ? 137 : 0);
      this.stopAll(pod, now, code);
      this.terminal = { phase: forced, reason: ann[ANN.reason], message: ann[ANN.message] };
      return { events, wakeAt };
    }
    const ads = spec.activeDeadlineSeconds;
    if (typeof ads === 'number' && ads > 0) {
      const deadline = Date.parse(this.startTime) + ads * 1000;
      if (now >= deadline) {
        const message = 'Pod was active on the node longer than the specified deadline';
        events.push({ type: 'Normal', reason: 'DeadlineExceeded', message });
        this.stopAll(pod, now, 137);
        this.terminal = { phase: 'Failed', reason: 'DeadlineExceeded', message };
        return { events, wakeAt };
      }
      wake(deadline);
    }

    if (now < this.readyAt) {
      wake(this.readyAt);
      return { events, wakeAt };
    }

    // Init containers run to completion, in order; sidecars start and keep running.
    let initDone = true;
    for (const c of this.containers) {
      if (c.kind === 'main') continue;
      if (c.kind === 'init') {
        if (c.state === 'terminated' && c.terminated?.exitCode === 0) continue;
        if (c.state === 'waiting' && !c.id) {
          this.start(c, now, events);
          this.stop(c, now, 0);
          continue;
        }
        initDone = false;
        break;
      }
      if (c.state === 'waiting' && !c.id) this.start(c, now, events);
    }
    if (!initDone) return { events, wakeAt };

    const exitCode =
      ann[ANN.crash] === 'true' ? 1 : ann[ANN.fail] !== undefined ? annInt(pod, ANN.fail) : undefined;
    const policy = typeof spec.restartPolicy === 'string' ? spec.restartPolicy : 'Always';
    for (const c of this.containers) {
      if (c.kind !== 'main') continue;
      if (c.state === 'waiting' && !c.id) this.start(c, now, events);
      else if (c.state === 'waiting' && c.restartAt !== undefined) {
        if (now < c.restartAt) {
          wake(c.restartAt);
          continue;
        }
        c.last = c.terminated ?? c.last;
        c.restartCount++;
        c.restartAt = undefined;
        this.start(c, now, events);
      }
      // Annotation-driven exits: a failing container exits as soon as it runs.
      while (c.state === 'running' && exitCode !== undefined) {
        this.stop(c, now, exitCode);
        const restart = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
        if (!restart) break;
        if (c.failures === 0) {
          // The first restart is immediate; the back-off starts with the next exit.
          c.failures = 1;
          c.last = c.terminated;
          c.restartCount++;
          this.start(c, now, events);
          continue;
        }
        c.failures++;
        c.backoffMs =
          c.backoffMs === 0 ? timing.crashBackoffMs : Math.min(c.backoffMs * 2, timing.maxCrashBackoffMs);
        c.last = c.terminated;
        c.state = 'waiting';
        c.waitingReason = 'CrashLoopBackOff';
        c.waitingMessage = `back-off ${goDuration(c.backoffMs)} restarting failed container=${c.name} pod=${formatPod(pod)}`;
        c.restartAt = now + c.backoffMs;
        events.push({
          type: 'Warning',
          reason: 'BackOff',
          message: `Back-off restarting failed container ${c.name} in pod ${formatPod(pod)}`,
        });
        wake(c.restartAt);
      }
    }

    // Readiness (no probes run: the ready annotation decides).
    const unready = ann[ANN.ready] === 'false';
    for (const c of this.containers) {
      if (c.state !== 'running') continue;
      c.ready = !unready;
      if (unready && !c.unready) {
        events.push({
          type: 'Warning',
          reason: 'Unhealthy',
          message: `Readiness probe failed: annotation ${ANN.ready} is "false"`,
        });
      }
      c.unready = unready;
    }

    // Containers that exited for good may end the pod (restartPolicy Never/OnFailure).
    const phase = podPhaseFor(spec, this.statusesJson(spec), false);
    if (phase === 'Succeeded' || phase === 'Failed') this.terminal = { phase };
    return { events, wakeAt };
  }

  private statusesJson(spec: Json): Json[] {
    const specs = [...list(spec.initContainers), ...list(spec.containers)];
    return this.containers.map((c) => containerStatusJson(c, specs.find((s) => s.name === c.name) ?? {}));
  }

  /** The pod status the kubelet reports now, merged onto the pod's current status. */
  status(pod: KObject, now: number, hostIP: string): Json {
    const old = rec(pod.status);
    const oldConds = podConditions(pod);
    const nowIso = rfc3339(now);
    const out: Json = { ...old };
    if (this.rejected) {
      for (const k of [
        'conditions',
        'containerStatuses',
        'initContainerStatuses',
        'hostIP',
        'hostIPs',
        'podIP',
        'podIPs',
      ]) {
        delete out[k];
      }
      const kept = oldConds.filter(
        (c) =>
          !['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].includes(
            c.type,
          ),
      );
      if (kept.length > 0) out.conditions = kept;
      out.phase = 'Failed';
      out.reason = this.rejected.reason;
      out.message = `Pod was rejected: ${this.rejected.message}`;
      out.startTime = typeof old.startTime === 'string' ? old.startTime : this.startTime;
      return out;
    }
    const spec = rec(pod.spec);
    const specInits = list(spec.initContainers);
    const specMains = list(spec.containers);
    const find = (name: string): Json => [...specInits, ...specMains].find((s) => s.name === name) ?? {};
    const inits = this.containers
      .filter((c) => c.kind !== 'main')
      .map((c) => containerStatusJson(c, find(c.name)));
    const mains = this.containers
      .filter((c) => c.kind === 'main')
      .map((c) => containerStatusJson(c, find(c.name)));
    const all = [...inits, ...mains];

    const phase = this.terminal ? this.terminal.phase : podPhaseFor(spec, all, false);

    const sandboxReady = this.ip !== undefined && !this.finished;
    const generated: PodCondition[] = [
      { type: 'PodReadyToStartContainers', status: sandboxReady ? 'True' : 'False' },
      initializedCondition(spec, all, phase),
      readyCondition(spec, oldConds, all, phase),
      containersReadyCondition(spec, all, phase),
      { type: 'PodScheduled', status: 'True' },
    ];
    out.conditions = mergeKubeletConditions(oldConds, generated, nowIso);
    if (specInits.length > 0) out.initContainerStatuses = inits;
    else delete out.initContainerStatuses;
    out.containerStatuses = mains;
    out.hostIP = hostIP;
    out.hostIPs = [{ ip: hostIP }];
    if (this.ip) {
      out.podIP = this.ip;
      out.podIPs = [{ ip: this.ip }];
    }
    if (old.phase !== phase) {
      delete out.reason;
      delete out.message;
      if (this.terminal?.reason) out.reason = this.terminal.reason;
      if (this.terminal?.message) out.message = this.terminal.message;
    }
    out.phase = phase;
    out.startTime = typeof old.startTime === 'string' && old.startTime ? old.startTime : this.startTime;
    return out;
  }

  /** Host ports the pod's containers (and sidecars) claim: "proto/ip/port". */
  static hostPorts(pod: KObject): { protocol: string; ip: string; port: number }[] {
    const spec = rec(pod.spec);
    const out: { protocol: string; ip: string; port: number }[] = [];
    const containers = [...list(spec.initContainers).filter(isSidecar), ...list(spec.containers)];
    for (const c of containers) {
      for (const p of list(c.ports)) {
        const port = Number(p.hostPort ?? 0);
        if (!Number.isInteger(port) || port <= 0) continue;
        out.push({
          protocol: typeof p.protocol === 'string' && p.protocol ? p.protocol : 'TCP',
          ip: typeof p.hostIP === 'string' && p.hostIP ? p.hostIP : '0.0.0.0',
          port,
        });
      }
    }
    return out;
  }
}

/** True when two host-port claims collide (same protocol and port; 0.0.0.0 overlaps every address). */
export function hostPortsConflict(
  a: readonly { protocol: string; ip: string; port: number }[],
  b: readonly { protocol: string; ip: string; port: number }[],
): boolean {
  for (const x of a) {
    for (const y of b) {
      if (x.port !== y.port || x.protocol !== y.protocol) continue;
      if (x.ip === y.ip || x.ip === '0.0.0.0' || y.ip === '0.0.0.0') return true;
    }
  }
  return false;
}
