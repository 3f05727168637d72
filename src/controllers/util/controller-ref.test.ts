import { beforeEach, describe, expect, it } from 'vitest';
import { isConflict } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { InProcessClient } from '../../client/in-process.js';
import { labelSelectorAsMatcher } from '../../machinery/selectors.js';
import { startInProcessApi } from '../../testing/in-process.js';
import { adoptObject, claimObjects, getControllerOf, newControllerRef } from './controller-ref.js';
import { CONFIGMAPS, PODS, STATEFULSETS } from './resources.js';

let client: InProcessClient;

beforeEach(async () => {
  ({ client } = await startInProcessApi());
});

function pod(name: string, labels: Record<string, string>, owner?: KObject): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels, ...(owner ? { ownerReferences: [newControllerRef(owner)] } : {}) },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  };
}

async function owner(): Promise<KObject> {
  return client.create(STATEFULSETS, 'default', {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
  });
}

describe('claimObjects', () => {
  it('adopts matching orphans, keeps owned matches, releases owned non-matches, ignores others', async () => {
    const set = await owner();
    const other = { ...set, metadata: { ...set.metadata, uid: 'other-uid', name: 'other' } };
    const orphan = await client.create(PODS, 'default', pod('orphan', { app: 'web' }));
    const owned = await client.create(PODS, 'default', pod('owned', { app: 'web' }, set));
    const stray = await client.create(PODS, 'default', pod('stray', { app: 'db' }, set));
    const foreign = await client.create(PODS, 'default', pod('foreign', { app: 'web' }, other));
    const unrelated = await client.create(PODS, 'default', pod('unrelated', { app: 'db' }));
    const claimed = await claimObjects([orphan, owned, stray, foreign, unrelated], {
      client,
      resource: PODS,
      owner: set,
      selector: labelSelectorAsMatcher({ matchLabels: { app: 'web' } }),
    });
    expect(claimed.map((p) => p.metadata.name).sort()).toEqual(['orphan', 'owned']);
    const adopted = await client.get(PODS, 'default', 'orphan');
    expect(getControllerOf(adopted)).toMatchObject({
      uid: set.metadata.uid,
      kind: 'StatefulSet',
      name: 'web',
    });
    const released = await client.get(PODS, 'default', 'stray');
    expect(released.metadata.ownerReferences ?? []).toEqual([]);
    expect(getControllerOf(await client.get(PODS, 'default', 'foreign'))?.uid).toBe('other-uid');
    expect(getControllerOf(await client.get(PODS, 'default', 'unrelated'))).toBeUndefined();
  });

  it('does not adopt when the owner is being deleted or canAdopt refuses', async () => {
    const set = await owner();
    const orphan = await client.create(PODS, 'default', pod('orphan', { app: 'web' }));
    const selector = labelSelectorAsMatcher({ matchLabels: { app: 'web' } });
    const deleting = { ...set, metadata: { ...set.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    expect(await claimObjects([orphan], { client, resource: PODS, owner: deleting, selector })).toEqual([]);
    await expect(
      claimObjects([orphan], {
        client,
        resource: PODS,
        owner: set,
        selector,
        canAdopt: async () => {
          throw new Error('owner gone');
        },
      }),
    ).rejects.toThrow('owner gone');
    expect(getControllerOf(await client.get(PODS, 'default', 'orphan'))).toBeUndefined();
  });

  it('adoption carries the uid as a precondition: a recreated object is not adopted', async () => {
    const set = await owner();
    const first = await client.create(PODS, 'default', pod('p', { app: 'web' }));
    await client.delete(PODS, 'default', 'p');
    await client.create(PODS, 'default', pod('p', { app: 'web' }));
    const err = await adoptObject(client, PODS, first, set).catch((e: unknown) => e);
    expect(isConflict(err)).toBe(true);
    expect(getControllerOf(await client.get(PODS, 'default', 'p'))).toBeUndefined();
    // The same precondition on a config map update through PUT.
    const cm = await client.create(CONFIGMAPS, 'default', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
    });
    const wrong = { ...cm, metadata: { ...cm.metadata, uid: 'not-it' } };
    const err2 = await client.update(CONFIGMAPS, 'default', wrong).catch((e: unknown) => e);
    expect(isConflict(err2)).toBe(true);
    expect(String((err2 as Error).message)).toContain('Precondition failed: UID in precondition: not-it');
  });
});
