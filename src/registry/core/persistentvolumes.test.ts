import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { Rest } from '../../apiserver/rest.js';
import { InProcessClient } from '../../client/in-process.js';
import { MemoryStore } from '../../storage/memory.js';
import { resources } from '../index.js';
import { persistentvolumeclaims } from './persistentvolumeclaims.js';
import { persistentvolumes } from './persistentvolumes.js';
import { isCreate } from './storage-common.js';

const PVCS = { group: '', version: 'v1', resource: 'persistentvolumeclaims' };
const PVS = { group: '', version: 'v1', resource: 'persistentvolumes' };
const NS = { group: '', version: 'v1', resource: 'namespaces' };

async function client(): Promise<InProcessClient> {
  const c = new InProcessClient(new Rest(new MemoryStore(), resources));
  await c.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  return c;
}

const claim: KObject = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
};
const volume: KObject = {
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pv1' },
  spec: { accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, hostPath: { path: '/srv/pv1' } },
};

describe('storage object in-use protection (admission-style defaults)', () => {
  it('adds the finalizers on create only; removing them later sticks', async () => {
    const c = await client();
    const pvc = await c.create(PVCS, 'default', claim);
    expect(pvc.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    const pv = await c.create(PVS, undefined, volume);
    expect(pv.metadata.finalizers).toEqual(['kubernetes.io/pv-protection']);

    pvc.metadata.finalizers = [];
    const updated = await c.update(PVCS, 'default', pvc);
    expect(updated.metadata.finalizers).toBeUndefined();
    const statusWrite = await c.update(
      PVCS,
      'default',
      { ...updated, status: { phase: 'Pending' } },
      { subresource: 'status' },
    );
    expect(statusWrite.metadata.finalizers).toBeUndefined();
    const patched = await c.patch(PVS, undefined, 'pv1', 'merge', { metadata: { finalizers: null } });
    expect(patched.metadata.finalizers).toBeUndefined();
    // A user's own finalizers are kept alongside ours.
    const mine = await c.create(PVCS, 'default', {
      ...claim,
      metadata: { name: 'other', finalizers: ['example.com/keep'] },
    });
    expect(mine.metadata.finalizers).toEqual(['example.com/keep', 'kubernetes.io/pvc-protection']);
  });

  it('stamps a new PV with lastPhaseTransitionTime (phase Pending)', async () => {
    const c = await client();
    const pv = await c.create(PVS, undefined, volume);
    expect(pv.status).toEqual({ phase: 'Pending', lastPhaseTransitionTime: pv.metadata.creationTimestamp });
  });

  it('isCreate tells a fresh object from a stored one', () => {
    const fresh: KObject = { ...structuredClone(claim), status: {} };
    expect(isCreate(fresh)).toBe(true);
    expect(isCreate({ ...fresh, metadata: { ...fresh.metadata, resourceVersion: '5' } })).toBe(false);
    expect(isCreate({ ...fresh, status: { phase: 'Bound' } })).toBe(false);
    const o = structuredClone(fresh);
    persistentvolumeclaims.defaults?.(o);
    expect(o.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    const stored: KObject = { ...structuredClone(volume), status: { phase: 'Available' } };
    persistentvolumes.defaults?.(stored);
    expect(stored.metadata.finalizers).toBeUndefined();
  });
});
