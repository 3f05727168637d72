import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageNotFoundError } from './errors.js';
import { ImageService } from './index.js';
import { sha256Digest } from './store.js';
import { blobEntry, buildImage, makeTar, type TarEntry } from './testing.js';
import { hostPlatform, MEDIA_OCI_INDEX } from './types.js';

const base: TarEntry[] = [
  { path: 'bin/', type: 'dir' },
  { path: 'bin/busybox', data: '#!busybox', mode: 0o755 },
  { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  { path: 'etc/', type: 'dir' },
  { path: 'etc/hostname', data: 'old' },
  { path: 'tmp/', type: 'dir', mode: 0o1777 },
];
const top: TarEntry[] = [
  { path: 'etc/.wh.hostname' },
  { path: 'app/', type: 'dir' },
  { path: 'app/main', data: 'hello', mode: 0o755 },
];

describe('importArchive + unpack', () => {
  let dir: string;
  let images: ImageService;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ordinal-images-'));
    images = ImageService.forDataDir(join(dir, 'data'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const blobs = () => readdirSync(join(dir, 'data/images/blobs/sha256')).sort();

  it('imports an OCI image layout with a multi-platform index and unpacks the host platform', async () => {
    const host = hostPlatform();
    const img = buildImage([base, top], {
      gzip: [true, false],
      architecture: host.architecture,
      config: {
        Entrypoint: ['/app/main'],
        Cmd: ['--serve'],
        Env: ['PATH=/bin'],
        WorkingDir: '/app',
        User: '1000:1000',
        ExposedPorts: { '8080/tcp': {} },
      },
    });
    // The index also names a platform whose blobs the layout does not hold.
    const other = `sha256:${'e'.repeat(64)}`;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_OCI_INDEX,
        manifests: [
          {
            ...img.manifest.desc,
            platform: { os: 'linux', architecture: host.architecture, variant: host.variant },
          },
          {
            mediaType: img.manifest.desc.mediaType,
            digest: other,
            size: 10,
            platform: { os: 'linux', architecture: 's390x' },
          },
        ],
      }),
    );
    const layoutIndex = {
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MEDIA_OCI_INDEX,
          digest: sha256Digest(index),
          size: index.length,
          annotations: { 'org.opencontainers.image.ref.name': 'example.com/team/app:1.0' },
        },
      ],
    };
    const file = join(dir, 'oci.tar');
    writeFileSync(
      file,
      makeTar([
        { path: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
        { path: 'index.json', data: JSON.stringify(layoutIndex) },
        { path: 'blobs/', type: 'dir' },
        { path: 'blobs/sha256/', type: 'dir' },
        blobEntry(index),
        blobEntry(img.manifest.data),
        blobEntry(img.config.data),
        ...img.layers.map((l) => blobEntry(l.data)),
      ]),
    );

    const imported = await images.importArchive(file);
    expect(imported).toEqual([
      {
        names: ['example.com/team/app:1.0'],
        target: expect.objectContaining({ digest: sha256Digest(index) }),
      },
    ]);
    const list = await images.list();
    expect(list).toEqual([
      expect.objectContaining({
        name: 'example.com/team/app:1.0',
        repository: 'example.com/team/app',
        tag: '1.0',
        id: img.config.desc.digest,
      }),
    ]);
    const cfg = await images.imageConfig('example.com/team/app:1.0');
    expect(cfg).toMatchObject({
      id: img.config.desc.digest,
      entrypoint: ['/app/main'],
      cmd: ['--serve'],
      env: ['PATH=/bin'],
      workingDir: '/app',
      user: '1000:1000',
      exposedPorts: ['8080/tcp'],
    });

    const rootfs = await images.rootfs('example.com/team/app:1.0');
    expect(rootfs).toBe(join(dir, 'data/images/rootfs', img.config.desc.digest.slice(7)));
    expect(readFileSync(join(rootfs, 'app/main'), 'utf8')).toBe('hello');
    expect(readFileSync(join(rootfs, 'bin/busybox'), 'utf8')).toBe('#!busybox');
    expect(readlinkSync(join(rootfs, 'bin/sh'))).toBe('busybox');
    expect(existsSync(join(rootfs, 'etc/hostname'))).toBe(false);
    expect(existsSync(join(rootfs, 'etc'))).toBe(true);
    // Cached: the second call returns the same tree without rebuilding.
    writeFileSync(join(rootfs, 'marker'), 'x');
    expect(await images.rootfs('example.com/team/app:1.0')).toBe(rootfs);
    expect(existsSync(join(rootfs, 'marker'))).toBe(true);

    // A fresh copy for a container.
    const copy = join(dir, 'ctr');
    await images.unpack('example.com/team/app:1.0', copy);
    expect(readFileSync(join(copy, 'app/main'), 'utf8')).toBe('hello');

    // By image ID prefix and by digest.
    expect((await images.get(img.config.desc.digest.slice(7, 20)))?.name).toBe('example.com/team/app:1.0');
    expect((await images.get(`example.com/team/app@${sha256Digest(index)}`))?.configDigest).toBe(
      img.config.desc.digest,
    );

    await images.remove('example.com/team/app:1.0');
    expect(await images.list()).toEqual([]);
    expect(blobs()).toEqual([]);
    expect(readdirSync(join(dir, 'data/images/rootfs'))).toEqual([]);
    await expect(images.imageConfig('example.com/team/app:1.0')).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  it('imports a docker save archive (gzip and plain layers), converting to OCI manifests', async () => {
    const img = buildImage([base, top], { gzip: [false, true], config: { Cmd: ['sh'] } });
    const manifest = [
      {
        Config: `${img.config.desc.digest.slice(7)}.json`,
        RepoTags: ['tool:v2', 'registry.local:5000/team/tool:v2'],
        Layers: ['aaa/layer.tar', 'bbb/layer.tar'],
      },
    ];
    const file = join(dir, 'save.tar');
    writeFileSync(
      file,
      makeTar([
        { path: 'manifest.json', data: JSON.stringify(manifest) },
        { path: `${img.config.desc.digest.slice(7)}.json`, data: img.config.data },
        { path: 'aaa/', type: 'dir' },
        { path: 'aaa/layer.tar', data: img.layers[0]?.data },
        { path: 'bbb/', type: 'dir' },
        { path: 'bbb/layer.tar', data: img.layers[1]?.data },
        { path: 'repositories', data: '{}' },
      ]),
    );
    const imported = await images.importArchive(file);
    expect(imported[0]?.names).toEqual(['docker.io/library/tool:v2', 'registry.local:5000/team/tool:v2']);
    const resolved = await images.get('tool:v2');
    expect(resolved?.manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(resolved?.layers.map((l) => [l.mediaType, l.digest])).toEqual([
      ['application/vnd.oci.image.layer.v1.tar', img.layers[0]?.desc.digest],
      ['application/vnd.oci.image.layer.v1.tar+gzip', img.layers[1]?.desc.digest],
    ]);
    expect((await images.imageConfig('docker.io/library/tool:v2')).cmd).toEqual(['sh']);
    const rootfs = await images.rootfs('tool:v2');
    expect(readFileSync(join(rootfs, 'app/main'), 'utf8')).toBe('hello');
    expect(existsSync(join(rootfs, 'etc/hostname'))).toBe(false);

    // Removing one of two names keeps the blobs; removing the last collects them.
    const before = blobs();
    expect(await images.remove('tool:v2')).toEqual(['docker.io/library/tool:v2']);
    expect(blobs()).toEqual(before);
    await images.remove('registry.local:5000/team/tool:v2');
    expect(blobs()).toEqual([]);
    await expect(images.remove('tool:v2')).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  it('rejects an OCI layout whose blob does not match its digest', async () => {
    const img = buildImage([base]);
    const file = join(dir, 'bad.tar');
    writeFileSync(
      file,
      makeTar([
        { path: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
        {
          path: 'index.json',
          data: JSON.stringify({
            schemaVersion: 2,
            manifests: [
              { ...img.manifest.desc, annotations: { 'io.containerd.image.name': 'docker.io/x/y:1' } },
            ],
          }),
        },
        blobEntry(img.manifest.data),
        blobEntry(img.config.data),
        { path: `blobs/sha256/${img.layers[0]?.desc.digest.slice(7)}`, data: 'tampered' },
      ]),
    );
    await expect(images.importArchive(file)).rejects.toThrow(/mismatch/);
    expect(await images.list()).toEqual([]);
  });
});
