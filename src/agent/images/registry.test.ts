import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImagePullError } from './errors.js';
import { ImageService } from './index.js';
import { parseWwwAuthenticate } from './registry.js';
import { sha256Digest } from './store.js';
import { buildImage, type TestImage } from './testing.js';
import { MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST } from './types.js';

/**
 * A minimal distribution-spec registry on 127.0.0.1: GET manifests/blobs,
 * anonymous Bearer tokens (401 challenge like Docker Hub), manifest lists.
 */
class TestRegistry {
  readonly manifests = new Map<string, { data: Buffer; mediaType: string }>(); // "repo/ref" → doc
  readonly blobs = new Map<string, Buffer>();
  readonly requests: string[] = [];
  tokensIssued = 0;
  private server?: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server?.close(() => r()));
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  putManifest(repo: string, tag: string | undefined, data: Buffer, mediaType: string): string {
    const digest = sha256Digest(data);
    this.manifests.set(`${repo}/${digest}`, { data, mediaType });
    if (tag) this.manifests.set(`${repo}/${tag}`, { data, mediaType });
    return digest;
  }

  putImage(repo: string, tag: string | undefined, img: TestImage): string {
    for (const l of img.layers) this.blobs.set(l.desc.digest, l.data);
    this.blobs.set(img.config.desc.digest, img.config.data);
    // Serve it as a Docker schema2 manifest (content type only; the body is OCI-shaped).
    return this.putManifest(repo, tag, img.manifest.data, MEDIA_DOCKER_MANIFEST);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    this.requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname === '/token') {
      if (
        url.searchParams.get('service') !== 'test-registry' ||
        !url.searchParams.get('scope')?.endsWith(':pull')
      ) {
        res.writeHead(400).end();
        return;
      }
      this.tokensIssued++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anon-token' }));
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (req.headers.authorization !== 'Bearer anon-token') {
      const scope = m ? `repository:${m[1]}:pull` : '';
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${this.host}/token",service="test-registry",scope="${scope}"`,
          'content-type': 'application/json',
        })
        .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const notFound = (code: string) =>
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code, message: 'unknown' }] }));
    if (!m || req.method !== 'GET') return void notFound('UNSUPPORTED');
    const [, repo, kind, id] = m;
    if (kind === 'manifests') {
      const doc = this.manifests.get(`${repo}/${id}`);
      if (!doc) return void notFound('MANIFEST_UNKNOWN');
      res
        .writeHead(200, { 'content-type': doc.mediaType, 'docker-content-digest': sha256Digest(doc.data) })
        .end(doc.data);
      return;
    }
    const blob = this.blobs.get(id ?? '');
    if (!blob) return void notFound('BLOB_UNKNOWN');
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(blob);
  }
}

