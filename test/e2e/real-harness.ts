/**
 * Shared pieces of the real-container e2e tests (`test/e2e/oci.test.ts`, `test/e2e/real-*.test.ts`):
 * what the machine must have (the suites skip, and say why, without it), a cluster started with
 * `ordinal up --runtime oci` with the example images built offline by `scripts/build-images.ts` and
 * imported with `ordinal images import`, throwaway busybox pods whose output is read from their logs
 * (no `kubectl exec`), and parsing of `kubectl get pods` rows as a user reads them.
 *
 * Every suite that uses this starts real containers on the shared bridge `ordinal0`: run it under
 * `flock /tmp/oci-e2e.lock`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, HAVE_KUBECTL, ROOT, type RunningCluster, startOrdinal } from './harness.js';

export type ImageName = 'busybox' | 'etcd' | 'visits';

export const IMAGE_REFS: Record<ImageName, string> = {
  busybox: 'ordinal.local/busybox:1.35',
  etcd: 'ordinal.local/etcd:3.4',
  visits: 'ordinal.local/visits:1',
};

const which = (b: string): boolean => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;

/** What this machine lacks for real containers with the given images (empty: nothing). */
export function missingForReal(images: readonly ImageName[] = ['busybox']): string[] {
  return [
    ...(process.getuid?.() === 0 ? [] : ['root']),
    ...(which('runc') ? [] : ['runc']),
    ...(existsSync('/bin/busybox') || existsSync('/usr/bin/busybox') ? [] : ['busybox-static']),
    ...(images.includes('etcd') && !existsSync('/usr/bin/etcd') ? ['etcd-server'] : []),
    ...(images.includes('visits') && !which('flock') ? ['util-linux (flock)'] : []),
    ...(which('ip') ? [] : ['iproute2']),
    ...(HAVE_KUBECTL ? [] : ['kubectl']),
  ];
}

/** Starts `ordinal up --store memory --runtime oci`, builds the images offline and imports them. */
export async function startRealCluster(images: readonly ImageName[]): Promise<RunningCluster> {
  const c = await startOrdinal(['--store', 'memory', '--runtime', 'oci']);
  try {
    const out = join(c.dir, 'images');
    execFileSync(
      process.execPath,
      [join(ROOT, 'dist/scripts/build-images.js'), '--out', out, '--only', images.join(',')],
      { stdio: 'pipe' },
    );
    for (const name of images) {
      execFileSync(
        process.execPath,
        [
          join(ROOT, 'bin/ordinal.js'),
          'images',
          '--data-dir',
          join(c.dir, 'data'),
          'import',
          join(out, `${name}.tar`),
        ],
        { stdio: 'pipe' },
      );
    }
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}

/** After `c.stop()`: Ctrl-C left no pod network behind. */
export function networkGone(): { bridge: boolean; netns: string } {
  return {
    bridge: spawnSync('ip', ['link', 'show', 'ordinal0']).status !== 0,
    netns: execFileSync('ip', ['netns', 'list'])
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('ordinal-'))
      .join('\n'),
  };
}

export interface PodRun {
  phase: string;
  logs: string;
}

/**
 * Runs `sh -c script` in a throwaway busybox pod (`kubectl run --restart=Never`), waits until it
 * Succeeded or Failed, and returns its phase and log. The pod is deleted afterwards.
 */
export async function runPod(
  c: RunningCluster,
  namespace: string,
  name: string,
  script: string,
  timeoutMs = 60_000,
): Promise<PodRun> {
  const ns = ['-n', namespace];
  await c.k([
    ...ns,
    'run',
    name,
    '--image',
    IMAGE_REFS.busybox,
    '--image-pull-policy=Never',
    '--restart=Never',
    '--',
    'sh',
    '-c',
    script,
  ]);
  const phase = await eventually(async () => {
    const p = await c.k([...ns, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}']);
    return p === 'Succeeded' || p === 'Failed' ? p : false;
  }, timeoutMs);
  const logs = await c.k([...ns, 'logs', name]);
  await c.k([...ns, 'delete', 'pod', name, '--wait=false']);
  return { phase, logs };
}

/** One row of `kubectl get pods` as printed. */
export interface PodRow {
  name: string;
  ready: string;
  status: string;
  restarts: number;
}

/** Parses `kubectl get pods --no-headers` (default columns). */
export function parsePodRows(out: string): PodRow[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name = '', ready = '', status = '', restarts = '0'] = l.trim().split(/\s+/);
      return { name, ready, status, restarts: Number(restarts) };
    });
}

/** Waits until every pod of the StatefulSet is Ready and the status says so. */
export async function stsReady(
  c: RunningCluster,
  namespace: string,
  name: string,
  replicas: number,
  ms = 120_000,
): Promise<void> {
  await eventually(
    async () => {
      const o = await c.k(['-n', namespace, 'get', 'sts', name, '-o', 'jsonpath={.status.readyReplicas}']);
      return Number(o) === replicas;
    },
    ms,
    250,
  );
}

/** The pod's uid, IP and Ready condition. */
export async function podState(
  c: RunningCluster,
  namespace: string,
  name: string,
): Promise<{ uid: string; ip: string; ready: boolean; phase: string }> {
  const o = await c.k([
    '-n',
    namespace,
    'get',
    'pod',
    name,
    '-o',
    'jsonpath={.metadata.uid} {.status.phase} {.status.conditions[?(@.type=="Ready")].status} {.status.podIP}',
  ]);
  const [uid = '', phase = '', ready = '', ip = ''] = o.split(' ');
  return { uid, phase, ready: ready === 'True', ip };
}

/** Deletes a pod and waits for its replacement (same name, new uid) to be Running and Ready. */
export async function deleteAndAwaitReplacement(
  c: RunningCluster,
  namespace: string,
  name: string,
  ms = 90_000,
): Promise<{ before: { uid: string; ip: string }; after: { uid: string; ip: string } }> {
  const before = await podState(c, namespace, name);
  await c.k(['-n', namespace, 'delete', 'pod', name, '--wait=true']);
  const after = await eventually(
    async () => {
      const s = await podState(c, namespace, name);
      return s.uid && s.uid !== before.uid && s.phase === 'Running' && s.ready ? s : false;
    },
    ms,
    250,
  );
  return { before, after };
}
