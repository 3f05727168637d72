/**
 * Image pulls from a real registry on loopback, end to end: Debian's
 * `docker-registry` serves the offline-built busybox image (pushed with the
 * distribution API by ./registry.ts), `ordinal up --runtime oci` pulls it per
 * imagePullPolicy, and kubectl 1.33 sees upstream's states and events:
 * Pulling/Pulled, platform selection from an image index, ErrImagePull →
 * ImagePullBackOff for a missing tag (and recovery once it is pushed),
 * ErrImageNeverPull, and Always re-resolving a moved tag.
 *
 * Needs root, runc, busybox-static, iproute2, docker-registry and kubectl;
 * skipped otherwise. Run under `flock /tmp/oci-e2e.lock` (it uses the host
 * pod bridge).
 */
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  eventually,
  HAVE_KUBECTL,
  kubectlPath,
  ROOT,
  type RunningCluster,
  startOrdinal,
} from './harness.js';
import {
  addLayer,
  digestOf,
  foreignImage,
  hostArchitecture,
  manifestDescriptor,
  type PushableImage,
  REGISTRY_BINARY,
  type RunningRegistry,
  readOciLayout,
  startRegistry,
} from './registry.js';

const which = (b: string): boolean => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
const MISSING = [
  ...(process.getuid?.() === 0 ? [] : ['root']),
  ...(which('runc') ? [] : ['runc']),
  ...(existsSync('/bin/busybox') || existsSync('/usr/bin/busybox') ? [] : ['busybox-static']),
  ...(which('ip') ? [] : ['iproute2']),
  ...(existsSync(REGISTRY_BINARY) ? [] : ['docker-registry']),
  ...(HAVE_KUBECTL ? [] : ['kubectl']),
];
const SKIP = MISSING.length > 0;
if (SKIP) console.log(`skipping registry pull e2e tests: needs ${MISSING.join(', ')}`);

const NS = 'reg';
const run = promisify(execFile);

interface Event {
  type: string;
  reason: string;
  message: string;
  involvedObject: { uid?: string };
}

