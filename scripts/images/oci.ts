/**
 * OCI image-layout tarballs (image-spec v1.1): blobs, image config, manifest, index.json and
 * oci-layout, written as one reproducible tar; plus a reader/validator used by the tests and
 * usable by an importer.
 *
 * Layout in the tarball:
 *   oci-layout                 {"imageLayoutVersion": "1.0.0"}
 *   index.json                 one manifest descriptor per image, annotated with its reference
 *   blobs/sha256/<hex>         config, manifest and gzip layers
 */
import { createHash } from 'node:crypto';
import { gunzip, gzip, REPRODUCIBLE_MTIME, readTar, type TarEntry, writeTar } from './tar.js';

export const MEDIA_TYPE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** Standard annotation naming the reference of an index entry. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's import looks for the full image name here. */
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

/** The `config` object of an OCI image config (the fields we set). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  User?: string;
  Labels?: Record<string, string>;
}

export interface ImageConfig {
  created: string;
  architecture: string;
  os: string;
  variant?: string;
  config: ImageRuntimeConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: { created: string; created_by: string; comment?: string }[];
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Canonical-enough JSON for blobs: stable key order as written by us, no whitespace. */
function jsonBlob(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Maps a Debian (`dpkg --print-architecture`) or Node (`process.arch`) name to an OCI platform. */
export function ociPlatform(arch: string): Platform {
  const table: Record<string, Platform> = {
    amd64: { os: 'linux', architecture: 'amd64' },
    x64: { os: 'linux', architecture: 'amd64' },
    arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    armhf: { os: 'linux', architecture: 'arm', variant: 'v7' },
    arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
    armel: { os: 'linux', architecture: 'arm', variant: 'v5' },
    i386: { os: 'linux', architecture: '386' },
    ia32: { os: 'linux', architecture: '386' },
    ppc64el: { os: 'linux', architecture: 'ppc64le' },
    ppc64: { os: 'linux', architecture: 'ppc64le' },
    s390x: { os: 'linux', architecture: 's390x' },
    riscv64: { os: 'linux', architecture: 'riscv64' },
  };
  const p = table[arch];
  if (!p) throw new Error(`unsupported architecture ${arch}`);
  return { ...p };
}

export interface LayerInput {
  /** Shown in the config's history. */
  createdBy: string;
  entries: TarEntry[];
}

export interface Layer {
  /** Uncompressed tar (its digest is the diff_id). */
  tar: Buffer;
  gz: Buffer;
  diffId: string;
  descriptor: Descriptor;
  createdBy: string;
}

export function buildLayer(input: LayerInput): Layer {
  for (const e of input.entries) {
    const base = e.path.split('/').pop() ?? '';
    if (base.startsWith('.wh.')) throw new Error(`layer entry ${e.path} looks like a whiteout`);
  }
  const tar = writeTar(input.entries);
  const gz = gzip(tar);
  return {
    tar,
    gz,
    diffId: sha256Digest(tar),
    descriptor: { mediaType: MEDIA_TYPE_LAYER_GZIP, digest: sha256Digest(gz), size: gz.length },
    createdBy: input.createdBy,
  };
}

export interface ImageInput {
  /** Full reference, e.g. `ordinal.local/busybox:1.35`. */
  ref: string;
  platform: Platform;
  layers: Layer[];
  config: ImageRuntimeConfig;
}

export interface BuiltImage {
  ref: string;
  /** digest → bytes for config, manifest and layers. */
  blobs: Map<string, Buffer>;
  manifest: Manifest;
  /** Descriptor of the manifest, as listed in index.json. */
  descriptor: Descriptor;
  config: ImageConfig;
}

export function buildImage(input: ImageInput): BuiltImage {
  const created = REPRODUCIBLE_MTIME.toISOString().replace('.000Z', 'Z');
  const config: ImageConfig = {
    created,
    architecture: input.platform.architecture,
    os: input.platform.os,
    ...(input.platform.variant ? { variant: input.platform.variant } : {}),
    config: input.config,
    rootfs: { type: 'layers', diff_ids: input.layers.map((l) => l.diffId) },
    history: input.layers.map((l) => ({ created, created_by: l.createdBy })),
  };
  const configBlob = jsonBlob(config);
  const blobs = new Map<string, Buffer>();
  const configDigest = sha256Digest(configBlob);
  blobs.set(configDigest, configBlob);
  for (const l of input.layers) blobs.set(l.descriptor.digest, l.gz);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: MEDIA_TYPE_CONFIG, digest: configDigest, size: configBlob.length },
    layers: input.layers.map((l) => ({ ...l.descriptor })),
  };
  const manifestBlob = jsonBlob(manifest);
  const manifestDigest = sha256Digest(manifestBlob);
  blobs.set(manifestDigest, manifestBlob);
  return {
    ref: input.ref,
    blobs,
    manifest,
    config,
    descriptor: {
      mediaType: MEDIA_TYPE_MANIFEST,
      digest: manifestDigest,
      size: manifestBlob.length,
      annotations: { [ANNOTATION_CONTAINERD_NAME]: input.ref, [ANNOTATION_REF_NAME]: input.ref },
      platform: input.platform,
    },
  };
}

