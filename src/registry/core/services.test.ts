import { describe, expect, it } from 'vitest';
import { fieldErrorBody } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { services } from './services.js';

const now = new Date('2024-05-01T12:00:00Z');

function svc(spec: Record<string, unknown>, status: Record<string, unknown> = {}): KObject {
  const s: KObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec,
    status,
  };
  services.defaults?.(s);
  return s;
}

const msgs = (errs: ReturnType<NonNullable<typeof services.validate>>) =>
  errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);

describe('service defaults', () => {
  it('fills upstream defaults', () => {
    const s = svc({ selector: { app: 'web' }, ports: [{ port: 80 }], clusterIP: '10.96.0.10' });
    expect(s.spec).toEqual({
      selector: { app: 'web' },
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
    });
    expect(services.validate?.(s)).toEqual([]);
  });
  it('defaults NodePort traffic policy', () => {
    const s = svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
    expect(s.spec).toMatchObject({ externalTrafficPolicy: 'Cluster' });
  });
});

describe('service table', () => {
  it('renders ClusterIP, NodePort, headless and LoadBalancer rows', () => {
    expect(
      services.row(
        svc({
          ports: [{ port: 80 }, { port: 443, name: 'https' }],
          clusterIP: '10.96.0.10',
          selector: { app: 'web' },
        }),
        now,
      ),
    ).toEqual(['web', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP,443/TCP', '60m', 'app=web']);
    expect(
      services
        .row(svc({ type: 'NodePort', clusterIP: '10.96.0.11', ports: [{ port: 80, nodePort: 30080 }] }), now)
        .slice(1, 5),
    ).toEqual(['NodePort', '10.96.0.11', '<none>', '80:30080/TCP']);
    expect(services.row(svc({ clusterIP: 'None', ports: [] }), now).slice(2, 5)).toEqual([
      'None',
      '<none>',
      '<none>',
    ]);
    expect(
      services
        .row(
          svc({
            type: 'LoadBalancer',
            clusterIP: '10.96.0.12',
            ports: [{ port: 80, protocol: 'UDP', nodePort: 31000 }],
          }),
          now,
        )
        .slice(3, 5),
    ).toEqual(['<pending>', '80:31000/UDP']);
  });
});

describe('service validation', () => {
  it('reports upstream messages', () => {
    const s = svc({ type: 'Magic', ports: [{ port: 80 }, { port: 0, protocol: 'HTTP' }] });
    expect(msgs(services.validate?.(s) ?? [])).toEqual([
      'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
      'spec.ports[0].name: Required value',
      'spec.ports[1].name: Required value',
      'spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      'spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive',
    ]);
  });
  it('requires ports and rejects nodePort on ClusterIP', () => {
    expect(msgs(services.validate?.(svc({})) ?? [])).toEqual(['spec.ports: Required value']);
    expect(msgs(services.validate?.(svc({ ports: [{ port: 80, nodePort: 30001 }] })) ?? [])).toEqual([
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    ]);
  });
  it('uses DNS-1035 names', () => {
    const s = svc({ ports: [{ port: 80 }] });
    s.metadata.name = '1web';
    expect(msgs(services.validate?.(s) ?? [])[0]).toMatch(
      /^metadata\.name: Invalid value: "1web": a DNS-1035 label/,
    );
  });
  it('keeps the cluster IP immutable', () => {
    const old = svc({ ports: [{ port: 80 }], clusterIP: '10.96.0.10' });
    const changed = svc({ ports: [{ port: 80 }], clusterIP: '10.96.0.99' });
    expect(msgs(services.validateUpdate?.(changed, old) ?? [])).toEqual([
      'spec.clusterIPs[0]: Invalid value: ["10.96.0.99"]: may not change once set',
    ]);
  });
});
