/**
 * `importArchive`: loads OCI image-layout tarballs (oci-layout, index.json,
 * blobs/) and `docker save` archives (manifest.json + config + layer tars,
 * converted to OCI manifests) into the content store, like `ctr images import`.
 */
import { promises as fsp } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { x as tarExtract } from 'tar';
import { ImageError } from './errors.js';
import { formatReference, parseReference } from './reference.js';
import { digestHex, type ImageStore } from './store.js';
import {
  ANNOTATION_CONTAINERD_NAME,
  ANNOTATION_REF_NAME,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  isManifestMediaType,
  MEDIA_OCI_CONFIG,
  MEDIA_OCI_LAYER,
  MEDIA_OCI_LAYER_GZIP,
  MEDIA_OCI_MANIFEST,
  manifestMediaType,
} from './types.js';

export interface ImportedImage {
  /** Normalised references recorded for this image (empty if the archive named none). */
  names: string[];
  /** The stored target (index or manifest). */
  target: Descriptor;
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** Returns a path inside `root` for an archive member, refusing anything that resolves outside. */
async function memberPath(root: string, name: string): Promise<string> {
  const p = resolve(root, name);
  let real: string;
  try {
    real = await fsp.realpath(p);
  } catch {
    throw new ImageError('Invalid', `archive member "${name}" not found`);
  }
  const realRoot = await fsp.realpath(root);
  const rel = relative(realRoot, real);
  if (rel.startsWith(`..${sep}`) || rel === '..' || resolve(realRoot, rel) !== real) {
    throw new ImageError('Invalid', `archive member "${name}" points outside the archive`);
  }
  return real;
}

async function exists(root: string, name: string): Promise<boolean> {
  try {
    await memberPath(root, name);
    return true;
  } catch {
    return false;
  }
}

async function readJsonMember<T>(root: string, name: string): Promise<T> {
  const text = await fsp.readFile(await memberPath(root, name), 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ImageError('Invalid', `archive member "${name}" is not valid JSON`);
  }
}

/** A reference name from index annotations: containerd's full name, or a ref.name that is a full reference. */
function nameFromAnnotations(desc: Descriptor): string | undefined {
  const a = desc.annotations ?? {};
  const full = a[ANNOTATION_CONTAINERD_NAME];
  if (full) return full;
  const ref = a[ANNOTATION_REF_NAME];
  // A bare tag ("latest") names no repository; only accept something that parses as a reference.
  if (ref && /[/:]/.test(ref)) return ref;
  return undefined;
}

export async function importArchive(store: ImageStore, file: string): Promise<ImportedImage[]> {
  await store.init();
  const dir = store.tmpPath('import');
  await fsp.mkdir(dir, { recursive: true });
  try {
    try {
      await tarExtract({ file, cwd: dir, strict: true, maxDecompressionRatio: Number.MAX_SAFE_INTEGER });
    } catch (e) {
      throw new ImageError('Invalid', `reading archive ${file}: ${(e as Error).message}`);
    }
    if (await exists(dir, 'index.json')) return await importOciLayout(store, dir);
    if (await exists(dir, 'manifest.json')) return await importDockerSave(store, dir);
    throw new ImageError(
      'Invalid',
      `${file}: neither an OCI image layout (index.json) nor a docker save archive`,
    );
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function copyBlob(
  store: ImageStore,
  dir: string,
  desc: Descriptor,
  required: boolean,
): Promise<boolean> {
  const name = join('blobs', 'sha256', digestHex(desc.digest));
  if (!(await exists(dir, name))) {
    if (await store.hasBlob(desc.digest)) return true;
    if (required) throw new ImageError('Invalid', `archive is missing blob ${desc.digest}`);
    return false;
  }
  await store.writeBlobFromFile(await memberPath(dir, name), desc.digest, desc.size);
  return true;
}

/** Copies a descriptor and everything it references that the layout holds. */
async function copyTree(
  store: ImageStore,
  dir: string,
  desc: Descriptor,
  required: boolean,
): Promise<boolean> {
  if (!(await copyBlob(store, dir, desc, required))) return false;
  const doc = await store.readJson<ImageIndex | ImageManifest>(desc.digest);
  const mt = manifestMediaType(doc, desc.mediaType);
  if (isIndexMediaType(mt)) {
    // Multi-platform layouts often hold only some platforms' blobs.
    let any = false;
    for (const child of (doc as ImageIndex).manifests ?? []) {
      if (await copyTree(store, dir, child, false)) any = true;
    }
    if (!any && required)
      throw new ImageError('Invalid', `archive holds no manifest of index ${desc.digest}`);
  } else if (isManifestMediaType(mt)) {
    const m = doc as ImageManifest;
    await copyBlob(store, dir, m.config, true);
    for (const l of m.layers) await copyBlob(store, dir, l, true);
  }
  return true;
}

async function importOciLayout(store: ImageStore, dir: string): Promise<ImportedImage[]> {
  if (await exists(dir, 'oci-layout')) {
    const layout = await readJsonMember<{ imageLayoutVersion?: string }>(dir, 'oci-layout');
    if (layout.imageLayoutVersion !== '1.0.0') {
      throw new ImageError('Invalid', `unsupported OCI layout version ${layout.imageLayoutVersion}`);
    }
  }
  const index = await readJsonMember<ImageIndex>(dir, 'index.json');
  const out: ImportedImage[] = [];
  for (const desc of index.manifests ?? []) {
    await copyTree(store, dir, desc, true);
    const names: string[] = [];
    const name = nameFromAnnotations(desc);
    if (name) names.push(await store.setReference(name, desc));
    out.push({ names, target: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size } });
  }
  return out;
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function importDockerSave(store: ImageStore, dir: string): Promise<ImportedImage[]> {
  const entries = await readJsonMember<DockerSaveEntry[]>(dir, 'manifest.json');
  if (!Array.isArray(entries)) throw new ImageError('Invalid', 'manifest.json is not a list');
  const out: ImportedImage[] = [];
  for (const e of entries) {
    const configPath = await memberPath(dir, e.Config);
    const configData = await fsp.readFile(configPath);
    const configDigest = await store.writeBlob(configData);
    const layers: Descriptor[] = [];
    for (const l of e.Layers ?? []) {
      const p = await memberPath(dir, l);
      const gz = await isGzip(p);
      const digest = await store.writeBlobFromFile(p);
      const { size } = await fsp.stat(p);
      layers.push({ mediaType: gz ? MEDIA_OCI_LAYER_GZIP : MEDIA_OCI_LAYER, digest, size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_OCI_MANIFEST,
      config: { mediaType: MEDIA_OCI_CONFIG, digest: configDigest, size: configData.length },
      layers,
    };
    const data = Buffer.from(JSON.stringify(manifest));
    const digest = await store.writeBlob(data);
    const target: Descriptor = { mediaType: MEDIA_OCI_MANIFEST, digest, size: data.length };
    const names: string[] = [];
    for (const tag of e.RepoTags ?? []) {
      names.push(await store.setReference(formatReference(parseReference(tag)), target));
    }
    out.push({ names, target });
  }
  return out;
}
