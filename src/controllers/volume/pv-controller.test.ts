import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KObject } from '../../api/types.js';
import { PVCS, PVS, STORAGECLASSES } from '../util/resources.js';
import { ensureDefaultStorageClass } from './default-class.js';
import { claimSpec, type VolumeEnv, volumeEnv } from './test-env.js';

type Json = Record<string, unknown>;
const spec = (o: KObject | undefined): Json => (o?.spec ?? {}) as Json;
const status = (o: KObject | undefined): Json => (o?.status ?? {}) as Json;
const ann = (o: KObject | undefined): Record<string, string> => o?.metadata.annotations ?? {};

let env: VolumeEnv | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

async function start(): Promise<VolumeEnv> {
  env = await volumeEnv();
  return env;
}

function hostPathPV(path: string, size: string, extra: Json = {}): Json {
  return { capacity: { storage: size }, hostPath: { path }, storageClassName: '', ...extra };
}

describe('static binding', () => {
  it('binds the smallest volume that is big enough, both ways, with upstream annotations and status', async () => {
    const e = await start();
    await e.pv('small', hostPathPV('/srv/small', '1Gi'));
    await e.pv('big', hostPathPV('/srv/big', '10Gi'));
    await e.pv('medium', hostPathPV('/srv/medium', '5Gi'));
    await e.until(async () => status(await e.get(PVS, undefined, 'medium')).phase === 'Available');
    await e.pvc('ns1', 'data', claimSpec('3Gi', { storageClassName: '' }));

    const claim = await e.bound('ns1', 'data');
    expect(spec(claim).volumeName).toBe('medium');
    expect(ann(claim)).toMatchObject({
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
    });
    expect(status(claim)).toMatchObject({
      phase: 'Bound',
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '5Gi' },
    });
    const pv = await e.until(async () => {
      const v = await e.get(PVS, undefined, 'medium');
      return status(v).phase === 'Bound' ? v : undefined;
    });
    expect(spec(pv).claimRef).toMatchObject({
      kind: 'PersistentVolumeClaim',
      namespace: 'ns1',
      name: 'data',
      uid: claim.metadata.uid,
      apiVersion: 'v1',
    });
    expect(ann(pv)['pv.kubernetes.io/bound-by-controller']).toBe('yes');
    expect(typeof status(pv).lastPhaseTransitionTime).toBe('string');
    expect(status(await e.get(PVS, undefined, 'small')).phase).toBe('Available');
    expect(status(await e.get(PVS, undefined, 'big')).phase).toBe('Available');
  });

  it('matches access modes, class, selector and volume mode', async () => {
    const e = await start();
    await e.pv('rox', hostPathPV('/srv/rox', '5Gi', { accessModes: ['ReadOnlyMany'] }));
    await e.pv('fast', hostPathPV('/srv/fast', '5Gi', { storageClassName: 'fast' }));
    await e.pv('block', hostPathPV('/srv/block', '5Gi', { volumeMode: 'Block' }));
    await e.pv('blue', hostPathPV('/srv/blue', '5Gi'), { color: 'blue' });
    await e.pv('red', hostPathPV('/srv/red', '8Gi'), { color: 'red' });
    await e.pvc(
      'ns1',
      'red-claim',
      claimSpec('1Gi', { storageClassName: '', selector: { matchLabels: { color: 'red' } } }),
    );
    await e.pvc('ns1', 'fast-claim', claimSpec('1Gi', { storageClassName: 'fast' }));
    await e.pvc('ns1', 'rwx', claimSpec('1Gi', { storageClassName: '', accessModes: ['ReadWriteMany'] }));

    expect(spec(await e.bound('ns1', 'red-claim')).volumeName).toBe('red');
    expect(spec(await e.bound('ns1', 'fast-claim')).volumeName).toBe('fast');
    // Nothing offers ReadWriteMany; no class, so nothing to provision.
    await e.waitEvent(
      'ns1',
      'rwx',
      /^Normal FailedBinding no persistent volumes available for this claim and no storage class is set$/,
    );
    expect(status(await e.get(PVCS, 'ns1', 'rwx')).phase).toBe('Pending');
    // The Block volume never matched a Filesystem claim; a Block claim takes it.
    await e.pvc('ns1', 'raw', claimSpec('1Gi', { storageClassName: '', volumeMode: 'Block' }));
    expect(spec(await e.bound('ns1', 'raw')).volumeName).toBe('block');
  });

  it('honours spec.volumeName and a PV claimRef (pre-binding), and binds late volumes', async () => {
    const e = await start();
    await e.pv('wanted', hostPathPV('/srv/wanted', '2Gi'));
    await e.pv('other', hostPathPV('/srv/other', '1Gi'));
    await e.pvc('ns1', 'by-name', claimSpec('1Gi', { storageClassName: '', volumeName: 'wanted' }));
    const byName = await e.bound('ns1', 'by-name');
    expect(spec(byName).volumeName).toBe('wanted');
    // Pre-bound by the user: the claim is not marked bound-by-controller.
    expect(ann(byName)['pv.kubernetes.io/bound-by-controller']).toBeUndefined();

    await e.pv(
      'reserved',
      hostPathPV('/srv/reserved', '1Gi', { claimRef: { namespace: 'ns1', name: 'mine' } }),
    );
    await e.until(async () => status(await e.get(PVS, undefined, 'reserved')).phase === 'Available');
    await e.pvc('ns1', 'someone-else', claimSpec('1Gi', { storageClassName: '' }));
    expect(spec(await e.bound('ns1', 'someone-else')).volumeName).toBe('other');
    await e.pvc('ns1', 'mine', claimSpec('1Gi', { storageClassName: '' }));
    expect(spec(await e.bound('ns1', 'mine')).volumeName).toBe('reserved');
    expect(
      ann(await e.get(PVS, undefined, 'reserved'))['pv.kubernetes.io/bound-by-controller'],
    ).toBeUndefined();

    // A claim naming a volume that does not exist yet waits Pending, then binds when it appears.
    await e.pvc('ns1', 'early', claimSpec('1Gi', { storageClassName: '', volumeName: 'late' }));
    await e.until(async () => status(await e.get(PVCS, 'ns1', 'early')).phase === 'Pending');
    await e.pv('late', hostPathPV('/srv/late', '1Gi'));
    expect(spec(await e.bound('ns1', 'early')).volumeName).toBe('late');
    // A requested volume that does not fit is refused with an event.
    await e.pv('tiny', hostPathPV('/srv/tiny', '1Mi'));
    await e.pvc('ns1', 'too-big', claimSpec('1Gi', { storageClassName: '', volumeName: 'tiny' }));
    await e.waitEvent(
      'ns1',
      'too-big',
      /^Warning VolumeMismatch Cannot bind to requested volume "tiny": requested PV is too small$/,
    );
  });

  it('reports a bound claim whose volume disappeared as Lost', async () => {
    const e = await start();
    await e.pv('doomed', hostPathPV('/srv/doomed', '1Gi'));
    await e.pvc('ns1', 'data', claimSpec('1Gi', { storageClassName: '' }));
    await e.bound('ns1', 'data');
    // Force the PV away (finalizer removed by hand, as an admin could).
    await e.client.delete(PVS, undefined, 'doomed');
    await e.mutate(PVS, undefined, 'doomed', (pv) => {
      pv.metadata.finalizers = [];
    });
    await e.until(async () => status(await e.get(PVCS, 'ns1', 'data')).phase === 'Lost');
    await e.waitEvent('ns1', 'data', /^Warning ClaimLost Bound claim has lost its PersistentVolume/);
  });
});

