import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import type { InProcessClient } from '../../client/in-process.js';
import { CONFIGMAPS } from '../../controllers/util/resources.js';
import { startInProcessApi } from '../../testing/in-process.js';
import { kubeletPodView } from './downward.js';
import {
  aggregate,
  downwardApiPayload,
  fsUserOf,
  keyToPathPayload,
  PodVolumes,
  VolumeSetupError,
} from './volumes.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };
const alloc = { milliCpu: 2000, memory: 1024 ** 3, ephemeralStorage: 0 };

function pod(spec: Record<string, unknown>, labels: Record<string, string> = { app: 'web' }): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-0', namespace: 'vol', uid: 'uid-1', labels },
    spec: { containers: [{ name: 'main', image: 'x', resources: { limits: { memory: '32Mi' } } }], ...spec },
  };
}

function text(p: Map<string, { data: Buffer }>): Record<string, string> {
  return Object.fromEntries([...p].map(([k, v]) => [k, v.data.toString()]));
}

describe('volume payloads', () => {
  const data = { a: Buffer.from('A'), b: Buffer.from('B') };

  it('configMap/secret: every key, or only items with their modes; missing keys fail unless optional', () => {
    expect(text(keyToPathPayload('configmap', [], data, 0o644, false))).toEqual({ a: 'A', b: 'B' });
    const p = keyToPathPayload('configmap', [{ key: 'a', path: 'dir/x', mode: 0o400 }], data, 0o644, false);
    expect(text(p)).toEqual({ 'dir/x': 'A' });
    expect(p.get('dir/x')?.mode).toBe(0o400);
    expect(() => keyToPathPayload('configmap', [{ key: 'z', path: 'z' }], data, 0o644, false)).toThrow(
      'configmap references non-existent config key: z',
    );
    expect(() => keyToPathPayload('secret', [{ key: 'z', path: 'z' }], data, 0o644, false)).toThrow(
      'references non-existent secret key: z',
    );
    expect(keyToPathPayload('secret', [{ key: 'z', path: 'z' }], data, 0o644, true).size).toBe(0);
  });

  it('downwardAPI: fieldRefs and resourceFieldRefs per container; errors are aggregated', () => {
    const p = downwardApiPayload(
      pod({}),
      [
        { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
        { path: 'name', fieldRef: { fieldPath: 'metadata.name' }, mode: 0o600 },
        {
          path: 'mem',
          resourceFieldRef: { containerName: 'main', resource: 'limits.memory', divisor: '1Mi' },
        },
        { path: 'cpu', resourceFieldRef: { containerName: 'main', resource: 'limits.cpu', divisor: '1m' } },
      ],
      0o644,
      alloc,
    );
    expect(text(p)).toEqual({ labels: 'app="web"', name: 'web-0', mem: '32', cpu: '2000' });
    expect(p.get('name')?.mode).toBe(0o600);
    expect(() =>
      downwardApiPayload(
        pod({}),
        [
          { path: 'x', fieldRef: { fieldPath: 'spec.nodeName' } },
          { path: 'y', resourceFieldRef: { containerName: 'nope', resource: 'limits.cpu' } },
        ],
        0o644,
        alloc,
      ),
    ).toThrow('[unsupported fieldPath: spec.nodeName, container nope not found]');
    expect(aggregate(['one'])).toBe('one');
  });

  it('fsUser: the one runAsUser every container shares', () => {
    expect(fsUserOf(pod({ securityContext: { runAsUser: 1000 } }))).toBe(1000);
    expect(fsUserOf(pod({}))).toBeUndefined();
    expect(
      fsUserOf(
        pod({
          securityContext: { runAsUser: 1000 },
          initContainers: [{ name: 'i', securityContext: { runAsUser: 1001 } }],
        }),
      ),
    ).toBeUndefined();
  });
});

describe('PodVolumes against the API', () => {
  let client: InProcessClient;
  let dir: string;
  let now = Date.UTC(2026, 0, 1);
  const requests: KObject[] = [];
  let volumes: PodVolumes;

  beforeAll(async () => {
    ({ client } = await startInProcessApi({ namespaces: ['vol'] }));
    dir = mkdtempSync(join(tmpdir(), 'ordinal-vol-'));
    await client.create(CONFIGMAPS, 'vol', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg' },
      data: { 'app.conf': 'v1' },
      binaryData: { 'blob.bin': Buffer.from([0, 1, 2]).toString('base64') },
    });
    await client.create(SECRETS, 'vol', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sec' },
      data: { password: Buffer.from('s3cret').toString('base64') },
    });
    let n = 0;
    volumes = new PodVolumes(
      {
        client,
        allocatable: alloc,
        now: () => now,
        async requestToken(_ns, _sa, req) {
          requests.push(req);
          n++;
          const exp = Number((req.spec as Record<string, unknown>).expirationSeconds);
          return {
            ...req,
            status: { token: `token-${n}`, expirationTimestamp: new Date(now + exp * 1000).toISOString() },
          };
        },
      },
      dir,
      (p) => kubeletPodView(p, '2026-01-01T00:00:00Z'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const projected = pod({
    serviceAccountName: 'robot',
    volumes: [
      {
        name: 'all',
        projected: {
          defaultMode: 0o440,
          sources: [
            { configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
            { secret: { name: 'sec' } },
            { downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
            { serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 600 } },
            { configMap: { name: 'absent', optional: true } },
          ],
        },
      },
      { name: 'cm', configMap: { name: 'cfg' } },
      { name: 'scratch', emptyDir: {} },
    ],
  });

  it('sets up projected, configMap and emptyDir volumes under the pod dir', async () => {
    const paths = await volumes.setUp(projected);
    const all = paths.get('all') ?? '';
    expect(all).toBe(join(dir, 'volumes', 'kubernetes.io~projected', 'all'));
    expect(readFileSync(join(all, 'conf/app.conf'), 'utf8')).toBe('v1');
    expect(readFileSync(join(all, 'password'), 'utf8')).toBe('s3cret');
    expect(readFileSync(join(all, 'ns'), 'utf8')).toBe('vol');
    expect(readFileSync(join(all, 'token'), 'utf8')).toBe('token-1');
    expect(statSync(join(all, 'token')).mode & 0o777).toBe(0o440);
    expect(requests[0]?.spec).toEqual({
      expirationSeconds: 600,
      audiences: ['vault'],
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'uid-1' },
    });
    expect(requests[0]?.metadata.name).toBe('robot');
    const cm = paths.get('cm') ?? '';
    expect(readFileSync(join(cm, 'blob.bin'))).toEqual(Buffer.from([0, 1, 2]));
    expect(statSync(paths.get('scratch') ?? '').mode & 0o777).toBe(0o777);
  });

  it('refresh rewrites changed sources and renews the token at 80% of its lifetime', async () => {
    const all = join(dir, 'volumes', 'kubernetes.io~projected', 'all');
    const before = readlinkSync(join(all, '..data'));
    expect(await volumes.refresh(projected)).toEqual([]);
    expect(readlinkSync(join(all, '..data'))).toBe(before);
    const cm = await client.get(CONFIGMAPS, 'vol', 'cfg');
    await client.update(CONFIGMAPS, 'vol', { ...cm, data: { 'app.conf': 'v2' } });
    await volumes.refresh(projected);
    expect(readFileSync(join(all, 'conf/app.conf'), 'utf8')).toBe('v2');
    expect(readFileSync(join(all, 'token'), 'utf8')).toBe('token-1');
    now += 481_000; // past 80% of 600 s
    await volumes.refresh(projected);
    expect(readFileSync(join(all, 'token'), 'utf8')).toBe('token-2');
  });

  it('missing sources fail with the FailedMount message, optional ones are empty', async () => {
    await expect(
      volumes.setUp(pod({ volumes: [{ name: 'c', configMap: { name: 'nope' } }] })),
    ).rejects.toThrow(
      new VolumeSetupError('MountVolume.SetUp failed for volume "c" : configmap "nope" not found'),
    );
    await expect(
      volumes.setUp(pod({ volumes: [{ name: 's', secret: { secretName: 'nope' } }] })),
    ).rejects.toThrow('MountVolume.SetUp failed for volume "s" : secret "nope" not found');
    await expect(
      volumes.setUp(
        pod({ volumes: [{ name: 'c', configMap: { name: 'cfg', items: [{ key: 'x', path: 'x' }] } }] }),
      ),
    ).rejects.toThrow(
      'MountVolume.SetUp failed for volume "c" : configmap references non-existent config key: x',
    );
    const p = await volumes.setUp(
      pod({ volumes: [{ name: 'o', configMap: { name: 'nope', optional: true } }] }),
    );
    expect(readlinkSync(join(p.get('o') ?? '', '..data'))).toMatch(/^\.\./);
    await expect(
      volumes.setUp(pod({ volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'nope' } }] })),
    ).rejects.toThrow('Unable to attach or mount volumes: persistentvolumeclaim "nope" not found');
    await expect(
      volumes.setUp(
        pod({ volumes: [{ name: 'h', hostPath: { path: join(dir, 'absent'), type: 'Directory' } }] }),
      ),
    ).rejects.toThrow(
      `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${join(dir, 'absent')} is not a directory`,
    );
    const made = await volumes.setUp(
      pod({ volumes: [{ name: 'h', hostPath: { path: join(dir, 'made', 'f'), type: 'FileOrCreate' } }] }),
    );
    expect(statSync(made.get('h') ?? '').isFile()).toBe(true);
  });
});
