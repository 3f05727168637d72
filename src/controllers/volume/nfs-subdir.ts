/**
 * kubernetes-sigs/nfs-subdir-external-provisioner, in process (provisioner
 * name `k8s-sigs.io/nfs-subdir-external-provisioner`): one subdirectory of a
 * shared directory per volume.
 *
 * The share is a directory of this host (`sharedDir`, default
 * `<dataDir>/shared`; in real use an NFS mount present at the same path on
 * every machine running an Ordinal node). Upstream mounts NFS_SERVER:NFS_PATH
 * and writes PVs with an `nfs {server, path}` source. Ordinal has no NFS
 * server, so a PV saying `nfs` would be untrue and could not be mounted by the
 * node agent; instead the PV source is `hostPath {path: <sharedDir>/<dir>,
 * type: Directory}`: `kubectl get pv -o yaml` shows where the data really is,
 * the node agent bind-mounts it like any hostPath, and `type: Directory` makes
 * a node without the share fail to start the pod instead of silently writing
 * to an empty local directory. No node affinity: every node sees the share.
 *
 * - Directory: `${namespace}-${pvcName}-${pvName}`, mode 0777 (claim
 *   annotation `k8s-sigs.io/nfs-directory-mode` overrides; `-uid`/`-gid`
 *   chown), or the class `pathPattern` with `${.PVC.namespace}`,
 *   `${.PVC.name}`, `${.PVC.labels.<k>}`, `${.PVC.annotations.<k>}` (an empty
 *   result falls back to the default name). Unlike upstream, a pattern that
 *   would leave the share (`..`) is refused.
 * - Delete, in upstream's order: a missing directory is skipped; class
 *   parameter `onDelete: delete` removes it, `onDelete: retain` keeps it;
 *   otherwise `archiveOnDelete: "false"` removes it; anything else (including
 *   no parameter) renames it to `archived-<last path element>` at the top of
 *   the share, as upstream does for pathPattern directories too.
 * - Claim selectors are refused ("claim Selector is not supported").
 */
import { chmod, chown, mkdir, rename } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import type { KObject } from '../../api/types.js';
import { parseGoBool } from './local-path.js';
import {
  type DeleteContext,
  exists,
  type Provisioner,
  type ProvisionOptions,
  removeTree,
} from './provisioner.js';
import { accessModesOf, annotationsOf, classParameters, rec, requestText, specOf, str } from './util.js';

export const NFS_SUBDIR_PROVISIONER = 'k8s-sigs.io/nfs-subdir-external-provisioner';
const ANNOTATION_PREFIX = 'k8s-sigs.io';

export interface NfsSubdirProvisionerOptions {
  /** The shared directory (NFS_PATH as mounted). */
  sharedDir: string;
  /** Provisioner name (PROVISIONER_NAME; default k8s-sigs.io/nfs-subdir-external-provisioner). */
  name?: string;
}

const PATTERN = /\$\{\.PVC\.((labels|annotations)\.(.*?)|.*?)\}/g;

/** upstream's pvcMetadata.stringParser over a claim. */
export function expandNfsPathPattern(pattern: string, pvc: KObject): string {
  const data: Record<string, string> = {
    name: pvc.metadata.name ?? '',
    namespace: pvc.metadata.namespace ?? '',
  };
  return pattern.replace(
    PATTERN,
    (_all, whole: string, kind: string | undefined, key: string | undefined) => {
      if (kind === 'labels') return pvc.metadata.labels?.[key ?? ''] ?? '';
      if (kind === 'annotations') return pvc.metadata.annotations?.[key ?? ''] ?? '';
      return data[whole] ?? '';
    },
  );
}

function parseMode(text: string): number {
  if (!/^[0-7]+$/.test(text))
    throw new Error(`invalid mode ${text}: strconv.ParseInt: parsing "${text}": invalid syntax`);
  const mode = Number.parseInt(text, 8);
  if (mode > 0o777) throw new Error(`mode must be between 0 and 0777, got ${text}`);
  return mode;
}

function parseId(text: string): number | undefined {
  const id = Number(text);
  if (!/^\d+$/.test(text) || id > 65535) return undefined;
  return id;
}

