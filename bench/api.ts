/**
 * Ordinal benchmarks. Reports figures; never asserts timings.
 *
 *   node --import tsx bench/api.ts [--runs 5] [--load-runs 3] [--seconds 5]
 *        [--concurrency 16] [--only startup,throughput] [--stores sqlite,memory]
 *        [--json FILE]
 *
 * Needs a built tree (`npx tsc -p tsconfig.build.json && node dist/scripts/gen-openapi.js`)
 * and real kubectl (KUBECTL env, default /usr/lib/google-cloud-sdk/bin/kubectl.1.33).
 * See bench/README.md.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type Client,
  fmtSummary,
  type HttpResult,
  KUBECTL,
  kubectl,
  type LoadResult,
  loadKubeconfig,
  makeClient,
  makeTempDir,
  median,
  must,
  readMem,
  removeTempDir,
  runLoad,
  type Server,
  type Summary,
  sleep,
  startServer,
  summarize,
  waitForQuiet,
} from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'load-runs': { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    only: { type: 'string', default: 'startup,throughput' },
    stores: { type: 'string', default: 'sqlite,memory' },
    'idle-ms': { type: 'string', default: '3000' },
    json: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const LOAD_RUNS = Number(values['load-runs']);
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const IDLE_MS = Number(values['idle-ms']);
const ONLY = new Set((values.only ?? '').split(','));
const STORES = (values.stores ?? '')
  .split(',')
  .filter((s): s is 'sqlite' | 'memory' => s === 'sqlite' || s === 'memory');
const POLL_MS = 20;
const READY_DEADLINE_MS = 30_000;
const LIST_SIZE = 1000;

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

// ---------------------------------------------------------------- 1 + 2: start-up and idle RSS

interface StartupRun {
  /** spawn → first successful `kubectl get ns` returned. */
  kubectlMs: number;
  /** spawn → "API server:" line on stdout. */
  urlMs: number;
  /** The server's own "up in N ms" (from its process start). */
  selfMs: number;
  attempts: number;
  rssKb: number;
  hwmKb: number;
  stopMs: number;
  rebuilt: boolean;
}

async function measureStartup(dataDir: string, kubeconfig: string, cacheDir: string): Promise<StartupRun> {
  removeKubeconfig(kubeconfig);
  const server = startServer({ dataDir, kubeconfig, startTimeoutMs: READY_DEADLINE_MS });
  try {
    server.ready.catch(() => {});
    let attempts = 0;
    let kubectlMs: number | undefined;
    const deadline = server.spawnedAt + READY_DEADLINE_MS;
    while (performance.now() < deadline) {
      if (server.proc.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
      attempts++;
      const r = await kubectl([
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        cacheDir,
        '--request-timeout=5s',
        'get',
        'ns',
        '-o',
        'name',
      ]);
      if (r.code === 0) {
        kubectlMs = performance.now() - server.spawnedAt;
        break;
      }
      await sleep(POLL_MS);
    }
    if (kubectlMs === undefined) throw new Error(`kubectl never succeeded:\n${server.output()}`);
    await server.ready;
    await sleep(IDLE_MS);
    const mem = readMem(server.pid);
    const out = server.output();
    const stopMs = await server.stop();
    return {
      kubectlMs,
      urlMs: (server.urlSeenAt() ?? Number.NaN) - server.spawnedAt,
      selfMs: server.selfReportedMs() ?? Number.NaN,
      attempts,
      rssKb: mem.rssKb,
      hwmKb: mem.hwmKb,
      stopMs,
      rebuilt: /ordinal: (re)?building/.test(out),
    };
  } finally {
    await server.stop();
  }
}

function removeKubeconfig(path: string): void {
  // The kubeconfig from a previous run points at a stale port; start each run without one.
  rmSync(path, { force: true });
}

interface StartupResults {
  kubectlClient: Summary;
  fresh: StartupRun[];
  existing: StartupRun[];
  /** System-wide CPU busy fraction in the second before each run (other processes). */
  busyBefore: number[];
}

async function startupBench(): Promise<StartupResults> {
  log(`== kubectl version --client (${RUNS} runs)`);
  await kubectl(['version', '--client']); // page in the binary
  const clientMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await kubectl(['version', '--client']);
    if (r.code !== 0) throw new Error(`kubectl version --client failed: ${r.stderr}`);
    clientMs.push(r.ms);
  }
  log(`   ${clientMs.map((x) => x.toFixed(0)).join(' ')} ms`);

  const fresh: StartupRun[] = [];
  const existing: StartupRun[] = [];
  const busyBefore: number[] = [];
  let retries = 0;
  // Run 0 is a discarded warm-up (page cache, launcher rebuild if sources changed).
  for (let i = 0; i <= RUNS; i++) {
    const dir = makeTempDir();
    try {
      const dataDir = join(dir, 'data');
      const kc = join(dir, 'kubeconfig');
      const busy = await waitForQuiet();
      busyBefore.push(busy);
      const a = await measureStartup(dataDir, kc, join(dir, 'kcache-a'));
      const b = await measureStartup(dataDir, kc, join(dir, 'kcache-b'));
      if ((a.rebuilt || b.rebuilt) && retries < 3) {
        // The launcher rebuilt because sources changed under us: repeat this run.
        retries++;
        i--;
        log('   launcher rebuilt (sources changed); repeating the run');
        continue;
      }
      const tag = i === 0 ? 'warm-up (discarded)' : `run ${i}`;
      for (const [name, r] of [
        ['fresh', a],
        ['existing', b],
      ] as const) {
        log(
          `   ${tag} ${name}: kubectl ok ${r.kubectlMs.toFixed(0)} ms after ${r.attempts} attempts, ` +
            `url ${r.urlMs.toFixed(0)} ms, self ${r.selfMs} ms, rss ${(r.rssKb / 1024).toFixed(1)} MiB, ` +
            `stop ${r.stopMs.toFixed(0)} ms${r.rebuilt ? ' [LAUNCHER REBUILT — excluded]' : ''}`,
        );
      }
      if (i === 0) continue;
      if (!a.rebuilt) fresh.push(a);
      if (!b.rebuilt) existing.push(b);
    } finally {
      removeTempDir(dir);
    }
  }
  return { kubectlClient: summarize(clientMs), fresh, existing, busyBefore };
}

