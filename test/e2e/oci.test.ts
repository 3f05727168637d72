/**
 * `ordinal up --runtime oci`: real containers with runc, driven by real
 * kubectl. Needs root, runc, busybox-static and iproute2 (CI installs them;
 * elsewhere this file is skipped, and says why). The busybox image is built
 * offline from Debian's busybox-static and imported with `ordinal images`.
 *
 * The demo scenario: a 2-replica StatefulSet with a claim at /mnt/vol1 and a
 * headless Service. Each pod counts its starts in its own volume and serves a
 * page from it with busybox httpd; deleting demo-0 brings it back under the
 * same name (with a new IP) and its count intact, demo-1's volume is separate,
 * the hostname is the pod name, and a throwaway pod resolves
 * demo-0.demo.real.svc.cluster.local to demo-0's current IP and fetches the
 * page over HTTP.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, eventually, ROOT, type RunningCluster } from './harness.js';
import {
  deleteAndAwaitReplacement,
  missingForReal,
  networkGone,
  runPod,
  startRealCluster,
} from './real-harness.js';

const MISSING = missingForReal(['busybox']);
const SKIP = MISSING.length > 0;
if (SKIP) console.log(`skipping real-container e2e tests: needs ${MISSING.join(', ')}`);

const DEMO = readFileSync(join(ROOT, 'examples/real/demo.yaml'), 'utf8');

describe.skipIf(SKIP)('real containers with runc (--runtime oci)', () => {
  let c: RunningCluster;
  const ns = ['-n', 'real'];

  beforeAll(async () => {
    c = await startRealCluster(['busybox']);
    await c.k(['create', 'ns', 'real']);
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
    // Ctrl-C leaves no pod network behind.
    if (c) expect(networkGone()).toEqual({ bridge: true, netns: '' });
    cleanup(c);
  });

  it('runs the demo StatefulSet: own volumes, stable names, data kept across pod deletion, DNS and HTTP', async () => {
    await c.k([...ns, 'apply', '-f', '-'], { input: DEMO });
    await c.k([...ns, 'rollout', 'status', 'sts', 'demo', '--timeout=90s']);
    expect(await c.k([...ns, 'logs', 'demo-0'])).toContain('starts=1 host=demo-0');
    expect(await c.k([...ns, 'logs', 'demo-1'])).toContain('starts=1 host=demo-1');

    // The walkthrough's commands: a file written in demo-0's volume is not in demo-1's.
    await c.k([...ns, 'exec', 'demo-0', '--', 'sh', '-c', 'echo Hello > /mnt/vol1/aa.txt']);
    expect(await c.k([...ns, 'exec', 'demo-0', '--', 'cat', '/mnt/vol1/aa.txt'])).toBe('Hello\n');
    const other = await c.kubectl([...ns, 'exec', 'demo-1', '--', 'cat', '/mnt/vol1/aa.txt']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('No such file or directory');
    expect(other.stderr).toContain('command terminated with exit code 1');

    const { before, after } = await deleteAndAwaitReplacement(c, 'real', 'demo-0');
    expect(after.uid).not.toBe(before.uid);
    // IPs are handed out round-robin, so the new demo-0 has a new address.
    expect(after.ip).not.toBe(before.ip);
    await eventually(
      async () => (await c.k([...ns, 'logs', 'demo-0'])).includes('starts=2 host=demo-0'),
      30_000,
    );
    expect(await c.k([...ns, 'logs', 'demo-1'])).toContain('starts=1');
    // Same name, same claim: the file is still there, and the hostname is the pod's name.
    expect(await c.k([...ns, 'exec', 'demo-0', '--', 'cat', '/mnt/vol1/aa.txt'])).toBe('Hello\n');
    expect(await c.k([...ns, 'exec', 'demo-0', '--', 'hostname'])).toBe('demo-0\n');

    // The headless Service's endpoints follow demo-0 to its current IP.
    const ip0 = after.ip;
    expect(ip0).toMatch(/^10\.244\.0\.\d+$/);
    await eventually(async () => {
      const ips = await c.k([
        ...ns,
        'get',
        'endpoints',
        'demo',
        '-o',
        'jsonpath={.subsets[*].addresses[*].ip}',
      ]);
      return ips.split(' ').includes(ip0);
    }, 30_000);

    const fqdn = 'demo-0.demo.real.svc.cluster.local';
    const run = await runPod(
      c,
      'real',
      'dns-test',
      `nslookup ${fqdn} && wget -qO- http://${fqdn}/ && ping -c1 -W2 demo-0.demo`,
    );
    expect(run.phase).toBe('Succeeded');
    // busybox nslookup: "Name:\t<fqdn>" then "Address: <ip>".
    expect(run.logs).toMatch(new RegExp(`Name:\\s+${fqdn.replaceAll('.', '\\.')}\\s+Address:\\s+${ip0}\\s`));
    expect(run.logs).toContain('page of demo-0, start 2');
    expect(run.logs).toContain(`PING demo-0.demo (${ip0})`);
    expect(run.logs).toContain('1 packets received');
  }, 240_000);
});
