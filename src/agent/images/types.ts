/**
 * OCI image-spec and Docker v2 schema2 types and media types (only the fields
 * the node agent uses), plus platform matching.
 */

export const MEDIA_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MEDIA_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** The Accept header sent for manifests, like containerd's resolver. */
export const MANIFEST_ACCEPT = [
  MEDIA_OCI_INDEX,
  MEDIA_OCI_MANIFEST,
  MEDIA_DOCKER_LIST,
  MEDIA_DOCKER_MANIFEST,
].join(', ');

export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The `config` object of an image configuration (the parts a runtime uses). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface ImageConfigFile {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: ContainerConfig;
  rootfs?: { type: string; diff_ids: string[] };
}

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MEDIA_OCI_INDEX || mt === MEDIA_DOCKER_LIST;
}

export function isManifestMediaType(mt: string | undefined): boolean {
  return mt === MEDIA_OCI_MANIFEST || mt === MEDIA_DOCKER_MANIFEST;
}

/** Media type of a manifest document: the field if present, else inferred from its shape. */
export function manifestMediaType(doc: unknown, fallback?: string): string | undefined {
  if (typeof doc !== 'object' || doc === null) return fallback;
  const o = doc as Record<string, unknown>;
  if (typeof o.mediaType === 'string' && o.mediaType !== '') return o.mediaType;
  if (fallback && (isIndexMediaType(fallback) || isManifestMediaType(fallback))) return fallback;
  if (Array.isArray(o.manifests)) return MEDIA_OCI_INDEX;
  if (typeof o.config === 'object' && Array.isArray(o.layers)) return MEDIA_OCI_MANIFEST;
  return fallback;
}

/** Maps Node's process.arch to GOARCH / OCI architecture names. */
export function hostPlatform(arch: string = process.arch): Platform {
  switch (arch) {
    case 'x64':
      return { os: 'linux', architecture: 'amd64' };
    case 'arm64':
      return { os: 'linux', architecture: 'arm64', variant: 'v8' };
    case 'arm':
      return { os: 'linux', architecture: 'arm', variant: 'v7' };
    case 'ia32':
      return { os: 'linux', architecture: '386' };
    case 'ppc64':
      return { os: 'linux', architecture: 'ppc64le' };
    default:
      return { os: 'linux', architecture: arch };
  }
}

/** containerd's platforms.Only-style match: os and architecture equal, variant compatible. */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!want.variant || !have.variant) return true;
  if (want.architecture === 'arm64') return have.variant === want.variant || have.variant === 'v8';
  if (want.architecture === 'arm') {
    // v7 can run v6 and v5 images, like containerd.
    const n = (v: string) => Number.parseInt(v.replace(/^v/, ''), 10);
    return n(have.variant) <= n(want.variant);
  }
  return have.variant === want.variant;
}

/**
 * Picks the manifest for `want` from an index: exact variant first, then any
 * compatible one. Attestation manifests (platform unknown/unknown) never match.
 */
export function selectManifest(index: ImageIndex, want: Platform): Descriptor | undefined {
  const candidates = index.manifests.filter(
    (d) => isManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType) || d.mediaType === undefined,
  );
  const compatible = candidates.filter((d) => platformMatches(want, d.platform));
  const exact = compatible.find((d) => (d.platform?.variant ?? '') === (want.variant ?? ''));
  if (exact ?? compatible[0]) return exact ?? compatible[0];
  // An index whose entries carry no platform at all (single-image layouts).
  return candidates.find((d) => d.platform === undefined);
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}
