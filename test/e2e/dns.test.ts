/**
 * `ordinal up` serves cluster DNS: a StatefulSet created with real kubectl is
 * resolvable by its stable per-pod names through the printed DNS address.
 */
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, eventually, HAVE_KUBECTL, type RunningCluster, startOrdinal } from './harness.js';

describe.skipIf(!HAVE_KUBECTL)('cluster DNS from ordinal up', () => {
  let c: RunningCluster;
  let resolver: Resolver;

  beforeAll(async () => {
    c = await startOrdinal(['--store', 'memory', '--sim-ready-delay', '50']);
    const m = /cluster DNS: (127\.0\.0\.1):(\d+)/.exec(c.output());
    expect(m, c.output()).not.toBeNull();
    resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`${m![1]}:${m![2]}`]);
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
    cleanup(c);
  });

  it('resolves db-0.db.<ns>.svc.cluster.local to the pod IP and the headless Service to every pod', async () => {
    await c.k(['create', 'ns', 'dns']);
    await c.k(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: Service
metadata: {name: db, namespace: dns}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 27017}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: dns}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: mongo}]}
`,
    });
    await c.k(['-n', 'dns', 'rollout', 'status', 'sts', 'db', '--timeout=60s']);
    const ip0 = await c.k(['-n', 'dns', 'get', 'pod', 'db-0', '-o', 'jsonpath={.status.podIP}']);
    const ip1 = await c.k(['-n', 'dns', 'get', 'pod', 'db-1', '-o', 'jsonpath={.status.podIP}']);
    const a0 = await eventually(async () => {
      const r = await resolver.resolve4('db-0.db.dns.svc.cluster.local');
      return r.length === 1 ? r : false;
    });
    expect(a0).toEqual([ip0]);
    const all = await eventually(async () => {
      const r = await resolver.resolve4('db.dns.svc.cluster.local');
      return r.length === 2 ? r : false;
    });
    expect(all.sort()).toEqual([ip0, ip1].sort());
    expect(await resolver.resolve4('kubernetes.default.svc.cluster.local')).toEqual(['10.96.0.1']);
    await expect(resolver.resolve4('nope.dns.svc.cluster.local')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  }, 90_000);
});
