/**
 * Image references normalised like Docker / containerd
 * (github.com/distribution/reference ParseNormalizedNamed):
 * `busybox` → `docker.io/library/busybox:latest`.
 */
import { ImageError } from './errors.js';

export interface ImageReference {
  /** Registry host as written (`docker.io` for Docker Hub), possibly with a port. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

export const DEFAULT_DOMAIN = 'docker.io';

/** Parses and normalises; throws ImageError('InvalidReference') like `invalid reference format`. */
export function parseReference(input: string): ImageReference {
  const bad = (why = 'invalid reference format') =>
    new ImageError('InvalidReference', `parsing reference "${input}": ${why}`);
  if (input === '' || input.length > 255 + 72) throw bad();
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad();
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad();
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (!DOMAIN.test(domain)) throw bad();
  if (path.toLowerCase() !== path) throw bad('repository name must be lowercase');
  const parts = path.split('/');
  if (parts.some((p) => !PATH_COMPONENT.test(p))) throw bad();
  if (domain === DEFAULT_DOMAIN && parts.length === 1) path = `library/${path}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, tag, digest };
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full normalised string: `repo:tag`, `repo@digest` or `repo:tag@digest`. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Normalises a reference string (throws on invalid input). */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The registry API host: Docker Hub's is registry-1.docker.io. */
export function registryHost(ref: ImageReference): string {
  return ref.domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : ref.domain;
}

/** Loopback registries are plain http, as Docker and containerd allow by default. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.split(':')[0];
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host ?? '');
}
