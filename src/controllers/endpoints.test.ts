import { afterEach, describe, expect, it } from 'vitest';
import type { KObject } from '../api/types.js';
import { ManualClock } from '../client/workqueue.js';
import { type ApiEnv, apiEnv, headlessStatefulSet, pod, service, until } from './endpoint-test-helpers.js';
import {
  ANNOTATION_OVER_CAPACITY,
  ANNOTATION_TRIGGER_TIME,
  LABEL_HEADLESS,
  ServicePodIndex,
  ServiceSelectorIndex,
  servicesForPodUpdate,
  TriggerTimeTracker,
} from './endpoint-util.js';
import {
  computeSubsets,
  desiredEndpoints,
  type EndpointSubset,
  EndpointsController,
  repackSubsets,
  truncateSubsets,
} from './endpoints.js';
import { ENDPOINTS, PODS, SERVICES } from './util/resources.js';
import { SyncPacer } from './util/sync-pacer.js';

function ips(list: Array<{ ip: string }> | undefined): string[] {
  return (list ?? []).map((a) => a.ip);
}

describe('computeSubsets', () => {
  it('headless StatefulSet service: hostnames, ready in addresses, not ready in notReadyAddresses', () => {
    const svc = service({ name: 'db', headless: true, selector: { app: 'db' }, ports: [{ port: 5432 }] });
    const pods = [0, 1, 2].map((i) =>
      pod({
        name: `db-${i}`,
        labels: { app: 'db' },
        ip: `10.0.0.${i + 1}`,
        ready: i !== 2,
        hostname: `db-${i}`,
        subdomain: 'db',
        node: `node-${i}`,
      }),
    );
    const subsets = computeSubsets(svc, pods);
    expect(subsets).toEqual([
      {
        addresses: [
          {
            ip: '10.0.0.1',
            hostname: 'db-0',
            nodeName: 'node-0',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'db-0', uid: 'uid-db-0' },
          },
          {
            ip: '10.0.0.2',
            hostname: 'db-1',
            nodeName: 'node-1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'db-1', uid: 'uid-db-1' },
          },
        ],
        notReadyAddresses: [
          {
            ip: '10.0.0.3',
            hostname: 'db-2',
            nodeName: 'node-2',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'db-2', uid: 'uid-db-2' },
          },
        ],
        ports: [{ port: 5432, protocol: 'TCP' }],
      },
    ]);
  });

  it('publishNotReadyAddresses puts every pod (even terminating ones) in addresses', () => {
    const svc = service({ name: 'db', headless: true, publishNotReadyAddresses: true });
    const pods = [
      pod({ name: 'a', ip: '10.0.0.1', ready: false }),
      pod({ name: 'b', ip: '10.0.0.2', terminating: true }),
    ];
    const [ss] = computeSubsets(svc, pods);
    expect(ips(ss?.addresses)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(ss?.notReadyAddresses).toBeUndefined();
  });

  it('skips pods without IP, terminal pods and terminating pods; hostname only for the matching subdomain', () => {
    const svc = service({ name: 'web' });
    const pods = [
      pod({ name: 'noip' }),
      pod({ name: 'done', ip: '10.0.0.2', phase: 'Succeeded' }),
      pod({ name: 'failed', ip: '10.0.0.3', phase: 'Failed' }),
      pod({ name: 'going', ip: '10.0.0.4', terminating: true }),
      pod({ name: 'other-sub', ip: '10.0.0.5', hostname: 'h', subdomain: 'other' }),
    ];
    const subsets = computeSubsets(svc, pods);
    expect(subsets).toHaveLength(1);
    expect(subsets[0]?.addresses).toEqual([
      {
        ip: '10.0.0.5',
        nodeName: 'node-1',
        targetRef: { kind: 'Pod', namespace: 'default', name: 'other-sub', uid: 'uid-other-sub' },
      },
    ]);
  });

  it('resolves named target ports per pod and skips pods lacking the port', () => {
    const svc = service({
      name: 'web',
      ports: [
        { name: 'http', port: 80, targetPort: 'web' },
        { name: 'metrics', port: 9090, targetPort: 9090 },
      ],
    });
    const pods = [
      pod({ name: 'a', ip: '10.0.0.1', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod({ name: 'b', ip: '10.0.0.2', ports: [{ name: 'web', containerPort: 8081 }] }),
      pod({ name: 'c', ip: '10.0.0.3', ports: [] }),
      // Protocol must match too.
      pod({ name: 'd', ip: '10.0.0.4', ports: [{ name: 'web', containerPort: 8080, protocol: 'UDP' }] }),
    ];
    const subsets = computeSubsets(svc, pods);
    const summary = subsets.map((ss) => ({
      ips: ips(ss.addresses),
      ports: (ss.ports ?? []).map((p) => `${p.name}:${p.port}`),
    }));
    expect(summary).toEqual(
      expect.arrayContaining([
        { ips: ['10.0.0.1'], ports: ['http:8080'] },
        { ips: ['10.0.0.2'], ports: ['http:8081'] },
        { ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'], ports: ['metrics:9090'] },
      ]),
    );
    expect(summary).toHaveLength(3);
  });

  it('headless service without ports lists addresses only', () => {
    const svc = service({ name: 'h', headless: true, ports: [] });
    (svc.spec as Record<string, unknown>).ports = [];
    const subsets = computeSubsets(svc, [pod({ name: 'a', ip: '10.0.0.1' })]);
    expect(subsets).toEqual([
      {
        addresses: [
          {
            ip: '10.0.0.1',
            nodeName: 'node-1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' },
          },
        ],
      },
    ]);
  });

  it('uses the address of the service IP family', () => {
    const svc = service({ name: 'web' });
    (svc.spec as Record<string, unknown>).ipFamilies = ['IPv6'];
    const subsets = computeSubsets(svc, [
      pod({ name: 'a', ips: ['10.0.0.1', 'fd00::1'] }),
      pod({ name: 'b', ips: ['10.0.0.2'] }),
    ]);
    expect(subsets.flatMap((s) => ips(s.addresses))).toEqual(['fd00::1']);
  });
});

describe('repackSubsets', () => {
  const a = (ip: string) => ({ ip, targetRef: { kind: 'Pod', name: ip, uid: ip } });
  it('groups ports by identical address sets and dedupes addresses', () => {
    const p80 = { name: 'http', port: 80, protocol: 'TCP' };
    const p443 = { name: 'https', port: 443, protocol: 'TCP' };
    const input: EndpointSubset[] = [
      { addresses: [a('10.0.0.2')], ports: [p80] },
      { addresses: [a('10.0.0.1')], ports: [p80] },
      { addresses: [a('10.0.0.1')], ports: [p443] },
      { addresses: [a('10.0.0.2')], ports: [p443] },
      { addresses: [a('10.0.0.1')], ports: [p80] },
    ];
    expect(repackSubsets(input)).toEqual([{ addresses: [a('10.0.0.1'), a('10.0.0.2')], ports: [p80, p443] }]);
  });

  it('not ready on a port wins over ready', () => {
    const p = { port: 80, protocol: 'TCP' };
    const out = repackSubsets([
      { addresses: [a('10.0.0.1')], ports: [p] },
      { notReadyAddresses: [a('10.0.0.1')], ports: [p] },
    ]);
    expect(out).toEqual([{ notReadyAddresses: [a('10.0.0.1')], ports: [p] }]);
  });
});

describe('truncateSubsets', () => {
  const addrs = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ ip: `${prefix}.${i}` }));
  it('keeps everything up to the capacity', () => {
    const r = truncateSubsets([{ addresses: addrs('10.0.0', 5) }], 5);
    expect(r.truncated).toBe(false);
    expect(r.subsets[0]?.addresses).toHaveLength(5);
  });

  it('keeps ready addresses and trims not-ready ones first', () => {
    const r = truncateSubsets(
      [
        { addresses: addrs('10.0.0', 4), notReadyAddresses: addrs('10.0.1', 4) },
        { notReadyAddresses: addrs('10.0.2', 4) },
      ],
      10,
    );
    expect(r.truncated).toBe(true);
    expect(r.subsets[0]?.addresses).toHaveLength(4);
    // 6 not-ready slots split over 8 not-ready addresses in proportion (ceil 3, then the remaining 3).
    expect(r.subsets[0]?.notReadyAddresses).toHaveLength(3);
    expect(r.subsets[1]?.notReadyAddresses).toHaveLength(3);
  });

  it('drops all not-ready addresses when ready ones alone exceed the capacity', () => {
    const r = truncateSubsets(
      [
        { addresses: addrs('10.0.0', 8), notReadyAddresses: addrs('10.0.1', 2) },
        { addresses: addrs('10.0.2', 4) },
      ],
      6,
    );
    expect(r.subsets.map((s) => [s.addresses?.length ?? 0, s.notReadyAddresses?.length ?? 0])).toEqual([
      [4, 0],
      [2, 0],
    ]);
  });
});