// ---------------------------------------------------------------- 3: request throughput

interface ScenarioResult {
  name: string;
  runs: LoadResult[];
}

interface StoreResults {
  store: 'sqlite' | 'memory';
  seedMs: number;
  listItems: number;
  listBytes: number;
  scenarios: ScenarioResult[];
  busyBefore: number[];
  rssAfterKb: number;
  hwmAfterKb: number;
}

function cm(ns: string, name: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { app: 'bench' } },
    data: { key: 'value', config: 'a=1\nb=2\nc=3\n' },
  };
}

async function createNs(client: Client, name: string): Promise<void> {
  await must(client, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  });
}

async function throughputBench(store: 'sqlite' | 'memory'): Promise<StoreResults> {
  log(
    `== throughput, --store ${store}: concurrency ${CONCURRENCY}, ${LOAD_RUNS} × ${SECONDS} s per scenario`,
  );
  const dir = makeTempDir();
  let server: Server | undefined;
  let client: Client | undefined;
  let listItems = 0;
  let listBytes = 0;
  try {
    const kcPath = join(dir, 'kubeconfig');
    server = startServer({ dataDir: join(dir, 'data'), kubeconfig: kcPath, store });
    await server.ready;
    const pid = server.pid;
    client = makeClient(loadKubeconfig(kcPath), CONCURRENCY);
    const c = client;

    await createNs(c, 'bench-get');
    await must(c, 'POST', '/api/v1/namespaces/bench-get/configmaps', cm('bench-get', 'one'));
    await createNs(c, 'bench-list');
    const seedStart = performance.now();
    const seed = await runLoad1000(c, pid);
    const seedMs = performance.now() - seedStart;
    if (seed.errors) throw new Error(`seeding failed: ${seed.firstError}`);
    const list = await must(c, 'GET', '/api/v1/namespaces/bench-list/configmaps');
    const items = (JSON.parse(list.body ?? '{}') as { items?: unknown[] }).items?.length;
    // Controllers may add their own objects (e.g. kube-root-ca.crt), so expect at least LIST_SIZE.
    if (items === undefined || items < LIST_SIZE)
      throw new Error(`expected ${LIST_SIZE} items, got ${items}`);
    listItems = items;
    listBytes = list.bytes;
    log(
      `   seeded ${LIST_SIZE} ConfigMaps in ${seedMs.toFixed(0)} ms; LIST returns ${items} items, ${list.bytes} bytes`,
    );

    let createNsSeq = 0;
    const nextCreateNs = async (): Promise<string> => {
      const ns = `bench-create-${createNsSeq++}`;
      await createNs(c, ns);
      return ns;
    };
    const scenarios: { name: string; prepare: () => Promise<(i: number) => Promise<HttpResult>> }[] = [
      {
        name: 'GET one ConfigMap',
        prepare: async () => () => c.request('GET', '/api/v1/namespaces/bench-get/configmaps/one'),
      },
      {
        name: `LIST ${LIST_SIZE} ConfigMaps`,
        prepare: async () => () => c.request('GET', '/api/v1/namespaces/bench-list/configmaps'),
      },
      {
        name: 'CREATE ConfigMap',
        prepare: async () => {
          const ns = await nextCreateNs();
          return (i) => c.request('POST', `/api/v1/namespaces/${ns}/configmaps`, cm(ns, `cm-${i}`));
        },
      },
    ];
    const results: ScenarioResult[] = [];
    const busyBefore: number[] = [];
    for (const s of scenarios) {
      const op = await s.prepare();
      await runLoadWith(op, Math.min(1, SECONDS), pid); // warm-up (JIT, caches), discarded
      const runs: LoadResult[] = [];
      for (let r = 0; r < LOAD_RUNS; r++) {
        busyBefore.push(await waitForQuiet());
        const runOp = await s.prepare();
        const res = await runLoadWith(runOp, SECONDS, pid);
        log(
          `   ${s.name} run ${r + 1}: ${res.rps.toFixed(0)} req/s, p50 ${res.p50ms.toFixed(1)} ms, ` +
            `p99 ${res.p99ms.toFixed(1)} ms, ${res.requests} reqs, ${res.errors} errors, ` +
            `server cpu ${(res.serverCpu ?? 0).toFixed(2)}, client cpu ${res.clientCpu.toFixed(2)}` +
            (res.firstError ? ` first error: ${res.firstError}` : ''),
        );
        runs.push(res);
      }
      results.push({ name: s.name, runs });
    }
    await sleep(1000);
    const mem = readMem(pid);
    return {
      store,
      seedMs,
      listItems,
      listBytes,
      scenarios: results,
      busyBefore,
      rssAfterKb: mem.rssKb,
      hwmAfterKb: mem.hwmKb,
    };
  } finally {
    client?.close();
    await server?.stop();
    removeTempDir(dir);
  }
}

