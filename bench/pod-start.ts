/**
 * Real-pod start benchmark (`ordinal up --runtime oci`, root + runc). Reports figures; asserts nothing.
 *
 *   flock /tmp/oci-e2e.lock node --import tsx bench/pod-start.ts [--pods 100] [--concurrency 10]
 *        [--serial 10] [--store sqlite|memory] [--settle-ms 3000] [--json FILE]
 *
 * 1. Starts the built CLI with `--runtime oci` on a fresh data dir, builds the busybox image offline
 *    (scripts/build-images.ts) and imports it with `ordinal images import`.
 * 2. Burst: creates --pods plain Pods (busybox `sleep 3600`, no probes, so a pod is Ready as soon as its
 *    container runs), --concurrency POSTs in flight at a time. A watch on the namespace, opened before
 *    the first POST, records client-side when each pod is first seen bound to the node and when its Ready
 *    condition turns True. Per pod: create (just before its POST) → Ready, median / p90 / p99 / max,
 *    and the wall time from the first POST to the last pod Ready. (creationTimestamp and
 *    lastTransitionTime have one-second precision, so they are not used.)
 * 3. Memory: a snapshot of every process Ordinal runs, before the burst and once all pods are Ready
 *    and --settle-ms have passed, grouped as the `ordinal up` process, the per-container supervisors
 *    (`node …/supervisor.cjs`), `runc` processes (`runc run`, one per container, in the foreground of
 *    its supervisor), pod sandbox holders and other helpers (other descendants of the server), and the
 *    containers' own processes (descendants of runc). RSS (VmRSS), PSS (smaps_rollup; shared pages
 *    split between the processes sharing them, so PSS sums are not inflated by the node binary that
 *    every supervisor maps) and USS (private pages only: what stopping the process frees).
 *    "Per pod attributable to Ordinal" = (growth of the server + supervisors + runc + holders) / pods;
 *    the containers' own memory is reported separately.
 * 4. Serial: deletes the burst pods, waits until they and their processes are gone, then creates
 *    --serial pods one at a time (each waits for the previous to be Ready): unloaded create → Ready.
 *
 * Needs a built tree (`npm run build`) for bin/ordinal.js. Only one `--runtime oci` cluster may run on the
 * machine at a time (shared bridge ordinal0): run it under the flock shown above.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { buildImages } from '../scripts/build-images.js';
import {
  CLI,
  type Client,
  type Kubeconfig,
  loadKubeconfig,
  makeClient,
  makeTempDir,
  must,
  percentile,
  readCpuSeconds,
  removeTempDir,
  sleep,
  startServer,
} from './lib.js';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '10' },
    serial: { type: 'string', default: '10' },
    store: { type: 'string', default: 'sqlite' },
    'settle-ms': { type: 'string', default: '3000' },
    json: { type: 'string' },
  },
});
const PODS = Number(values.pods);
const CONCURRENCY = Math.max(1, Number(values.concurrency));
const SERIAL = Number(values.serial);
const STORE = values.store === 'memory' ? 'memory' : 'sqlite';
const SETTLE_MS = Number(values['settle-ms']);
const NS = 'bench';
const IMAGE = 'ordinal.local/busybox:1.35';

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

// ---------------------------------------------------------------- processes and memory

type Kind = 'ordinal' | 'supervisor' | 'runc' | 'holder' | 'container';

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
}

function readProcs(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      procs.set(Number(d), { pid: Number(d), ppid, argv });
    } catch {
      // gone meanwhile
    }
  }
  return procs;
}

/** Every process under the server, classified. Supervisors are found by cmdline too (they are detached). */
function ordinalProcesses(serverPid: number, dataDir: string): Map<number, Kind> {
  const procs = readProcs();
  const children = new Map<number, number[]>();
  for (const p of procs.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out = new Map<number, Kind>([[serverPid, 'ordinal']]);
  const isSupervisor = (p: Proc): boolean => (p.argv[1] ?? '').endsWith('/supervisor.cjs');
  const isRunc = (p: Proc): boolean => /(^|\/)runc$/.test(p.argv[0] ?? '') && !p.argv.includes('init');
  const visit = (pid: number, underRunc: boolean): void => {
    for (const c of children.get(pid) ?? []) {
      const p = procs.get(c);
      if (!p || out.has(c)) continue;
      const kind: Kind = underRunc
        ? 'container'
        : isSupervisor(p)
          ? 'supervisor'
          : isRunc(p)
            ? 'runc'
            : 'holder';
      out.set(c, kind);
      visit(c, underRunc || kind === 'runc');
    }
  };
  visit(serverPid, false);
  for (const p of procs.values()) {
    if (!out.has(p.pid) && isSupervisor(p) && p.argv.some((a) => a.startsWith(dataDir))) {
      out.set(p.pid, 'supervisor');
      visit(p.pid, false);
    }
  }
  return out;
}

interface MemGroup {
  count: number;
  rssKb: number;
  pssKb: number;
  /** Private (unshared) pages: what killing the processes would free. */
  ussKb: number;
}

type MemSnapshot = Record<Kind, MemGroup>;

function kbField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function memSnapshot(serverPid: number, dataDir: string): MemSnapshot {
  const snap: MemSnapshot = {
    ordinal: { count: 0, rssKb: 0, pssKb: 0, ussKb: 0 },
    supervisor: { count: 0, rssKb: 0, pssKb: 0, ussKb: 0 },
    runc: { count: 0, rssKb: 0, pssKb: 0, ussKb: 0 },
    holder: { count: 0, rssKb: 0, pssKb: 0, ussKb: 0 },
    container: { count: 0, rssKb: 0, pssKb: 0, ussKb: 0 },
  };
  for (const [pid, kind] of ordinalProcesses(serverPid, dataDir)) {
    try {
      const rss = kbField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const g = snap[kind];
      g.count++;
      g.rssKb += rss;
      g.pssKb += kbField(rollup, 'Pss');
      g.ussKb += kbField(rollup, 'Private_Clean') + kbField(rollup, 'Private_Dirty');
    } catch {
      // gone meanwhile
    }
  }
  return snap;
}

function memAvailableKb(): number {
  return kbField(readFileSync('/proc/meminfo', 'utf8'), 'MemAvailable');
}

// ---------------------------------------------------------------- watch

interface PodTimes {
  created?: number;
  bound?: number;
  ready?: number;
}

interface WatchedPod {
  metadata?: { name?: string };
  spec?: { nodeName?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Streams a pod watch of the namespace; records when each pod is first bound and first Ready. */
function watchPods(kc: Kubeconfig, times: Map<string, PodTimes>): Promise<{ close(): void }> {
  const url = new URL(kc.server);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'GET',
        path: `/api/v1/namespaces/${NS}/pods?watch=true`,
        ca: kc.ca,
        cert: kc.cert,
        key: kc.key,
        headers: { accept: 'application/json' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch: HTTP ${res.statusCode}`));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const now = performance.now();
          buf += chunk;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as { type: string; object: WatchedPod };
            const name = ev.object.metadata?.name;
            if (!name) continue;
            const t = times.get(name) ?? {};
            times.set(name, t);
            if (t.bound === undefined && ev.object.spec?.nodeName) t.bound = now;
            const ready = ev.object.status?.conditions?.some(
              (c) => c.type === 'Ready' && c.status === 'True',
            );
            if (t.ready === undefined && ready) t.ready = now;
          }
        });
        resolve({ close: () => req.destroy() });
      },
    );
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    req.end();
  });
}

// ---------------------------------------------------------------- pods

function pod(name: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench' } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
    },
  };
}

async function countPods(client: Client): Promise<number> {
  const r = await must(client, 'GET', `/api/v1/namespaces/${NS}/pods`);
  return ((JSON.parse(r.body ?? '{}') as { items?: unknown[] }).items ?? []).length;
}

async function until(what: string, ms: number, fn: () => Promise<boolean> | boolean): Promise<void> {
  const end = performance.now() + ms;
  while (!(await fn())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

function stats(xs: number[]): {
  n: number;
  median: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
} {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    median: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    min: s[0] ?? Number.NaN,
    max: s[s.length - 1] ?? Number.NaN,
  };
}

const mib = (kb: number): string => (kb / 1024).toFixed(1);

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (--runtime oci runs containers with runc)');
  const dir = makeTempDir('ordinal-podstart-');
  const dataDir = join(dir, 'data');
  const kubeconfig = join(dir, 'kubeconfig');
  const images = join(dir, 'images');
  buildImages({ out: images, images: ['busybox'] });

  const server = startServer({ dataDir, kubeconfig, store: STORE, extraArgs: ['--runtime', 'oci'] });
  let client: Client | undefined;
  let watch: { close(): void } | undefined;
  try {
    await server.ready;
    await run(process.execPath, [
      CLI,
      'images',
      '--data-dir',
      dataDir,
      'import',
      join(images, 'busybox.tar'),
    ]);
    const kc = loadKubeconfig(kubeconfig);
    client = makeClient(kc, CONCURRENCY);
    const c = client;
    await until('the node to be Ready', 60_000, async () => {
      const r = await must(c, 'GET', '/api/v1/nodes');
      const items = (JSON.parse(r.body ?? '{}') as { items?: WatchedPod[] }).items ?? [];
      return items.some((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
    });
    await must(c, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
    const machine = `${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? '?'}, ${(
      await run('nproc', [])
    ).trim()} CPUs, ${Math.round(kbField(readFileSync('/proc/meminfo', 'utf8'), 'MemTotal') / 1024 / 1024)} GiB RAM, node ${
      process.version
    }, runc ${(await run('runc', ['--version'])).split('\n')[0]?.replace(/^runc version /, '')}`;
    log(`machine: ${machine}`);

    // Warm-up: one pod (first start of the image's rootfs, the bridge, DNS) that is not measured.
    const times = new Map<string, PodTimes>();
    watch = await watchPods(kc, times);
    await must(c, 'POST', `/api/v1/namespaces/${NS}/pods`, pod('warmup'));
    await until('the warm-up pod to be Ready', 60_000, () => times.get('warmup')?.ready !== undefined);
    await must(c, 'DELETE', `/api/v1/namespaces/${NS}/pods/warmup?gracePeriodSeconds=0`);
    await until('the warm-up pod to be gone', 60_000, async () => (await countPods(c)) === 0);
    await sleep(SETTLE_MS);

    const before = memSnapshot(server.pid, dataDir);
    const availBefore = memAvailableKb();
    log(`before: ${JSON.stringify(before)}`);

    // Burst.
    const names = Array.from({ length: PODS }, (_, i) => `p-${String(i).padStart(3, '0')}`);
    const cpu0 = readCpuSeconds(server.pid);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, PODS) }, async () => {
        while (next < names.length) {
          const name = names[next++]!;
          const t = times.get(name) ?? {};
          times.set(name, t);
          t.created = performance.now();
          await must(c, 'POST', `/api/v1/namespaces/${NS}/pods`, pod(name));
        }
      }),
    );
    const postsDone = performance.now() - t0;
    await until(`${PODS} pods to be Ready`, 15 * 60_000, () =>
      names.every((n) => times.get(n)?.ready !== undefined),
    );
    const wall = Math.max(...names.map((n) => times.get(n)!.ready!)) - t0;
    const serverCpu = readCpuSeconds(server.pid) - cpu0;
    const createToReady = names.map((n) => times.get(n)!.ready! - times.get(n)!.created!);
    const createToBound = names.map((n) => (times.get(n)!.bound ?? Number.NaN) - times.get(n)!.created!);
    log(`burst: ${PODS} pods Ready in ${wall.toFixed(0)} ms`);
    await sleep(SETTLE_MS);
    const after = memSnapshot(server.pid, dataDir);
    const availAfter = memAvailableKb();
    log(`after: ${JSON.stringify(after)}`);

    // Delete the burst pods; their processes must go.
    await must(c, 'DELETE', `/api/v1/namespaces/${NS}/pods?gracePeriodSeconds=0`);
    await until('the burst pods to be gone', 5 * 60_000, async () => (await countPods(c)) === 0);
    await until('their processes to be gone', 60_000, () => {
      const m = memSnapshot(server.pid, dataDir);
      return m.supervisor.count === 0 && m.container.count === 0;
    });
    const gone = memSnapshot(server.pid, dataDir);

    // Serial: one pod at a time.
    const serial: number[] = [];
    for (let i = 0; i < SERIAL; i++) {
      const name = `s-${i}`;
      const t = { created: performance.now() } as PodTimes;
      times.set(name, t);
      await must(c, 'POST', `/api/v1/namespaces/${NS}/pods`, pod(name));
      await until(`${name} to be Ready`, 60_000, () => t.ready !== undefined);
      serial.push(t.ready! - t.created!);
    }

    // ---- report
    const burst = stats(createToReady);
    const bound = stats(createToBound.filter((x) => Number.isFinite(x)));
    const one = stats(serial);
    const attributable = (s: MemSnapshot, k: 'rssKb' | 'pssKb' | 'ussKb'): number =>
      s.ordinal[k] + s.supervisor[k] + s.runc[k] + s.holder[k];
    const perPod = (k: 'rssKb' | 'pssKb' | 'ussKb'): number =>
      (attributable(after, k) - attributable(before, k)) / PODS;
    const row = (label: string, g: (s: MemSnapshot) => MemGroup): string => {
      const b = g(before);
      const a = g(after);
      const per = (kb: number): string => (kb / PODS / 1024).toFixed(2);
      return `| ${label} | ${b.count} → ${a.count} | ${mib(b.rssKb)} → ${mib(a.rssKb)} | ${mib(a.pssKb - b.pssKb)} | ${per(
        a.pssKb - b.pssKb,
      )} | ${per(a.ussKb - b.ussKb)} |`;
    };
    const f = (x: number): string => x.toFixed(0);
    const lines = [
      `Machine: ${machine}. Store: ${STORE}. ${new Date().toISOString()}.`,
      '',
      `#### Create → Ready (client-side watch), ${PODS} pods, ${CONCURRENCY} POSTs in flight`,
      '',
      '| measurement | n | median ms | p90 ms | p99 ms | min–max ms |',
      '|---|---|---|---|---|---|',
      `| burst: create → Ready | ${burst.n} | ${f(burst.median)} | ${f(burst.p90)} | ${f(burst.p99)} | ${f(burst.min)}–${f(burst.max)} |`,
      `| burst: create → bound to the node | ${bound.n} | ${f(bound.median)} | ${f(bound.p90)} | ${f(bound.p99)} | ${f(bound.min)}–${f(bound.max)} |`,
      `| one at a time: create → Ready | ${one.n} | ${f(one.median)} | ${f(one.p90)} | ${f(one.p99)} | ${f(one.min)}–${f(one.max)} |`,
      '',
      `Burst: all ${PODS} POSTs answered after ${f(postsDone)} ms, last pod Ready after ${f(wall)} ms ` +
        `(${((PODS / wall) * 1000).toFixed(1)} pods/s); server CPU meanwhile ${serverCpu.toFixed(1)} s.`,
      '',
      `#### Memory, before the burst → ${PODS} pods Ready (+${SETTLE_MS} ms)`,
      '',
      '| processes | count | RSS MiB | PSS growth MiB | PSS growth per pod MiB | USS growth per pod MiB |',
      '|---|---|---|---|---|---|',
      row('`ordinal up` (API, controllers, agent)', (s) => s.ordinal),
      row('per-container supervisors (`node supervisor.cjs`)', (s) => s.supervisor),
      row('`runc run` (one per container)', (s) => s.runc),
      row('sandbox holders and helpers', (s) => s.holder),
      row('containers themselves (`sleep`)', (s) => s.container),
      '',
      `Attributable to Ordinal per running pod: **${(perPod('pssKb') / 1024).toFixed(1)} MiB PSS** ` +
        `(${(perPod('ussKb') / 1024).toFixed(1)} MiB private, ${(perPod('rssKb') / 1024).toFixed(1)} MiB summed RSS); ` +
        `the containers' own processes: ` +
        `${((after.container.pssKb - before.container.pssKb) / PODS / 1024).toFixed(2)} MiB PSS per pod. ` +
        `Of the attributable PSS, the supervisors are ` +
        `${(((after.supervisor.pssKb - before.supervisor.pssKb) / (attributable(after, 'pssKb') - attributable(before, 'pssKb'))) * 100).toFixed(0)} %. ` +
        `MemAvailable fell by ${mib(availBefore - availAfter)} MiB (whole machine, includes kernel memory ` +
        `and anything else running). After deleting the pods: ${gone.supervisor.count} supervisors, ` +
        `${gone.runc.count} runc, ${gone.container.count} container processes left; the server's RSS was ` +
        `${mib(gone.ordinal.rssKb)} MiB.`,
    ];
    console.log(lines.join('\n'));
    if (values.json) {
      writeFileSync(
        values.json,
        `${JSON.stringify(
          {
            machine,
            store: STORE,
            pods: PODS,
            concurrency: CONCURRENCY,
            createToReadyMs: createToReady,
            createToBoundMs: createToBound,
            serialMs: serial,
            wallMs: wall,
            postsDoneMs: postsDone,
            serverCpuSeconds: serverCpu,
            memory: { before, after, gone, memAvailableKb: { before: availBefore, after: availAfter } },
          },
          null,
          2,
        )}\n`,
      );
    }
  } finally {
    watch?.close();
    client?.close();
    const stopMs = await server.stop(60_000);
    log(`server stopped in ${stopMs.toFixed(0)} ms`);
    const left = [...readProcs().values()].filter((p) => p.argv.some((a) => a.startsWith(dataDir)));
    if (left.length > 0) log(`WARNING: processes left behind: ${left.map((p) => p.pid).join(' ')}`);
    if (existsSync(dir)) removeTempDir(dir);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`pod-start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
