/**
 * In-process scale probe: memory store + all controllers + sim nodes, one
 * Parallel StatefulSet of N pods; prints progress once a second. For profiling
 * (node --cpu-prof --import tsx bench/inproc-scale.ts 10000 20).
 */
import { startTestCluster } from '../test/integration/harness.js';

const N = Number(process.argv[2] ?? 10000);
const NODES = Number(process.argv[3] ?? 20);
const c = await startTestCluster({ nodes: NODES });
const ns = await c.namespace('scale');
const STS = { group: 'apps', version: 'v1', resource: 'statefulsets' };
const PODS = { group: '', version: 'v1', resource: 'pods' };
const t0 = performance.now();
await c.client.create(STS, ns, {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'big' },
  spec: {
    replicas: N,
    serviceName: 'big',
    podManagementPolicy: 'Parallel',
    selector: { matchLabels: { app: 'big' } },
    template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'c', image: 'sim' }] } },
  },
});
for (;;) {
  await new Promise((r) => setTimeout(r, 1000));
  const sts = await c.client.get(STS, ns, 'big');
  const st = (sts.status ?? {}) as { replicas?: number; readyReplicas?: number };
  const pods = await c.client.list(PODS, ns, { limit: 1 });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  const mem = (process.memoryUsage().rss / 1048576).toFixed(0);
  console.log(
    `${s}s replicas=${st.replicas ?? 0} ready=${st.readyReplicas ?? 0} rss=${mem}MiB rv=${pods.metadata.resourceVersion}`,
  );
  if ((st.readyReplicas ?? 0) >= N) break;
  if (performance.now() - t0 > Number(process.env.MAX_MS ?? 120_000)) break;
}
await c.stop();
