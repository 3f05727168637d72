/**
 * Builds Ordinal's example container images offline, from this machine's Debian packages,
 * as OCI image-layout tarballs (no docker, no registry):
 *
 *   <out>/busybox.tar   ordinal.local/busybox:1.35   busybox-static, Cmd ["sh"]
 *   <out>/etcd.tar      ordinal.local/etcd:3.4       busybox + etcd-server, Entrypoint ["/usr/bin/etcd"]
 *   <out>/visits.tar    ordinal.local/visits:1       busybox httpd + CGI visit counter on :8080
 *
 * Builds are reproducible (fixed mtimes, sorted entries, fixed gzip settings) and skipped
 * when `<out>/<name>.tar` exists and its recorded inputs (`<name>.inputs`) are unchanged.
 * Missing packages are installed with apt-get when running as root; otherwise the script
 * exits with code 3 naming them.
 *
 * Run: `node --import tsx scripts/build-images.ts [--out DIR] [--only busybox,etcd] [--force]`
 * (default out: <repo>/.images).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  binaryWithLibraries,
  busyboxAppletList,
  dpkgArchitecture,
  ensurePackages,
  MissingPackageError,
  type PackageOps,
  packageFile,
} from './images/host.js';
import {
  type BuiltImage,
  buildImage,
  buildLayer,
  type ImageRuntimeConfig,
  type Layer,
  ociPlatform,
  type Platform,
  writeLayoutTar,
} from './images/oci.js';
import {
  appletPath,
  baseEntries,
  busyboxEntries,
  DEFAULT_PATH,
  type HostFile,
  hostFileEntries,
  parseAppletList,
  visitsEntries,
} from './images/rootfs.js';
import type { TarEntry } from './images/tar.js';

export type ImageName = 'busybox' | 'etcd' | 'visits';

export interface ImageSpec {
  name: ImageName;
  ref: string;
  packages: string[];
}

export const IMAGES: readonly ImageSpec[] = [
  { name: 'busybox', ref: 'ordinal.local/busybox:1.35', packages: ['busybox-static'] },
  { name: 'etcd', ref: 'ordinal.local/etcd:3.4', packages: ['busybox-static', 'etcd-server'] },
  // busybox-static in Debian has no flock applet; util-linux (essential) provides it.
  { name: 'visits', ref: 'ordinal.local/visits:1', packages: ['busybox-static', 'util-linux'] },
];

/** Host inputs the images are made of (gathered from the packages, or given by tests). */
export interface HostInputs {
  platform: Platform;
  packageVersions: Record<string, string>;
  busybox: Buffer;
  /** `busybox --list-full` output. */
  applets: string;
  /** /usr/bin/etcd and its shared libraries (needed for `etcd`). */
  etcd?: HostFile[];
  /** /usr/bin/flock and its shared libraries (needed for `visits`). */
  flock?: HostFile[];
}

export interface ImagePlan {
  spec: ImageSpec;
  layers: { createdBy: string; entries: TarEntry[] }[];
  config: ImageRuntimeConfig;
}

