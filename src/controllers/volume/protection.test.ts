import { afterEach, describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { PODS, PVCS, PVS } from '../util/resources.js';
import { podUsesClaim } from './pvc-protection.js';
import { claimSpec, type VolumeEnv, volumeEnv } from './test-env.js';

const status = (o: KObject | undefined): Record<string, unknown> =>
  (o?.status ?? {}) as Record<string, unknown>;

let env: VolumeEnv | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

/** Lets the controllers run a few passes (used before asserting that something did NOT happen). */
async function settle(e: VolumeEnv): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await e.get(PVS, undefined, 'x');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('finalizers on create', () => {
  it('every new claim and volume carries its protection finalizer', async () => {
    env = await volumeEnv();
    const pvc = await env.pvc('ns1', 'c', claimSpec('1Gi', { storageClassName: '' }));
    const pv = await env.pv('v', { capacity: { storage: '1Gi' }, hostPath: { path: '/srv/v' } });
    expect(pvc.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    expect(pv.metadata.finalizers).toEqual(['kubernetes.io/pv-protection']);
    expect(status(pv)).toMatchObject({
      phase: 'Pending',
      lastPhaseTransitionTime: pv.metadata.creationTimestamp,
    });
  });

  it('re-adds a finalizer removed from a claim or volume that is not being deleted', async () => {
    const e = await volumeEnv();
    env = e;
    await e.pvc('ns1', 'c', claimSpec('1Gi', { storageClassName: 'none' }));
    await e.pv('v', { capacity: { storage: '1Gi' }, hostPath: { path: '/srv/v' }, storageClassName: 'none' });
    await e.mutate(PVCS, 'ns1', 'c', (c) => {
      c.metadata.finalizers = [];
    });
    await e.mutate(PVS, undefined, 'v', (v) => {
      v.metadata.finalizers = [];
    });
    await e.until(async () => (await e.get(PVCS, 'ns1', 'c'))?.metadata.finalizers?.length === 1);
    await e.until(async () => (await e.get(PVS, undefined, 'v'))?.metadata.finalizers?.length === 1);
  });
});

describe('PVC protection', () => {
  it('a claim used by a scheduled pod is removed only once the pod is gone', async () => {
    const e = await volumeEnv();
    env = e;
    await e.pv('v', { capacity: { storage: '1Gi' }, hostPath: { path: '/srv/v' }, storageClassName: '' });
    await e.pvc('ns1', 'data', claimSpec('1Gi', { storageClassName: '' }));
    await e.bound('ns1', 'data');
    await e.pod('ns1', 'user', 'data', 'node-a');

    await e.client.delete(PVCS, 'ns1', 'data');
    await settle(e);
    const held = await e.get(PVCS, 'ns1', 'data');
    expect(held?.metadata.deletionTimestamp).toBeDefined();
    expect(held?.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);

    // A graceful delete of a pod on a node only marks it: it still holds the claim.
    await e.client.delete(PODS, 'ns1', 'user');
    await settle(e);
    expect(await e.get(PVCS, 'ns1', 'data')).toBeDefined();

    await e.client.delete(PODS, 'ns1', 'user', { gracePeriodSeconds: 0 });
    await e.gone(PVCS, 'ns1', 'data');
    // The volume is released once its claim is gone (Retain by default for hand-made volumes).
    await e.until(async () => status(await e.get(PVS, undefined, 'v')).phase === 'Released');
  });

  it('finished and unscheduled pods do not hold a claim', async () => {
    const e = await volumeEnv();
    env = e;
    await e.pvc('ns1', 'a', claimSpec('1Gi', { storageClassName: 'none' }));
    await e.pvc('ns1', 'b', claimSpec('1Gi', { storageClassName: 'none' }));
    const done = await e.pod('ns1', 'done', 'a', 'node-a');
    done.status = { phase: 'Succeeded' };
    await e.client.update(PODS, 'ns1', done, { subresource: 'status' });
    await e.pod('ns1', 'pending', 'b');
    await e.client.delete(PVCS, 'ns1', 'a');
    await e.client.delete(PVCS, 'ns1', 'b');
    await e.gone(PVCS, 'ns1', 'a');
    await e.gone(PVCS, 'ns1', 'b');
  });

  it('podUsesClaim: scheduled, not finished, referencing the claim (or an ephemeral volume)', () => {
    const pod = (extra: Record<string, unknown>, phase = 'Running'): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'n' },
      spec: {
        nodeName: 'n1',
        volumes: [
          { name: 'd', persistentVolumeClaim: { claimName: 'c' } },
          { name: 'scratch', ephemeral: {} },
        ],
        ...extra,
      },
      status: { phase },
    });
    expect(podUsesClaim(pod({}), 'c')).toBe(true);
    expect(podUsesClaim(pod({}), 'p-scratch')).toBe(true);
    expect(podUsesClaim(pod({}), 'other')).toBe(false);
    expect(podUsesClaim(pod({ nodeName: undefined }), 'c')).toBe(false);
    expect(podUsesClaim(pod({}, 'Failed'), 'c')).toBe(false);
    expect(podUsesClaim(pod({}, 'Succeeded'), 'c')).toBe(false);
  });
});

describe('PV protection', () => {
  it('a Bound volume being deleted stays until it is no longer Bound', async () => {
    const e = await volumeEnv();
    env = e;
    await e.pv('v', { capacity: { storage: '1Gi' }, hostPath: { path: '/srv/v' }, storageClassName: '' });
    await e.pvc('ns1', 'data', claimSpec('1Gi', { storageClassName: '' }));
    await e.bound('ns1', 'data');
    await e.until(async () => status(await e.get(PVS, undefined, 'v')).phase === 'Bound');
    await e.client.delete(PVS, undefined, 'v');
    await settle(e);
    const held = await e.get(PVS, undefined, 'v');
    expect(held?.metadata.deletionTimestamp).toBeDefined();
    expect(status(held).phase).toBe('Bound');
    await e.client.delete(PVCS, 'ns1', 'data');
    await e.gone(PVS, undefined, 'v');
  });

  it('an Available volume is deleted at once', async () => {
    const e = await volumeEnv();
    env = e;
    await e.pv('v', { capacity: { storage: '1Gi' }, hostPath: { path: '/srv/v' } });
    await e.until(async () => status(await e.get(PVS, undefined, 'v')).phase === 'Available');
    await e.client.delete(PVS, undefined, 'v');
    await e.gone(PVS, undefined, 'v');
  });
});