function runLoadWith(op: (i: number) => Promise<HttpResult>, seconds: number, pid: number) {
  return runLoad({ concurrency: CONCURRENCY, seconds, serverPid: pid, op });
}

function runLoad1000(c: Client, pid: number) {
  return runLoad({
    concurrency: CONCURRENCY,
    seconds: 120,
    maxRequests: LIST_SIZE,
    serverPid: pid,
    op: (i) => c.request('POST', '/api/v1/namespaces/bench-list/configmaps', cm('bench-list', `cm-${i}`)),
  });
}

// ---------------------------------------------------------------- report

function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return `${availableParallelism()} CPUs (${model.trim()}), node ${process.version}, ${process.platform} ${process.arch}`;
}

function startupTable(s: StartupResults): string {
  const rows: string[] = [
    '| Measurement | fresh data dir | existing data dir | target |',
    '|---|---|---|---|',
  ];
  const col = (runs: StartupRun[], f: (r: StartupRun) => number, digits = 0, unit = ' ms'): string =>
    runs.length ? fmtSummary(summarize(runs.map(f)), digits, unit) : 'n/a';
  rows.push(
    `| spawn → first successful \`kubectl get ns\` | ${col(s.fresh, (r) => r.kubectlMs)} | ${col(s.existing, (r) => r.kubectlMs)} | < 300 ms |`,
    `| spawn → "API server:" line printed | ${col(s.fresh, (r) => r.urlMs)} | ${col(s.existing, (r) => r.urlMs)} | |`,
    `| server's own "up in N ms" | ${col(s.fresh, (r) => r.selfMs)} | ${col(s.existing, (r) => r.selfMs)} | |`,
    `| kubectl attempts until success | ${col(s.fresh, (r) => r.attempts, 0, '')} | ${col(s.existing, (r) => r.attempts, 0, '')} | |`,
    `| idle VmRSS after ${IDLE_MS / 1000} s | ${col(s.fresh, (r) => r.rssKb / 1024, 1, ' MiB')} | ${col(s.existing, (r) => r.rssKb / 1024, 1, ' MiB')} | < 80 MB |`,
    `| VmHWM (peak RSS) by then | ${col(s.fresh, (r) => r.hwmKb / 1024, 1, ' MiB')} | ${col(s.existing, (r) => r.hwmKb / 1024, 1, ' MiB')} | |`,
    `| SIGTERM → exit | ${col(s.fresh, (r) => r.stopMs)} | ${col(s.existing, (r) => r.stopMs)} | |`,
    `| \`kubectl version --client\` (no server) | ${fmtSummary(s.kubectlClient, 0, ' ms')} | | |`,
    '',
    `Background CPU busy (all CPUs, 1 s before each run): ${fmtSummary(summarize(s.busyBefore.map((b) => b * 100)), 0, '%')}.`,
  );
  return rows.join('\n');
}