describe('pull from a distribution registry (in-test server with Bearer auth)', () => {
  const reg = new TestRegistry();
  let dir: string;
  const amd = buildImage([[{ path: 'arch', data: 'amd64' }]], { gzip: [true], architecture: 'amd64' });
  const arm = buildImage([[{ path: 'arch', data: 'arm64' }]], { gzip: [true], architecture: 'arm64' });
  let listDigest = '';

  beforeAll(async () => {
    await reg.start();
    dir = mkdtempSync(join(tmpdir(), 'ordinal-pull-'));
    const amdDigest = reg.putImage('team/app', undefined, amd);
    const armDigest = reg.putImage('team/app', undefined, arm);
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_DOCKER_LIST,
        manifests: [
          {
            mediaType: MEDIA_DOCKER_MANIFEST,
            digest: armDigest,
            size: arm.manifest.data.length,
            platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
          },
          {
            mediaType: MEDIA_DOCKER_MANIFEST,
            digest: amdDigest,
            size: amd.manifest.data.length,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    listDigest = reg.putManifest('team/app', '1.0', list, MEDIA_DOCKER_LIST);
    // A repository whose layer the server corrupts.
    const bad = buildImage([[{ path: 'f', data: 'good' }]]);
    reg.putImage('team/bad', 'v1', bad);
    reg.blobs.set(bad.layers[0]?.desc.digest ?? '', Buffer.from('evil'));
  });
  afterAll(async () => {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['amd64', undefined],
    ['arm64', 'v8'],
  ])('pulls a manifest list for linux/%s after an anonymous token challenge', async (arch, variant) => {
    const images = ImageService.forDataDir(join(dir, arch), {
      platform: { os: 'linux', architecture: arch, variant },
    });
    const tokensBefore = reg.tokensIssued;
    const image = await images.pull(`${reg.host}/team/app:1.0`);
    expect(reg.tokensIssued).toBe(tokensBefore + 1);
    expect(image.name).toBe(`${reg.host}/team/app:1.0`);
    expect(image.target.digest).toBe(listDigest);
    expect(image.configDigest).toBe((arch === 'amd64' ? amd : arm).config.desc.digest);
    const rootfs = await images.rootfs(`${reg.host}/team/app:1.0`);
    expect(readFileSync(join(rootfs, 'arch'), 'utf8')).toBe(arch);
    // Only the chosen platform's blobs were fetched.
    const other = arch === 'amd64' ? arm : amd;
    expect(existsSync(images.store.blobPath(other.layers[0]?.desc.digest ?? ''))).toBe(false);
    const list = await images.list();
    expect(list.map((i) => [i.repository, i.tag])).toEqual([[`${reg.host}/team/app`, '1.0']]);
  });

  it('pulls by digest and finds the image locally afterwards', async () => {
    const images = ImageService.forDataDir(join(dir, 'digest'), {
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const ref = `${reg.host}/team/app@${listDigest}`;
    const image = await images.pull(ref);
    expect(image.configDigest).toBe(amd.config.desc.digest);
    const before = reg.requests.length;
    expect((await images.ensure(ref)).configDigest).toBe(amd.config.desc.digest);
    expect(reg.requests.length).toBe(before);
  });

  it('reports a missing tag as NotFound with containerd-like text', async () => {
    const images = ImageService.forDataDir(join(dir, 'missing'));
    const ref = `${reg.host}/team/app:nope`;
    const err = await images.pull(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImagePullError);
    const e = err as ImagePullError;
    expect(e.kind).toBe('NotFound');
    expect(e.code).toBe('NotFound');
    expect(e.reason).toBe('ErrImagePull');
    expect(e.message).toBe(
      `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`,
    );
  });

  it('rejects a blob whose content does not match its digest and stores nothing for it', async () => {
    const images = ImageService.forDataDir(join(dir, 'bad'));
    const err = await images.pull(`${reg.host}/team/bad:v1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImagePullError);
    expect((err as ImagePullError).kind).toBe('DigestMismatch');
    expect((err as Error).message).toMatch(/digest mismatch/);
    expect(await images.list()).toEqual([]);
  });

  it('reports an unreachable registry as a network error', async () => {
    const images = ImageService.forDataDir(join(dir, 'down'));
    const err = await images.pull('127.0.0.1:1/x/y:1').catch((e: unknown) => e);
    expect((err as ImagePullError).kind).toBe('Network');
    expect((err as Error).message).toMatch(
      /^failed to pull and unpack image "127.0.0.1:1\/x\/y:1": failed to do request/,
    );
  });

  it.each([
    ['with Content-Length', true],
    ['streamed without Content-Length', false],
  ])('refuses a manifest over 4 MiB (%s) without reading all of it', async (_what, withLength) => {
    const images = ImageService.forDataDir(join(dir, `huge-${withLength}`));
    const ref = `${reg.host}/team/app:huge`;
    let sent = 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const fakeFetch: typeof fetch = async (input, init) => {
      if (!String(input).endsWith('/manifests/huge')) return fetch(input, init);
      // 64 MiB of whitespace, produced lazily so we can see how much was read.
      const body = new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (sent >= 64 * chunk.length) return ctl.close();
          sent += chunk.length;
          ctl.enqueue(chunk);
        },
      });
      const headers: Record<string, string> = { 'content-type': MEDIA_DOCKER_MANIFEST };
      if (withLength) headers['content-length'] = String(64 * chunk.length);
      return new Response(body, { status: 200, headers });
    };
    const err = await images.pull(ref, { fetch: fakeFetch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImagePullError);
    expect((err as ImagePullError).kind).toBe('Invalid');
    expect((err as Error).message).toBe(
      `failed to pull and unpack image "${ref}": manifest huge is larger than 4194304 bytes`,
    );
    expect(sent).toBeLessThanOrEqual(8 * chunk.length);
    expect(await images.list()).toEqual([]);
  });

  it('parses WWW-Authenticate challenges', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/busybox:pull',
      },
    });
  });
});
