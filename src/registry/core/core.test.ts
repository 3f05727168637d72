import { describe, expect, it } from 'vitest';
import type { FieldError } from '../../api/errors.js';
import { fieldErrorBody } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { configmaps } from './configmaps.js';
import { endpoints } from './endpoints.js';
import { events } from './events.js';
import { coreResources } from './index.js';
import { namespaces } from './namespaces.js';
import { nodes } from './nodes.js';
import { persistentvolumeclaims } from './persistentvolumeclaims.js';
import { persistentvolumes } from './persistentvolumes.js';
import { secrets } from './secrets.js';

const now = new Date('2024-05-01T12:00:00Z');
const created = '2024-05-01T11:58:00Z';
const msgs = (errs: FieldError[] | undefined) => (errs ?? []).map((e) => `${e.field}: ${fieldErrorBody(e)}`);

function obj(kind: string, fields: Record<string, unknown>, meta: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind, metadata: { name: 'x', creationTimestamp: created, ...meta }, ...fields };
}

describe('core discovery', () => {
  it('lists every kind once with upstream short names', () => {
    const byPlural = new Map(coreResources.map((r) => [r.plural, r]));
    expect(byPlural.size).toBe(coreResources.length);
    expect(byPlural.get('namespaces')?.shortNames).toEqual(['ns']);
    expect(byPlural.get('persistentvolumeclaims')?.shortNames).toEqual(['pvc']);
    expect(byPlural.get('pods')?.categories).toEqual(['all']);
    expect(byPlural.get('services')?.categories).toEqual(['all']);
    expect(byPlural.get('secrets')?.shortNames).toBeUndefined();
  });

  it('produces one cell per column for an empty object', () => {
    for (const r of coreResources) {
      const o = obj(r.kind, {}, r.namespaced ? { namespace: 'default' } : {});
      r.defaults?.(o);
      expect(r.row(o, now).length, r.plural).toBe(r.columns.length);
    }
  });
});

describe('namespaces', () => {
  it('defaults finalizers, phase and the name label', () => {
    const ns = obj('Namespace', {}, { name: 'team-a' });
    namespaces.defaults?.(ns);
    expect(ns.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(ns.status).toEqual({ phase: 'Active' });
    expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'team-a' });
    expect(namespaces.row(ns, now)).toEqual(['team-a', 'Active', '2m']);
  });
  it('rejects non-label names', () => {
    expect(msgs(namespaces.validate?.(obj('Namespace', {}, { name: 'a.b' })))).toEqual([
      'metadata.name: Invalid value: "a.b": must not contain dots',
    ]);
  });
});

