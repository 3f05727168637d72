/**
 * Container probes as the kubelet runs them: exec (in the container), tcpSocket and httpGet (to the pod IP,
 * from the host), with the probe's timeoutSeconds; and the prober's bookkeeping per container
 * (`initialProbes`, `dueProbes`, `applyProbeResult`): the startupProbe gates readiness and liveness,
 * thresholds decide `started`, `ready` and when a container is killed. The agent runs them (agent.ts).
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { type Json, rec } from '../../api/json.js';
import { isObject } from '../../api/types.js';

export interface ProbeResult {
  ok: boolean;
  /** What the kubelet puts after "Readiness probe failed: ". */
  output: string;
}

export interface ProbeTarget {
  podIP: string;
  container: Json;
  exec(
    argv: string[],
    timeoutMs: number,
  ): Promise<{ exitCode: number; stdout: string; stderr: string; timedOut: boolean }>;
}

/** Probe timing with the API defaults. */
export function probeTiming(probe: Json): {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
} {
  const n = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  return {
    initialDelayMs: n(probe.initialDelaySeconds, 0) * 1000,
    periodMs: Math.max(1, n(probe.periodSeconds, 10)) * 1000,
    timeoutMs: Math.max(1, n(probe.timeoutSeconds, 1)) * 1000,
    successThreshold: Math.max(1, n(probe.successThreshold, 1)),
    failureThreshold: Math.max(1, n(probe.failureThreshold, 3)),
  };
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  ETIMEDOUT: 'connection timed out',
  EADDRNOTAVAIL: 'cannot assign requested address',
};

/** A Node socket error as Go's dialer words it: `dial tcp 10.0.0.5:80: connect: connection refused`. */
export function goDialError(e: NodeJS.ErrnoException, host: string, port: number): string {
  const hp = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  if (e.syscall === 'connect' && e.code) {
    return `dial tcp ${hp}: connect: ${ERRNO_TEXT[e.code] ?? e.code.toLowerCase()}`;
  }
  if (e.code === 'ECONNRESET') return `read tcp ${hp}: read: connection reset by peer`;
  return `dial tcp ${hp}: ${e.message}`;
}

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

/** One probe worker's state: when it runs next and its consecutive results. */
export interface ProbeState {
  next: number;
  successes: number;
  failures: number;
  busy: boolean;
}

/** A container's probe-driven status fields (containerStatuses[].started / .ready) and its probe workers. */
export interface ContainerProbes {
  started: boolean;
  ready: boolean;
  probes: Partial<Record<ProbeKind, ProbeState>>;
}

const KINDS: ProbeKind[] = ['startup', 'readiness', 'liveness'];

/**
 * Probe workers for a container that just started: each first runs after its initialDelaySeconds (counted
 * from the container's start). Without a startupProbe the container is started at once; without a
 * readinessProbe it is ready once started. Init containers get no probes.
 */
export function initialProbes(spec: Json, now: number, init = false): ContainerProbes {
  const probes: ContainerProbes['probes'] = {};
  if (!init) {
    for (const kind of KINDS) {
      const p = spec[`${kind}Probe`];
      if (!isObject(p)) continue;
      probes[kind] = { next: now + probeTiming(p).initialDelayMs, successes: 0, failures: 0, busy: false };
    }
  }
  const started = !probes.startup;
  return { started, ready: started && !probes.readiness, probes };
}

/** The probes due at `now`: the startup probe until it has succeeded once, then readiness and liveness. */
export function dueProbes(c: ContainerProbes, now: number): ProbeKind[] {
  const kinds: ProbeKind[] = c.started ? ['readiness', 'liveness'] : ['startup'];
  return kinds.filter((k) => {
    const st = c.probes[k];
    return st !== undefined && !st.busy && now >= st.next;
  });
}

/**
 * Records one probe result (the kubelet's worker thresholds) and says what follows from it:
 * `started` (startup probe passed), `ready` / `unready` (readiness changed), `kill` (liveness or startup
 * failed failureThreshold times in a row: restart the container), or undefined.
 */
