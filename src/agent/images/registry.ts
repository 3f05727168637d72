/**
 * `pull`: the OCI distribution-spec client side (GET manifests and blobs),
 * with anonymous Bearer token auth as Docker Hub uses it, platform selection
 * from image indexes / manifest lists and digest verification of everything.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ImageError, ImagePullError } from './errors.js';
import {
  formatReference,
  type ImageReference,
  isLoopbackHost,
  parseReference,
  registryHost,
} from './reference.js';
import { type ImageStore, type ResolvedImage, sha256Digest } from './store.js';
import {
  type Descriptor,
  formatPlatform,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  isManifestMediaType,
  MANIFEST_ACCEPT,
  manifestMediaType,
  selectManifest,
} from './types.js';

export interface PullOptions {
  /** Registry hosts (host[:port]) reached over plain http besides loopback ones. */
  insecureHosts?: string[];
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
  /** Progress callback per fetched blob. */
  onBlob?: (desc: Descriptor) => void;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (first challenge only). */
export function parseWwwAuthenticate(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (const p of (m[2] ?? '').matchAll(re)) {
    params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (m[1] ?? '').toLowerCase(), params };
}

class Session {
  private token?: string;
  constructor(
    private readonly base: string,
    private readonly ref: ImageReference,
    private readonly image: string,
    private readonly doFetch: typeof fetch,
  ) {}

  url(kind: 'manifests' | 'blobs', id: string): string {
    return `${this.base}/v2/${this.ref.path}/${kind}/${id}`;
  }

  private fail(kind: ConstructorParameters<typeof ImagePullError>[0], detail: string): ImagePullError {
    return new ImagePullError(kind, this.image, detail);
  }

