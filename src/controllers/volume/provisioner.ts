/**
 * The in-process equivalent of sig-storage-lib-external-provisioner's
 * Provisioner interface: the PV controller calls `provision` for claims whose
 * StorageClass names the provisioner and `delete` for Released volumes it
 * created with reclaimPolicy Delete. Provisioners only touch the filesystem
 * and return the PV to create; all API writes stay in the controller.
 */
import { rm, stat } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import type { KObject } from '../../api/types.js';

export interface ProvisionOptions {
  /** The StorageClass (a cached object: do not mutate). */
  storageClass: KObject;
  /** Name of the PV to create: "pvc-<claim uid>". */
  pvName: string;
  /** The claim (a cached object: do not mutate). */
  pvc: KObject;
  /** The node picked by the scheduler (WaitForFirstConsumer), when any. */
  selectedNode?: { name: string; labels: Record<string, string> };
}

export interface Provisioner {
  /** The provisioner name StorageClasses refer to, e.g. "rancher.io/local-path". */
  readonly name: string;
  /** Whether Block volume mode is supported (the library's BlockProvisioner). */
  readonly supportsBlock: boolean;
  /**
   * Creates the backing storage and returns the PV (metadata + spec; the
   * controller adds claimRef, class, provisioned-by). Throws an Error whose
   * message becomes the ProvisioningFailed event; a RescheduleError asks the
   * scheduler to pick another node.
   */
  provision(opts: ProvisionOptions): Promise<KObject>;
  /** Removes (or archives) the backing storage of a Released volume; throws to retry. */
  delete(pv: KObject, ctx: DeleteContext): Promise<void>;
}

export interface DeleteContext {
  /** The volume's StorageClass, when it still exists (a cached object: do not mutate). */
  storageClass?: KObject;
  /** Whether a node still exists (local volumes are left alone when their node is gone). */
  nodeExists?: (name: string) => Promise<boolean>;
}

/** Provisioning failed in a way another node might not (ProvisioningReschedule). */
export class RescheduleError extends Error {}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** `rm -rf` that refuses relative paths and the filesystem root. */
export async function removeTree(path: string): Promise<void> {
  const p = normalize(path);
  if (!isAbsolute(p) || p === sep || p.replace(/[/\\]+$/, '') === '') {
    throw new Error(`invalid path ${path}: cannot find parent dir or volume dir`);
  }
  await rm(p, { recursive: true, force: true });
}