describe('dynamic provisioning', () => {
  it('Immediate class: provisions an nfs-subdir volume at once and binds it', async () => {
    const e = await start();
    await e.storageClass('nfs', { provisioner: 'k8s-sigs.io/nfs-subdir-external-provisioner' });
    const created = await e.pvc('ns1', 'share', claimSpec('32Mi', { storageClassName: 'nfs' }));
    const claim = await e.bound('ns1', 'share');
    const pvName = `pvc-${created.metadata.uid}`;
    expect(spec(claim).volumeName).toBe(pvName);
    expect(ann(claim)).toMatchObject({
      'volume.kubernetes.io/storage-provisioner': 'k8s-sigs.io/nfs-subdir-external-provisioner',
      'volume.beta.kubernetes.io/storage-provisioner': 'k8s-sigs.io/nfs-subdir-external-provisioner',
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
    });
    const pv = (await e.get(PVS, undefined, pvName))!;
    const dir = join(e.sharedDir, `ns1-share-${pvName}`);
    expect(spec(pv)).toMatchObject({
      capacity: { storage: '32Mi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'nfs',
      hostPath: { path: dir, type: 'Directory' },
    });
    expect(spec(pv).nodeAffinity).toBeUndefined();
    expect(ann(pv)['pv.kubernetes.io/provisioned-by']).toBe('k8s-sigs.io/nfs-subdir-external-provisioner');
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o777);
    await e.waitEvent(
      'ns1',
      'share',
      new RegExp(
        `^Normal ProvisioningSucceeded Successfully provisioned volume ${pvName} using k8s-sigs.io/nfs-subdir-external-provisioner$`,
      ),
    );
    const evs = await e.events('ns1', 'share');
    expect(evs).toContain(
      "Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'k8s-sigs.io/nfs-subdir-external-provisioner' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
    );
    expect(evs).toContain(
      'Normal Provisioning External provisioner is provisioning volume for claim "ns1/share"',
    );
  });

  it('WaitForFirstConsumer: waits for the selected node, then provisions local-path there', async () => {
    const e = await start();
    await e.node('node-a');
    await e.storageClass('local', {
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const created = await e.pvc('ns1', 'data-db-0', claimSpec('1Gi', { storageClassName: 'local' }));
    await e.waitEvent(
      'ns1',
      'data-db-0',
      /^Normal WaitForFirstConsumer waiting for first consumer to be created before binding$/,
    );
    // An unscheduled pod using the claim changes the message.
    await e.pod('ns1', 'db-0', 'data-db-0');
    await e.annotateClaim('ns1', 'data-db-0', { touch: '1' });
    await e.waitEvent(
      'ns1',
      'data-db-0',
      /^Normal WaitForPodScheduled waiting for pod db-0 to be scheduled$/,
    );
    const pvName = `pvc-${created.metadata.uid}`;
    expect(await e.get(PVS, undefined, pvName)).toBeUndefined();
    expect(status(await e.get(PVCS, 'ns1', 'data-db-0')).phase).toBe('Pending');

    await e.annotateClaim('ns1', 'data-db-0', { 'volume.kubernetes.io/selected-node': 'node-a' });
    const claim = await e.bound('ns1', 'data-db-0');
    expect(spec(claim).volumeName).toBe(pvName);
    const pv = (await e.get(PVS, undefined, pvName))!;
    const dir = join(e.dataDir, 'local-path-provisioner', `${pvName}_ns1_data-db-0`);
    expect(spec(pv)).toMatchObject({
      hostPath: { path: dir, type: 'DirectoryOrCreate' },
      volumeMode: 'Filesystem',
      capacity: { storage: '1Gi' },
      persistentVolumeReclaimPolicy: 'Delete',
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-a'] }] },
          ],
        },
      },
    });
    expect(ann(pv)).toMatchObject({
      'local.path.provisioner/selected-node': 'node-a',
      'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path',
    });
    expect(statSync(dir).mode & 0o777).toBe(0o777);
  });

  it('WaitForFirstConsumer: binds an existing volume only if its node affinity admits the selected node', async () => {
    const e = await start();
    await e.node('node-a');
    await e.node('node-b');
    await e.storageClass('manual', {
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const onNode = (n: string) => ({
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [n] }] },
        ],
      },
    });
    await e.pv('local-b', {
      capacity: { storage: '1Gi' },
      local: { path: '/mnt/b' },
      storageClassName: 'manual',
      nodeAffinity: onNode('node-b'),
    });
    await e.pv('local-a', {
      capacity: { storage: '5Gi' },
      local: { path: '/mnt/a' },
      storageClassName: 'manual',
      nodeAffinity: onNode('node-a'),
    });
    await e.pvc('ns1', 'data', claimSpec('1Gi', { storageClassName: 'manual' }));
    await e.waitEvent('ns1', 'data', /WaitForFirstConsumer/);
    expect(status(await e.get(PVS, undefined, 'local-b')).phase).toBe('Available');
    await e.annotateClaim('ns1', 'data', { 'volume.kubernetes.io/selected-node': 'node-a' });
    expect(spec(await e.bound('ns1', 'data')).volumeName).toBe('local-a');

    // No volume for node-b's claim of 2Gi and an in-tree "provisioner" that does not exist.
    await e.pvc('ns1', 'big', claimSpec('2Gi', { storageClassName: 'manual' }), {
      annotations: { 'volume.kubernetes.io/selected-node': 'node-b' },
    });
    await e.waitEvent(
      'ns1',
      'big',
      /^Warning ProvisioningFailed no volume plugin matched name: kubernetes.io\/no-provisioner$/,
    );
  });

  it('drops a selected node that does not exist so the scheduler picks again', async () => {
    const e = await start();
    await e.storageClass('local', {
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    await e.pvc('ns1', 'data', claimSpec('1Gi', { storageClassName: 'local' }), {
      annotations: { 'volume.kubernetes.io/selected-node': 'ghost' },
    });
    await e.waitEvent('ns1', 'data', /^Warning ProvisioningFailed node "ghost" not found$/);
    await e.until(
      async () => ann(await e.get(PVCS, 'ns1', 'data'))['volume.kubernetes.io/selected-node'] === undefined,
      'selected-node removed',
    );
    expect((await e.client.list(PVS, undefined)).items).toEqual([]);
  });

  it('local-path refuses Immediate binding, RWX and selectors with upstream messages', async () => {
    const e = await start();
    await e.storageClass('local-now', { provisioner: 'rancher.io/local-path' });
    await e.pvc('ns1', 'now', claimSpec('1Gi', { storageClassName: 'local-now' }));
    await e.waitEvent(
      'ns1',
      'now',
      /^Warning ProvisioningFailed failed to provision volume with StorageClass "local-now": configuration error, no node was specified$/,
    );
    await e.pvc(
      'ns1',
      'rwx',
      claimSpec('1Gi', { storageClassName: 'local-now', accessModes: ['ReadWriteMany'] }),
    );
    await e.waitEvent(
      'ns1',
      'rwx',
      /NodePath only supports ReadWriteOnce and ReadWriteOncePod \(1\.22\+\) access modes$/,
    );
    await e.pvc(
      'ns1',
      'sel',
      claimSpec('1Gi', { storageClassName: 'local-now', selector: { matchLabels: { a: 'b' } } }),
    );
    await e.waitEvent('ns1', 'sel', /claim\.Spec\.Selector is not supported$/);
    expect(status(await e.get(PVCS, 'ns1', 'now')).phase).toBe('Pending');
  });

  it('reports a missing StorageClass', async () => {
    const e = await start();
    await e.pvc('ns1', 'orphan', claimSpec('1Gi', { storageClassName: 'nope' }));
    await e.waitEvent(
      'ns1',
      'orphan',
      /^Warning ProvisioningFailed storageclass\.storage\.k8s\.io "nope" not found$/,
    );
    // The class appearing later unblocks the claim.
    await e.storageClass('nope', { provisioner: 'k8s-sigs.io/nfs-subdir-external-provisioner' });
    await e.bound('ns1', 'orphan');
  });
});

