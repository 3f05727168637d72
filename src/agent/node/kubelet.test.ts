import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster, waitFor } from '../../../test/integration/harness.js';
import { list, rec } from '../../api/json.js';
import type { KObject } from '../../api/types.js';
import { ServiceAccountTokens } from '../../apiserver/auth/sa-token.js';
import { EVENTS } from '../../controllers/events.js';
import { CONFIGMAPS, PODS } from '../../controllers/util/resources.js';
import { podStatusCells } from '../../registry/core/pods.js';
import { cgroupDirs } from '../oci/runtime.js';
import { type OciNode, startOciNode } from './agent.js';
import {
  busyboxContainer,
  containerStatus,
  importTestImage,
  podStatus,
  realAgentSkipReason,
  SLEEPER,
  testPod,
} from './testing.js';

const skipReason = realAgentSkipReason('kubelet feature tests');

const BRIDGE = `ordk${process.pid % 100000}`;
const CIDR = `10.251.${process.pid % 200}.0/24`;
const NODE = 'oci-k';
const CA = '-----BEGIN CERTIFICATE-----\ntest-ca\n-----END CERTIFICATE-----\n';

const pod = testPod;
const busybox = busyboxContainer;
const status = podStatus;
const cstatus = containerStatus;

describe.skipIf(skipReason !== '')(`kubelet features on runc ${skipReason}`, () => {
  let cluster: TestCluster;
  let node: OciNode;
  let dir: string;
  let ns: string;
  let tokens: ServiceAccountTokens;

  const get = (name: string) => cluster.client.get(PODS, ns, name).catch(() => undefined);
  const exec = async (podName: string, argv: string[], container = 'main') =>
    node.runtime.exec(node.containerId(ns, podName, container) ?? '', argv);
  const events = async (reason: string) =>
    (await cluster.client.list(EVENTS, ns)).items
      .filter((e) => e.reason === reason)
      .map((e) => String(e.message));
  const running = (name: string, timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const x = await get(name);
        return status(x).phase === 'Running' && cstatus(x).ready === true ? x : undefined;
      },
      timeoutMs,
      `${name} running and ready`,
      () => '',
    );
  const column = async (name: string) => podStatusCells((await get(name)) as KObject, new Date()).status;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ordinal-kubelet-'));
    await importTestImage(dir, join(dir, 'agent'));
    cluster = await startTestCluster({
      nodes: 0,
      controllers: { dataDir: join(dir, 'controllers'), caPem: CA },
    });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    tokens = new ServiceAccountTokens(String(key));
    node = await startOciNode(cluster.client, {
      nodeName: NODE,
      dataDir: join(dir, 'agent'),
      podCidr: CIDR,
      logDir: join(dir, 'logs'),
      bridge: BRIDGE,
      cgroupParent: `ordinal-kubelet-test-${process.pid}`,
      crashBackoffMs: 1_000,
      imageBackoffMs: 1_000,
      heartbeatMs: 1_000,
      exitPollMs: 100,
      volumeSyncMs: 300,
      shutdownGraceMs: 1_000,
      onError: (e: unknown) => console.error('agent:', e),
      // What POST serviceaccounts/<sa>/token answers (the in-process client has no subresource route).
      async requestToken(namespace, sa, req) {
        const spec = rec(req.spec);
        const audiences = Array.isArray(spec.audiences)
          ? spec.audiences.map(String)
          : ['https://kubernetes.default.svc.cluster.local'];
        const t = tokens.issue({
          namespace,
          name: sa,
          uid: 'sa-uid',
          audiences,
          expirationSeconds: Number(spec.expirationSeconds ?? 3600),
          now: new Date(),
        });
        return { ...req, status: { token: t.token, expirationTimestamp: t.expiration } };
      },
    });
    ns = await cluster.namespace('kubelet');
  }, 90_000);

  afterAll(async () => {
    await node?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('startupProbe: started/ready stay false until it passes; readiness only runs after it', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('slow', {
        containers: [
          busybox('main', SLEEPER, {
            startupProbe: {
              exec: { command: ['test', '-f', '/tmp/up'] },
              periodSeconds: 1,
              failureThreshold: 60,
            },
            readinessProbe: { exec: { command: ['sh', '-c', 'touch /tmp/readiness-ran'] }, periodSeconds: 1 },
          }),
        ],
      }),
    );
    await waitFor(async () => status(await get('slow')).phase === 'Running', 20_000, 'slow running');
    await new Promise((r) => setTimeout(r, 1_500));
    const before = await get('slow');
    expect(cstatus(before).started).toBe(false);
    expect(cstatus(before).ready).toBe(false);
    expect((await exec('slow', ['test', '-f', '/tmp/readiness-ran'])).exitCode).not.toBe(0);
    expect((await events('Unhealthy')).some((m) => m.startsWith('Startup probe failed:'))).toBe(true);
    await exec('slow', ['touch', '/tmp/up']);
    const after = await running('slow');
    expect(cstatus(after).started).toBe(true);
    expect((await exec('slow', ['test', '-f', '/tmp/readiness-ran'])).exitCode).toBe(0);
    await cluster.client.delete(PODS, ns, 'slow', { gracePeriodSeconds: 0 });
  }, 40_000);

  it('a failing startupProbe restarts the container with the kubelet events', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('nostart', {
        containers: [
          busybox('main', SLEEPER, {
            startupProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2 },
          }),
        ],
      }),
    );
    const p = await waitFor(
      async () => {
        const x = await get('nostart');
        return Number(cstatus(x).restartCount) >= 1 ? x : undefined;
      },
      30_000,
      'nostart restarted',
    );
    expect(cstatus(p).started).toBe(false);
    expect(await events('Killing')).toContain('Container main failed startup probe, will be restarted');
    await cluster.client.delete(PODS, ns, 'nostart', { gracePeriodSeconds: 0 });
  }, 40_000);

  it('postStart runs before the container counts as running; preStop runs before the stop signal', async () => {
    const host = join(dir, 'hooks');
    await mkdir(host, { recursive: true });
    await cluster.client.create(
      PODS,
      ns,
      pod('hooks', {
        volumes: [{ name: 'host', hostPath: { path: host } }],
        containers: [
          busybox(
            'main',
            "trap 'test -f /host/prestop && echo prestop-first > /host/order; exit 0' TERM; while true; do sleep 0.1; done",
            {
              volumeMounts: [{ name: 'host', mountPath: '/host' }],
              lifecycle: {
                postStart: { exec: { command: ['sh', '-c', 'sleep 1; echo started > /tmp/poststart'] } },
                preStop: { exec: { command: ['sh', '-c', 'echo bye > /host/prestop'] } },
              },
            },
          ),
        ],
      }),
    );
    await running('hooks');
    expect((await exec('hooks', ['cat', '/tmp/poststart'])).stdout).toBe('started\n');
    await cluster.client.delete(PODS, ns, 'hooks');
    await waitFor(async () => !(await get('hooks')), 20_000, 'hooks deleted');
    expect(readFileSync(join(host, 'prestop'), 'utf8')).toBe('bye\n');
    expect(readFileSync(join(host, 'order'), 'utf8')).toBe('prestop-first\n');
  }, 40_000);

  it('a failing postStart (httpGet refused) kills the container: FailedPostStartHook; preStop failures are events', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('badhook', {
        restartPolicy: 'Never',
        containers: [
          busybox('main', SLEEPER, {
            lifecycle: {
              postStart: { httpGet: { path: '/ready', port: 1 } },
              preStop: { exec: { command: ['sh', '-c', 'exit 7'] } },
            },
          }),
        ],
      }),
    );
    const p = await waitFor(
      async () => {
        const x = await get('badhook');
        return rec(cstatus(x).state).terminated ? x : undefined;
      },
      20_000,
      'badhook terminated',
    );
    expect(await events('FailedPostStartHook')).toEqual(['PostStartHook failed']);
    expect(await events('FailedPreStopHook')).toEqual(['PreStopHook failed']);
    expect(await events('Killing')).toContain('FailedPostStartHook');
    expect(cstatus(p).restartCount).toBe(0);
    await cluster.client.delete(PODS, ns, 'badhook', { gracePeriodSeconds: 0 });
  }, 30_000);

  it('downwardAPI, projected, configMap volumes: items, modes, readOnly, subPath(Expr), updates', async () => {
    await cluster.client.create(CONFIGMAPS, ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app' },
      data: { 'app.conf': 'v=1\n', other: 'o' },
    });
    await cluster.client.create(
      PODS,
      ns,
      pod(
        'vols',
        {
          serviceAccountName: 'default',
          volumes: [
            {
              name: 'info',
              downwardAPI: {
                defaultMode: 0o400,
                items: [
                  { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
                  { path: 'name', fieldRef: { fieldPath: 'metadata.name' }, mode: 0o644 },
                  {
                    path: 'mem',
                    resourceFieldRef: { containerName: 'main', resource: 'limits.memory', divisor: '1Mi' },
                  },
                ],
              },
            },
            {
              name: 'api',
              projected: {
                sources: [
                  { serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 3600 } },
                  { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                  {
                    downwardAPI: {
                      items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }],
                    },
                  },
                ],
              },
            },
            { name: 'cfg', configMap: { name: 'app', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
            { name: 'cfg-all', configMap: { name: 'app', defaultMode: 0o440 } },
            { name: 'scratch', emptyDir: {} },
          ],
          containers: [
            busybox('main', SLEEPER, {
              resources: { limits: { memory: '64Mi' } },
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              volumeMounts: [
                { name: 'info', mountPath: '/info' },
                { name: 'api', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
                { name: 'cfg', mountPath: '/cfg', readOnly: true },
                { name: 'cfg-all', mountPath: '/etc/other', subPath: 'other' },
                { name: 'scratch', mountPath: '/per-pod', subPathExpr: 'pods/$(POD_NAME)' },
              ],
            }),
          ],
        },
        { app: 'vols', tier: 'db' },
      ),
    );
    const p = await running('vols');
    const sh = async (script: string) => (await exec('vols', ['sh', '-c', script])).stdout;
    expect(await sh('cat /info/labels')).toBe('app="vols"\ntier="db"');
    expect(await sh('cat /info/name; echo; cat /info/mem')).toBe('vols\n64');
    expect(await sh('stat -L -c %a /info/labels /info/name')).toBe('400\n644\n');
    expect(await sh('ls -a /info | tr "\\n" " "')).toMatch(
      /^\. \.\. \.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\S+ \.\.data labels mem name $/,
    );
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    expect(await sh(`cat ${sa}/ca.crt`)).toBe(CA);
    expect(await sh(`cat ${sa}/namespace`)).toBe(ns);
    const claims = tokens.verify(await sh(`cat ${sa}/token`), new Date());
    expect(claims?.aud).toEqual(['vault']);
    expect(claims?.sub).toBe(`system:serviceaccount:${ns}:default`);
    expect(await sh('cat /cfg/conf/app.conf')).toBe('v=1\n');
    expect(await sh('cat /etc/other')).toBe('o');
    const write = await exec('vols', ['sh', '-c', 'echo x > /cfg/new']);
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toContain('Read-only file system');
    expect((await exec('vols', ['touch', `${sa}/x`])).exitCode).not.toBe(0);
    await sh('echo kept > /per-pod/file');
    const emptyDir = join(
      node.runtime.podDir(p.metadata.uid ?? ''),
      'volumes',
      'kubernetes.io~empty-dir',
      'scratch',
    );
    expect(readFileSync(join(emptyDir, 'pods', 'vols', 'file'), 'utf8')).toBe('kept\n');
    // Updates reach the files (not subPath mounts), as the kubelet's resync does.
    const cm = await cluster.client.get(CONFIGMAPS, ns, 'app');
    await cluster.client.update(CONFIGMAPS, ns, { ...cm, data: { 'app.conf': 'v=2\n', other: 'o2' } });
    await cluster.client.patch(PODS, ns, 'vols', 'merge', { metadata: { labels: { tier: 'cache' } } });
    await waitFor(async () => (await sh('cat /cfg/conf/app.conf')) === 'v=2\n', 10_000, 'configMap update');
    await waitFor(
      async () => (await sh('cat /info/labels')) === 'app="vols"\ntier="cache"',
      10_000,
      'labels update',
    );
    expect(await sh('cat /etc/other')).toBe('o');
    await cluster.client.delete(PODS, ns, 'vols', { gracePeriodSeconds: 0 });
  }, 60_000);

  it('securityContext: runAsUser/runAsGroup/fsGroup, readOnlyRootFilesystem, cgroup limits; runAsNonRoot', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('secure', {
        securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000 },
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
        ],
        containers: [
          busybox('main', SLEEPER, {
            securityContext: { readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            resources: { limits: { cpu: '500m', memory: '64Mi' } },
            volumeMounts: [
              { name: 'data', mountPath: '/data' },
              { name: 'shm', mountPath: '/dev/shm' },
            ],
          }),
        ],
      }),
    );
    await running('secure');
    const sh = async (script: string) => (await exec('secure', ['sh', '-c', script])).stdout;
    expect(await sh('id -u; id -g')).toBe('1000\n3000\n');
    expect((await sh('id -G')).trim().split(' ')).toContain('2000');
    expect(await sh('stat -c "%g %A" /data')).toBe('2000 drwxrwsrwx\n');
    expect(await sh('touch /data/f && stat -c %g /data/f')).toBe('2000\n');
    expect(await sh('grep " /dev/shm " /proc/mounts | cut -d" " -f3,4')).toMatch(/^tmpfs rw,.*size=8192k/);
    const ro = await exec('secure', ['touch', '/rootfile']);
    expect(ro.stderr).toContain('Read-only file system');
    const id = node.containerId(ns, 'secure', 'main') ?? '';
    const cg = (await node.runtime.state(id)).cgroupsPath;
    const dirs = await cgroupDirs(cg);
    const read = (file: string) =>
      dirs
        .map((d) => join(d, file))
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f, 'utf8').trim())[0];
    const mem = read('memory.max') ?? read('memory.limit_in_bytes');
    expect(mem).toBe(String(64 * 1024 * 1024));
    const cpu = read('cpu.max') ?? read('cpu.cfs_quota_us');
    expect(cpu?.split(' ')[0]).toBe('50000');

    await cluster.client.create(
      PODS,
      ns,
      pod('rootless', {
        containers: [busybox('main', SLEEPER, { securityContext: { runAsNonRoot: true } })],
      }),
    );
    const p = await waitFor(
      async () => {
        const w = rec(rec(cstatus(await get('rootless')).state).waiting);
        return w.reason === 'CreateContainerConfigError' ? w : undefined;
      },
      20_000,
      'rootless refused',
    );
    const rl = await get('rootless');
    expect(p.message).toBe(
      `container has runAsNonRoot and image will run as root (pod: "rootless_${ns}(${rl?.metadata.uid})", container: main)`,
    );
    await cluster.client.delete(PODS, ns, 'secure', { gracePeriodSeconds: 0 });
    await cluster.client.delete(PODS, ns, 'rootless', { gracePeriodSeconds: 0 });
  }, 40_000);

  it('STATUS column: Init:0/1, PodInitializing, CreateContainerConfigError, Completed, Error, OOMKilled', async () => {
    await cluster.client.create(CONFIGMAPS, ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'keys' },
      data: { a: '1' },
    });
    await cluster.client.create(
      PODS,
      ns,
      pod('initp', {
        initContainers: [busybox('wait', 'while [ ! -f /tmp/go ]; do sleep 0.1; done')],
        containers: [
          busybox('main', SLEEPER, {
            env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'keys', key: 'nope' } } }],
          }),
        ],
      }),
    );
    await waitFor(async () => (await column('initp')) === 'Init:0/1', 20_000, 'Init:0/1');
    const initializing = await get('initp');
    expect(rec(rec(cstatus(initializing).state).waiting).reason).toBe('PodInitializing');
    expect(list(status(initializing).initContainerStatuses)[0]?.started).toBe(true);
    await exec('initp', ['touch', '/tmp/go'], 'wait');
    await waitFor(
      async () => (await column('initp')) === 'CreateContainerConfigError',
      20_000,
      'config error',
    );
    const failed = await get('initp');
    expect(rec(rec(cstatus(failed).state).waiting).message).toBe(
      `couldn't find key nope in ConfigMap ${ns}/keys`,
    );
    expect(list(status(failed).initContainerStatuses)[0]?.ready).toBe(true);
    expect(await events('Failed')).toContain(`Error: couldn't find key nope in ConfigMap ${ns}/keys`);

    await cluster.client.create(
      PODS,
      ns,
      pod('ok', { restartPolicy: 'Never', containers: [busybox('main', 'exit 0')] }),
    );
    await cluster.client.create(
      PODS,
      ns,
      pod('bad', { restartPolicy: 'Never', containers: [busybox('main', 'exit 2')] }),
    );
    await cluster.client.create(
      PODS,
      ns,
      pod('oom', {
        restartPolicy: 'Never',
        containers: [
          busybox('main', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived; exit 1', {
            resources: { limits: { memory: '20Mi' } },
            terminationMessagePolicy: 'FallbackToLogsOnError',
          }),
        ],
      }),
    );
    await waitFor(async () => status(await get('ok')).phase === 'Succeeded', 20_000, 'ok Succeeded');
    expect(await column('ok')).toBe('Completed');
    const bad = await waitFor(
      async () => {
        const x = await get('bad');
        return status(x).phase === 'Failed' ? x : undefined;
      },
      20_000,
      'bad Failed',
    );
    expect(await column('bad')).toBe('Error');
    expect(rec(rec(cstatus(bad).state).terminated)).toMatchObject({ exitCode: 2, reason: 'Error' });
    const oom = await waitFor(
      async () => {
        const x = await get('oom');
        return status(x).phase === 'Failed' ? x : undefined;
      },
      30_000,
      'oom Failed',
    );
    expect(rec(rec(cstatus(oom).state).terminated)).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(await column('oom')).toBe('OOMKilled');
  }, 60_000);

  it('the termination message comes from /dev/termination-log', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('msg', {
        restartPolicy: 'Never',
        containers: [busybox('main', 'echo -n "all done" > /dev/termination-log; exit 3')],
      }),
    );
    const p = await waitFor(
      async () => {
        const x = await get('msg');
        return status(x).phase === 'Failed' ? x : undefined;
      },
      20_000,
      'msg Failed',
    );
    expect(rec(rec(cstatus(p).state).terminated)).toMatchObject({ exitCode: 3, message: 'all done' });
  }, 30_000);

  it('stop() leaves no containers or mounts (tmpfs volumes included) behind', async () => {
    const stateDir = node.runtime.stateDir;
    await node.stop();
    expect(await node.runtime.runtimeContainers()).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(stateDir);
  }, 30_000);
});