describe('desiredEndpoints', () => {
  const svc = service({ name: 'web', labels: { team: 'a' } });
  const subsets: EndpointSubset[] = [
    { addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, protocol: 'TCP' }] },
  ];

  it('builds a new Endpoints with the service labels and trigger time', () => {
    const ep = desiredEndpoints(svc, undefined, subsets, Date.parse('2024-01-01T00:00:00Z'));
    expect(ep).toEqual({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name: 'web',
        namespace: 'default',
        labels: { team: 'a' },
        annotations: { [ANNOTATION_TRIGGER_TIME]: '2024-01-01T00:00:00Z' },
      },
      subsets,
    });
  });

  it('returns undefined when subsets and labels are unchanged (headless label ignored)', () => {
    const current: KObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name: 'web',
        namespace: 'default',
        labels: { team: 'a', [LABEL_HEADLESS]: '' },
        resourceVersion: '5',
      },
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1', targetRef: undefined }],
          ports: [{ port: 80, protocol: 'TCP' }],
        },
      ],
    };
    expect(desiredEndpoints(svc, current, subsets, undefined)).toBeUndefined();
    const changed = desiredEndpoints(svc, current, [], undefined);
    expect(changed?.subsets).toBeUndefined();
    expect(changed?.metadata.resourceVersion).toBe('5');
    expect(changed?.metadata.labels).toEqual({ team: 'a' });
  });

  it('headless services get the headless label; over capacity is truncated and annotated', () => {
    const headless = service({ name: 'db', headless: true });
    const many: EndpointSubset[] = [
      { addresses: Array.from({ length: 1200 }, (_, i) => ({ ip: `10.1.${i >> 8}.${i & 255}` })) },
    ];
    const ep = desiredEndpoints(headless, undefined, many, undefined);
    if (!ep) throw new Error('expected an Endpoints object');
    expect(ep.metadata.labels).toEqual({ [LABEL_HEADLESS]: '' });
    expect(ep.metadata.annotations).toEqual({ [ANNOTATION_OVER_CAPACITY]: 'truncated' });
    expect((ep.subsets as EndpointSubset[])[0]?.addresses).toHaveLength(1000);
    // Writing it back is stable: nothing to do the next time.
    expect(
      desiredEndpoints(
        headless,
        { ...ep, metadata: { ...ep.metadata, resourceVersion: '1' } },
        many,
        undefined,
      ),
    ).toBeUndefined();
  });
});

