import { describe, expect, it } from 'vitest';
import { isLoopbackHost, normalizeReference, parseReference, registryHost } from './reference.js';
import { hostPlatform, type ImageIndex, platformMatches, selectManifest } from './types.js';

describe('image references (Docker normalisation)', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
    ['quay.io/coreos/etcd:v3.5.0', 'quay.io/coreos/etcd:v3.5.0'],
    ['localhost/app', 'localhost/app:latest'],
    ['127.0.0.1:5000/team/app:v1', '127.0.0.1:5000/team/app:v1'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
    [`busybox:1@sha256:${'b'.repeat(64)}`, `docker.io/library/busybox:1@sha256:${'b'.repeat(64)}`],
  ])('%s → %s', (input, want) => {
    expect(normalizeReference(input)).toBe(want);
  });

  it.each(['', 'Busybox', 'busybox:', 'busybox@sha256:zz', 'a//b', 'busybox:-bad', 'docker.io/Upper'])(
    'rejects %j',
    (input) => {
      expect(() => parseReference(input)).toThrow(/parsing reference/);
    },
  );

  it('maps docker.io to the registry-1 API host and knows loopback hosts', () => {
    expect(registryHost(parseReference('busybox'))).toBe('registry-1.docker.io');
    expect(registryHost(parseReference('127.0.0.1:5000/a'))).toBe('127.0.0.1:5000');
    expect(isLoopbackHost('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('[::1]:5000')).toBe(true);
    expect(isLoopbackHost('registry.example.com')).toBe(false);
  });
});

describe('platforms', () => {
  it('maps process.arch like GOARCH', () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64').architecture).toBe('arm64');
  });

  it('selects the wanted platform and ignores attestations', () => {
    const d = (architecture: string, os = 'linux', variant?: string) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${architecture
        .padEnd(64, '0')
        .slice(0, 64)
        .replace(/[^a-f0-9]/g, '0')}${''}`,
      size: 1,
      platform: { os, architecture, variant },
    });
    const index: ImageIndex = {
      schemaVersion: 2,
      manifests: [d('unknown', 'unknown'), d('arm', 'linux', 'v6'), d('arm64', 'linux', 'v8'), d('amd64')],
    };
    expect(selectManifest(index, { os: 'linux', architecture: 'amd64' })?.platform?.architecture).toBe(
      'amd64',
    );
    expect(
      selectManifest(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.platform?.architecture,
    ).toBe('arm64');
    expect(selectManifest(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
    expect(
      platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, index.manifests[1]?.platform),
    ).toBe(true);
  });
});
