import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { buildProxyModel, DEFAULT_AFFINITY_SECONDS, serviceClusterIPs } from './model.js';

function svc(name: string, spec: Record<string, unknown>, namespace = 'ns'): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
}

interface Ep {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

function slice(
  service: string,
  ports: Array<{ name?: string; port: number; protocol?: string }>,
  eps: Ep[],
  opts: { name?: string; namespace?: string; addressType?: string } = {},
): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: opts.name ?? `${service}-abc`,
      namespace: opts.namespace ?? 'ns',
      labels: { 'kubernetes.io/service-name': service },
    },
    addressType: opts.addressType ?? 'IPv4',
    ports,
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ...(e.ready !== undefined ? { ready: e.ready } : {}),
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
    })),
  };
}

describe('buildProxyModel', () => {
  it('gives every port of a Service its endpoints, resolving named target ports through the slice', () => {
    const web = svc('web', {
      clusterIP: '10.96.0.20',
      clusterIPs: ['10.96.0.20'],
      ports: [
        { name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 9100, protocol: 'TCP' },
      ],
    });
    // Two pods whose container ports named "web" differ: the slice controller resolved them per slice.
    const slices = [
      slice(
        'web',
        [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9100 },
        ],
        [{ ip: '10.244.0.5', ready: true }],
      ),
      slice(
        'web',
        [
          { name: 'http', port: 8081, protocol: 'TCP' },
          { name: 'metrics', port: 9100 },
        ],
        [{ ip: '10.244.0.3', ready: true }],
        { name: 'web-def' },
      ),
    ];
    const m = buildProxyModel([web], slices);
    expect(m.map((r) => [r.portName, r.port, r.endpoints])).toEqual([
      [
        'http',
        80,
        [
          { ip: '10.244.0.3', port: 8081 },
          { ip: '10.244.0.5', port: 8080 },
        ],
      ],
      [
        'metrics',
        9090,
        [
          { ip: '10.244.0.3', port: 9100 },
          { ip: '10.244.0.5', port: 9100 },
        ],
      ],
    ]);
    expect(m[0]).toMatchObject({ namespace: 'ns', service: 'web', protocol: 'TCP', clusterIP: '10.96.0.20' });
    expect(m[0]?.nodePort).toBeUndefined();
    expect(m[0]?.affinitySeconds).toBeUndefined();
  });

  it('matches an unnamed port and keeps UDP and TCP ports of one number apart', () => {
    const dns = svc('dns', {
      clusterIP: '10.96.0.10',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    });
    const one = svc('one', { clusterIP: '10.96.0.11', ports: [{ port: 80 }] });
    const m = buildProxyModel(
      [dns, one],
      [
        slice(
          'dns',
          [
            { name: 'dns', port: 5353, protocol: 'UDP' },
            { name: 'dns-tcp', port: 5354, protocol: 'TCP' },
          ],
          [{ ip: '10.244.0.9' }],
        ),
        slice('one', [{ name: '', port: 8000, protocol: 'TCP' }], [{ ip: '10.244.0.7', ready: true }]),
      ],
    );
    expect(
      m.map(
        (r) =>
          `${r.service}/${r.portName}/${r.protocol}:${r.port}->${r.endpoints.map((e) => `${e.ip}:${e.port}`)}`,
      ),
    ).toEqual([
      'dns/dns/UDP:53->10.244.0.9:5353',
      'dns/dns-tcp/TCP:53->10.244.0.9:5354',
      'one//TCP:80->10.244.0.7:8000',
    ]);
  });

  it('uses ready endpoints, and serving terminating ones only when none is ready', () => {
    const s = svc('s', { clusterIP: '10.96.0.30', ports: [{ name: 'p', port: 80 }] });
    const p = [{ name: 'p', port: 80 }];
    const ready = buildProxyModel(
      [s],
      [
        slice('s', p, [
          { ip: '10.244.0.2', ready: true },
          { ip: '10.244.0.3', ready: false, serving: false },
          { ip: '10.244.0.4', ready: false, serving: true, terminating: true },
        ]),
      ],
    );
    expect(ready[0]?.endpoints).toEqual([{ ip: '10.244.0.2', port: 80 }]);
    const draining = buildProxyModel(
      [s],
      [
        slice('s', p, [
          { ip: '10.244.0.3', ready: false, serving: false },
          { ip: '10.244.0.4', ready: false, serving: true, terminating: true },
        ]),
      ],
    );
    expect(draining[0]?.endpoints).toEqual([{ ip: '10.244.0.4', port: 80 }]);
    const none = buildProxyModel([s], [slice('s', p, [{ ip: '10.244.0.3', ready: false }])]);
    expect(none[0]?.endpoints).toEqual([]);
  });

  it('keeps a Service without slices or endpoints, with no endpoints (it is rejected, not forgotten)', () => {
    const m = buildProxyModel([svc('lonely', { clusterIP: '10.96.0.40', ports: [{ port: 80 }] })], []);
    expect(m).toEqual([
      {
        namespace: 'ns',
        service: 'lonely',
        portName: '',
        protocol: 'TCP',
        clusterIP: '10.96.0.40',
        port: 80,
        endpoints: [],
      },
    ]);
  });

  it('ignores headless and ExternalName Services, SCTP ports, IPv6 slices and other namespaces', () => {
    const headless = svc('db', { clusterIP: 'None', ports: [{ port: 5432 }] });
    const ext = svc('ext', { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] });
    const mixed = svc('mixed', {
      clusterIP: '10.96.0.50',
      ports: [
        { name: 'a', port: 80 },
        { name: 's', port: 90, protocol: 'SCTP' },
      ],
    });
    const m = buildProxyModel(
      [headless, ext, mixed],
      [
        slice('db', [{ port: 5432 }], [{ ip: '10.244.0.2' }]),
        slice('mixed', [{ name: 'a', port: 8080 }], [{ ip: 'fd00::5' }], { addressType: 'IPv6' }),
        slice('mixed', [{ name: 'a', port: 8080 }], [{ ip: '10.244.0.8' }], { namespace: 'other' }),
      ],
    );
    expect(m.map((r) => [r.service, r.portName, r.endpoints.length])).toEqual([['mixed', 'a', 0]]);
  });

  it('dedupes an endpoint listed by two slices (ready wins) and sorts numerically', () => {
    const s = svc('s', { clusterIP: '10.96.0.60', ports: [{ port: 80 }] });
    const p = [{ port: 80 }];
    const m = buildProxyModel(
      [s],
      [
        slice('s', p, [{ ip: '10.244.0.10', ready: false }, { ip: '10.244.0.9' }], { name: 's-1' }),
        slice('s', p, [{ ip: '10.244.0.10', ready: true }], { name: 's-2' }),
      ],
    );
    expect(m[0]?.endpoints).toEqual([
      { ip: '10.244.0.9', port: 80 },
      { ip: '10.244.0.10', port: 80 },
    ]);
  });

  it('carries NodePorts of NodePort and LoadBalancer Services and ClientIP affinity', () => {
    const np = svc('np', {
      type: 'NodePort',
      clusterIP: '10.96.0.70',
      sessionAffinity: 'ClientIP',
      ports: [{ port: 80, nodePort: 30080 }],
    });
    const lb = svc('lb', {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.71',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      ports: [{ port: 80, nodePort: 30081 }],
    });
    const m = buildProxyModel([np, lb], []);
    expect(m.map((r) => [r.service, r.nodePort, r.affinitySeconds])).toEqual([
      ['lb', 30081, 60],
      ['np', 30080, DEFAULT_AFFINITY_SECONDS],
    ]);
  });

  it('takes the IPv4 cluster IPs only', () => {
    expect(
      serviceClusterIPs(svc('a', { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00::1'] })),
    ).toEqual(['10.96.0.1']);
    expect(serviceClusterIPs(svc('b', { clusterIP: 'fd00::2', clusterIPs: ['fd00::2'] }))).toEqual([]);
    expect(serviceClusterIPs(svc('c', { clusterIP: '' }))).toEqual([]);
    expect(serviceClusterIPs(svc('d', { clusterIP: '10.96.0.4' }))).toEqual(['10.96.0.4']);
  });
});
