/**
 * Persistent storage with real kubectl 1.33 against `ordinal up` (sim nodes):
 * claims released and reclaimed by `kubectl delete pvc` under the default
 * local-path class (Delete) and the walkthrough's nfs-reliable class (Retain),
 * and `whenScaled: Delete` removing the claims of scaled-away ordinals.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, eventually, HAVE_KUBECTL, ROOT, type RunningCluster, startOrdinal } from './harness.js';

function statefulSet(name: string, replicas: number, extra = ''): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ${name}, namespace: vol}
spec:
  serviceName: ${name}
  replicas: ${replicas}
  podManagementPolicy: Parallel
${extra}  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - {name: c, image: busybox, volumeMounts: [{name: data, mountPath: /mnt/vol1}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`;
}

describe.skipIf(!HAVE_KUBECTL)('persistent volumes with real kubectl (sim nodes)', () => {
  let c: RunningCluster;
  let shared: string;
  const ns = ['-n', 'vol'];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordinal-e2e-'));
    shared = join(dir, 'nfs');
    mkdirSync(shared, { recursive: true });
    c = await startOrdinal(
      ['--store', 'memory', '--nodes', '2', '--sim-ready-delay', '50', '--shared-dir', shared],
      dir,
    );
    await c.k(['create', 'ns', 'vol']);
  }, 90_000);

  afterAll(async () => {
    await c?.stop();
    cleanup(c);
  });

  const pvOf = async (claim: string): Promise<string> =>
    eventually(async () => {
      const o = await c.k([...ns, 'get', 'pvc', claim, '-o', 'jsonpath={.status.phase}/{.spec.volumeName}']);
      const [phase, pv] = o.split('/');
      return phase === 'Bound' && pv ? pv : false;
    });

  it('kubectl delete pvc on the default class deletes the PV and its directory', async () => {
    await c.k(['apply', '-f', '-'], { input: statefulSet('web', 1) });
    const pv = await pvOf('data-web-0');
    const hostPath = await c.k(['get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}']);
    expect(hostPath).toBe(join(c.dir, 'data', 'local-path-provisioner', `${pv}_vol_data-web-0`));
    expect(existsSync(hostPath)).toBe(true);
    const affinity = await c.k([
      'get',
      'pv',
      pv,
      '-o',
      'jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}',
    ]);
    const node = await c.k([...ns, 'get', 'pod', 'web-0', '-o', 'jsonpath={.spec.nodeName}']);
    expect(affinity).toBe(node);
    await c.k([...ns, 'delete', 'sts', 'web']);
    await eventually(async () => (await c.k([...ns, 'get', 'pods', '-o', 'name'])).trim() === '');
    // The claim outlives the set, still Bound.
    expect(await c.k([...ns, 'get', 'pvc', 'data-web-0'])).toMatch(/data-web-0\s+Bound/);
    await c.k([...ns, 'delete', 'pvc', 'data-web-0']);
    await eventually(async () => (await c.kubectl(['get', 'pv', pv])).code !== 0);
    await eventually(async () => !existsSync(hostPath));
  }, 120_000);

  it('with the nfs-reliable Retain class the PV goes Released and the directory stays', async () => {
    await c.k(['apply', '-f', join(ROOT, 'examples', 'nfs-reliable-storageclass.yaml')]);
    const claim = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: visits, namespace: vol}
spec:
  storageClassName: nfs-reliable
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 1Gi}}
`;
    await c.k(['apply', '-f', '-'], { input: claim });
    const pv = await pvOf('visits');
    const dir = join(shared, `vol-visits-${pv}`);
    expect(await c.k(['get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}'])).toBe(dir);
    expect(readdirSync(shared)).toContain(`vol-visits-${pv}`);
    writeFileSync(join(dir, 'count'), '41');
    const row = await c.k(['get', 'pv', pv]);
    expect(row).toMatch(new RegExp(`${pv}\\s+1Gi\\s+RWX\\s+Retain\\s+Bound\\s+vol/visits\\s+nfs-reliable`));
    await c.k([...ns, 'delete', 'pvc', 'visits']);
    await eventually(async () => /\sReleased\s/.test(await c.k(['get', 'pv', pv])));
    expect(readFileSync(join(dir, 'count'), 'utf8')).toBe('41');
  }, 120_000);

  it('whenScaled: Delete removes the claims of ordinals 1 and 2 when scaling 3 → 1', async () => {
    await c.k(['apply', '-f', '-'], {
      input: statefulSet(
        'db',
        3,
        '  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Retain}\n',
      ),
    });
    for (const i of [0, 1, 2]) await pvOf(`data-db-${i}`);
    await c.k([...ns, 'rollout', 'status', 'sts', 'db', '--timeout=60s']);
    await c.k([...ns, 'scale', 'sts', 'db', '--replicas=1']);
    await eventually(async () => {
      const o = await c.k([...ns, 'get', 'pvc', '-o', 'name']);
      return (
        o
          .trim()
          .split('\n')
          .filter((l) => l.includes('data-db-'))
          .join() === 'persistentvolumeclaim/data-db-0'
      );
    });
  }, 120_000);
});
