/**
 * The volume controllers: PV binder + built-in provisioners, PVC and PV
 * protection, expansion. `startVolumeControllers` builds them (not started:
 * the caller calls `start()` on each, then starts the informer factory, and
 * `stop()` on each at shutdown).
 */
import type { InformerFactory } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import type { Clock } from '../../client/workqueue.js';
import { ExpandController } from './expand.js';
import { PersistentVolumeController } from './pv-controller.js';
import { PVProtectionController } from './pv-protection.js';
import { PVCProtectionController } from './pvc-protection.js';

export {
  DEFAULT_STORAGE_CLASS,
  defaultStorageClassObject,
  ensureDefaultStorageClass,
} from './default-class.js';
export { ExpandController } from './expand.js';
export { LOCAL_PATH_PROVISIONER, LocalPathProvisioner } from './local-path.js';
export { NFS_SUBDIR_PROVISIONER, NfsSubdirProvisioner } from './nfs-subdir.js';
export type { Provisioner } from './provisioner.js';
export { PersistentVolumeController, type PersistentVolumeControllerOptions } from './pv-controller.js';
export { PVProtectionController } from './pv-protection.js';
export { PVCProtectionController } from './pvc-protection.js';

export interface VolumeControllersOptions {
  clock?: Clock;
  /** The cluster data directory; local-path volumes live in `<dataDir>/local-path-provisioner`. */
  dataDir: string;
  /** The nfs-subdir share (default `<dataDir>/shared`). */
  sharedDir?: string;
}

export interface VolumeLoop {
  start(): void;
  stop(): Promise<void>;
}

/** The four volume controllers, constructed but not started. */
export function startVolumeControllers(
  client: Client,
  informers: InformerFactory,
  opts: VolumeControllersOptions,
): VolumeLoop[] {
  const { clock } = opts;
  return [
    new PersistentVolumeController(client, informers, {
      clock,
      dataDir: opts.dataDir,
      ...(opts.sharedDir ? { sharedDir: opts.sharedDir } : {}),
    }),
    new PVCProtectionController(client, informers, { clock }),
    new PVProtectionController(client, informers, { clock }),
    new ExpandController(client, informers, { clock }),
  ];
}

/** All four as one controller (start/stop together). */
export class VolumeControllers implements VolumeLoop {
  readonly loops: VolumeLoop[];

  constructor(client: Client, informers: InformerFactory, opts: VolumeControllersOptions) {
    this.loops = startVolumeControllers(client, informers, opts);
  }

  start(): void {
    for (const l of this.loops) l.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.stop()));
  }
}