export class NfsSubdirProvisioner implements Provisioner {
  readonly name: string;
  readonly supportsBlock = false;
  readonly sharedDir: string;

  constructor(opts: NfsSubdirProvisionerOptions) {
    this.name = opts.name ?? NFS_SUBDIR_PROVISIONER;
    this.sharedDir = resolve(opts.sharedDir);
  }

  /** Absolute directory under the share; refuses paths that would leave it. */
  private inShare(sub: string): string {
    const p = resolve(this.sharedDir, sub);
    const rel = relative(this.sharedDir, p);
    if (rel === '' || rel.startsWith('..') || resolve(this.sharedDir, rel) !== p) {
      throw new Error(`unable to create directory to provision new pv: ${sub} is outside ${this.sharedDir}`);
    }
    return p;
  }

  async provision(opts: ProvisionOptions): Promise<KObject> {
    const { pvc, storageClass, pvName } = opts;
    const spec = specOf(pvc);
    if (spec.selector !== undefined && spec.selector !== null)
      throw new Error('claim Selector is not supported');
    const ns = pvc.metadata.namespace ?? '';
    const claimName = pvc.metadata.name ?? '';
    let dir = [ns, claimName, pvName].join('-');
    const pattern = classParameters(storageClass).pathPattern;
    if (pattern !== undefined) {
      const custom = expandNfsPathPattern(pattern, pvc);
      if (custom !== '') dir = custom;
    }
    const path = this.inShare(dir);

    const annotations = annotationsOf(pvc);
    let mode = 0o777;
    const modeText = annotations[`${ANNOTATION_PREFIX}/nfs-directory-mode`];
    if (modeText) {
      try {
        mode = parseMode(modeText);
      } catch (e) {
        throw new Error(`invalid directoryMode ${modeText}: ${(e as Error).message}`);
      }
    }
    try {
      await mkdir(path, { recursive: true, mode });
    } catch (e) {
      throw new Error(`unable to create directory to provision new pv: ${(e as Error).message}`);
    }
    await chmod(path, mode);
    const uidText = annotations[`${ANNOTATION_PREFIX}/nfs-directory-uid`];
    const gidText = annotations[`${ANNOTATION_PREFIX}/nfs-directory-gid`];
    if (uidText || gidText) {
      // Upstream runs as root and always chowns (default 0:0); here only when asked for.
      const uid = uidText ? parseId(uidText) : undefined;
      const gid = gidText ? parseId(gidText) : undefined;
      await chown(path, uid ?? process.getuid?.() ?? 0, gid ?? process.getgid?.() ?? 0);
    }

    const pvSpec: Record<string, unknown> = {
      persistentVolumeReclaimPolicy: str(storageClass.reclaimPolicy) || 'Delete',
      accessModes: accessModesOf(pvc),
      capacity: { storage: requestText(pvc) },
      hostPath: { path, type: 'Directory' },
    };
    if (Array.isArray(storageClass.mountOptions)) pvSpec.mountOptions = [...storageClass.mountOptions];
    return { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName }, spec: pvSpec };
  }

  async delete(pv: KObject, ctx: DeleteContext): Promise<void> {
    const spec = specOf(pv);
    const path = str(rec(spec.hostPath).path) || str(rec(spec.nfs).path);
    if (!path || !(await exists(path))) return; // "path ... does not exist, deletion skipped"
    const cls = ctx.storageClass;
    if (!cls) {
      const className = str(spec.storageClassName);
      if (className === '') throw new Error('volume has no storage class');
      throw new Error(`storageclasses.storage.k8s.io "${className}" not found`);
    }
    const params = classParameters(cls);
    switch (params.onDelete) {
      case 'delete':
        await removeTree(path);
        return;
      case 'retain':
        return;
    }
    const archive = params.archiveOnDelete;
    if (archive !== undefined) {
      const b = parseGoBool(archive);
      if (b === undefined) throw new Error(`strconv.ParseBool: parsing "${archive}": invalid syntax`);
      if (!b) {
        await removeTree(path);
        return;
      }
    }
    await rename(path, join(this.sharedDir, `archived-${basename(path)}`));
  }
}
