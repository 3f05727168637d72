/**
 * Local content store under `<dataDir>/images`:
 *
 *   blobs/sha256/<hex>   content-addressed blobs, verified before they land
 *   refs.json            image references → target descriptor (index or manifest)
 *   rootfs/<hex>         unpacked rootfs per image config digest (see unpack.ts)
 *   tmp/                 partial writes, renamed into place when verified
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImageError, ImageNotFoundError } from './errors.js';
import { formatReference, parseReference, repositoryName } from './reference.js';
import {
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfigFile,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  isManifestMediaType,
  manifestMediaType,
  type Platform,
  selectManifest,
} from './types.js';

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function digestHex(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m?.[1]) throw new ImageError('Invalid', `unsupported digest "${digest}"`);
  return m[1];
}

export interface ImageRecord {
  /** Normalised reference, e.g. `docker.io/library/busybox:latest`. */
  name: string;
  /** What the reference points at: an index / manifest list or a manifest. */
  target: Descriptor;
  /** ISO time the reference was last written. */
  updated: string;
}

/** One image as `list()` reports it (like CRI's Image). */
export interface ImageInfo {
  name: string;
  repository: string;
  tag?: string;
  /** Digest of the target (what `repo@digest` pulls). */
  digest: string;
  /** Image ID: the config digest of the platform manifest. */
  id: string;
  /** Manifest + config + layers, compressed, for the selected platform. */
  size: number;
}

/** An image resolved to one platform manifest with its config. */
export interface ResolvedImage {
  name: string;
  target: Descriptor;
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfigFile;
  layers: Descriptor[];
  size: number;
}

interface RefsFile {
  images: Record<string, ImageRecord>;
}

export interface ImageStoreOptions {
  /** Platform used to pick from multi-platform indexes (default: the host). */
  platform?: Platform;
}

export class ImageStore {
  readonly root: string;
  readonly platform: Platform;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(root: string, opts: ImageStoreOptions = {}) {
    this.root = root;
    this.platform = opts.platform ?? hostPlatform();
  }

