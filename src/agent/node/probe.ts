/**
 * Container probes as the kubelet runs them: exec (in the container), tcpSocket and httpGet (to the pod IP,
 * from the host), with the probe's timeoutSeconds. Thresholds and periods are the caller's (agent.ts).
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { isObject } from '../../api/types.js';

type Json = Record<string, unknown>;

function rec(v: unknown): Json {
  return isObject(v) ? v : {};
}

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
        resolve({
          ok: false,
          output: `dial tcp ${host}:${port}: connect: ${e.message.replace(/^connect \S+ /, '')}`,
        });
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
      const req = request(url, { method: 'GET', headers, timeout: timeoutMs }, (res) => {
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
      req.on('error', (e) => resolve({ ok: false, output: `Get "${url}": ${e.message}` }));
      req.end();
    });
  }
  if (probe.grpc) return { ok: false, output: 'grpc probes are not supported by this node' };
  return { ok: true, output: '' };
}
