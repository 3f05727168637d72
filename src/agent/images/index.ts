/**
 * Image management for the real node agent: one ImageService per data dir.
 *
 *   const images = ImageService.forDataDir(dataDir);
 *   await images.pull('busybox:1.36');            // or importArchive(file)
 *   const rootfs = await images.rootfs('busybox:1.36');  // cached, read-only
 *   const cfg = await images.imageConfig('busybox:1.36');
 */
import { type ImportedImage, importArchive } from './archive.js';
import { type PullOptions, pull } from './registry.js';
import { type ImageInfo, ImageStore, type ImageStoreOptions, type ResolvedImage } from './store.js';
import type { ContainerConfig } from './types.js';
import { type ApplyOptions, prepareRootfs, unpackImage } from './unpack.js';

export type { ImportedImage } from './archive.js';
export type { ImageErrorKind } from './errors.js';
export { criErrorMessage, ImageError, ImageNotFoundError, ImagePullError, UnpackError } from './errors.js';
export { type ImageReference, normalizeReference, parseReference } from './reference.js';
export type { PullOptions } from './registry.js';
export { type ImageInfo, type ImageRecord, ImageStore, type ResolvedImage } from './store.js';
export { type ContainerConfig, hostPlatform, type ImageConfigFile, type Platform } from './types.js';
export { type ApplyOptions, applyLayer } from './unpack.js';

/** What a runtime needs from an image config (CRI's ImageSpec / kubelet's view). */
export interface ImageRuntimeConfig {
  /** Image ID (config digest). */
  id: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  /** e.g. ["80/tcp"] */
  exposedPorts: string[];
  volumes: string[];
  stopSignal?: string;
  labels: Record<string, string>;
  raw: ContainerConfig;
}

export class ImageService {
  readonly store: ImageStore;

  constructor(store: ImageStore) {
    this.store = store;
  }

  /** Content store at `<dataDir>/images`. */
  static forDataDir(dataDir: string, opts?: ImageStoreOptions): ImageService {
    return new ImageService(ImageStore.forDataDir(dataDir, opts));
  }

  importArchive(file: string): Promise<ImportedImage[]> {
    return importArchive(this.store, file);
  }

  pull(ref: string, opts?: PullOptions): Promise<ResolvedImage> {
    return pull(this.store, ref, opts);
  }

  /** The local image, or undefined (what imagePullPolicy IfNotPresent checks). */
  async get(ref: string): Promise<ResolvedImage | undefined> {
    const record = await this.store.lookup(ref);
    return record ? this.store.resolveRecord(record) : undefined;
  }

  /** Local image if present, else pull it. */
  async ensure(ref: string, opts?: PullOptions): Promise<ResolvedImage> {
    return (await this.get(ref)) ?? this.pull(ref, opts);
  }

  list(): Promise<ImageInfo[]> {
    return this.store.list();
  }

  /** Removes the reference(s) and garbage-collects unreferenced blobs and rootfs caches. */
  remove(ref: string): Promise<string[]> {
    return this.store.remove(ref);
  }

  /** Applies the image's layers into `destDir` (a fresh copy the caller owns). */
  async unpack(ref: string, destDir: string, opts?: ApplyOptions): Promise<void> {
    await unpackImage(this.store, await this.store.resolve(ref), destDir, opts);
  }

  /** The cached rootfs at `<dataDir>/images/rootfs/<config hex>`; treat it as read-only. */
  rootfs(ref: string, opts?: ApplyOptions): Promise<string> {
    return prepareRootfs(this.store, ref, opts);
  }

  async imageConfig(ref: string): Promise<ImageRuntimeConfig> {
    const image = await this.store.resolve(ref);
    const c = image.config.config ?? {};
    return {
      id: image.configDigest,
      entrypoint: c.Entrypoint ?? [],
      cmd: c.Cmd ?? [],
      env: c.Env ?? [],
      workingDir: c.WorkingDir ?? '',
      user: c.User ?? '',
      exposedPorts: Object.keys(c.ExposedPorts ?? {}),
      volumes: Object.keys(c.Volumes ?? {}),
      stopSignal: c.StopSignal,
      labels: c.Labels ?? {},
      raw: c,
    };
  }
}
