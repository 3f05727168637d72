/**
 * Workload benchmarks on simulated nodes. Reports figures; never asserts timings.
 *
 *   node --import tsx bench/workloads.ts [--runs 5] [--replicas 100] [--big 10000]
 *        [--big-nodes 20] [--stores sqlite,memory] [--only sts,big] [--json FILE]
 *
 * 1. `sts`: a 100-replica StatefulSet, Parallel and OrderedReady, on sim nodes
 *    with zero readiness delay: time from the POST to status.readyReplicas ==
 *    replicas (polled every 10 ms). Median and spread over --runs fresh namespaces.
 * 2. `big`: one Parallel StatefulSet of --big replicas (10,000) on --big-nodes
 *    sim nodes: time until every pod is Ready, server CPU seconds used (user+sys,
 *    /proc), peak RSS (VmHWM) and RSS once settled.
 * Needs a built tree (see bench/README.md).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type Client,
  loadKubeconfig,
  makeClient,
  makeTempDir,
  must,
  readCpuSeconds,
  readMem,
  removeTempDir,
  type Server,
  sleep,
  startServer,
  summarize,
} from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    replicas: { type: 'string', default: '100' },
    big: { type: 'string', default: '10000' },
    'big-nodes': { type: 'string', default: '20' },
    stores: { type: 'string', default: 'sqlite,memory' },
    only: { type: 'string', default: 'sts,big' },
    json: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const REPLICAS = Number(values.replicas);
const BIG = Number(values.big);
const BIG_NODES = Number(values['big-nodes']);
const STORES = String(values.stores).split(',') as ('sqlite' | 'memory')[];
const ONLY = new Set(String(values.only).split(','));
const raw: Record<string, unknown> = {};

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

function statefulSet(name: string, replicas: number, policy: 'Parallel' | 'OrderedReady'): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas,
      serviceName: name,
      podManagementPolicy: policy,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'c', image: 'sim', resources: { requests: { cpu: '1m', memory: '1Mi' } } }],
        },
      },
    },
  };
}

async function start(
  store: 'sqlite' | 'memory',
  nodes: number,
): Promise<{ server: Server; client: Client; dir: string }> {
  const dir = makeTempDir();
  const kubeconfig = join(dir, 'kubeconfig');
  const server = startServer({
    dataDir: join(dir, 'data'),
    kubeconfig,
    store,
    extraArgs: ['--nodes', String(nodes), '--sim-ready-delay', '0'],
  });
  await server.ready;
  const client = makeClient(loadKubeconfig(kubeconfig), 8);
  // Wait for the nodes to be Ready.
  for (;;) {
    const r = await must(client, 'GET', '/api/v1/nodes');
    const items =
      (
        JSON.parse(r.body ?? '{}') as {
          items?: { status?: { conditions?: { type: string; status: string }[] } }[];
        }
      ).items ?? [];
    const ready = items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (ready.length >= nodes) break;
    await sleep(20);
  }
  return { server, client, dir };
}

async function waitReady(
  client: Client,
  ns: string,
  name: string,
  replicas: number,
  pollMs: number,
): Promise<void> {
  for (;;) {
    const r = await must(client, 'GET', `/apis/apps/v1/namespaces/${ns}/statefulsets/${name}`);
    const st = (JSON.parse(r.body ?? '{}') as { status?: { readyReplicas?: number } }).status;
    if ((st?.readyReplicas ?? 0) >= replicas) return;
    await sleep(pollMs);
  }
}

async function timeStatefulSet(
  client: Client,
  ns: string,
  policy: 'Parallel' | 'OrderedReady',
  replicas: number,
): Promise<number> {
  await must(client, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns },
  });
  const t0 = performance.now();
  await must(
    client,
    'POST',
    `/apis/apps/v1/namespaces/${ns}/statefulsets`,
    statefulSet('web', replicas, policy),
  );
  await waitReady(client, ns, 'web', replicas, 10);
  const ms = performance.now() - t0;
  await must(client, 'DELETE', `/api/v1/namespaces/${ns}`);
  return ms;
}

async function benchSts(): Promise<void> {
  console.log(`\n### ${REPLICAS}-replica StatefulSet to fully Ready (sim nodes, zero readiness delay)\n`);
  console.log('| store | policy | median ms | min–max ms | runs |');
  console.log('|---|---|---|---|---|');
  for (const store of STORES) {
    const { server, client, dir } = await start(store, 4);
    try {
      for (const policy of ['Parallel', 'OrderedReady'] as const) {
        await timeStatefulSet(client, `warm-${policy.toLowerCase()}`, policy, 10);
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const ms = await timeStatefulSet(client, `b-${policy.toLowerCase()}-${i}`, policy, REPLICAS);
          log(`  ${store} ${policy} run ${i + 1}: ${ms.toFixed(0)} ms`);
          times.push(ms);
        }
        raw[`sts-${store}-${policy}`] = times;
        const s = summarize(times);
        console.log(
          `| ${store} | ${policy} | ${s.median.toFixed(0)} | ${s.min.toFixed(0)}–${s.max.toFixed(0)} | ${RUNS} |`,
        );
      }
    } finally {
      client.close();
      await server.stop();
      removeTempDir(dir);
    }
  }
}

async function benchBig(): Promise<void> {
  console.log(`\n### ${BIG} pods (one Parallel StatefulSet) on ${BIG_NODES} sim nodes\n`);
  console.log('| store | to all Ready s | server CPU s | CPU/pod ms | peak RSS MiB | settled RSS MiB |');
  console.log('|---|---|---|---|---|---|');
  for (const store of STORES) {
    const { server, client, dir } = await start(store, BIG_NODES);
    try {
      await must(client, 'POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'big' },
      });
      await sleep(1000);
      const cpu0 = readCpuSeconds(server.pid);
      const t0 = performance.now();
      await must(
        client,
        'POST',
        '/apis/apps/v1/namespaces/big/statefulsets',
        statefulSet('big', BIG, 'Parallel'),
      );
      await waitReady(client, 'big', 'big', BIG, 250);
      const secs = (performance.now() - t0) / 1000;
      const cpu = readCpuSeconds(server.pid) - cpu0;
      const peak = readMem(server.pid).hwmKb / 1024;
      await sleep(5000);
      const settled = readMem(server.pid).rssKb / 1024;
      raw[`big-${store}`] = { secs, cpu, peak, settled };
      log(`  ${store}: ${secs.toFixed(1)} s, cpu ${cpu.toFixed(1)} s, peak ${peak.toFixed(0)} MiB`);
      console.log(
        `| ${store} | ${secs.toFixed(1)} | ${cpu.toFixed(1)} | ${((cpu * 1000) / BIG).toFixed(2)} | ${peak.toFixed(0)} | ${settled.toFixed(0)} |`,
      );
    } finally {
      client.close();
      await server.stop();
      removeTempDir(dir);
    }
  }
}

if (ONLY.has('sts')) await benchSts();
if (ONLY.has('big')) await benchBig();
if (values.json) writeFileSync(values.json, JSON.stringify(raw, null, 2));