describe('reclaim', () => {
  async function provisionLocal(
    e: VolumeEnv,
    cls: string,
    name: string,
  ): Promise<{ pv: string; dir: string }> {
    const c = await e.pvc('ns1', name, claimSpec('1Gi', { storageClassName: cls }), {
      annotations: { 'volume.kubernetes.io/selected-node': 'node-a' },
    });
    await e.bound('ns1', name);
    const pv = `pvc-${c.metadata.uid}`;
    return { pv, dir: join(e.dataDir, 'local-path-provisioner', `${pv}_ns1_${name}`) };
  }

  it('local-path: Delete removes the directory and the PV; Retain keeps both (Released)', async () => {
    const e = await start();
    await e.node('node-a');
    const wffc = { provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' };
    await e.storageClass('local-delete', { ...wffc, reclaimPolicy: 'Delete' });
    await e.storageClass('local-retain', { ...wffc, reclaimPolicy: 'Retain' });
    const del = await provisionLocal(e, 'local-delete', 'gone');
    const keep = await provisionLocal(e, 'local-retain', 'kept');
    await writeFile(join(del.dir, 'data'), 'x');
    await writeFile(join(keep.dir, 'data'), 'y');

    await e.client.delete(PVCS, 'ns1', 'gone');
    await e.client.delete(PVCS, 'ns1', 'kept');
    await e.gone(PVS, undefined, del.pv);
    expect(existsSync(del.dir)).toBe(false);
    const kept = await e.until(async () => {
      const v = await e.get(PVS, undefined, keep.pv);
      return status(v).phase === 'Released' ? v : undefined;
    });
    expect(spec(kept).persistentVolumeReclaimPolicy).toBe('Retain');
    expect(existsSync(join(keep.dir, 'data'))).toBe(true);
  });

  it('nfs-subdir: archives by default, removes with archiveOnDelete "false", keeps with Retain', async () => {
    const e = await start();
    const p = 'k8s-sigs.io/nfs-subdir-external-provisioner';
    await e.storageClass('nfs-archive', { provisioner: p });
    await e.storageClass('nfs-remove', { provisioner: p, parameters: { archiveOnDelete: 'false' } });
    await e.storageClass('nfs-reliable', { provisioner: p, reclaimPolicy: 'Retain' });
    const uids: Record<string, string> = {};
    for (const [name, cls] of [
      ['a', 'nfs-archive'],
      ['r', 'nfs-remove'],
      ['k', 'nfs-reliable'],
    ] as const) {
      uids[name] = (await e.pvc('ns1', name, claimSpec('1Mi', { storageClassName: cls }))).metadata.uid!;
      await e.bound('ns1', name);
      await e.client.delete(PVCS, 'ns1', name);
    }
    const dir = (n: string) => `ns1-${n}-pvc-${uids[n]}`;
    await e.gone(PVS, undefined, `pvc-${uids.a}`);
    await e.gone(PVS, undefined, `pvc-${uids.r}`);
    expect(existsSync(join(e.sharedDir, dir('a')))).toBe(false);
    expect(existsSync(join(e.sharedDir, `archived-${dir('a')}`))).toBe(true);
    expect(existsSync(join(e.sharedDir, dir('r')))).toBe(false);
    expect(existsSync(join(e.sharedDir, `archived-${dir('r')}`))).toBe(false);
    await e.until(async () => status(await e.get(PVS, undefined, `pvc-${uids.k}`)).phase === 'Released');
    expect(existsSync(join(e.sharedDir, dir('k')))).toBe(true);
  });

  it('hand-made volumes: Recycle and volumes without a deleter fail with upstream messages', async () => {
    const e = await start();
    await e.pv(
      'rec',
      hostPathPV('/srv/ordinal-recycle', '1Gi', { persistentVolumeReclaimPolicy: 'Recycle' }),
    );
    await e.pv('nfs', {
      capacity: { storage: '1Gi' },
      nfs: { server: '10.0.0.1', path: '/exports/x' },
      storageClassName: '',
      persistentVolumeReclaimPolicy: 'Delete',
    });
    for (const [claim, vol] of [
      ['c2', 'rec'],
      ['c3', 'nfs'],
    ]) {
      await e.pvc('ns1', claim!, claimSpec('1Gi', { storageClassName: '', volumeName: vol }));
      await e.bound('ns1', claim!);
      await e.client.delete(PVCS, 'ns1', claim!);
    }
    const failed = async (name: string) =>
      e.until(async () => {
        const v = await e.get(PVS, undefined, name);
        return status(v).phase === 'Failed' ? v : undefined;
      }, `${name} Failed`);
    expect(status(await failed('rec')).message).toBe('No recycler plugin found for the volume!');
    expect(status(await failed('nfs')).message).toBe(
      'error getting deleter volume plugin for volume "nfs": no deletable volume plugin matched',
    );
    const evs = await e.events('default', 'rec');
    expect(evs).toContain('Warning VolumeFailedRecycle No recycler plugin found for the volume!');
  });

  it('a hand-made hostPath volume with Delete loses its PV but keeps its directory', async () => {
    const e = await start();
    const dir = join(e.dataDir, 'hand-made');
    await mkdir(dir);
    await e.pv('hp', hostPathPV(dir, '1Gi', { persistentVolumeReclaimPolicy: 'Delete' }));
    await e.pvc('ns1', 'c', claimSpec('1Gi', { storageClassName: '', volumeName: 'hp' }));
    await e.bound('ns1', 'c');
    await e.client.delete(PVCS, 'ns1', 'c');
    await e.gone(PVS, undefined, 'hp');
    expect(existsSync(dir)).toBe(true);
  });
});

describe('default StorageClass', () => {
  it('ensureDefaultStorageClass creates kind-like "standard" once', async () => {
    const e = await start();
    await ensureDefaultStorageClass(e.client);
    await ensureDefaultStorageClass(e.client);
    const sc = (await e.get(STORAGECLASSES, undefined, 'standard'))!;
    expect(sc).toMatchObject({
      provisioner: 'rancher.io/local-path',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    expect(ann(sc)['storageclass.kubernetes.io/is-default-class']).toBe('true');
  });

  it('assigns the default class to new classless claims at once and to older ones retroactively', async () => {
    const e = await start();
    // Created before any default class exists: matched against class "" volumes first.
    await e.pvc('ns1', 'old', claimSpec('1Gi'));
    await e.waitEvent('ns1', 'old', /FailedBinding/);
    expect(spec(await e.get(PVCS, 'ns1', 'old')).storageClassName).toBeUndefined();
    await ensureDefaultStorageClass(e.client);
    await e.until(async () => spec(await e.get(PVCS, 'ns1', 'old')).storageClassName === 'standard');
    // A new claim gets it even though a class-"" volume would fit (admission runs first).
    await e.pv('blank', hostPathPV('/srv/blank', '1Gi'));
    await e.pvc('ns1', 'new', claimSpec('1Gi'));
    await e.until(async () => spec(await e.get(PVCS, 'ns1', 'new')).storageClassName === 'standard');
    await e.waitEvent('ns1', 'new', /WaitForFirstConsumer/);
    // An explicit "" is left alone and binds the blank volume.
    await e.pvc('ns1', 'explicit', claimSpec('1Gi', { storageClassName: '' }));
    expect(spec(await e.bound('ns1', 'explicit')).volumeName).toBe('blank');
  });
});

describe('many claims', () => {
  it('binds 300 claims to 300 equal volumes, each volume exactly once', async () => {
    const e = await start();
    const n = 300;
    for (let i = 0; i < n; i++) await e.pv(`v${i}`, hostPathPV(`/srv/v${i}`, '1Gi'));
    for (let i = 0; i < n; i++) await e.pvc('ns1', `c${i}`, claimSpec('1Gi', { storageClassName: '' }));
    const claims = await e.until(async () => {
      const list = (await e.client.list(PVCS, 'ns1')).items;
      return list.filter((c) => status(c).phase === 'Bound').length === n ? list : undefined;
    }, 'all claims bound');
    const used = new Set(claims.map((c) => String(spec(c).volumeName)));
    expect(used.size).toBe(n);
    const volumes = await e.until(async () => {
      const list = (await e.client.list(PVS, undefined)).items;
      return list.every((v) => status(v).phase === 'Bound') ? list : undefined;
    }, 'all volumes bound');
    for (const v of volumes) {
      const ref = spec(v).claimRef as { name: string };
      const c = claims.find((x) => x.metadata.name === ref.name);
      expect(spec(c).volumeName).toBe(v.metadata.name);
    }
  });
});

describe('examples/nfs-reliable-storageclass.yaml', () => {
  it('provisions nfs-subdir volumes that survive their claims', async () => {
    const e = await start();
    const text = await readFile(
      new URL('../../../examples/nfs-reliable-storageclass.yaml', import.meta.url),
      'utf8',
    );
    const sc = parse(text) as KObject;
    await e.client.create(STORAGECLASSES, undefined, sc);
    const c = await e.pvc(
      'ns1',
      'timeserver-volume-timeserver-0',
      claimSpec('32Mi', { storageClassName: 'nfs-reliable' }),
    );
    await e.bound('ns1', 'timeserver-volume-timeserver-0');
    const pvName = `pvc-${c.metadata.uid}`;
    const dir = join(e.sharedDir, `ns1-timeserver-volume-timeserver-0-${pvName}`);
    await writeFile(join(dir, 'visits'), '5');
    await e.client.delete(PVCS, 'ns1', 'timeserver-volume-timeserver-0');
    const pv = await e.until(async () => {
      const v = await e.get(PVS, undefined, pvName);
      return status(v).phase === 'Released' ? v : undefined;
    });
    expect(spec(pv).persistentVolumeReclaimPolicy).toBe('Retain');
    expect(existsSync(join(dir, 'visits'))).toBe(true);
  });
});
