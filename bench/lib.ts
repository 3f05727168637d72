/**
 * Shared helpers for the benchmarks: start/stop `ordinal up`, an HTTPS client
 * built from the kubeconfig it writes, kubectl runs and small statistics.
 * Everything is loopback-only and bounded by deadlines.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'bin/ordinal.js');
export const KUBECTL = process.env.KUBECTL ?? '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- statistics

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an already sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(xs: readonly number[]): Summary {
  return { n: xs.length, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** "123 (110–140)": median with min–max spread. */
export function fmtSummary(s: Summary, digits = 0, unit = ''): string {
  const f = (v: number): string => v.toFixed(digits);
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

// ---------------------------------------------------------------- temp dirs

const tempDirs = new Set<string>();

export function makeTempDir(prefix = 'ordinal-bench-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

export function removeTempDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
}

// ---------------------------------------------------------------- server

export interface Server {
  proc: ChildProcess;
  pid: number;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  /** Resolves with the API URL once the "API server:" line is printed and the kubeconfig exists. */
  ready: Promise<string>;
  /** performance.now() when the "API server:" line was seen (undefined until then). */
  urlSeenAt(): number | undefined;
  /** The "up in N ms" figure the server reports for itself. */
  selfReportedMs(): number | undefined;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the time the child took to exit. */
  stop(graceMs?: number): Promise<number>;
}

const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveChildren) c.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping servers\n`);
    process.exit(130);
  });
}

export function startServer(opts: {
  dataDir: string;
  kubeconfig: string;
  store?: 'sqlite' | 'memory';
  startTimeoutMs?: number;
  /** More `ordinal up` flags (e.g. --nodes, --sim-ready-delay). */
  extraArgs?: string[];
}): Server {
  const args = [CLI, 'up', '--data-dir', opts.dataDir, '--kubeconfig', opts.kubeconfig, '--port', '0'];
  if (opts.store) args.push('--store', opts.store);
  for (const a of opts.extraArgs ?? []) args.push(a);
  if (!args.includes('--runtime')) args.push('--runtime', 'sim');
  const spawnedAt = performance.now();
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  liveChildren.add(proc);
  let out = '';
  let urlAt: number | undefined;
  let url: string | undefined;
  const ready = new Promise<string>((resolveUrl, reject) => {
    const deadline = setTimeout(() => {
      reject(
        new Error(`ordinal up did not print its URL within ${opts.startTimeoutMs ?? 60_000} ms:\n${out}`),
      );
    }, opts.startTimeoutMs ?? 60_000);
    const check = (): void => {
      if (url === undefined) {
        const m = /API server:\s+(https:\/\/\S+)/.exec(out);
        if (m) {
          url = m[1]!;
          urlAt = performance.now();
        }
      }
      if (url !== undefined && existsSync(opts.kubeconfig)) {
        clearTimeout(deadline);
        resolveUrl(url);
      }
    };
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      check();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(deadline);
      reject(new Error(`ordinal up exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
  ready.catch(() => {}); // observed by callers; avoid unhandled rejections after stop()
  return {
    proc,
    pid: proc.pid ?? -1,
    spawnedAt,
    ready,
    urlSeenAt: () => urlAt,
    selfReportedMs: () => {
      const m = /is up in (\d+) ms/.exec(out);
      return m ? Number(m[1]) : undefined;
    },
    output: () => out,
    async stop(graceMs = 15_000) {
      const t = performance.now();
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      liveChildren.delete(proc);
      return performance.now() - t;
    },
  };
}

