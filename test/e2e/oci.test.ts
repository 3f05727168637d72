/**
 * `ordinal up --runtime oci`: real containers with runc, driven by real
 * kubectl. Needs root, runc, busybox-static and iproute2 (CI installs them;
 * elsewhere this file is skipped, and says why). The busybox image is built
 * offline from Debian's busybox-static and imported with `ordinal images`.
 *
 * The demo scenario: a 2-replica StatefulSet with a claim at /mnt/vol1 and a
 * headless Service. Each pod counts its starts in its own volume; deleting
 * demo-0 brings it back under the same name with its count intact, demo-1's
 * volume is separate, the hostname is the pod name, and another pod reaches
 * demo-0 by its stable DNS name.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, eventually, HAVE_KUBECTL, ROOT, type RunningCluster, startOrdinal } from './harness.js';

const which = (b: string): boolean => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
const MISSING = [
  ...(process.getuid?.() === 0 ? [] : ['root']),
  ...(which('runc') ? [] : ['runc']),
  ...(existsSync('/bin/busybox') || existsSync('/usr/bin/busybox') ? [] : ['busybox-static']),
  ...(which('ip') ? [] : ['iproute2']),
  ...(HAVE_KUBECTL ? [] : ['kubectl']),
];
const SKIP = MISSING.length > 0;
if (SKIP) console.log(`skipping real-container e2e tests: needs ${MISSING.join(', ')}`);

const DEMO = `apiVersion: v1
kind: Service
metadata: {name: demo, namespace: real}
spec: {clusterIP: None, selector: {app: demo}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: demo, namespace: real}
spec:
  serviceName: demo
  replicas: 2
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: c
        image: ordinal.local/busybox:1.35
        imagePullPolicy: Never
        command: [sh, -c, 'n=$(( $(cat /mnt/vol1/starts 2>/dev/null || echo 0) + 1 )); echo $n > /mnt/vol1/starts; echo "starts=$n host=$(hostname)"; exec sleep 3600']
        volumeMounts: [{name: vol1, mountPath: /mnt/vol1}]
  volumeClaimTemplates:
  - metadata: {name: vol1}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

describe.skipIf(SKIP)('real containers with runc (--runtime oci)', () => {
  let c: RunningCluster;
  const ns = ['-n', 'real'];

  beforeAll(async () => {
    c = await startOrdinal(['--store', 'memory', '--runtime', 'oci']);
    const out = join(c.dir, 'images');
    execFileSync(
      process.execPath,
      [join(ROOT, 'dist/scripts/build-images.js'), '--out', out, '--only', 'busybox'],
      {
        stdio: 'pipe',
      },
    );
    execFileSync(process.execPath, [
      join(ROOT, 'bin/ordinal.js'),
      'images',
      '--data-dir',
      join(c.dir, 'data'),
      'import',
      join(out, 'busybox.tar'),
    ]);
    await c.k(['create', 'ns', 'real']);
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
    // Ctrl-C leaves no pod network behind.
    if (c) {
      expect(spawnSync('ip', ['link', 'show', 'ordinal0']).status).not.toBe(0);
      expect(execFileSync('ip', ['netns', 'list']).toString()).not.toMatch(/ordinal-/);
    }
    cleanup(c);
  });

  it('runs the demo StatefulSet: own volumes, stable names, data kept across pod deletion, DNS', async () => {
    await c.k(['apply', '-f', '-'], { input: DEMO });
    await c.k([...ns, 'rollout', 'status', 'sts', 'demo', '--timeout=90s']);
    expect(await c.k([...ns, 'logs', 'demo-0'])).toContain('starts=1 host=demo-0');
    expect(await c.k([...ns, 'logs', 'demo-1'])).toContain('starts=1 host=demo-1');
    const uid = await c.k([...ns, 'get', 'pod', 'demo-0', '-o', 'jsonpath={.metadata.uid}']);
    await c.k([...ns, 'delete', 'pod', 'demo-0', '--wait=true']);
    const back = await eventually(async () => {
      const o = await c.k([...ns, 'get', 'pod', 'demo-0', '-o', 'jsonpath={.metadata.uid} {.status.phase}']);
      const [u, phase] = o.split(' ');
      return u && u !== uid && phase === 'Running' ? o : false;
    }, 60_000);
    expect(back).toBeTruthy();
    await eventually(
      async () => (await c.k([...ns, 'logs', 'demo-0'])).includes('starts=2 host=demo-0'),
      30_000,
    );
    expect(await c.k([...ns, 'logs', 'demo-1'])).toContain('starts=1');
    const ip0 = await c.k([...ns, 'get', 'pod', 'demo-0', '-o', 'jsonpath={.status.podIP}']);
    await c.k([
      ...ns,
      'run',
      'dns-test',
      '--image',
      'ordinal.local/busybox:1.35',
      '--image-pull-policy=Never',
      '--restart=Never',
      '--',
      'ping',
      '-c1',
      '-W2',
      'demo-0.demo',
    ]);
    const ping = await eventually(async () => {
      const phase = await c.k([...ns, 'get', 'pod', 'dns-test', '-o', 'jsonpath={.status.phase}']);
      return phase === 'Succeeded' || phase === 'Failed' ? c.k([...ns, 'logs', 'dns-test']) : false;
    }, 60_000);
    expect(ping).toContain(`PING demo-0.demo (${ip0})`);
    expect(ping).toContain('1 packets received');
  }, 240_000);
});