/** What goes into each image (pure: same inputs → same plan). */
export function planImage(name: ImageName, host: HostInputs): ImagePlan {
  const spec = IMAGES.find((i) => i.name === name);
  if (!spec) throw new Error(`unknown image ${name}`);
  const applets = parseAppletList(host.applets);
  const busyboxLayer = {
    createdBy: `busybox-static ${host.packageVersions['busybox-static'] ?? ''}`.trim(),
    entries: [...baseEntries(), ...busyboxEntries(host.busybox, applets)],
  };
  switch (name) {
    case 'busybox':
      return {
        spec,
        layers: [busyboxLayer],
        config: { Cmd: ['sh'], Env: [DEFAULT_PATH], WorkingDir: '/' },
      };
    case 'etcd': {
      if (!host.etcd) throw new Error('etcd image needs the etcd binary');
      const env = [DEFAULT_PATH];
      // etcd 3.4 refuses to start on architectures it does not officially support.
      if (!['amd64', 'arm64', 'ppc64le', 's390x'].includes(host.platform.architecture))
        env.push(`ETCD_UNSUPPORTED_ARCH=${host.platform.architecture}`);
      return {
        spec,
        layers: [
          busyboxLayer,
          {
            createdBy: `etcd-server ${host.packageVersions['etcd-server'] ?? ''}`.trim(),
            entries: [...hostFileEntries(host.etcd), { path: 'var/lib/etcd', type: 'dir', mode: 0o700 }],
          },
        ],
        config: {
          Entrypoint: ['/usr/bin/etcd'],
          Env: env,
          WorkingDir: '/var/lib/etcd',
          ExposedPorts: { '2379/tcp': {}, '2380/tcp': {} },
        },
      };
    }
    case 'visits': {
      if (!host.flock) throw new Error('visits image needs the flock binary');
      return {
        spec,
        layers: [
          busyboxLayer,
          {
            createdBy: 'visits app (busybox httpd + CGI, util-linux flock)',
            entries: [...hostFileEntries(host.flock), ...visitsEntries()],
          },
        ],
        config: {
          Cmd: [appletPath(applets, 'httpd'), '-f', '-v', '-p', '8080', '-h', '/www'],
          Env: [DEFAULT_PATH, 'VISITS_FILE=/data/visits'],
          WorkingDir: '/www',
          ExposedPorts: { '8080/tcp': {} },
        },
      };
    }
  }
}

/** Digest of everything that determines a plan's output (entries, config, builder code). */
export function planInputsDigest(plan: ImagePlan, platform: Platform, builderDigest: string): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ ref: plan.spec.ref, platform, config: plan.config, builderDigest }));
  for (const layer of plan.layers) {
    h.update(`\0layer ${layer.createdBy}\n`);
    for (const e of layer.entries) {
      const content = e.content ? createHash('sha256').update(e.content).digest('hex') : '';
      h.update(JSON.stringify([e.path, e.type, e.mode, e.uid, e.gid, e.linkpath, content]));
    }
  }
  return `sha256:${h.digest('hex')}`;
}

/** Builds the image from a plan, sharing identical layers through `layerCache`. */
export function buildPlan(
  plan: ImagePlan,
  platform: Platform,
  layerCache = new Map<string, Layer>(),
): BuiltImage {
  const layers = plan.layers.map((l) => {
    const key = planInputsDigest({ spec: plan.spec, layers: [l], config: {} }, platform, '');
    let layer = layerCache.get(key);
    if (!layer) {
      layer = buildLayer(l);
      layerCache.set(key, layer);
    }
    return layer;
  });
  return buildImage({ ref: plan.spec.ref, platform, layers, config: plan.config });
}

/** Digest of this builder's own code, so changing it invalidates previous outputs. */
export function builderDigest(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const files = [path.join(here, path.basename(fileURLToPath(import.meta.url)))];
  const imagesDir = path.join(here, 'images');
  if (existsSync(imagesDir)) {
    for (const f of readdirSync(imagesDir).sort()) {
      if (/\.(ts|js)$/.test(f) && !/\.test\.|\.d\.ts$/.test(f)) files.push(path.join(imagesDir, f));
    }
  }
  const h = createHash('sha256');
  for (const f of files) h.update(`${path.basename(f)}\0`).update(readFileSync(f));
  return h.digest('hex');
}

/** Collects the host inputs for the given images, installing packages when allowed. */
export function gatherHostInputs(names: readonly ImageName[], ops?: PackageOps): HostInputs {
  const pkgs = [...new Set(IMAGES.filter((i) => names.includes(i.name)).flatMap((i) => i.packages))].sort();
  const versions = ensurePackages(pkgs, ops);
  const busyboxPath = packageFile('busybox-static', ['/bin/busybox', '/usr/bin/busybox']);
  return {
    platform: ociPlatform(dpkgArchitecture()),
    packageVersions: Object.fromEntries(versions),
    busybox: readFileSync(busyboxPath),
    applets: busyboxAppletList(busyboxPath),
    etcd: names.includes('etcd')
      ? binaryWithLibraries(packageFile('etcd-server', ['/usr/bin/etcd']), '/usr/bin/etcd')
      : undefined,
    flock: names.includes('visits')
      ? binaryWithLibraries(packageFile('util-linux', ['/usr/bin/flock', '/bin/flock']), '/usr/bin/flock')
      : undefined,
  };
}

