/**
 * Pulls from Debian's real `docker-registry` (distribution 2.8) on a loopback
 * port, after pushing an image into it with the distribution push API.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImagePullError } from './errors.js';
import { ImageService } from './index.js';
import { buildImage, DOCKER_REGISTRY_BINARY, type LocalRegistry, startDockerRegistry } from './testing.js';
import { hostPlatform, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST } from './types.js';

const BINARY = DOCKER_REGISTRY_BINARY;
const hasRegistry = existsSync(BINARY);
if (!hasRegistry) {
  console.warn(
    `skipping docker-registry tests: ${BINARY} not installed (apt-get install -y docker-registry)`,
  );
}

describe.skipIf(!hasRegistry)('pull from Debian docker-registry (needs /usr/bin/docker-registry)', () => {
  let dir: string;
  let registry: LocalRegistry | undefined;
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
    registry = await startDockerRegistry(dir);
    host = registry.host;
    for (const l of img.layers) await registry.pushBlob('team/hello', l.data);
    await registry.pushBlob('team/hello', img.config.data);
    await registry.pushManifest(
      'team/hello',
      img.manifest.desc.digest,
      img.manifest.data,
      MEDIA_OCI_MANIFEST,
    );
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_OCI_INDEX,
        manifests: [{ ...img.manifest.desc, platform }],
      }),
    );
    await registry.pushManifest('team/hello', 'v1', index, MEDIA_OCI_INDEX);
  });

  afterAll(async () => {
    await registry?.stop();
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