describe('pod → service index', () => {
  it('finds services by selector and computes updates like upstream', () => {
    const idx = new ServiceSelectorIndex();
    idx.upsert(service({ name: 'web', selector: { app: 'web' } }));
    idx.upsert(service({ name: 'web-v2', selector: { app: 'web', v: '2' } }));
    idx.upsert(service({ name: 'other', namespace: 'x', selector: { app: 'web' } }));
    idx.upsert(service({ name: 'none', selector: null }));
    expect([...idx.match('default', { app: 'web', v: '2' })].sort()).toEqual([
      'default/web',
      'default/web-v2',
    ]);
    expect([...idx.match('default', { app: 'web' })]).toEqual(['default/web']);
    expect(idx.size).toBe(3);

    const p1 = pod({ name: 'a', ip: '10.0.0.1', labels: { app: 'web' } });
    // Same resourceVersion: a resync, nothing to do.
    expect(servicesForPodUpdate(idx, p1, p1).size).toBe(0);
    // Annotation-only change: nothing to do.
    const annotated = structuredClone(p1);
    annotated.metadata.resourceVersion = '2';
    annotated.metadata.annotations = { x: 'y' };
    expect(servicesForPodUpdate(idx, p1, annotated).size).toBe(0);
    // Label change only: the services joined or left.
    const relabeled = structuredClone(p1);
    relabeled.metadata.resourceVersion = '2';
    relabeled.metadata.labels = { app: 'web', v: '2' };
    expect([...servicesForPodUpdate(idx, p1, relabeled)]).toEqual(['default/web-v2']);
    // Readiness and labels: union.
    const both = structuredClone(relabeled);
    (both.status as { conditions: Array<{ status: string }> }).conditions[0]!.status = 'False';
    expect([...servicesForPodUpdate(idx, p1, both)].sort()).toEqual(['default/web', 'default/web-v2']);

    idx.upsert(service({ name: 'web', selector: { tier: 'front' } }));
    expect([...idx.match('default', { app: 'web' })]).toEqual([]);
    idx.remove('default/web-v2');
    expect(idx.match('default', { app: 'web', v: '2' }).size).toBe(0);
  });
});

