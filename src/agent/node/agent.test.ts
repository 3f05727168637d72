/**
 * The real node agent against an in-process cluster (all controllers, no sim nodes) with busybox pods on
 * runc. Needs root, runc, busybox-static and iproute2 (CI installs them; skipped elsewhere).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster, waitFor } from '../../../test/integration/harness.js';
import { type Json, list, rec } from '../../api/json.js';
import type { KObject } from '../../api/types.js';
import { EVENTS } from '../../controllers/events.js';
import { NODES, PODS, STATEFULSETS } from '../../controllers/util/resources.js';
import { ImageService } from '../images/index.js';
import { mountsUnder } from '../oci/rootfs.js';
import { cgroupDirs } from '../oci/runtime.js';
import { type OciNode, startOciNode } from './agent.js';
import { readContainerLog } from './logs.js';
import {
  busyboxContainer,
  containerStatus,
  podStatus,
  realAgentSkipReason,
  TEST_IMAGE,
  testPod,
} from './testing.js';

const skipReason = realAgentSkipReason('real node agent tests');

const _IMAGE = TEST_IMAGE;
const BRIDGE = `ordn${process.pid % 100000}`;
const CIDR = `10.252.${process.pid % 200}.0/24`;
const NET = CIDR.split('.').slice(0, 3).join('.');
const NODE = 'oci-0';
const DNS = '10.96.0.10';

const pod = (name: string, spec: Json): KObject => testPod(name, spec);
const busybox = busyboxContainer;
const status = podStatus;
const mainStatus = (p: KObject | undefined): Json => containerStatus(p);

describe.skipIf(skipReason !== '')(`real node agent on runc ${skipReason}`, () => {
  let cluster: TestCluster;
  let node: OciNode;
  let dir: string;
  let ns: string;
  let uids: string[] = [];

  const get = (name: string, namespace = ns) =>
    cluster.client.get(PODS, namespace, name).catch(() => undefined);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ordinal-node-'));
    const out = join(dir, 'images');
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/build-images.ts', '--out', out, '--only', 'busybox'],
      {
        stdio: 'ignore',
      },
    );
    await ImageService.forDataDir(join(dir, 'agent')).importArchive(join(out, 'busybox.tar'));
    cluster = await startTestCluster({ nodes: 0, controllers: { dataDir: join(dir, 'controllers') } });
    node = await startOciNode(cluster.client, opts());
    ns = await cluster.namespace('oci');
  }, 60_000);

  const opts = () => ({
    nodeName: NODE,
    dataDir: join(dir, 'agent'),
    podCidr: CIDR,
    dnsServer: DNS,
    logDir: join(dir, 'logs'),
    bridge: BRIDGE,
    cgroupParent: `ordinal-node-test-${process.pid}`,
    crashBackoffMs: 1_000,
    imageBackoffMs: 1_000,
    heartbeatMs: 1_000,
    exitPollMs: 100,
    shutdownGraceMs: 1_000,
    onError: (e: unknown) => console.error('agent:', e),
  });

  afterAll(async () => {
    await node?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('registers the Node with host capacity, runc runtime version, pod CIDR and a Lease', async () => {
    const n = await cluster.client.get(NODES, undefined, NODE);
    expect(rec(n.spec).podCIDR).toBe(CIDR);
    const st = rec(n.status);
    expect(rec(st.nodeInfo).containerRuntimeVersion).toMatch(/^runc:\/\/\d/);
    expect(Number(rec(st.capacity).cpu)).toBeGreaterThan(0);
    expect(rec(st.capacity).memory).toMatch(/^\d+Ki$/);
    const ready = list(st.conditions).find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('True');
    expect(n.metadata.labels?.['kubernetes.io/hostname']).toBe(NODE);
    const lease = await cluster.client.get(
      { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
      'kube-node-lease',
      NODE,
    );
    expect(rec(lease.spec).holderIdentity).toBe(NODE);
  });

  it('runs a busybox pod to Running/Ready with a pod IP, logs, hosts/resolv.conf and env', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('web', {
        hostname: 'web',
        subdomain: 'svc1',
        containers: [
          busybox('main', 'hostname; echo hello; echo "ip=$MY_IP ns=$MY_NS node=$MY_NODE"; sleep 3600', {
            env: [
              { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'MY_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            ],
          }),
        ],
      }),
    );
    const p = await waitFor(
      async () => {
        const x = await get('web');
        const ready = list(status(x).conditions).find((c) => c.type === 'Ready');
        return status(x).phase === 'Running' && ready?.status === 'True' ? x : undefined;
      },
      30_000,
      'pod web Running and Ready',
      () => JSON.stringify(status(undefined)),
    );
    uids.push(p?.metadata.uid ?? '');
    const st = status(p);
    expect(String(st.podIP)).toMatch(new RegExp(`^${NET.replace(/\./g, '\\.')}\\.\\d+$`));
    const cs = mainStatus(p);
    expect(cs.containerID).toMatch(/^runc:\/\//);
    expect(cs.ready).toBe(true);
    expect(cs.restartCount).toBe(0);
    expect(cs.imageID).toMatch(/^ordinal\.local\/busybox@sha256:[0-9a-f]{64}$/);
    expect(rec(rec(cs.state).running).startedAt).toBeTypeOf('string');
    expect(st.startTime).toBeTypeOf('string');
    const log = await waitFor(async () => {
      const l = await readContainerLog(node.logDir, ns, 'web', 'main').catch(() => '');
      return l.includes('ip=') ? l : undefined;
    });
    expect(log.split('\n')[0]).toBe('web');
    expect(log).toContain('hello\n');
    expect(log).toContain(`ip=${String(st.podIP)} ns=${ns} node=${NODE}`);
    expect(await readContainerLog(node.logDir, ns, 'web', 'main', { tailLines: 1 })).toMatch(/^ip=/);
    expect(await readContainerLog(node.logDir, ns, 'web', 'main', { timestamps: true })).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z web\n/,
    );
    const id = node.containerId(ns, 'web', 'main');
    expect(id).toBeDefined();
    const resolv = await node.runtime.exec(id ?? '', ['cat', '/etc/resolv.conf']);
    expect(resolv.stdout).toBe(
      `nameserver ${DNS}\nsearch ${ns}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
    );
    const hosts = await node.runtime.exec(id ?? '', ['cat', '/etc/hosts']);
    expect(hosts.stdout).toContain(`${String(st.podIP)}\tweb.svc1.${ns}.svc.cluster.local\tweb\n`);
    const ip = await node.runtime.exec(id ?? '', ['ip', '-4', 'addr', 'show', 'eth0']);
    expect(ip.stdout).toContain(String(st.podIP));
  }, 40_000);

  it('a container exiting 1 with restartPolicy Never fails the pod', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('fail', { restartPolicy: 'Never', containers: [busybox('main', 'echo bye; exit 1')] }),
    );
    const p = await waitFor(
      async () => {
        const x = await get('fail');
        return status(x).phase === 'Failed' ? x : undefined;
      },
      20_000,
      'pod fail Failed',
    );
    const t = rec(rec(mainStatus(p).state).terminated);
    expect(t.exitCode).toBe(1);
    expect(t.reason).toBe('Error');
    expect(t.containerID).toMatch(/^runc:\/\//);
    expect(await readContainerLog(node.logDir, ns, 'fail', 'main')).toBe('bye\n');
  }, 30_000);

  it('restartPolicy Always restarts with CrashLoopBackOff and a growing restartCount', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('crash', { containers: [busybox('main', 'echo run; exit 3')] }),
    );
    const seen = new Set<string>();
    const p = await waitFor(
      async () => {
        const x = await get('crash');
        const cs = mainStatus(x);
        const w = rec(rec(cs.state).waiting);
        if (typeof w.reason === 'string') seen.add(w.reason);
        return Number(cs.restartCount) >= 2 && seen.has('CrashLoopBackOff') ? x : undefined;
      },
      30_000,
      'CrashLoopBackOff and restartCount >= 2',
    );
    const cs = mainStatus(p);
    expect(rec(rec(cs.lastState).terminated).exitCode).toBe(3);
    expect(status(p).phase).toBe('Running');
    expect(await readContainerLog(node.logDir, ns, 'crash', 'main', { previous: true })).toBe('run\n');
    const evs = await cluster.client.list(EVENTS, ns);
    expect(
      evs.items.some(
        (e) =>
          e.reason === 'BackOff' && String(e.message).startsWith('Back-off restarting failed container main'),
      ),
    ).toBe(true);
    await cluster.client.delete(PODS, ns, 'crash');
    await waitFor(async () => !(await get('crash')), 20_000, 'pod crash gone');
  }, 40_000);

  it('reports ErrImagePull then ImagePullBackOff for an image that cannot be pulled', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('nopull', { containers: [{ name: 'main', image: '127.0.0.1:1/nothing:1' }] }),
    );
    const reasons = new Set<string>();
    await waitFor(
      async () => {
        const w = rec(rec(mainStatus(await get('nopull')).state).waiting);
        if (typeof w.reason === 'string') reasons.add(w.reason);
        return reasons.has('ErrImagePull') && reasons.has('ImagePullBackOff');
      },
      20_000,
      'ErrImagePull and ImagePullBackOff',
      () => [...reasons].join(','),
    );
    const evs = await cluster.client.list(EVENTS, ns);
    expect(
      evs.items.some(
        (e) =>
          e.reason === 'Failed' &&
          String(e.message).startsWith('Failed to pull image "127.0.0.1:1/nothing:1"'),
      ),
    ).toBe(true);
    expect(
      evs.items.some(
        (e) => e.reason === 'BackOff' && e.message === 'Back-off pulling image "127.0.0.1:1/nothing:1"',
      ),
    ).toBe(true);
    await cluster.client.delete(PODS, ns, 'nopull');
    await waitFor(async () => !(await get('nopull')), 20_000, 'pod nopull gone');
  }, 30_000);

  it('graceful deletion stops the container, removes the sandbox and deletes the pod', async () => {
    const before = await get('web');
    const uid = before?.metadata.uid ?? '';
    const id = node.containerId(ns, 'web', 'main') ?? '';
    expect((await node.runtime.state(id)).status).toBe('running');
    await cluster.client.delete(PODS, ns, 'web');
    await waitFor(async () => !(await get('web')), 20_000, 'pod web gone');
    expect(existsSync(node.runtime.podDir(uid))).toBe(false);
    expect((await node.runtime.runtimeContainers()).filter((c) => c.podUid === uid)).toEqual([]);
    expect(existsSync(`/run/netns/ordinal-${uid.replace(/-/g, '').slice(0, 8)}`)).toBe(false);
  }, 30_000);

  it('runs a StatefulSet with volumeClaimTemplates: per-pod hostnames and volumes that survive', async () => {
    await cluster.client.create(STATEFULSETS, ns, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'demo' },
      spec: {
        serviceName: 'demo',
        replicas: 2,
        selector: { matchLabels: { app: 'demo' } },
        template: {
          metadata: { labels: { app: 'demo' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              busybox('main', 'hostname; ls /data; sleep 3600', {
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              }),
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    });
    const readyPod = (name: string, notUid?: string) =>
      waitFor(
        async () => {
          const x = await get(name);
          const ready = list(status(x).conditions).find((c) => c.type === 'Ready');
          return x && x.metadata.uid !== notUid && ready?.status === 'True' ? x : undefined;
        },
        30_000,
        `${name} ready`,
      );
    const d0 = await readyPod('demo-0');
    await readyPod('demo-1');
    for (const name of ['demo-0', 'demo-1']) {
      const l = await waitFor(async () => {
        const t = await readContainerLog(node.logDir, ns, name, 'main').catch(() => '');
        return t ? t : undefined;
      });
      expect(l.split('\n')[0]).toBe(name);
    }
    const id0 = node.containerId(ns, 'demo-0', 'main') ?? '';
    const id1 = node.containerId(ns, 'demo-1', 'main') ?? '';
    const w = await node.runtime.exec(id0, ['sh', '-c', 'echo kept > /data/marker && cat /data/marker']);
    expect(w.stdout).toBe('kept\n');
    const r1 = await node.runtime.exec(id1, ['cat', '/data/marker']);
    expect(r1.exitCode).not.toBe(0);
    await cluster.client.delete(PODS, ns, 'demo-0');
    const again = await readyPod('demo-0', d0.metadata.uid);
    expect(again.metadata.uid).not.toBe(d0.metadata.uid);
    const id0b = node.containerId(ns, 'demo-0', 'main') ?? '';
    const r0 = await node.runtime.exec(id0b, ['cat', '/data/marker']);
    expect(r0.stdout).toBe('kept\n');
    uids = [again.metadata.uid ?? ''];
  }, 60_000);

  it('runs init containers in order, then the container, with emptyDir, configMap volume and env', async () => {
    await cluster.client.create({ group: '', version: 'v1', resource: 'configmaps' }, ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { greeting: 'hello-cfg', mode: 'fast' },
    });
    const work = { name: 'work', mountPath: '/work' };
    await cluster.client.create(
      PODS,
      ns,
      pod('init', {
        volumes: [
          { name: 'work', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'settings' } },
        ],
        initContainers: [
          busybox('i1', 'echo one > /work/order', { volumeMounts: [work] }),
          busybox('i2', 'echo two >> /work/order', { volumeMounts: [work] }),
        ],
        containers: [
          busybox('main', 'cat /work/order /cfg/greeting; echo; echo "mode=$MODE"; sleep 3600', {
            volumeMounts: [work, { name: 'cfg', mountPath: '/cfg', readOnly: true }],
            env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } }],
          }),
        ],
      }),
    );
    const p = await waitFor(
      async () => {
        const x = await get('init');
        return status(x).phase === 'Running' && mainStatus(x).ready === true ? x : undefined;
      },
      30_000,
      'pod init running',
    );
    const inits = list(status(p).initContainerStatuses);
    expect(
      inits.map((c) => [c.name, rec(rec(c.state).terminated).reason, rec(rec(c.state).terminated).exitCode]),
    ).toEqual([
      ['i1', 'Completed', 0],
      ['i2', 'Completed', 0],
    ]);
    expect(list(status(p).conditions).find((c) => c.type === 'Initialized')?.status).toBe('True');
    const log = await waitFor(async () => {
      const l = await node.readContainerLog(ns, 'init', 'main').catch(() => '');
      return l.includes('mode=') ? l : undefined;
    });
    expect(log).toBe('one\ntwo\nhello-cfg\nmode=fast\n');
    const ac = new AbortController();
    for await (const chunk of node.followContainerLog(ns, 'init', 'main', {
      signal: ac.signal,
      tailLines: 1,
    })) {
      expect(chunk).toBe('mode=fast\n');
      ac.abort();
    }
    await cluster.client.delete(PODS, ns, 'init', { gracePeriodSeconds: 0 });
  }, 40_000);

  it('restartPolicy OnFailure: a container exiting 0 completes the pod and its sandbox goes', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('done', { restartPolicy: 'OnFailure', containers: [busybox('main', 'exit 0')] }),
    );
    const p = await waitFor(
      async () => {
        const x = await get('done');
        return status(x).phase === 'Succeeded' ? x : undefined;
      },
      20_000,
      'pod done Succeeded',
    );
    expect(rec(rec(mainStatus(p).state).terminated).reason).toBe('Completed');
    expect(mainStatus(p).restartCount).toBe(0);
    await waitFor(() => !existsSync(node.runtime.podDir(p.metadata.uid ?? '')), 10_000, 'sandbox removed');
  }, 30_000);

  it('exec readiness and liveness probes drive Ready and restarts', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('probed', {
        containers: [
          busybox('main', 'sleep 3600', {
            readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 },
            livenessProbe: {
              exec: { command: ['sh', '-c', 'test ! -f /tmp/die'] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          }),
        ],
      }),
    );
    const readyIs = (want: string) =>
      waitFor(
        async () => {
          const x = await get('probed');
          const c = list(status(x).conditions).find((k) => k.type === 'Ready');
          return status(x).phase === 'Running' && c?.status === want ? x : undefined;
        },
        20_000,
        `probed Ready=${want}`,
      );
    await readyIs('False');
    const evs = await waitFor(async () => {
      const l = await cluster.client.list(EVENTS, ns);
      return l.items.some(
        (e) => e.reason === 'Unhealthy' && String(e.message).startsWith('Readiness probe failed:'),
      );
    });
    expect(evs).toBe(true);
    const id = node.containerId(ns, 'probed', 'main') ?? '';
    await node.runtime.exec(id, ['touch', '/tmp/ready']);
    const ready = await readyIs('True');
    expect(mainStatus(ready).ready).toBe(true);
    await node.runtime.exec(id, ['touch', '/tmp/die']);
    const restarted = await waitFor(
      async () => {
        const x = await get('probed');
        return Number(mainStatus(x).restartCount) >= 1 ? x : undefined;
      },
      20_000,
      'liveness restart',
    );
    expect(rec(rec(mainStatus(restarted).lastState).terminated).exitCode).toBe(137);
    await cluster.client.delete(PODS, ns, 'probed', { gracePeriodSeconds: 0 });
  }, 40_000);

  it('a restarted agent re-adopts running containers and cleans up those of deleted pods', async () => {
    await cluster.client.create(
      PODS,
      ns,
      pod('keep', { containers: [busybox('main', 'echo up; sleep 3600')] }),
    );
    await cluster.client.create(PODS, ns, pod('gone', { containers: [busybox('main', 'sleep 3600')] }));
    const ready = (name: string) =>
      waitFor(
        async () => {
          const x = await get(name);
          return list(status(x).conditions).some((c) => c.type === 'Ready' && c.status === 'True')
            ? x
            : undefined;
        },
        20_000,
        `${name} ready`,
      );
    const keep = await ready('keep');
    const gone = await ready('gone');
    const keepId = String(mainStatus(keep).containerID);
    const goneUid = gone.metadata.uid ?? '';
    await node.detach();
    // While no agent runs, one pod is force-deleted.
    await cluster.client.delete(PODS, ns, 'gone', { gracePeriodSeconds: 0 });
    expect((await node.runtime.state(keepId.slice('runc://'.length))).status).toBe('running');
    node = await startOciNode(cluster.client, opts());
    await waitFor(async () => !existsSync(node.runtime.podDir(goneUid)), 20_000, 'gone pod cleaned up');
    expect(existsSync(`/run/netns/ordinal-${goneUid.replace(/-/g, '').slice(0, 8)}`)).toBe(false);
    const after = await get('keep');
    expect(status(after).phase).toBe('Running');
    expect(mainStatus(after).containerID).toBe(keepId);
    expect(mainStatus(after).restartCount).toBe(0);
    expect(node.containerId(ns, 'keep', 'main')).toBe(keepId.slice('runc://'.length));
    // The adopted container is still watched: its exit is noticed and it restarts.
    await node.runtime.kill(keepId.slice('runc://'.length), 0, 'SIGKILL');
    await waitFor(
      async () => Number(mainStatus(await get('keep')).restartCount) >= 1,
      20_000,
      'keep restarted',
    );
  }, 60_000);

  it('stop() leaves no containers, netns, veths, mounts or processes behind', async () => {
    const podUids = await node.runtime.listPods();
    expect(podUids.length).toBeGreaterThan(0);
    const stateDir = node.runtime.stateDir;
    await node.stop();
    expect(await node.runtime.listPods()).toEqual([]);
    expect(await node.runtime.runtimeContainers()).toEqual([]);
    expect(await mountsUnder(stateDir)).toEqual([]);
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    for (const uid of [...podUids, ...uids]) {
      const u8 = uid.replace(/-/g, '').slice(0, 8);
      expect(netns).not.toContain(`ordinal-${u8}`);
      expect(links).not.toContain(`veth${u8}`);
    }
    expect(links).not.toContain(`${BRIDGE}:`);
    for (const d of await cgroupDirs(`/ordinal-node-test-${process.pid}`)) expect(existsSync(d)).toBe(false);
    // No supervisor or holder process of ours is left.
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.includes(stateDir)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  }, 30_000);
});
