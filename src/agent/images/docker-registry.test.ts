/**
 * Pulls from Debian's real `docker-registry` (distribution 2.8) on a loopback
 * port, after pushing an image into it with a tiny distribution push client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImagePullError } from './errors.js';
import { ImageService } from './index.js';
import { sha256Digest } from './store.js';
import { buildImage } from './testing.js';
import { hostPlatform, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST } from './types.js';

const BINARY = '/usr/bin/docker-registry';
const hasRegistry = existsSync(BINARY);
if (!hasRegistry) {
  console.warn(
    `skipping docker-registry tests: ${BINARY} not installed (apt-get install -y docker-registry)`,
  );
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (typeof addr !== 'object' || addr === null) throw new Error('no port');
  return addr.port;
}

/** Distribution push API: monolithic blob uploads, then PUT manifest. */
async function pushBlob(base: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha256Digest(data);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  const location = new URL(start.headers.get('location') ?? '', base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
  });
  if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status} ${await put.text()}`);
  return digest;
}

async function pushManifest(base: string, repo: string, ref: string, data: Buffer, mediaType: string) {
  const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: data,
  });
  if (res.status !== 201) throw new Error(`manifest ${ref}: ${res.status} ${await res.text()}`);
}

describe.skipIf(!hasRegistry)('pull from Debian docker-registry (needs /usr/bin/docker-registry)', () => {
  let dir: string;
  let proc: ChildProcess | undefined;
  let host = '';
  const platform = hostPlatform();
  const img = buildImage(
    [
      [
        { path: 'bin/', type: 'dir' },
        { path: 'bin/hello', data: 'hi', mode: 0o755 },
        { path: 'etc/motd', data: 'old' },
      ],
      [{ path: 'etc/.wh.motd' }, { path: 'etc/new', data: 'new' }],
    ],
    { gzip: [true, true], architecture: platform.architecture, config: { Cmd: ['/bin/hello'] } },
  );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ordinal-registry-'));
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: warn',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'storage')}`,
        '  delete:',
        '    enabled: true',
        'http:',
        `  addr: ${host}`,
        '',
      ].join('\n'),
    );
    proc = spawn(BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const base = `http://${host}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/v2/`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (i > 200 || proc.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const l of img.layers) await pushBlob(base, 'team/hello', l.data);
    await pushBlob(base, 'team/hello', img.config.data);
    await pushManifest(base, 'team/hello', img.manifest.desc.digest, img.manifest.data, MEDIA_OCI_MANIFEST);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_OCI_INDEX,
        manifests: [{ ...img.manifest.desc, platform }],
      }),
    );
    await pushManifest(base, 'team/hello', 'v1', index, MEDIA_OCI_INDEX);
  });

  afterAll(() => {
    if (proc?.pid !== undefined && proc.exitCode === null) proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('pulls an OCI index pushed over the distribution API and unpacks it', async () => {
    const images = ImageService.forDataDir(join(dir, 'node'));
    const image = await images.pull(`${host}/team/hello:v1`);
    expect(image.configDigest).toBe(img.config.desc.digest);
    expect((await images.imageConfig(`${host}/team/hello:v1`)).cmd).toEqual(['/bin/hello']);
    const rootfs = await images.rootfs(`${host}/team/hello:v1`);
    expect(readFileSync(join(rootfs, 'bin/hello'), 'utf8')).toBe('hi');
    expect(readFileSync(join(rootfs, 'etc/new'), 'utf8')).toBe('new');
    expect(existsSync(join(rootfs, 'etc/motd'))).toBe(false);
  });

  it('maps the registry 404 for an unknown repository to NotFound', async () => {
    const images = ImageService.forDataDir(join(dir, 'node2'));
    const err = await images.pull(`${host}/team/absent:v1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImagePullError);
    expect((err as ImagePullError).kind).toBe('NotFound');
    expect((err as Error).message).toContain(`${host}/team/absent:v1: not found`);
  });
});