export interface BuildResult {
  name: ImageName;
  ref: string;
  file: string;
  /** Manifest digest (as in index.json). */
  digest: string;
  /** True when the existing output was up to date. */
  skipped: boolean;
}

export interface BuildOptions {
  out: string;
  images?: readonly ImageName[];
  force?: boolean;
  /** Host inputs to use instead of the machine's packages (tests). */
  host?: HostInputs;
  packageOps?: PackageOps;
  log?: (msg: string) => void;
}

export function buildImages(opts: BuildOptions): BuildResult[] {
  const names = opts.images ?? IMAGES.map((i) => i.name);
  const host = opts.host ?? gatherHostInputs(names, opts.packageOps);
  const builder = builderDigest();
  mkdirSync(opts.out, { recursive: true });
  const layerCache = new Map<string, Layer>();
  const results: BuildResult[] = [];
  for (const name of names) {
    const plan = planImage(name, host);
    const file = path.join(opts.out, `${name}.tar`);
    const stateFile = path.join(opts.out, `${name}.inputs`);
    const inputs = planInputsDigest(plan, host.platform, builder);
    if (!opts.force && existsSync(file) && existsSync(stateFile)) {
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { inputs?: string; digest?: string };
      if (state.inputs === inputs && state.digest) {
        results.push({ name, ref: plan.spec.ref, file, digest: state.digest, skipped: true });
        opts.log?.(`${plan.spec.ref}: up to date (${file})`);
        continue;
      }
    }
    const image = buildPlan(plan, host.platform, layerCache);
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, writeLayoutTar([image]));
    renameSync(tmp, file);
    writeFileSync(
      stateFile,
      `${JSON.stringify({ ref: plan.spec.ref, inputs, digest: image.descriptor.digest })}\n`,
    );
    results.push({ name, ref: plan.spec.ref, file, digest: image.descriptor.digest, skipped: false });
    opts.log?.(`${plan.spec.ref}: built ${file} (${image.descriptor.digest})`);
  }
  return results;
}

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'scripts'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

export function parseArgs(argv: readonly string[]): { out: string; images?: ImageName[]; force: boolean } {
  let out = path.join(repoRoot(), '.images');
  let images: ImageName[] | undefined;
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' && argv[i + 1] !== undefined) out = path.resolve(argv[++i] as string);
    else if (a?.startsWith('--out=')) out = path.resolve(a.slice('--out='.length));
    else if (a === '--only' && argv[i + 1] !== undefined) images = parseNames(argv[++i] as string);
    else if (a?.startsWith('--only=')) images = parseNames(a.slice('--only='.length));
    else if (a === '--force') force = true;
    else
      throw new Error(`unknown argument ${a}; usage: build-images [--out DIR] [--only NAME,...] [--force]`);
  }
  return { out, images, force };
}

function parseNames(s: string): ImageName[] {
  return s.split(',').map((n) => {
    if (!IMAGES.some((i) => i.name === n))
      throw new Error(`unknown image ${n} (known: ${IMAGES.map((i) => i.name).join(', ')})`);
    return n as ImageName;
  });
}

function main(): void {
  try {
    const args = parseArgs(process.argv.slice(2));
    const results = buildImages({ ...args, log: (m) => process.stderr.write(`${m}\n`) });
    for (const r of results) process.stdout.write(`${r.ref}\t${r.file}\t${r.digest}\n`);
  } catch (err) {
    process.stderr.write(`build-images: ${(err as Error).message}\n`);
    process.exitCode = err instanceof MissingPackageError ? err.exitCode : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