describe('ServicePodIndex', () => {
  it('tracks which pods each service selects through pod and service changes', () => {
    const cache = new Map<string, KObject>();
    const pods = {
      get: (_ns: string | undefined, name: string) => cache.get(name),
      list: (_ns?: string, sel?: { matchLabels?: Record<string, string> }) =>
        [...cache.values()].filter((p) =>
          Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v),
        ),
    };
    const idx = new ServicePodIndex(pods);
    const add = (p: KObject) => {
      cache.set(p.metadata.name ?? '', p);
      return idx.podAdded(p);
    };
    add(pod({ name: 'early', labels: { app: 'web' } }));
    const web = service({ name: 'web' });
    idx.upsertService(web);
    expect(idx.podsFor(web).map((p) => p.metadata.name)).toEqual(['early']);
    expect([...add(pod({ name: 'late', labels: { app: 'web' } }))]).toEqual(['default/web']);
    expect([...add(pod({ name: 'other', labels: { app: 'db' } }))]).toEqual([]);
    expect(idx.podsFor(web).map((p) => p.metadata.name)).toEqual(['early', 'late']);

    // Relabel "late" away: it leaves web.
    const old = cache.get('late')!;
    const moved = structuredClone(old);
    moved.metadata.resourceVersion = '2';
    moved.metadata.labels = { app: 'db' };
    cache.set('late', moved);
    expect([...idx.podUpdated(old, moved)]).toEqual(['default/web']);
    expect(idx.podsFor(web).map((p) => p.metadata.name)).toEqual(['early']);

    // A selector change rescans the namespace.
    const db = service({ name: 'web', selector: { app: 'db' } });
    idx.upsertService(db);
    expect(
      idx
        .podsFor(db)
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(['late', 'other']);
    cache.delete('other');
    expect([...idx.podDeleted(pod({ name: 'other', labels: { app: 'db' } }))]).toEqual(['default/web']);
    expect(idx.podsFor(db).map((p) => p.metadata.name)).toEqual(['late']);
    idx.removeService('default/web');
    expect(idx.podAdded(pod({ name: 'x', labels: { app: 'db' } })).size).toBe(0);
  });
});

describe('SyncPacer', () => {
  it('delays pod-triggered syncs of a service in proportion to its last sync cost', async () => {
    const clock = new ManualClock(1000);
    const pacer = new SyncPacer(clock, 3, 1000);
    expect(pacer.delay('ns/a', 0)).toBe(0);
    await pacer.time('ns/a', async () => {
      await clock.advance(100);
    });
    // Ended at 1100 after 100 ms: next pod-triggered sync not before 1400.
    expect(pacer.delay('ns/a', 0)).toBe(300);
    await clock.advance(250);
    expect(pacer.delay('ns/a', 0)).toBe(50);
    expect(pacer.delay('ns/a', 500)).toBe(500);
    await clock.advance(100);
    expect(pacer.delay('ns/a', 0)).toBeLessThanOrEqual(0);
    // Capped.
    await pacer.time('ns/b', async () => {
      await clock.advance(5000);
    });
    expect(pacer.delay('ns/b', 0)).toBe(1000);
    pacer.forget('ns/b');
    expect(pacer.delay('ns/b', 0)).toBe(0);
  });
});