  /** `<dataDir>/images` */
  static forDataDir(dataDir: string, opts?: ImageStoreOptions): ImageStore {
    return new ImageStore(join(dataDir, 'images'), opts);
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  async init(): Promise<void> {
    await fsp.mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    await fsp.mkdir(join(this.root, 'tmp'), { recursive: true });
    await fsp.mkdir(join(this.root, 'rootfs'), { recursive: true });
  }

  tmpPath(prefix = 'tmp'): string {
    return join(this.root, 'tmp', `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  async hasBlob(digest: string): Promise<boolean> {
    try {
      await fsp.access(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ImageError('NotFound', `content digest ${digest}: not found`);
      }
      throw e;
    }
  }

  async readJson<T>(digest: string): Promise<T> {
    const data = await this.readBlob(digest);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch {
      throw new ImageError('Invalid', `blob ${digest} is not valid JSON`);
    }
  }

  /** Writes a blob; verifies it against `expected` when given. Returns its digest. */
  async writeBlob(data: Buffer, expected?: string): Promise<string> {
    const digest = sha256Digest(data);
    if (expected !== undefined && expected !== digest) {
      throw new ImageError('DigestMismatch', `digest mismatch: expected ${expected}, got ${digest}`);
    }
    if (await this.hasBlob(digest)) return digest;
    await this.init();
    const tmp = this.tmpPath('blob');
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, this.blobPath(digest));
    return digest;
  }

  /**
   * Streams a blob in, hashing as it goes; only renamed into place when the
   * digest (and size, if given) match.
   */
  async writeBlobStream(source: Readable, expected?: string, expectedSize?: number): Promise<string> {
    await this.init();
    const tmp = this.tmpPath('blob');
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source, tap, createWriteStream(tmp));
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected !== undefined && digest !== expected) {
        throw new ImageError('DigestMismatch', `digest mismatch: expected ${expected}, got ${digest}`);
      }
      if (expectedSize !== undefined && size !== expectedSize) {
        throw new ImageError(
          'DigestMismatch',
          `size mismatch for ${digest}: expected ${expectedSize} bytes, got ${size}`,
        );
      }
      await fsp.rename(tmp, this.blobPath(digest));
      return digest;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  async writeBlobFromFile(file: string, expected?: string, expectedSize?: number): Promise<string> {
    if (expected !== undefined && (await this.hasBlob(expected))) return expected;
    return this.writeBlobStream(createReadStream(file), expected, expectedSize);
  }

  // ---- references ----

  private refsPath(): string {
    return join(this.root, 'refs.json');
  }

  private async readRefs(): Promise<RefsFile> {
    try {
      const data = JSON.parse(await fsp.readFile(this.refsPath(), 'utf8')) as Partial<RefsFile>;
      return { images: data.images ?? {} };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { images: {} };
      throw e;
    }
  }

  private async writeRefs(refs: RefsFile): Promise<void> {
    await this.init();
    const tmp = this.tmpPath('refs');
    await fsp.writeFile(tmp, `${JSON.stringify(refs, null, 2)}\n`);
    await fsp.rename(tmp, this.refsPath());
  }

  /** Serialises read-modify-write of refs.json and GC within this process. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Points `name` (normalised here) at `target`, whose blob must already be stored. */
  async setReference(name: string, target: Descriptor): Promise<string> {
    const normalized = formatReference(parseReference(name));
    await this.locked(async () => {
      const refs = await this.readRefs();
      refs.images[normalized] = {
        name: normalized,
        target: { mediaType: target.mediaType, digest: target.digest, size: target.size },
        updated: new Date().toISOString(),
      };
      await this.writeRefs(refs);
    });
    return normalized;
  }

  async records(): Promise<ImageRecord[]> {
    const refs = await this.readRefs();
    return Object.values(refs.images).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Finds a local image. Accepts any spelling (`busybox`, `busybox:1.36`,
   * `repo@sha256:…`), a full target or config digest (`sha256:…`) or an image ID prefix.
   */
  async lookup(ref: string): Promise<ImageRecord | undefined> {
    const refs = await this.readRefs();
    const records = Object.values(refs.images);
    if (/^(sha256:)?[a-f0-9]{12,64}$/.test(ref)) {
      const want = ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
      for (const r of records) if (r.target.digest.startsWith(want)) return r;
      for (const r of records) {
        const resolved = await this.resolveRecord(r).catch(() => undefined);
        if (resolved?.configDigest.startsWith(want)) return r;
      }
      return undefined;
    }
    let parsed: ReturnType<typeof parseReference>;
    try {
      parsed = parseReference(ref);
    } catch {
      return undefined;
    }
    const name = formatReference(parsed);
    if (refs.images[name]) return refs.images[name];
    if (parsed.digest) {
      // Content-addressed: any record of the same repository with that target,
      // or the bare blob when it is a manifest / index we hold.
      const repo = repositoryName(parsed);
      const byRepo = records.find((r) => r.target.digest === parsed.digest && r.name.startsWith(`${repo}:`));
      if (byRepo) return { ...byRepo, name };
      const any = records.find((r) => r.target.digest === parsed.digest);
      if (any) return { ...any, name };
    }
    return undefined;
  }

  /** Resolves a record to the manifest for this store's platform. */
  async resolveRecord(record: ImageRecord): Promise<ResolvedImage> {
    let desc = record.target;
    let size = 0;
    for (let depth = 0; depth < 4; depth++) {
      const doc = await this.readJson<ImageIndex | ImageManifest>(desc.digest);
      size += desc.size;
      const mt = manifestMediaType(doc, desc.mediaType);
      if (isIndexMediaType(mt)) {
        const chosen = selectManifest(doc as ImageIndex, this.platform);
        if (!chosen) {
          throw new ImageError(
            'Platform',
            `no match for platform in manifest ${desc.digest}: not found (want ${formatPlatform(this.platform)})`,
          );
        }
        desc = chosen;
        size = 0;
        continue;
      }
      if (!isManifestMediaType(mt))
        throw new ImageError('Invalid', `unsupported media type ${mt ?? '(none)'}`);
      const manifest = doc as ImageManifest;
      const config = await this.readJson<ImageConfigFile>(manifest.config.digest);
      size += manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0);
      return {
        name: record.name,
        target: record.target,
        manifestDigest: desc.digest,
        manifest,
        configDigest: manifest.config.digest,
        config,
        layers: manifest.layers,
        size,
      };
    }
    throw new ImageError('Invalid', `index nesting too deep at ${desc.digest}`);
  }

  /** Resolves a reference; throws ImageNotFoundError when absent. */
  async resolve(ref: string): Promise<ResolvedImage> {
    const record = await this.lookup(ref);
    if (!record) throw new ImageNotFoundError(ref);
    return this.resolveRecord(record);
  }

  async list(): Promise<ImageInfo[]> {
    const out: ImageInfo[] = [];
    for (const r of await this.records()) {
      const parsed = parseReference(r.name);
      const resolved = await this.resolveRecord(r).catch(() => undefined);
      out.push({
        name: r.name,
        repository: repositoryName(parsed),
        tag: parsed.tag,
        digest: r.target.digest,
        id: resolved?.configDigest ?? '',
        size: resolved?.size ?? r.target.size,
      });
    }
    return out;
  }

  /**
   * Removes a reference (or every reference to an image ID / digest) and
   * garbage-collects what is no longer reachable. Returns the removed names.
   */
  async remove(ref: string): Promise<string[]> {
    const removed = await this.locked(async () => {
      const refs = await this.readRefs();
      const names: string[] = [];
      const direct = await this.lookup(ref);
      if (direct && refs.images[direct.name]) {
        names.push(direct.name);
      } else if (/^(sha256:)?[a-f0-9]{12,64}$/.test(ref)) {
        const want = ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
        for (const r of Object.values(refs.images)) {
          const resolved = await this.resolveRecord(r).catch(() => undefined);
          if (r.target.digest.startsWith(want) || resolved?.configDigest.startsWith(want)) names.push(r.name);
        }
      }
      if (names.length === 0) throw new ImageNotFoundError(ref);
      for (const n of names) delete refs.images[n];
      await this.writeRefs(refs);
      return names;
    });
    await this.gc();
    return removed;
  }

  /** Deletes blobs and cached rootfs trees no reference reaches. Returns deleted blob digests. */
  async gc(): Promise<string[]> {
    return this.locked(async () => {
      const live = new Set<string>();
      const liveConfigs = new Set<string>();
      const mark = async (desc: Descriptor, depth: number): Promise<void> => {
        live.add(desc.digest);
        if (depth > 4) return;
        let doc: ImageIndex | ImageManifest;
        try {
          doc = await this.readJson<ImageIndex | ImageManifest>(desc.digest);
        } catch {
          return;
        }
        const mt = manifestMediaType(doc, desc.mediaType);
        if (isIndexMediaType(mt)) {
          for (const child of (doc as ImageIndex).manifests ?? []) await mark(child, depth + 1);
        } else if (isManifestMediaType(mt)) {
          const m = doc as ImageManifest;
          live.add(m.config.digest);
          liveConfigs.add(digestHex(m.config.digest));
          for (const l of m.layers) live.add(l.digest);
        }
      };
      for (const r of Object.values((await this.readRefs()).images)) await mark(r.target, 0);
      const deleted: string[] = [];
      const blobDir = join(this.root, 'blobs', 'sha256');
      for (const hex of await fsp.readdir(blobDir).catch(() => [] as string[])) {
        if (!live.has(`sha256:${hex}`)) {
          await fsp.rm(join(blobDir, hex), { force: true });
          deleted.push(`sha256:${hex}`);
        }
      }
      const rootfsDir = join(this.root, 'rootfs');
      for (const name of await fsp.readdir(rootfsDir).catch(() => [] as string[])) {
        if (!liveConfigs.has(name)) await fsp.rm(join(rootfsDir, name), { recursive: true, force: true });
      }
      return deleted;
    });
  }
}
