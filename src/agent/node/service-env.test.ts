import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { envVarName, podServiceEnv, serviceVars } from './service-env.js';

function svc(namespace: string, name: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
}

function pod(namespace: string, spec: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace }, spec };
}

const KUBERNETES = svc('default', 'kubernetes', {
  clusterIP: '10.96.0.1',
  ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
});

const asMap = (env: { name: string; value: string }[]): Record<string, string> =>
  Object.fromEntries(env.map((e) => [e.name, e.value]));

describe('service environment variables', () => {
  it('the kubernetes Service gives exactly what client-go InClusterConfig and docker links expect', () => {
    expect(serviceVars(KUBERNETES)).toEqual([
      { name: 'KUBERNETES_SERVICE_HOST', value: '10.96.0.1' },
      { name: 'KUBERNETES_SERVICE_PORT', value: '443' },
      { name: 'KUBERNETES_SERVICE_PORT_HTTPS', value: '443' },
      { name: 'KUBERNETES_PORT', value: 'tcp://10.96.0.1:443' },
      { name: 'KUBERNETES_PORT_443_TCP', value: 'tcp://10.96.0.1:443' },
      { name: 'KUBERNETES_PORT_443_TCP_PROTO', value: 'tcp' },
      { name: 'KUBERNETES_PORT_443_TCP_PORT', value: '443' },
      { name: 'KUBERNETES_PORT_443_TCP_ADDR', value: '10.96.0.1' },
    ]);
  });

  it('several ports: the first is the plain _SERVICE_PORT and _PORT, named ones get their own, UDP is lower-cased', () => {
    const env = serviceVars(
      svc('shop', 'my-db', {
        clusterIP: '10.96.3.4',
        ports: [
          { name: 'client', port: 2379 },
          { port: 53, protocol: 'UDP' },
          { name: 'peer-port', port: 2380, protocol: 'TCP' },
        ],
      }),
    );
    expect(asMap(env)).toEqual({
      MY_DB_SERVICE_HOST: '10.96.3.4',
      MY_DB_SERVICE_PORT: '2379',
      MY_DB_SERVICE_PORT_CLIENT: '2379',
      MY_DB_SERVICE_PORT_PEER_PORT: '2380',
      MY_DB_PORT: 'tcp://10.96.3.4:2379',
      MY_DB_PORT_2379_TCP: 'tcp://10.96.3.4:2379',
      MY_DB_PORT_2379_TCP_PROTO: 'tcp',
      MY_DB_PORT_2379_TCP_PORT: '2379',
      MY_DB_PORT_2379_TCP_ADDR: '10.96.3.4',
      MY_DB_PORT_53_UDP: 'udp://10.96.3.4:53',
      MY_DB_PORT_53_UDP_PROTO: 'udp',
      MY_DB_PORT_53_UDP_PORT: '53',
      MY_DB_PORT_53_UDP_ADDR: '10.96.3.4',
      MY_DB_PORT_2380_TCP: 'tcp://10.96.3.4:2380',
      MY_DB_PORT_2380_TCP_PROTO: 'tcp',
      MY_DB_PORT_2380_TCP_PORT: '2380',
      MY_DB_PORT_2380_TCP_ADDR: '10.96.3.4',
    });
    expect(env).toHaveLength(17);
    expect(envVarName('a-b-c')).toBe('A_B_C');
    expect(serviceVars(svc('x', 'v6', { clusterIP: 'fd00::10', ports: [{ port: 80 }] }))).toContainEqual({
      name: 'V6_PORT',
      value: 'tcp://[fd00::10]:80',
    });
  });

  it('headless and ExternalName services (no cluster IP) give nothing', () => {
    expect(serviceVars(svc('shop', 'h', { clusterIP: 'None', ports: [{ port: 80 }] }))).toEqual([]);
    expect(serviceVars(svc('shop', 'e', { type: 'ExternalName', externalName: 'example.com' }))).toEqual([]);
  });

  it("a pod sees its namespace's services and the default kubernetes Service, not other namespaces'", () => {
    const services = [
      KUBERNETES,
      svc('default', 'other', { clusterIP: '10.96.0.20', ports: [{ port: 80 }] }),
      svc('shop', 'web', { clusterIP: '10.96.5.5', ports: [{ name: 'http', port: 8080 }] }),
      svc('shop', 'web-headless', { clusterIP: 'None', ports: [{ port: 8080 }] }),
      svc('elsewhere', 'db', { clusterIP: '10.96.7.7', ports: [{ port: 5432 }] }),
    ];
    const names = podServiceEnv(pod('shop'), services).map((e) => e.name);
    expect(names.filter((n) => n.endsWith('_SERVICE_HOST'))).toEqual([
      'KUBERNETES_SERVICE_HOST',
      'WEB_SERVICE_HOST',
    ]);
    expect(asMap(podServiceEnv(pod('shop'), services)).WEB_SERVICE_PORT_HTTP).toBe('8080');
    // A pod in default sees default's services.
    expect(
      podServiceEnv(pod('default'), services)
        .map((e) => e.name)
        .filter((n) => n.endsWith('_SERVICE_HOST')),
    ).toEqual(['KUBERNETES_SERVICE_HOST', 'OTHER_SERVICE_HOST']);
  });

  it('enableServiceLinks: false keeps only the kubernetes Service', () => {
    const services = [KUBERNETES, svc('shop', 'web', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] })];
    const env = podServiceEnv(pod('shop', { enableServiceLinks: false }), services);
    expect(env.map((e) => e.name).filter((n) => n.endsWith('_SERVICE_HOST'))).toEqual([
      'KUBERNETES_SERVICE_HOST',
    ]);
    expect(
      podServiceEnv(pod('default', { enableServiceLinks: false }), [
        KUBERNETES,
        svc('default', 'other', { clusterIP: '10.96.0.20', ports: [{ port: 80 }] }),
      ]).map((e) => e.name),
    ).not.toContain('OTHER_SERVICE_HOST');
  });

  it("a namespace's own `kubernetes` Service replaces the default one, unless service links are off", () => {
    const mine = svc('shop', 'kubernetes', { clusterIP: '10.96.9.9', ports: [{ port: 6443 }] });
    for (const order of [
      [KUBERNETES, mine],
      [mine, KUBERNETES],
    ]) {
      expect(asMap(podServiceEnv(pod('shop'), order)).KUBERNETES_SERVICE_HOST).toBe('10.96.9.9');
      expect(
        asMap(podServiceEnv(pod('shop', { enableServiceLinks: false }), order)).KUBERNETES_SERVICE_HOST,
      ).toBe('10.96.0.1');
    }
  });

  it('no kubernetes Service known yet: no variables', () => {
    expect(podServiceEnv(pod('shop'), [])).toEqual([]);
  });
});