describe('TriggerTimeTracker', () => {
  it('service creation first, then the earliest changed Ready transition, then nothing', () => {
    const t = new TriggerTimeTracker();
    const svc = service({ name: 'web' });
    const p1 = pod({ name: 'a', readySince: '2024-01-01T00:01:00Z' });
    expect(t.compute(svc, [p1])).toBe(Date.parse('2024-01-01T00:00:00Z'));
    expect(t.compute(svc, [p1])).toBeUndefined();
    const p2 = pod({ name: 'b', readySince: '2024-01-01T00:03:00Z' });
    const p1b = pod({ name: 'a', readySince: '2024-01-01T00:02:00Z' });
    expect(t.compute(svc, [p1b, p2])).toBe(Date.parse('2024-01-01T00:02:00Z'));
    t.delete('default/web');
    expect(t.compute(svc, [p1b, p2])).toBe(Date.parse('2024-01-01T00:00:00Z'));
  });
});

describe('EndpointsController (in process)', () => {
  let env: ApiEnv | undefined;
  let ctrl: EndpointsController | undefined;
  afterEach(async () => {
    await ctrl?.stop();
    await env?.close();
    ctrl = undefined;
    env = undefined;
  });

  async function start(): Promise<{ e: ApiEnv; c: EndpointsController }> {
    const e = await apiEnv();
    const c = new EndpointsController(e.client, e.informers);
    c.start();
    e.informers.start();
    env = e;
    ctrl = c;
    return { e, c };
  }

  const addrIps = (ep: KObject | undefined, field: 'addresses' | 'notReadyAddresses'): string[] =>
    ((ep?.subsets as EndpointSubset[] | undefined) ?? []).flatMap((s) => ips(s[field])).sort();

  it('maintains Endpoints of a headless StatefulSet service through readiness changes', async () => {
    const { e } = await start();
    await e.ns('sts');
    await headlessStatefulSet(e, 'sts');
    const ep = await until(async () => {
      const ep = await e.tryGet(ENDPOINTS, 'sts', 'db');
      return addrIps(ep, 'addresses').length === 2 && addrIps(ep, 'notReadyAddresses').length === 1
        ? ep
        : undefined;
    }, 'endpoints for db');
    expect(ep.metadata.labels).toEqual({ [LABEL_HEADLESS]: '' });
    expect(ep.metadata.annotations?.[ANNOTATION_TRIGGER_TIME]).toMatch(/^\d{4}-\d\d-\d\dT/);
    const subsets = ep.subsets as EndpointSubset[];
    expect(subsets).toHaveLength(1);
    expect(subsets[0]?.ports).toEqual([{ name: 'pg', port: 5432, protocol: 'TCP' }]);
    expect(subsets[0]?.addresses?.map((a) => a.hostname)).toEqual(['db-0', 'db-1']);
    expect(subsets[0]?.notReadyAddresses?.[0]).toMatchObject({
      ip: '10.1.0.3',
      hostname: 'db-2',
      nodeName: 'node-1',
      targetRef: { kind: 'Pod', namespace: 'sts', name: 'db-2' },
    });

    await e.setStatus('sts', 'db-2', { ip: '10.1.0.3', ready: true });
    await until(
      async () => addrIps(await e.tryGet(ENDPOINTS, 'sts', 'db'), 'addresses').length === 3,
      'db-2 ready',
    );

    // publishNotReadyAddresses: not-ready pods move to addresses.
    await e.setStatus('sts', 'db-0', { ip: '10.1.0.1', ready: false });
    await until(
      async () => addrIps(await e.tryGet(ENDPOINTS, 'sts', 'db'), 'notReadyAddresses').join() === '10.1.0.1',
      'db-0 not ready',
    );
    const svc = await e.client.get(SERVICES, 'sts', 'db');
    (svc.spec as Record<string, unknown>).publishNotReadyAddresses = true;
    await e.client.update(SERVICES, 'sts', svc);
    await until(
      async () => addrIps(await e.tryGet(ENDPOINTS, 'sts', 'db'), 'addresses').length === 3,
      'publish',
    );

    // Pod deletion (no graceful phase: not running on a real node agent) removes the address.
    await e.client.delete(PODS, 'sts', 'db-1', { gracePeriodSeconds: 0 });
    await until(
      async () => addrIps(await e.tryGet(ENDPOINTS, 'sts', 'db'), 'addresses').join() === '10.1.0.1,10.1.0.3',
      'db-1 gone',
    );
  });

  it('skips writes when nothing changed, leaves selector-less services alone, deletes with the service', async () => {
    const { e, c } = await start();
    await e.ns('app');
    await e.svc('app', { name: 'web', labels: { team: 'x' } });
    await e.createPod('app', { name: 'w1', ip: '10.2.0.1' });
    const ep = await until(async () => {
      const ep = await e.tryGet(ENDPOINTS, 'app', 'web');
      return addrIps(ep, 'addresses').length === 1 ? ep : undefined;
    }, 'endpoints for web');
    expect(ep.metadata.labels).toEqual({ team: 'x' });
    expect(ep.subsets).toEqual([
      {
        addresses: [
          { ip: '10.2.0.1', nodeName: 'node-1', targetRef: expect.objectContaining({ name: 'w1' }) },
        ],
        ports: [{ port: 8080, protocol: 'TCP' }],
      },
    ]);
    // An irrelevant pod change and a forced resync write nothing.
    const p = await e.client.get(PODS, 'app', 'w1');
    p.metadata.annotations = { touched: 'yes' };
    await e.client.update(PODS, 'app', p);
    c.queue.add('app/web');
    await new Promise((r) => setTimeout(r, 50));
    await c.queue.whenDrained();
    expect((await e.client.get(ENDPOINTS, 'app', 'web')).metadata.resourceVersion).toBe(
      ep.metadata.resourceVersion,
    );

    // A service without selector: user-managed Endpoints stay as they are.
    await e.svc('app', { name: 'ext', selector: null });
    await e.client.create(ENDPOINTS, 'app', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'ext' },
      subsets: [{ addresses: [{ ip: '192.168.1.1' }], ports: [{ port: 80 }] }],
    });
    c.queue.add('app/ext');
    await new Promise((r) => setTimeout(r, 50));
    await c.queue.whenDrained();
    expect(addrIps(await e.tryGet(ENDPOINTS, 'app', 'ext'), 'addresses')).toEqual(['192.168.1.1']);

    // Deleting the service deletes its Endpoints; deleting the Endpoints of a live service recreates them.
    await e.client.delete(ENDPOINTS, 'app', 'web');
    await until(async () => (await e.tryGet(ENDPOINTS, 'app', 'web')) !== undefined, 'recreated');
    await e.client.delete(SERVICES, 'app', 'web');
    await until(async () => (await e.tryGet(ENDPOINTS, 'app', 'web')) === undefined, 'deleted with service');
  });

  it('removes leftover Endpoints without a service at start-up (but not leader-election locks)', async () => {
    const e = await apiEnv();
    env = e;
    await e.ns('left');
    const mk = (name: string, annotations?: Record<string, string>) =>
      e.client.create(ENDPOINTS, 'left', {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name, annotations },
      });
    await mk('orphan');
    await mk('lock', { 'control-plane.alpha.kubernetes.io/leader': '{}' });
    ctrl = new EndpointsController(e.client, e.informers, { clock: new ManualClock() });
    ctrl.start();
    e.informers.start();
    await until(async () => (await e.tryGet(ENDPOINTS, 'left', 'orphan')) === undefined, 'orphan removed');
    expect(await e.tryGet(ENDPOINTS, 'left', 'lock')).toBeDefined();
  });

  it('handles many pods and services through the index', async () => {
    const { e } = await start();
    await e.ns('big');
    for (let s = 0; s < 5; s++) await e.svc('big', { name: `s${s}`, selector: { app: `a${s}` } });
    for (let i = 0; i < 50; i++) {
      await e.createPod('big', {
        name: `p${i}`,
        labels: { app: `a${i % 5}` },
        ip: `10.3.${i >> 8}.${i & 255}`,
      });
    }
    for (let s = 0; s < 5; s++) {
      await until(
        async () => addrIps(await e.tryGet(ENDPOINTS, 'big', `s${s}`), 'addresses').length === 10,
        `service s${s}`,
      );
    }
  });
});