export function applyProbeResult(
  c: ContainerProbes,
  kind: ProbeKind,
  probe: Json,
  ok: boolean,
  now: number,
): 'started' | 'ready' | 'unready' | 'kill' | undefined {
  const st = c.probes[kind];
  if (!st) return undefined;
  const timing = probeTiming(probe);
  st.next = now + timing.periodMs;
  if (ok) {
    st.failures = 0;
    st.successes++;
  } else {
    st.successes = 0;
    st.failures++;
  }
  if (kind === 'readiness') {
    const ready = c.ready ? st.failures < timing.failureThreshold : st.successes >= timing.successThreshold;
    if (ready === c.ready) return undefined;
    c.ready = ready;
    return ready ? 'ready' : 'unready';
  }
  if (kind === 'startup' && ok && st.successes >= timing.successThreshold) {
    c.started = true;
    if (!c.probes.readiness) c.ready = true;
    return 'started';
  }
  if (!ok && st.failures >= timing.failureThreshold) {
    st.failures = 0;
    return 'kill';
  }
  return undefined;
}

/** A named or numeric port of the container. */
export function resolvePort(port: unknown, container: Json): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string') {
    if (/^\d+$/.test(port)) return Number(port);
    const ports = Array.isArray(container.ports) ? container.ports.filter(isObject) : [];
    const p = ports.find((x) => x.name === port);
    return typeof p?.containerPort === 'number' ? p.containerPort : undefined;
  }
  return undefined;
}

export async function runProbe(probe: Json, target: ProbeTarget): Promise<ProbeResult> {
  const { timeoutMs } = probeTiming(probe);
  if (probe.exec) {
    const argv = Array.isArray(rec(probe.exec).command)
      ? (rec(probe.exec).command as unknown[]).map(String)
      : [];
    const r = await target.exec(argv, timeoutMs);
    if (r.timedOut)
      return {
        ok: false,
        output: `command timed out: "${argv.join(' ')}" timed out after ${timeoutMs / 1000}s`,
      };
    return { ok: r.exitCode === 0, output: (r.stdout + r.stderr).trim() };
  }
  if (probe.tcpSocket) {
    const t = rec(probe.tcpSocket);
    const port = resolvePort(t.port, target.container);
    const host = typeof t.host === 'string' && t.host ? t.host : target.podIP;
    if (port === undefined) return { ok: false, output: `unknown port ${String(t.port)}` };
    return new Promise((resolve) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
      }, timeoutMs);
      s.on('connect', () => {
        clearTimeout(timer);
        s.destroy();
        resolve({ ok: true, output: '' });
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        resolve({ ok: false, output: goDialError(e, host, port) });
      });
    });
  }
  if (probe.httpGet) {
    const h = rec(probe.httpGet);
    const port = resolvePort(h.port, target.container);
    const host = typeof h.host === 'string' && h.host ? h.host : target.podIP;
    if (port === undefined) return { ok: false, output: `unknown port ${String(h.port)}` };
    const path = typeof h.path === 'string' && h.path ? h.path : '/';
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.33', Accept: '*/*' };
    for (const x of Array.isArray(h.httpHeaders) ? h.httpHeaders.filter(isObject) : []) {
      headers[String(x.name)] = String(x.value);
    }
    const url = `http://${host}:${port}${path}`;
    return new Promise((resolve) => {
      const req = request(url, { method: 'GET', headers, timeout: timeoutMs, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          if (body.length < 10_240) body += d.toString();
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          resolve(
            code >= 200 && code < 400
              ? { ok: true, output: '' }
              : { ok: false, output: `HTTP probe failed with statuscode: ${code}` },
          );
        });
      });
      req.on('timeout', () => {
        req.destroy();
        resolve({
          ok: false,
          output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
        });
      });
      req.on('error', (e) => resolve({ ok: false, output: `Get "${url}": ${goDialError(e, host, port)}` }));
      req.end();
    });
  }
  if (probe.grpc) return { ok: false, output: 'grpc probes are not supported by this node' };
  return { ok: true, output: '' };
}
