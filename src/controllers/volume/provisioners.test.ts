import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { isLocalPath, LocalPathProvisioner, renderPathPattern } from './local-path.js';
import { expandNfsPathPattern, NfsSubdirProvisioner } from './nfs-subdir.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ordinal-prov-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function claim(extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: 'data',
      namespace: 'shop',
      uid: 'u-1',
      labels: { app: 'db' },
      annotations: { team: 'red' },
      ...meta,
    },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } }, ...extra },
  };
}

function sc(fields: Record<string, unknown> = {}, annotations?: Record<string, string>): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'cls', ...(annotations ? { annotations } : {}) },
    provisioner: 'x',
    reclaimPolicy: 'Delete',
    ...fields,
  };
}

/** An nfs-subdir placeholder: ${.PVC.<key>}. */
const v = (key: string): string => `\${.PVC.${key}}`;

const nodeA = { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a', zone: 'z1' } };
const spec = (o: KObject): Record<string, unknown> => o.spec as Record<string, unknown>;

describe('local-path provisioner', () => {
  it('creates <pv>_<ns>_<pvc> with mode 0777 and a hostPath PV pinned to the node', async () => {
    const p = new LocalPathProvisioner({ dataDir: dir });
    const pv = await p.provision({
      storageClass: sc(),
      pvName: 'pvc-u-1',
      pvc: claim(),
      selectedNode: nodeA,
    });
    const path = join(dir, 'local-path-provisioner', 'pvc-u-1_shop_data');
    expect(statSync(path).mode & 0o777).toBe(0o777);
    expect(pv.metadata).toEqual({
      name: 'pvc-u-1',
      annotations: { 'local.path.provisioner/selected-node': 'node-a' },
    });
    expect(spec(pv)).toEqual({
      persistentVolumeReclaimPolicy: 'Delete',
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
      capacity: { storage: '2Gi' },
      hostPath: { path, type: 'DirectoryOrCreate' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-a'] }] },
          ],
        },
      },
    });
  });

  it('honours nodePath, pathPattern, nodeAffinityKey and the volume type annotations', async () => {
    const p = new LocalPathProvisioner({ dataDir: dir });
    const base = join(dir, 'fast');
    const pv = await p.provision({
      storageClass: sc(
        {
          parameters: {
            nodePath: base,
            pathPattern: '{{ .PVC.Namespace }}/{{ .PVC.Name }}/{{ .PVC.Labels.app }}',
            nodeAffinityKey: 'zone',
          },
        },
        { defaultVolumeType: 'local' },
      ),
      pvName: 'pvc-u-1',
      pvc: claim(),
      selectedNode: nodeA,
    });
    expect(spec(pv).local).toEqual({ path: join(base, 'shop/data/db') });
    expect(existsSync(join(base, 'shop/data/db'))).toBe(true);
    expect(JSON.stringify(spec(pv).nodeAffinity)).toContain('"key":"zone","operator":"In","values":["z1"]');
    const hp = await p.provision({
      storageClass: sc({}, { defaultVolumeType: 'local' }),
      pvName: 'pvc-u-2',
      pvc: claim({}, { annotations: { volumeType: 'hostPath' } }),
      selectedNode: nodeA,
    });
    expect(spec(hp).hostPath).toBeDefined();
  });

  it('rejects what upstream rejects', async () => {
    const p = new LocalPathProvisioner({ dataDir: dir });
    const base = { storageClass: sc(), pvName: 'pvc-u-1', selectedNode: nodeA };
    await expect(p.provision({ ...base, pvc: claim(), selectedNode: undefined })).rejects.toThrow(
      'configuration error, no node was specified',
    );
    await expect(p.provision({ ...base, pvc: claim({ accessModes: ['ReadOnlyMany'] }) })).rejects.toThrow(
      'NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes',
    );
    await expect(p.provision({ ...base, pvc: claim({ selector: {} }) })).rejects.toThrow(
      'claim.Spec.Selector is not supported',
    );
    await expect(
      p.provision({
        ...base,
        storageClass: sc({ parameters: { pathPattern: 'elsewhere/{{ .PVName }}' } }),
        pvc: claim(),
      }),
    ).rejects.toThrow(
      'failed to create path from pattern elsewhere/{{ .PVName }}: pathPattern must start with {{ .PVC.Namespace }}/{{ .PVC.Name }}/: elsewhere/pvc-u-1',
    );
    await expect(
      p.provision({
        ...base,
        storageClass: sc({
          parameters: { pathPattern: '../../{{ .PVName }}', allowUnsafePathPattern: 'true' },
        }),
        pvc: claim(),
      }),
    ).resolves.toBeDefined();
    await expect(
      p.provision({
        ...base,
        storageClass: sc({ parameters: { pathPattern: 'shop/data/../../../x' } }),
        pvc: claim(),
      }),
    ).rejects.toThrow('folder path contains invalid references: shop/data/../../../x');
  });

  it('shared filesystem mode: no node needed, no affinity, any access mode', async () => {
    const shared = join(dir, 'shared-fs');
    const p = new LocalPathProvisioner({ dataDir: dir, sharedFileSystemPath: shared });
    const pv = await p.provision({
      storageClass: sc(),
      pvName: 'pvc-u-1',
      pvc: claim({ accessModes: ['ReadWriteMany'] }),
    });
    expect(spec(pv).nodeAffinity).toBeUndefined();
    expect(spec(pv).hostPath).toEqual({ path: join(shared, 'pvc-u-1_shop_data'), type: 'DirectoryOrCreate' });
  });

  it('delete removes the directory unless Retain, and skips volumes of vanished nodes', async () => {
    const p = new LocalPathProvisioner({ dataDir: dir });
    const pv = await p.provision({
      storageClass: sc(),
      pvName: 'pvc-u-1',
      pvc: claim(),
      selectedNode: nodeA,
    });
    const path = (spec(pv).hostPath as { path: string }).path;
    await writeFile(join(path, 'f'), 'x');
    const retained = { ...pv, spec: { ...spec(pv), persistentVolumeReclaimPolicy: 'Retain' } };
    await p.delete(retained, {});
    expect(existsSync(join(path, 'f'))).toBe(true);
    await p.delete(pv, { nodeExists: async () => false });
    expect(existsSync(path)).toBe(true);
    await p.delete(pv, { nodeExists: async () => true });
    expect(existsSync(path)).toBe(false);
    await expect(p.delete({ ...pv, spec: { hostPath: { path } } }, {})).rejects.toThrow(
      'failed to delete volume pvc-u-1: no NodeAffinity set',
    );
  });

  it('renderPathPattern and isLocalPath', () => {
    const data = { PVName: 'pvc-1', PVC: claim() };
    expect(renderPathPattern('{{.PVC.Namespace}}/{{ .PVC.Name }}/{{ .PVName }}', data)).toBe(
      'shop/data/pvc-1',
    );
    expect(renderPathPattern('{{ index .PVC.Annotations "team" }}-{{ .PVC.Labels.missing }}', data)).toBe(
      'red-<no value>',
    );
    expect(() => renderPathPattern('{{ printf "x" }}', data)).toThrow('function "printf" not defined');
    expect(isLocalPath('a/b')).toBe(true);
    expect(isLocalPath('a/../b')).toBe(true);
    expect(isLocalPath('a/../../b')).toBe(false);
    expect(isLocalPath('/a')).toBe(false);
    expect(isLocalPath('')).toBe(false);
  });
});

