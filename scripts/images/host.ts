/**
 * The host side of the image builds: Debian package checks/installs, `ldd`, `busybox`,
 * reading binaries and their shared libraries.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { type HostFile, parseLdd } from './rootfs.js';

/** Exit code of build-images when a needed package is missing and we cannot install it. */
export const EXIT_MISSING_PACKAGE = 3;

export class MissingPackageError extends Error {
  readonly exitCode = EXIT_MISSING_PACKAGE;
  constructor(readonly packages: string[]) {
    super(
      `missing Debian package(s): ${packages.join(', ')} — install them as root with ` +
        `\`apt-get install -y ${packages.join(' ')}\` (or run this script as root)`,
    );
    this.name = 'MissingPackageError';
  }
}

/** Installed version of a Debian package, or undefined. */
export function packageVersion(pkg: string): string | undefined {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format, not a JS template
    const out = execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}\t${Version}', pkg], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [status, version] = out.split('\t');
    return status?.startsWith('ii') && version ? version : undefined;
  } catch {
    return undefined;
  }
}

export interface PackageOps {
  isRoot: boolean;
  version(pkg: string): string | undefined;
  install(pkgs: string[]): void;
  log?(msg: string): void;
}

export const hostPackageOps: PackageOps = {
  isRoot: process.getuid?.() === 0,
  version: packageVersion,
  install(pkgs) {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  },
  log: (msg) => process.stderr.write(`${msg}\n`),
};

/**
 * Makes sure the packages are installed: installs missing ones with apt-get when root,
 * otherwise throws MissingPackageError (exit code 3). Returns package → version.
 */
export function ensurePackages(
  pkgs: readonly string[],
  ops: PackageOps = hostPackageOps,
): Map<string, string> {
  let missing = pkgs.filter((p) => ops.version(p) === undefined);
  if (missing.length > 0) {
    if (!ops.isRoot) throw new MissingPackageError(missing);
    ops.log?.(`installing ${missing.join(' ')} with apt-get`);
    try {
      ops.install(missing);
    } catch (err) {
      ops.log?.(`apt-get install failed: ${(err as Error).message}`);
    }
    missing = pkgs.filter((p) => ops.version(p) === undefined);
    if (missing.length > 0) throw new MissingPackageError(missing);
  }
  return new Map(pkgs.map((p) => [p, ops.version(p) as string]));
}

/** The path a package installs a file at, checked to exist (first candidate that does). */
export function packageFile(pkg: string, candidates: readonly string[]): string {
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {
      // try the next one
    }
  }
  throw new Error(`package ${pkg} is installed but none of ${candidates.join(', ')} exists`);
}

/** The shared libraries (and loader) a host binary needs; empty for static binaries. */
export function sharedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // ldd exits 1 for static binaries ("not a dynamic executable").
    const e = err as { stdout?: string; stderr?: string };
    out = `${e.stdout ?? ''}\n${e.stderr ?? ''}`;
    if (!/not a dynamic executable|statically linked/.test(out)) throw err;
  }
  return parseLdd(out);
}

/** Reads a host file (following symlinks) to be placed at the same path in the image. */
export function readHostFile(p: string, imagePath = p): HostFile {
  const real = realpathSync(p);
  return { path: imagePath, content: readFileSync(real), mode: statSync(real).mode };
}

/** A binary plus every shared object it needs, each at the path the loader will look for. */
export function binaryWithLibraries(binary: string, imagePath = binary): HostFile[] {
  return [readHostFile(binary, imagePath), ...sharedLibraries(binary).map((l) => readHostFile(l))];
}

/** `busybox --list-full` of a host busybox binary. */
export function busyboxAppletList(busybox: string): string {
  return execFileSync(busybox, ['--list-full'], { encoding: 'utf8' });
}

export function dpkgArchitecture(): string {
  try {
    return execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  } catch {
    return process.arch;
  }
}