describe('configmaps and secrets', () => {
  it('counts data and binaryData', () => {
    expect(configmaps.row(obj('ConfigMap', { data: { a: '1' }, binaryData: { b: 'AA==' } }), now)).toEqual([
      'x',
      2,
      '2m',
    ]);
  });
  it('validates keys', () => {
    const cm = obj('ConfigMap', { data: { 'bad key': 'v' } }, { namespace: 'default' });
    expect(msgs(configmaps.validate?.(cm))).toEqual([
      "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    ]);
  });
  it('enforces immutable: true', () => {
    const old = obj('ConfigMap', { immutable: true, data: { a: '1' } }, { namespace: 'default' });
    const next = obj('ConfigMap', { immutable: true, data: { a: '2' } }, { namespace: 'default' });
    expect(msgs(configmaps.validateUpdate?.(next, old))).toEqual([
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);
  });
  it('defaults secret type and folds stringData into data', () => {
    const s = obj('Secret', { stringData: { password: 'hunter2' } }, { namespace: 'default' });
    secrets.defaults?.(s);
    expect(s.type).toBe('Opaque');
    expect(s.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
    expect(s.stringData).toBeUndefined();
    expect(secrets.row(s, now)).toEqual(['x', 'Opaque', 1, '2m']);
    expect(secrets.fieldLabels?.(s)).toEqual({ type: 'Opaque' });
  });
  it('checks type-specific keys and type immutability', () => {
    const tls = obj('Secret', { type: 'kubernetes.io/tls', data: {} }, { namespace: 'default' });
    expect(msgs(secrets.validate?.(tls))).toEqual([
      'data[tls.key]: Required value',
      'data[tls.crt]: Required value',
    ]);
    const old = obj('Secret', { type: 'Opaque' }, { namespace: 'default' });
    const next = obj('Secret', { type: 'custom' }, { namespace: 'default' });
    expect(msgs(secrets.validateUpdate?.(next, old))).toEqual([
      'type: Invalid value: "custom": field is immutable',
    ]);
  });
});

describe('persistent volumes and claims', () => {
  it('defaults and validates a PVC', () => {
    const pvc = obj('PersistentVolumeClaim', { spec: {} }, { namespace: 'default' });
    persistentvolumeclaims.defaults?.(pvc);
    expect(pvc.spec).toEqual({ volumeMode: 'Filesystem' });
    expect(pvc.status).toEqual({ phase: 'Pending' });
    expect(msgs(persistentvolumeclaims.validate?.(pvc))).toEqual([
      'spec.accessModes: Required value: at least 1 access mode is required',
      'spec.resources[storage]: Required value',
    ]);
    const bad = obj(
      'PersistentVolumeClaim',
      { spec: { accessModes: ['ReadWriteSometimes'], resources: { requests: { storage: '0' } } } },
      { namespace: 'default' },
    );
    persistentvolumeclaims.defaults?.(bad);
    expect(msgs(persistentvolumeclaims.validate?.(bad))).toEqual([
      'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
      'spec.resources[storage]: Invalid value: "0": must be greater than zero',
    ]);
  });

  it('restricts PVC spec updates', () => {
    const mk = (size: string, cls: string, phase = 'Bound') => {
      const o = obj(
        'PersistentVolumeClaim',
        {
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: cls,
            resources: { requests: { storage: size } },
            volumeName: 'pv-1',
          },
          status: { phase, capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] },
        },
        { namespace: 'default' },
      );
      persistentvolumeclaims.defaults?.(o);
      return o;
    };
    expect(persistentvolumeclaims.validateUpdate?.(mk('2Gi', 'fast'), mk('1Gi', 'fast'))).toEqual([]);
    expect(msgs(persistentvolumeclaims.validateUpdate?.(mk('1Gi', 'slow'), mk('1Gi', 'fast')))).toEqual([
      'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    ]);
    expect(persistentvolumeclaims.row(mk('1Gi', 'fast'), now)).toEqual([
      'x',
      'Bound',
      'pv-1',
      '1Gi',
      'RWO',
      'fast',
      '<unset>',
      '2m',
      'Filesystem',
    ]);
  });

  it('defaults, validates and prints a PV', () => {
    const pv = obj('PersistentVolume', {
      spec: {
        capacity: { storage: '5Gi' },
        accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
        hostPath: { path: '/data' },
        claimRef: { namespace: 'default', name: 'data-0' },
        storageClassName: 'manual',
      },
    });
    persistentvolumes.defaults?.(pv);
    expect(pv.spec).toMatchObject({ persistentVolumeReclaimPolicy: 'Retain', volumeMode: 'Filesystem' });
    expect(persistentvolumes.validate?.(pv)).toEqual([]);
    expect(persistentvolumes.row(pv, now)).toEqual([
      'x',
      '5Gi',
      'RWO,ROX',
      'Retain',
      'Pending',
      'default/data-0',
      'manual',
      '<unset>',
      '',
      '2m',
      'Filesystem',
    ]);
    const empty = obj('PersistentVolume', { spec: {} });
    persistentvolumes.defaults?.(empty);
    expect(msgs(persistentvolumes.validate?.(empty))).toEqual([
      'spec.accessModes: Required value',
      'spec.capacity: Required value',
      'spec.capacity: Unsupported value: {}: supported values: "storage"',
      'spec: Required value: must specify a volume type',
    ]);
  });
});

describe('nodes, events and endpoints', () => {
  it('prints node status and roles', () => {
    const node = obj(
      'Node',
      {
        spec: { unschedulable: true },
        status: {
          conditions: [{ type: 'Ready', status: 'True' }],
          addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
          nodeInfo: {
            kubeletVersion: 'v1.33.0',
            osImage: 'Ubuntu',
            kernelVersion: '6.8',
            containerRuntimeVersion: 'ordinal://0.1.0',
          },
        },
      },
      { labels: { 'node-role.kubernetes.io/control-plane': '' } },
    );
    expect(nodes.row(node, now)).toEqual([
      'x',
      'Ready,SchedulingDisabled',
      'control-plane',
      '2m',
      'v1.33.0',
      '192.168.1.10',
      '<none>',
      'Ubuntu',
      '6.8',
      'ordinal://0.1.0',
    ]);
    expect(nodes.fieldLabels?.(node)).toEqual({ 'spec.unschedulable': 'true' });
  });

  it('prints events like kubectl get events', () => {
    const ev = obj(
      'Event',
      {
        involvedObject: {
          kind: 'Pod',
          name: 'web-0',
          namespace: 'default',
          fieldPath: 'spec.containers{web}',
        },
        reason: 'Pulled',
        type: 'Normal',
        message: 'Container image pulled \n',
        source: { component: 'kubelet', host: 'node-1' },
        firstTimestamp: '2024-05-01T11:50:00Z',
        lastTimestamp: '2024-05-01T11:59:00Z',
        count: 3,
      },
      { name: 'web-0.1', namespace: 'default' },
    );
    expect(events.validate?.(ev)).toEqual([]);
    expect(events.row(ev, now)).toEqual([
      '60s',
      'Normal',
      'Pulled',
      'pod/web-0',
      'spec.containers{web}',
      'kubelet, node-1',
      'Container image pulled',
      '10m',
      3,
      'web-0.1',
    ]);
    const other = obj(
      'Event',
      { involvedObject: { kind: 'Pod', name: 'p', namespace: 'other' } },
      { namespace: 'default' },
    );
    expect(msgs(events.validate?.(other))).toEqual([
      'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
    ]);
  });

  it('prints endpoints with + N more...', () => {
    const ep = obj('Endpoints', {
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }],
          ports: [{ port: 80 }],
        },
      ],
    });
    endpoints.defaults?.(ep);
    expect(endpoints.row(ep, now)[1]).toBe('10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...');
    expect(endpoints.row(obj('Endpoints', {}), now)[1]).toBe('<none>');
  });
});