function throughputTable(all: StoreResults[]): string {
  const rows: string[] = [
    '| Scenario | store | req/s | p50 latency | p99 latency | server CPU (cores) | client CPU (cores) | errors |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const st of all) {
    for (const s of st.scenarios) {
      const f = (g: (r: LoadResult) => number, d: number, u = ''): string =>
        fmtSummary(summarize(s.runs.map(g)), d, u);
      const errors = s.runs.reduce((a, r) => a + r.errors, 0);
      rows.push(
        `| ${s.name} | ${st.store} | ${f((r) => r.rps, 0)} | ${f((r) => r.p50ms, 1, ' ms')} | ` +
          `${f((r) => r.p99ms, 1, ' ms')} | ${f((r) => r.serverCpu ?? 0, 2)} | ${f((r) => r.clientCpu, 2)} | ${errors} |`,
      );
    }
  }
  rows.push('');
  for (const st of all) {
    rows.push(
      `- \`--store ${st.store}\`: seeding ${LIST_SIZE} ConfigMaps took ${st.seedMs.toFixed(0)} ms ` +
        `(${((LIST_SIZE / st.seedMs) * 1000).toFixed(0)} creates/s incl. warm-up); ` +
        `the LIST returns ${st.listItems} items, ${(st.listBytes / 1024).toFixed(0)} KiB of JSON; ` +
        `VmRSS after all scenarios ${(st.rssAfterKb / 1024).toFixed(1)} MiB (peak ${(st.hwmAfterKb / 1024).toFixed(1)} MiB); ` +
        `background CPU busy before runs ${fmtSummary(summarize(st.busyBefore.map((b) => b * 100)), 0, '%')}.`,
    );
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  const started = new Date();
  log(`machine: ${machine()}`);
  log(`kubectl: ${KUBECTL}`);
  let startup: StartupResults | undefined;
  const stores: StoreResults[] = [];
  if (ONLY.has('startup')) startup = await startupBench();
  if (ONLY.has('throughput')) for (const s of STORES) stores.push(await throughputBench(s));

  const out: string[] = [
    `Date: ${started.toISOString()} (load average at end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`,
    `Machine: ${machine()}`,
    `Command: node --import tsx bench/api.ts ${process.argv.slice(2).join(' ')}`.trimEnd(),
    `Figures are "median (min–max)"; start-up over ${RUNS} runs, throughput over ${LOAD_RUNS} runs of ${SECONDS} s at concurrency ${CONCURRENCY}.`,
    '',
  ];
  if (startup) out.push(startupTable(startup), '');
  if (stores.length) out.push(throughputTable(stores), '');
  process.stdout.write(`${out.join('\n')}\n`);
  if (values.json) {
    writeFileSync(
      values.json,
      JSON.stringify({ date: started.toISOString(), machine: machine(), startup, stores }, null, 2),
    );
  }
  if (startup) {
    const m = median(startup.fresh.map((r) => r.kubectlMs));
    log(`fresh start → kubectl get ns median ${m.toFixed(0)} ms (target < 300 ms)`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
