import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { x as tarExtract } from 'tar';
import {
  DOCKER_REGISTRY_BINARY,
  makeTar,
  startDockerRegistry,
  type TarEntry,
} from '../../src/agent/images/testing.js';

export const REGISTRY_BINARY = DOCKER_REGISTRY_BINARY;

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

/** An image as blobs: the manifest bytes, the config bytes and the layer blobs (as stored, compressed). */
export interface PushableImage {
  manifest: Buffer;
  config: Buffer;
  layers: Buffer[];
}

export function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function descriptor(mediaType: string, data: Buffer): Descriptor {
  return { mediaType, digest: digestOf(data), size: data.length };
}

/** The OCI architecture name of this machine (GOARCH spelling). */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };
  return map[process.arch] ?? process.arch;
}

/** Reads the first image of an OCI image-layout archive (what scripts/build-images.ts writes). */
export async function readOciLayout(archive: string, workDir: string): Promise<PushableImage> {
  const dir = mkdtempSync(join(workDir, 'layout-'));
  try {
    await tarExtract({ file: archive, cwd: dir });
    const blob = (digest: string): Buffer =>
      readFileSync(join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    const top = index.manifests[0];
    if (!top || top.mediaType !== OCI_MANIFEST) throw new Error(`${archive}: first entry is not a manifest`);
    const manifest = blob(top.digest);
    const doc = JSON.parse(manifest.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    return { manifest, config: blob(doc.config.digest), layers: doc.layers.map((l) => blob(l.digest)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function imageFrom(configDoc: object, layers: { blob: Buffer; desc: Descriptor }[]): PushableImage {
  const config = Buffer.from(JSON.stringify(configDoc));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor(OCI_CONFIG, config),
      layers: layers.map((l) => l.desc),
    }),
  );
  return { manifest, config, layers: layers.map((l) => l.blob) };
}

/** `base` with one more gzip layer holding `entries` (a new config, so a new image ID and digest). */
export function addLayer(base: PushableImage, entries: TarEntry[]): PushableImage {
  const tar = makeTar(entries);
  const blob = gzipSync(tar);
  const manifest = JSON.parse(base.manifest.toString('utf8')) as { layers: Descriptor[] };
  const config = JSON.parse(base.config.toString('utf8')) as {
    rootfs: { type: string; diff_ids: string[] };
    history?: object[];
  };
  config.rootfs.diff_ids.push(digestOf(tar));
  config.history?.push({ created_by: 'e2e test layer' });
  const layers = base.layers.map((b, i) => ({ blob: b, desc: manifest.layers[i] as Descriptor }));
  layers.push({ blob, desc: descriptor(OCI_LAYER_GZIP, blob) });
  return imageFrom(config, layers);
}

/** A one-layer image for another platform (holds no shell: it cannot run here). */
export function foreignImage(architecture: string): PushableImage {
  const tar = makeTar([{ path: 'foreign', data: `built for ${architecture}\n` }]);
  const blob = gzipSync(tar);
  return imageFrom(
    {
      architecture,
      os: 'linux',
      config: { Cmd: ['/foreign'] },
      rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
    },
    [{ blob, desc: descriptor(OCI_LAYER_GZIP, blob) }],
  );
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>`: what image references start with. */
  host: string;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Uploads the blobs and puts the manifest under `tag`; returns the manifest digest. */
  pushImage(repo: string, tag: string | undefined, image: PushableImage): Promise<string>;
  /** Puts an OCI image index under `tag` (the manifests must already be pushed); returns its digest. */
  pushIndex(repo: string, tag: string, manifests: Descriptor[]): Promise<string>;
  /** Uploads one blob unless the registry has it already. */
  pushBlob(repo: string, data: Buffer): Promise<string>;
  /** PUT /v2/<repo>/manifests/<ref>; returns the digest the registry reports. */
  pushManifest(repo: string, ref: string, data: Buffer, mediaType: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts docker-registry with filesystem storage under `dir` on a free loopback port. */
export async function startRegistry(dir: string): Promise<RunningRegistry> {
  const reg = await startDockerRegistry(dir);
  return {
    ...reg,
    async pushImage(repo, tag, image) {
      for (const layer of image.layers) await reg.pushBlob(repo, layer);
      await reg.pushBlob(repo, image.config);
      return reg.pushManifest(repo, tag ?? digestOf(image.manifest), image.manifest, OCI_MANIFEST);
    },
    pushIndex(repo, tag, manifests) {
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
      return reg.pushManifest(repo, tag, index, OCI_INDEX);
    },
  };
}

/** The descriptor of a pushed image's manifest, with the platform an index entry needs. */
export function manifestDescriptor(image: PushableImage): Descriptor {
  const config = JSON.parse(image.config.toString('utf8')) as { os?: string; architecture?: string };
  return {
    ...descriptor(OCI_MANIFEST, image.manifest),
    platform: { os: config.os ?? 'linux', architecture: config.architecture ?? hostArchitecture() },
  };
}