/** VmRSS / VmHWM of a process in KiB, from /proc/PID/status. */
export function readMem(pid: number): { rssKb: number; hwmKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

/** utime+stime of a process in seconds, from /proc/PID/stat. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

// ---------------------------------------------------------------- kubectl

export interface KubectlRun {
  code: number;
  ms: number;
  stdout: string;
  stderr: string;
}

export function kubectl(args: string[], timeoutMs = 10_000): Promise<KubectlRun> {
  const t = performance.now();
  return new Promise((resolveRun) => {
    execFile(KUBECTL, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolveRun({ code, ms: performance.now() - t, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------- HTTPS client

export interface Kubeconfig {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function field(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

function firstOf(doc: unknown, list: string, inner: string): unknown {
  const arr = field(doc, list);
  return Array.isArray(arr) ? field(arr[0], inner) : undefined;
}

function b64Field(obj: unknown, key: string): Buffer {
  const v = field(obj, key);
  if (typeof v !== 'string') throw new Error(`kubeconfig has no ${key}`);
  return Buffer.from(v, 'base64');
}

export function loadKubeconfig(path: string): Kubeconfig {
  const doc: unknown = parseYaml(readFileSync(path, 'utf8'));
  const cluster = firstOf(doc, 'clusters', 'cluster');
  const user = firstOf(doc, 'users', 'user');
  const server = field(cluster, 'server');
  if (typeof server !== 'string') throw new Error('kubeconfig has no server');
  return {
    server,
    ca: b64Field(cluster, 'certificate-authority-data'),
    cert: b64Field(user, 'client-certificate-data'),
    key: b64Field(user, 'client-key-data'),
  };
}

export interface HttpResult {
  status: number;
  bytes: number;
  body?: string;
}

export interface Client {
  request(method: string, path: string, body?: unknown, keepBody?: boolean): Promise<HttpResult>;
  close(): void;
}

/** HTTPS client with a keep-alive agent and the kubeconfig's admin client certificate. */
export function makeClient(kc: Kubeconfig, maxSockets = 16): Client {
  const url = new URL(kc.server);
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets,
    ca: kc.ca,
    cert: kc.cert,
    key: kc.key,
  });
  return {
    request(method, path, body, keepBody = false) {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise((resolveReq, reject) => {
        const req = https.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method,
            path,
            headers: {
              accept: 'application/json',
              ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
            },
            timeout: 30_000,
          },
          (res) => {
            let bytes = 0;
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => {
              bytes += c.length;
              if (keepBody) chunks.push(c);
            });
            res.on('end', () => {
              resolveReq({
                status: res.statusCode ?? 0,
                bytes,
                ...(keepBody ? { body: Buffer.concat(chunks).toString('utf8') } : {}),
              });
            });
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Like client.request but throws unless the status is 2xx. */
export async function must(
  client: Client,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpResult> {
  const r = await client.request(method, path, body, true);
  if (r.status < 200 || r.status >= 300) {
    throw new Error(`${method} ${path} -> ${r.status}: ${r.body?.slice(0, 300)}`);
  }
  return r;
}

// ---------------------------------------------------------------- load loop

export interface LoadResult {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  bytes: number;
  /** Server CPU seconds per wall second during the run (1.0 = one core). */
  serverCpu?: number;
  /** This (client) process's CPU seconds per wall second during the run. */
  clientCpu: number;
}

/**
 * Runs `concurrency` loops, each issuing one request at a time via `op(i)` (i is a
 * global sequence number), until `seconds` pass or `maxRequests` have been started.
 */
export async function runLoad(opts: {
  concurrency: number;
  seconds: number;
  maxRequests?: number;
  serverPid?: number;
  op: (i: number) => Promise<HttpResult>;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  let seq = 0;
  let errors = 0;
  let bytes = 0;
  let firstError: string | undefined;
  const max = opts.maxRequests ?? Number.POSITIVE_INFINITY;
  const cpu0 = process.cpuUsage();
  const srv0 = opts.serverPid ? readCpuSeconds(opts.serverPid) : 0;
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end && seq < max) {
      const i = seq++;
      const t = performance.now();
      try {
        const r = await opts.op(i);
        bytes += r.bytes;
        if (r.status < 200 || r.status >= 300) {
          errors++;
          firstError ??= `HTTP ${r.status} ${r.body?.slice(0, 200) ?? ''}`;
        }
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const srv1 = opts.serverPid ? readCpuSeconds(opts.serverPid) : 0;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    ...(firstError ? { firstError } : {}),
    seconds,
    rps: latencies.length / seconds,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
    bytes,
    ...(opts.serverPid ? { serverCpu: (srv1 - srv0) / seconds } : {}),
    clientCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

// ---------------------------------------------------------------- background load

function cpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Fraction (0..1) of all CPUs busy over `ms`, whoever is using them. */
export async function systemBusy(ms = 1000): Promise<number> {
  const a = cpuTicks();
  await sleep(ms);
  const b = cpuTicks();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

/**
 * Waits (at most `maxMs`) until the machine is quiet (other processes use less
 * than `threshold` of all CPUs over a second); returns the last busy fraction seen.
 */
export async function waitForQuiet(threshold = 0.15, maxMs = 10_000): Promise<number> {
  const end = performance.now() + maxMs;
  let busy = await systemBusy();
  while (busy >= threshold && performance.now() < end) busy = await systemBusy();
  return busy;
}