describe('nfs-subdir provisioner', () => {
  const share = () => join(dir, 'share');

  it('creates <namespace>-<pvcName>-<pvName> mode 0777 with a hostPath PV and no affinity', async () => {
    const p = new NfsSubdirProvisioner({ sharedDir: share() });
    const pv = await p.provision({
      storageClass: sc({ mountOptions: ['nfsvers=4.1'] }),
      pvName: 'pvc-u-1',
      pvc: claim(),
    });
    const path = join(share(), 'shop-data-pvc-u-1');
    expect(statSync(path).mode & 0o777).toBe(0o777);
    expect(spec(pv)).toEqual({
      persistentVolumeReclaimPolicy: 'Delete',
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '2Gi' },
      hostPath: { path, type: 'Directory' },
      mountOptions: ['nfsvers=4.1'],
    });
    await expect(
      p.provision({ storageClass: sc(), pvName: 'x', pvc: claim({ selector: {} }) }),
    ).rejects.toThrow('claim Selector is not supported');
  });

  it('pathPattern placeholders, empty result falls back, escaping the share is refused', async () => {
    const c = claim();
    expect(expandNfsPathPattern(`${v('namespace')}/${v('name')}`, c)).toBe('shop/data');
    expect(expandNfsPathPattern(`${v('labels.app')}-${v('annotations.team')}-${v('nope')}`, c)).toBe(
      'db-red-',
    );
    const p = new NfsSubdirProvisioner({ sharedDir: share() });
    const empty = await p.provision({
      storageClass: sc({ parameters: { pathPattern: v('labels.none') } }),
      pvName: 'pvc-u-1',
      pvc: c,
    });
    expect((spec(empty).hostPath as { path: string }).path).toBe(join(share(), 'shop-data-pvc-u-1'));
    await expect(
      p.provision({
        storageClass: sc({ parameters: { pathPattern: `../${v('name')}` } }),
        pvName: 'pvc-u-1',
        pvc: c,
      }),
    ).rejects.toThrow(/outside/);
  });

  it('delete: missing skipped; onDelete delete/retain; archiveOnDelete "false" removes; otherwise archived-<dir>', async () => {
    const p = new NfsSubdirProvisioner({ sharedDir: share() });
    const volume = async (name: string, params?: Record<string, string>, pattern?: string) => {
      const cls = sc({ parameters: { ...(params ?? {}), ...(pattern ? { pathPattern: pattern } : {}) } });
      const pv = await p.provision({ storageClass: cls, pvName: name, pvc: claim() });
      const path = (spec(pv).hostPath as { path: string }).path;
      await writeFile(join(path, 'f'), name);
      return { pv, cls, path };
    };
    // Missing directory: nothing to do, even without a class.
    const missing = await volume('pvc-missing');
    rmSync(missing.path, { recursive: true });
    await expect(p.delete(missing.pv, {})).resolves.toBeUndefined();

    const del = await volume('pvc-del', { onDelete: 'delete', archiveOnDelete: 'true' });
    await p.delete(del.pv, { storageClass: del.cls });
    expect(existsSync(del.path)).toBe(false);

    const ret = await volume('pvc-ret', { onDelete: 'retain', archiveOnDelete: 'false' });
    await p.delete(ret.pv, { storageClass: ret.cls });
    expect(existsSync(join(ret.path, 'f'))).toBe(true);

    const rm = await volume('pvc-rm', { archiveOnDelete: 'false' });
    await p.delete(rm.pv, { storageClass: rm.cls });
    expect(existsSync(rm.path)).toBe(false);
    expect(existsSync(join(share(), `archived-${'shop-data-pvc-rm'}`))).toBe(false);

    const arch = await volume('pvc-arch');
    await p.delete(arch.pv, { storageClass: arch.cls });
    expect(existsSync(arch.path)).toBe(false);
    expect(existsSync(join(share(), 'archived-shop-data-pvc-arch', 'f'))).toBe(true);

    // A pathPattern directory is archived under its last element at the top of the share.
    await mkdir(join(share(), 'shop'), { recursive: true });
    const nested = await volume('pvc-nested', {}, `${v('namespace')}/${v('name')}`);
    await p.delete(nested.pv, { storageClass: nested.cls });
    expect(existsSync(join(share(), 'archived-data', 'f'))).toBe(true);

    const bad = await volume('pvc-bad', { archiveOnDelete: 'maybe' });
    await expect(p.delete(bad.pv, { storageClass: bad.cls })).rejects.toThrow(
      'strconv.ParseBool: parsing "maybe": invalid syntax',
    );
    await expect(p.delete(bad.pv, {})).rejects.toThrow('volume has no storage class');
  });
});
