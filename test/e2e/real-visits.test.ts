/**
 * The visits counter in real containers (`ordinal up --runtime oci`, real kubectl 1.33): the
 * ordinal.local/visits:1 image (busybox httpd + a CGI script that increments /data/visits under
 * flock, answering "Hello from <hostname>, visit <n>") as the 3-replica Parallel StatefulSet of
 * examples/real/visits-statefulset.yaml, applied unchanged.
 *
 * Requests are spread by hand, from a throwaway busybox pod, over the pods' stable DNS names
 * (web-N.web): 1, 2 and 3 requests to web-0, web-1 and web-2 give three different counts, each in
 * that pod's own volume (read back from the PersistentVolume's directory on this host). Deleting
 * web-2 brings it back on the same claim and its count goes on from 3.
 *
 * The manifest's ClusterIP Service `web-lb` gets a cluster IP and endpoints for all three pods, and
 * the service proxy (src/agent/proxy) routes that IP: requests to http://web-lb from a busybox pod are
 * answered by the visits pods, more than one of them, and each answer is counted in the volume of the
 * pod that gave it. (busybox 1.35's `wget -T` crashes, so each request is bounded with `timeout`.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, ROOT, type RunningCluster } from './harness.js';
import {
  deleteAndAwaitReplacement,
  missingForReal,
  networkGone,
  runPod,
  startRealCluster,
  stsReady,
} from './real-harness.js';

const MISSING = missingForReal(['busybox', 'visits']);
const SKIP = MISSING.length > 0;
if (SKIP) console.log(`skipping real visits-counter e2e tests: needs ${MISSING.join(', ')}`);

const url = (i: number): string => `http://web-${i}.web:8080/`;

/** A script that sends `n` requests to pod web-`i`. */
const requests = (i: number, n: number): string[] => Array.from({ length: n }, () => `wget -qO- ${url(i)}`);

describe.skipIf(SKIP)('visits counter StatefulSet (real containers)', () => {
  let c: RunningCluster;
  const ns = ['-n', 'visits'];

  beforeAll(async () => {
    c = await startRealCluster(['busybox', 'visits']);
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
    if (c) expect(networkGone()).toEqual({ bridge: true, netns: '' });
    cleanup(c);
  });

  /** The count file in pod web-`i`'s volume, read on the host through its PersistentVolume. */
  async function countOnDisk(i: number): Promise<string> {
    const pv = await c.k([...ns, 'get', 'pvc', `data-web-${i}`, '-o', 'jsonpath={.spec.volumeName}']);
    const path = await c.k(['get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}{.spec.local.path}']);
    return readFileSync(join(path, 'visits'), 'utf8').trim();
  }

  it('counts per pod in its own volume, and a count survives deleting the pod', async () => {
    await c.k(['apply', '-f', '-'], {
      input: readFileSync(join(ROOT, 'examples/real/visits-statefulset.yaml'), 'utf8'),
    });
    await stsReady(c, 'visits', 'web', 3);

    // The load-balancing Service exists with every pod behind it (but its IP is not routed).
    const lb = await c.k([...ns, 'get', 'svc', 'web-lb', '-o', 'jsonpath={.spec.clusterIP}']);
    expect(lb).toMatch(/^10\.\d+\.\d+\.\d+$/);
    const lbEndpoints = await c.k([
      ...ns,
      'get',
      'endpoints',
      'web-lb',
      '-o',
      'jsonpath={.subsets[*].addresses[*].ip}',
    ]);
    expect(lbEndpoints.split(' ')).toHaveLength(3);

    const spread = await runPod(
      c,
      'visits',
      'client-1',
      [...requests(0, 1), ...requests(1, 2), ...requests(2, 3)].join(' && '),
    );
    expect(spread.phase).toBe('Succeeded');
    expect(spread.logs.trim().split('\n')).toEqual([
      'Hello from web-0, visit 1',
      'Hello from web-1, visit 1',
      'Hello from web-1, visit 2',
      'Hello from web-2, visit 1',
      'Hello from web-2, visit 2',
      'Hello from web-2, visit 3',
    ]);
    expect([await countOnDisk(0), await countOnDisk(1), await countOnDisk(2)]).toEqual(['1', '2', '3']);

    // web-2 goes and comes back (new pod, same claim): its count goes on.
    const claimUid = await c.k([...ns, 'get', 'pvc', 'data-web-2', '-o', 'jsonpath={.metadata.uid}']);
    const { before, after } = await deleteAndAwaitReplacement(c, 'visits', 'web-2');
    expect(after.uid).not.toBe(before.uid);
    expect(await c.k([...ns, 'get', 'pvc', 'data-web-2', '-o', 'jsonpath={.metadata.uid}'])).toBe(claimUid);
    expect(await countOnDisk(2)).toBe('3');

    const again = await runPod(c, 'visits', 'client-2', [...requests(2, 1), ...requests(0, 1)].join(' && '));
    expect(again.phase).toBe('Succeeded');
    expect(again.logs.trim().split('\n')).toEqual(['Hello from web-2, visit 4', 'Hello from web-0, visit 2']);
    expect([await countOnDisk(0), await countOnDisk(1), await countOnDisk(2)]).toEqual(['2', '2', '4']);
  }, 180_000);

  it('the ClusterIP Service web-lb spreads requests over the visits pods, each counting its own', async () => {
    const counts = async (): Promise<number[]> =>
      [await countOnDisk(0), await countOnDisk(1), await countOnDisk(2)].map(Number);
    const before = await counts();
    const n = 12;
    const run = await runPod(
      c,
      'visits',
      'client-lb',
      Array.from({ length: n }, () => 'timeout 5 wget -qO- http://web-lb/').join(' && '),
    );
    expect(run.phase, run.logs).toBe('Succeeded');
    const answers = run.logs.trim().split('\n');
    expect(answers).toHaveLength(n);
    const byPod: number[][] = [[], [], []];
    for (const a of answers) {
      const m = /^Hello from web-([0-2]), visit (\d+)$/.exec(a);
      expect(m, a).not.toBeNull();
      byPod[Number(m![1])]!.push(Number(m![2]));
    }
    // Not all from one pod (all 12 from one of three: probability 3^-11).
    expect(byPod.filter((v) => v.length > 0).length).toBeGreaterThan(1);
    // Each pod's answers go on from its count on disk, and its count grew by as many.
    const after = await counts();
    byPod.forEach((visits, i) => {
      const from = before[i]!;
      expect(visits).toEqual(visits.map((_, k) => from + k + 1));
      expect(after[i]).toBe(from + visits.length);
    });
  }, 120_000);
});