/** Writes one or more images into a single OCI image-layout tarball (uncompressed tar). */
export function writeLayoutTar(images: readonly BuiltImage[]): Buffer {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_INDEX,
    manifests: images.map((i) => i.descriptor),
  };
  const entries: TarEntry[] = [
    { path: 'oci-layout', type: 'file', content: jsonBlob({ imageLayoutVersion: '1.0.0' }) },
    { path: 'index.json', type: 'file', content: jsonBlob(index) },
  ];
  const seen = new Set<string>();
  for (const img of images) {
    for (const [digest, data] of img.blobs) {
      if (seen.has(digest)) continue;
      seen.add(digest);
      const [alg, hex] = digest.split(':');
      entries.push({ path: `blobs/${alg}/${hex}`, type: 'file', content: data });
    }
  }
  return writeTar(entries);
}

// ---------------------------------------------------------------- reading and validation

export interface LayoutImage {
  ref: string | undefined;
  descriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
  /** Uncompressed layer tars, base first. */
  layers: Buffer[];
}

export interface Layout {
  index: ImageIndex;
  images: LayoutImage[];
  /** Problems found (empty when the layout is valid). */
  problems: string[];
}

/**
 * Reads an image-layout tarball, resolves index → manifest → config/layers and checks every
 * digest and size, the diff_ids, sorted layer entries and the absence of whiteouts.
 */
export function readLayoutTar(buf: Buffer): Layout {
  const problems: string[] = [];
  const files = new Map<string, Buffer>();
  for (const e of readTar(buf)) if (e.type === 'File') files.set(e.path, e.content);
  const layoutFile = files.get('oci-layout');
  if (!layoutFile) problems.push('missing oci-layout');
  else if (
    (JSON.parse(layoutFile.toString()) as { imageLayoutVersion?: string }).imageLayoutVersion !== '1.0.0'
  )
    problems.push('oci-layout: imageLayoutVersion is not 1.0.0');
  const indexFile = files.get('index.json');
  if (!indexFile) throw new Error('image layout has no index.json');
  const index = JSON.parse(indexFile.toString()) as ImageIndex;
  if (index.schemaVersion !== 2) problems.push('index.json: schemaVersion is not 2');

  const blob = (d: Descriptor, what: string): Buffer | undefined => {
    const [alg, hex] = d.digest.split(':');
    const data = files.get(`blobs/${alg}/${hex}`);
    if (!data) {
      problems.push(`${what}: blob ${d.digest} missing`);
      return undefined;
    }
    if (sha256Digest(data) !== d.digest) problems.push(`${what}: blob ${d.digest} has a different digest`);
    if (data.length !== d.size) problems.push(`${what}: size ${d.size} but blob has ${data.length} bytes`);
    return data;
  };

  const images: LayoutImage[] = [];
  for (const d of index.manifests) {
    const ref = d.annotations?.[ANNOTATION_REF_NAME];
    const name = ref ?? d.digest;
    if (!ref) problems.push(`${name}: no ${ANNOTATION_REF_NAME} annotation`);
    if (d.mediaType !== MEDIA_TYPE_MANIFEST) problems.push(`${name}: index entry mediaType ${d.mediaType}`);
    const mData = blob(d, `${name} manifest`);
    if (!mData) continue;
    const manifest = JSON.parse(mData.toString()) as Manifest;
    if (manifest.mediaType !== MEDIA_TYPE_MANIFEST) problems.push(`${name}: manifest mediaType`);
    if (manifest.config.mediaType !== MEDIA_TYPE_CONFIG) problems.push(`${name}: config mediaType`);
    const cData = blob(manifest.config, `${name} config`);
    if (!cData) continue;
    const config = JSON.parse(cData.toString()) as ImageConfig;
    if (d.platform && (d.platform.architecture !== config.architecture || d.platform.os !== config.os))
      problems.push(`${name}: index platform differs from config`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length)
      problems.push(
        `${name}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`,
      );
    const layers: Buffer[] = [];
    manifest.layers.forEach((l, i) => {
      if (l.mediaType !== MEDIA_TYPE_LAYER_GZIP)
        problems.push(`${name} layer ${i}: mediaType ${l.mediaType}`);
      const gz = blob(l, `${name} layer ${i}`);
      if (!gz) return;
      let tar: Buffer;
      try {
        tar = gunzip(gz);
      } catch (err) {
        problems.push(`${name} layer ${i}: cannot gunzip: ${(err as Error).message}`);
        return;
      }
      if (sha256Digest(tar) !== config.rootfs.diff_ids[i])
        problems.push(`${name} layer ${i}: diff_id mismatch`);
      problems.push(...checkLayerTar(tar).map((p) => `${name} layer ${i}: ${p}`));
      layers.push(tar);
    });
    images.push({ ref, descriptor: d, manifest, config, layers });
  }
  return { index, images, problems };
}

/** Checks a layer tar: entries sorted bytewise, no duplicates, no whiteouts, relative paths. */
export function checkLayerTar(tar: Buffer): string[] {
  const problems: string[] = [];
  let prev: string | undefined;
  for (const e of readTar(tar)) {
    const p = e.path.replace(/\/$/, '');
    if (p.startsWith('/') || p.split('/').includes('..')) problems.push(`unsafe path ${e.path}`);
    if ((p.split('/').pop() ?? '').startsWith('.wh.')) problems.push(`whiteout ${e.path}`);
    if (prev !== undefined && Buffer.compare(Buffer.from(prev), Buffer.from(p)) >= 0)
      problems.push(`entry ${e.path} not sorted after ${prev}`);
    prev = p;
  }
  return problems;
}