function podYaml(name: string, image: string, policy: string, script: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${NS}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${image}
    imagePullPolicy: ${policy}
    command: [sh, -c, '${script}']
`;
}

describe.skipIf(SKIP)('image pulls from a registry on loopback (--runtime oci, docker-registry)', () => {
  let dir: string;
  let reg: RunningRegistry;
  let c: RunningCluster;
  let busybox: PushableImage;
  const timings: Record<string, number> = {};

  const repo = () => `${reg.host}/library/busybox`;
  const events = async (pod: string): Promise<Event[]> => {
    const out = await c.k([
      'get',
      'events',
      '-n',
      NS,
      '--field-selector',
      `involvedObject.name=${pod}`,
      '-o',
      'json',
    ]);
    return (JSON.parse(out) as { items: Event[] }).items;
  };
  /** Messages of `pod`'s events with `reason` (only the incarnation `uid`, when given). */
  const messages = async (pod: string, reason: string, uid?: string): Promise<string[]> =>
    (await events(pod))
      .filter((e) => e.reason === reason && (uid === undefined || e.involvedObject.uid === uid))
      .map((e) => e.message);
  /** Events are written asynchronously: waits until `pod` has events with `reason` matching `want`. */
  const messagesWhen = (pod: string, reason: string, want: (m: string[]) => boolean, uid?: string) =>
    eventually(async () => {
      const m = await messages(pod, reason, uid);
      return want(m) ? m : false;
    }, 15_000);
  const jsonpath = (pod: string, path: string) =>
    c.k(['get', 'pod', '-n', NS, pod, '-o', `jsonpath={${path}}`]);
  const waitRunning = (pod: string, ms = 60_000) =>
    eventually(async () => (await jsonpath(pod, '.status.phase')) === 'Running', ms, 200);
  const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings[label] = Date.now() - t0;
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ordinal-registry-e2e-'));
    const out = join(dir, 'images');
    execFileSync(
      process.execPath,
      [join(ROOT, 'dist/scripts/build-images.js'), '--out', out, '--only', 'busybox'],
      { stdio: 'pipe' },
    );
    busybox = await readOciLayout(join(out, 'busybox.tar'), dir);
    reg = await startRegistry(join(dir, 'registry'));
    await reg.pushImage('library/busybox', '1.35', busybox);
    c = await startOrdinal(['--store', 'memory', '--runtime', 'oci']);
    await c.k(['create', 'ns', NS]);
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
    await reg?.stop();
    cleanup(c);
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`registry e2e timings (ms): ${JSON.stringify(timings)}`);
  });

  it('pulls an IfNotPresent image once, with upstream Pulling/Pulled events, and lists it', async () => {
    const image = `${repo()}:1.35`;
    await c.k(['apply', '-f', '-'], { input: podYaml('first', image, 'IfNotPresent', 'exec sleep 3600') });
    await timed('ifNotPresent: create → Running', () => waitRunning('first'));
    expect(await messagesWhen('first', 'Pulling', (m) => m.length > 0)).toEqual([`Pulling image "${image}"`]);
    const pulled = await messagesWhen('first', 'Pulled', (m) => m.length > 0);
    expect(pulled).toHaveLength(1);
    const dur = String.raw`\d+(\.\d+)?(ns|µs|ms|s|m\d+(\.\d+)?s)`;
    expect(pulled[0]).toMatch(
      new RegExp(
        `^Successfully pulled image "${image.replace(/\./g, '\\.')}" in ${dur} \\(${dur} including waiting\\)\\. Image size: [1-9]\\d* bytes\\.$`,
      ),
    );
    expect(await jsonpath('first', '.status.containerStatuses[0].imageID')).toBe(
      `${repo()}@${digestOf(busybox.manifest)}`,
    );

    // `ordinal images ls` on the node's data dir shows the pulled image.
    const { stdout } = await run(process.execPath, [
      join(ROOT, 'bin/ordinal.js'),
      'images',
      '--data-dir',
      join(c.dir, 'data'),
      'ls',
    ]);
    const id = digestOf(busybox.config).slice(7, 20);
    expect(stdout).toMatch(new RegExp(`${repo().replace(/\./g, '\\.')}\\s+1\\.35\\s+${id}\\s`));

    // A second pod finds it present and pulls nothing.
    await c.k(['apply', '-f', '-'], { input: podYaml('second', image, 'IfNotPresent', 'exec sleep 3600') });
    await waitRunning('second');
    expect(await messagesWhen('second', 'Pulled', (m) => m.length > 0)).toEqual([
      `Container image "${image}" already present on machine`,
    ]);
    expect(await messages('second', 'Pulling')).toEqual([]);
    await c.k(['delete', 'pod', '-n', NS, 'first', 'second', '--wait=false']);
  }, 120_000);

  it('pulls through an image index, choosing the manifest for this platform', async () => {
    const other = hostArchitecture() === 'amd64' ? 'arm64' : 'amd64';
    const foreign = foreignImage(other);
    await reg.pushImage('library/busybox', undefined, foreign);
    await reg.pushImage('library/busybox', undefined, busybox);
    // The foreign entry comes first: taking it would leave a rootfs without a shell.
    const indexDigest = await reg.pushIndex('library/busybox', 'multi', [
      manifestDescriptor(foreign),
      manifestDescriptor(busybox),
    ]);
    const image = `${repo()}:multi`;
    await c.k(['apply', '-f', '-'], {
      input: podYaml('multi', image, 'IfNotPresent', 'echo arch=$(uname -m); exec sleep 3600'),
    });
    await timed('index: create → Running', () => waitRunning('multi'));
    expect(await c.k(['logs', '-n', NS, 'multi'])).toMatch(/^arch=/);
    const imageID = await jsonpath('multi', '.status.containerStatuses[0].imageID');
    // containerd reports the digest the tag resolved to (the index: what `docker pull` prints).
    expect(imageID).toBe(`${repo()}@${indexDigest}`);
    await c.k(['delete', 'pod', '-n', NS, 'multi', '--wait=false']);
  }, 120_000);

  it('shows ErrImagePull then ImagePullBackOff for a missing tag, and starts once the tag is pushed', async () => {
    const image = `${repo()}:late`;
    const kubectl = kubectlPath('1.33') as string;
    const statuses: string[] = [];
    const watch: ChildProcess = spawn(
      kubectl,
      ['--kubeconfig', c.kubeconfig, 'get', 'pods', '-n', NS, '--field-selector=metadata.name=late', '-w'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let buf = '';
    watch.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const cols = l.trim().split(/\s+/);
        if (cols[0] === 'late' && cols[2]) statuses.push(cols[2]);
      }
    });
    try {
      await c.k(['apply', '-f', '-'], { input: podYaml('late', image, 'IfNotPresent', 'exec sleep 3600') });
      await timed('missing tag: create → ImagePullBackOff', () =>
        eventually(async () => statuses.includes('ImagePullBackOff'), 60_000, 100),
      );
      const firstErr = statuses.indexOf('ErrImagePull');
      expect(firstErr).toBeGreaterThanOrEqual(0);
      expect(firstErr).toBeLessThan(statuses.indexOf('ImagePullBackOff'));

      const failed = await messagesWhen('late', 'Failed', (m) => m.includes('Error: ImagePullBackOff'));
      const pullFailure = `failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;
      expect(failed).toContain(
        `Failed to pull image "${image}": rpc error: code = NotFound desc = ${pullFailure}`,
      );
      expect(failed).toContain('Error: ErrImagePull');
      expect(failed).toContain('Error: ImagePullBackOff');
      expect(await messagesWhen('late', 'BackOff', (m) => m.length > 0)).toContain(
        `Back-off pulling image "${image}"`,
      );
      const waiting = JSON.parse(await jsonpath('late', '.status.containerStatuses[0].state.waiting')) as {
        reason: string;
        message: string;
      };
      expect(waiting.reason).toBe('ImagePullBackOff');
      expect(waiting.message).toBe(
        `Back-off pulling image "${image}": ErrImagePull: rpc error: code = NotFound desc = ${pullFailure}`,
      );

      // Publish the tag: the next attempt after the back-off succeeds.
      await reg.pushImage('library/busybox', 'late', busybox);
      await timed('missing tag: push → Running', () => waitRunning('late', 90_000));
      await eventually(async () => statuses.at(-1) === 'Running', 15_000);
      expect(await messagesWhen('late', 'Pulled', (m) => m.length > 0)).toHaveLength(1);
    } finally {
      watch.kill();
    }
    await c.k(['delete', 'pod', '-n', NS, 'late', '--wait=false']);
  }, 180_000);

  it('refuses to pull with imagePullPolicy Never (ErrImageNeverPull)', async () => {
    const image = `${repo()}:absent`;
    await c.k(['apply', '-f', '-'], { input: podYaml('never', image, 'Never', 'exec sleep 3600') });
    const want = `Container image "${image}" is not present with pull policy of Never`;
    await eventually(
      async () =>
        (await jsonpath('never', '.status.containerStatuses[0].state.waiting.reason')) ===
        'ErrImageNeverPull',
      60_000,
      200,
    );
    expect(await jsonpath('never', '.status.containerStatuses[0].state.waiting.message')).toBe(want);
    const row = await c.k(['get', 'pod', '-n', NS, 'never', '--no-headers']);
    expect(row.split(/\s+/)[2]).toBe('ErrImageNeverPull');
    const ev = await eventually(async () => {
      const found = (await events('never')).filter((e) => e.reason === 'ErrImageNeverPull');
      return found.length > 0 ? found : false;
    }, 15_000);
    expect(ev.map((e) => [e.type, e.message])).toContainEqual(['Warning', want]);
    expect(await messages('never', 'Pulling')).toEqual([]);
    await c.k(['delete', 'pod', '-n', NS, 'never', '--wait=false']);
  }, 120_000);

  it('re-resolves the tag with imagePullPolicy Always: a new pod runs the newly pushed digest', async () => {
    const image = `${repo()}:rolling`;
    const v1 = addLayer(busybox, [
      { path: 'etc/', type: 'dir' },
      { path: 'etc/variant', data: 'one\n' },
    ]);
    const v2 = addLayer(busybox, [
      { path: 'etc/', type: 'dir' },
      { path: 'etc/variant', data: 'two\n' },
    ]);
    const pod = podYaml('always', image, 'Always', 'echo variant=$(cat /etc/variant); exec sleep 3600');
    await reg.pushImage('library/busybox', 'rolling', v1);
    await c.k(['apply', '-f', '-'], { input: pod });
    await waitRunning('always');
    expect(await c.k(['logs', '-n', NS, 'always'])).toContain('variant=one');
    expect(await jsonpath('always', '.status.containerStatuses[0].imageID')).toBe(
      `${repo()}@${digestOf(v1.manifest)}`,
    );

    await reg.pushImage('library/busybox', 'rolling', v2);
    await c.k(['delete', 'pod', '-n', NS, 'always', '--wait=true']);
    await c.k(['apply', '-f', '-'], { input: pod });
    await timed('always: recreate → Running', () => waitRunning('always'));
    expect(await c.k(['logs', '-n', NS, 'always'])).toContain('variant=two');
    expect(await jsonpath('always', '.status.containerStatuses[0].imageID')).toBe(
      `${repo()}@${digestOf(v2.manifest)}`,
    );
    // Present locally, pulled again all the same.
    const uid = await jsonpath('always', '.metadata.uid');
    expect(await messagesWhen('always', 'Pulling', (m) => m.length > 0, uid)).toEqual([
      `Pulling image "${image}"`,
    ]);
    await c.k(['delete', 'pod', '-n', NS, 'always', '--wait=false']);
  }, 120_000);
});
