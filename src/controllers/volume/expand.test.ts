import { afterEach, describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { PVCS, PVS } from '../util/resources.js';
import { needsResize, RESIZE_FORBIDDEN } from './expand.js';
import { claimSpec, type VolumeEnv, volumeEnv } from './test-env.js';

type Json = Record<string, unknown>;
const status = (o: KObject | undefined): Json => (o?.status ?? {}) as Json;
const spec = (o: KObject | undefined): Json => (o?.spec ?? {}) as Json;

let env: VolumeEnv | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

async function grow(e: VolumeEnv, ns: string, name: string, size: string): Promise<void> {
  await e.mutate(PVCS, ns, name, (c) => {
    c.spec = { ...spec(c), resources: { requests: { storage: size } } };
  });
}

describe('volume expansion', () => {
  it('grows the PV and the claim status at once when the class allows it', async () => {
    const e = await volumeEnv();
    env = e;
    await e.storageClass('elastic', {
      provisioner: 'k8s-sigs.io/nfs-subdir-external-provisioner',
      allowVolumeExpansion: true,
    });
    const created = await e.pvc('ns1', 'data', claimSpec('1Gi', { storageClassName: 'elastic' }));
    await e.bound('ns1', 'data');
    await grow(e, 'ns1', 'data', '3Gi');

    const claim = await e.until(async () => {
      const c = await e.get(PVCS, 'ns1', 'data');
      const st = status(c);
      return (st.capacity as Json | undefined)?.storage === '3Gi' ? c : undefined;
    }, 'claim capacity 3Gi');
    expect(status(claim)).toMatchObject({ phase: 'Bound', allocatedResources: { storage: '3Gi' } });
    expect(status(claim).conditions).toBeUndefined();
    expect(status(claim).allocatedResourceStatuses).toBeUndefined();
    const pv = await e.get(PVS, undefined, `pvc-${created.metadata.uid}`);
    expect((spec(pv).capacity as Json).storage).toBe('3Gi');
    await e.waitEvent('ns1', 'data', /^Normal VolumeResizeSuccessful Resize volume succeeded$/);
    const evs = await e.events('ns1', 'data');
    expect(evs).toContain(`Normal Resizing External resizer is resizing volume pvc-${created.metadata.uid}`);
  });

  it('refuses to grow a claim whose class does not allow expansion (warning, status unchanged)', async () => {
    const e = await volumeEnv();
    env = e;
    await e.storageClass('rigid', { provisioner: 'k8s-sigs.io/nfs-subdir-external-provisioner' });
    const created = await e.pvc('ns1', 'data', claimSpec('1Gi', { storageClassName: 'rigid' }));
    await e.bound('ns1', 'data');
    await grow(e, 'ns1', 'data', '2Gi');
    await e.waitEvent('ns1', 'data', new RegExp(`^Warning VolumeResizeFailed ${RESIZE_FORBIDDEN}$`));
    const c = await e.get(PVCS, 'ns1', 'data');
    expect((status(c).capacity as Json).storage).toBe('1Gi');
    expect(status(c).allocatedResources).toBeUndefined();
    const pv = await e.get(PVS, undefined, `pvc-${created.metadata.uid}`);
    expect((spec(pv).capacity as Json).storage).toBe('1Gi');
  });

  it('needsResize: only bound claims asking for more than their capacity', () => {
    const claim = (request: string, capacity: string | undefined, phase = 'Bound'): KObject => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'c', namespace: 'n' },
      spec: { volumeName: 'v', resources: { requests: { storage: request } } },
      status: { phase, ...(capacity ? { capacity: { storage: capacity } } : {}) },
    });
    expect(needsResize(claim('2Gi', '1Gi'))).toBe(true);
    expect(needsResize(claim('1024Mi', '1Gi'))).toBe(false);
    expect(needsResize(claim('1Gi', '2Gi'))).toBe(false);
    expect(needsResize(claim('2Gi', '1Gi', 'Pending'))).toBe(false);
    expect(needsResize(claim('2Gi', undefined))).toBe(false);
  });
});