  async get(url: string, accept?: string): Promise<Response> {
    const send = async () => {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      try {
        return await this.doFetch(url, { headers, redirect: 'follow' });
      } catch (e) {
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        throw this.fail('Network', `failed to do request: Get "${url}": ${cause ?? (e as Error).message}`);
      }
    };
    let res = await send();
    if (res.status === 401 && !this.token) {
      const challenge = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '');
      await res.body?.cancel();
      if (challenge?.scheme === 'bearer' && challenge.params.realm) {
        this.token = await this.fetchToken(challenge);
        res = await send();
      }
    }
    return res;
  }

  private async fetchToken(ch: Challenge): Promise<string> {
    const u = new URL(ch.params.realm as string);
    if (ch.params.service) u.searchParams.set('service', ch.params.service);
    u.searchParams.set('scope', ch.params.scope ?? `repository:${this.ref.path}:pull`);
    let res: Response;
    try {
      res = await this.doFetch(u, { headers: { accept: 'application/json' } });
    } catch (e) {
      throw this.fail('Network', `failed to fetch anonymous token: ${(e as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.fail(
        'Unauthorized',
        `failed to fetch anonymous token: unexpected status from GET request to ${u}: ${res.status} ${res.statusText}`,
      );
    }
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw this.fail('Unauthorized', 'failed to fetch anonymous token: no token in response');
    return token;
  }

  /** Maps a non-2xx response to a typed error with distribution's error message. */
  async errorFor(res: Response, what: string, resolving: boolean): Promise<ImagePullError> {
    let serverMsg = '';
    try {
      const body = (await res.json()) as { errors?: { code?: string; message?: string }[] };
      const e = body.errors?.[0];
      if (e) serverMsg = `${(e.code ?? '').toLowerCase()}: ${e.message ?? ''}`;
    } catch {
      // not JSON
    }
    const prefix = resolving ? `failed to resolve reference "${this.image}": ` : '';
    if (res.status === 404) {
      return this.fail('NotFound', `${prefix}${resolving ? this.image : what}: not found`);
    }
    if (res.status === 401 || res.status === 403) {
      return this.fail(
        'Unauthorized',
        `${prefix}pull access denied, repository does not exist or may require authorization${
          serverMsg ? `: server message: ${serverMsg}` : ''
        }`,
      );
    }
    return this.fail(
      'Registry',
      `${prefix}unexpected status from GET request to ${res.url || what}: ${res.status} ${res.statusText}${
        serverMsg ? ` (${serverMsg})` : ''
      }`,
    );
  }
}

/** The body, or undefined (and the download cancelled) once it exceeds `limit` bytes. */
async function readLimited(res: Response, limit: number): Promise<Buffer | undefined> {
  if (Number(res.headers.get('content-length') ?? 0) > limit || !res.body) {
    await res.body?.cancel();
    return res.body ? undefined : Buffer.alloc(0);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * Pulls `ref` into the store and records the reference. Returns the image
 * resolved for the store's platform.
 */
export async function pull(
  store: ImageStore,
  refInput: string,
  opts: PullOptions = {},
): Promise<ResolvedImage> {
  let ref: ImageReference;
  try {
    ref = parseReference(refInput);
  } catch (e) {
    throw new ImagePullError('InvalidReference', refInput, (e as Error).message);
  }
  const image = formatReference(ref);
  const host = registryHost(ref);
  const insecure = isLoopbackHost(host) || (opts.insecureHosts ?? []).includes(host);
  const session = new Session(
    `${insecure ? 'http' : 'https'}://${host}`,
    ref,
    image,
    opts.fetch ?? globalThis.fetch,
  );
  const fail = (kind: ConstructorParameters<typeof ImagePullError>[0], detail: string) =>
    new ImagePullError(kind, image, detail);

  const fetchManifest = async (id: string, resolving: boolean, expected?: Descriptor) => {
    const res = await session.get(session.url('manifests', id), MANIFEST_ACCEPT);
    if (!res.ok) throw await session.errorFor(res, id, resolving);
    let data: Buffer | undefined;
    try {
      data = await readLimited(res, MAX_MANIFEST_BYTES);
    } catch (e) {
      throw fail('Network', `failed to read manifest ${id}: ${(e as Error).message}`);
    }
    if (!data) throw fail('Invalid', `manifest ${id} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const digest = sha256Digest(data);
    const want = expected?.digest ?? (id.startsWith('sha256:') ? id : undefined);
    if (want && want !== digest)
      throw fail('DigestMismatch', `manifest digest mismatch: expected ${want}, got ${digest}`);
    let doc: unknown;
    try {
      doc = JSON.parse(data.toString('utf8'));
    } catch {
      throw fail('Invalid', `manifest ${digest} is not valid JSON`);
    }
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]?.trim();
    const mediaType = manifestMediaType(doc, expected?.mediaType ?? contentType);
    await store.writeBlob(data, digest);
    return { desc: { mediaType: mediaType ?? '', digest, size: data.length } as Descriptor, doc };
  };

  const fetchBlob = async (desc: Descriptor) => {
    if (await store.hasBlob(desc.digest)) return;
    const res = await session.get(session.url('blobs', desc.digest));
    if (!res.ok) throw await session.errorFor(res, `blob ${desc.digest}`, false);
    if (!res.body) throw fail('Registry', `empty body for blob ${desc.digest}`);
    try {
      await store.writeBlobStream(
        Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>),
        desc.digest,
        desc.size,
      );
    } catch (e) {
      if (e instanceof ImagePullError) throw e;
      throw fail(
        e instanceof ImageError ? e.kind : 'Network',
        `failed to copy ${desc.digest}: ${(e as Error).message}`,
      );
    }
    opts.onBlob?.(desc);
  };

  const top = await fetchManifest(ref.digest ?? ref.tag ?? 'latest', true);
  let current = top;
  for (let depth = 0; isIndexMediaType(current.desc.mediaType); depth++) {
    if (depth > 3) throw fail('Invalid', 'image index nesting too deep');
    const chosen = selectManifest(current.doc as ImageIndex, store.platform);
    if (!chosen) {
      throw fail(
        'Platform',
        `no match for platform in manifest: not found (want ${formatPlatform(store.platform)})`,
      );
    }
    current = await fetchManifest(chosen.digest, false, chosen);
  }
  if (!isManifestMediaType(current.desc.mediaType)) {
    throw fail('Invalid', `unsupported manifest media type "${current.desc.mediaType}"`);
  }
  const manifest = current.doc as ImageManifest;
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) {
    throw fail('Invalid', `manifest ${current.desc.digest} has no config or layers`);
  }
  await fetchBlob(manifest.config);
  for (const layer of manifest.layers) await fetchBlob(layer);

  // Record `repo:tag` (and, for digest pulls, `repo@digest`) → the top-level target.
  const name = await store.setReference(image, top.desc);
  return store.resolveRecord({ name, target: top.desc, updated: new Date().toISOString() });
}
