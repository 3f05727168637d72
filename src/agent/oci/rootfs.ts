/** Container root filesystems: a writable per-container view of an (unpacked, read-only) image rootfs. */
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runOk } from './util.js';

export interface PreparedRootfs {
  /** Absolute path to use as the OCI `root.path`. */
  path: string;
  /** overlay: overlayfs with upper/work under the container dir; copy: a full copy (no overlayfs here). */
  kind: 'overlay' | 'copy';
}

/** Whether a path is a mount point (listed in /proc/self/mountinfo). */
export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountsUnder(path)).includes(path);
}

/** Mount points at or below `prefix`, deepest first (ready to unmount in order). */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const mp = f[4];
    if (mp === undefined) continue;
    const p = mp.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (p === prefix || p.startsWith(`${prefix}/`)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/**
 * Gives a container a writable root filesystem at `<containerDir>/rootfs`: an overlayfs whose lower layer is
 * the image rootfs (upper/work under containerDir) when the kernel allows it, otherwise a full copy.
 * Idempotent: an existing overlay mount is reused.
 */
export async function prepareRootfs(imageRootfs: string, containerDir: string): Promise<PreparedRootfs> {
  const target = join(containerDir, 'rootfs');
  const upper = join(containerDir, 'upper');
  const work = join(containerDir, 'work');
  await mkdir(target, { recursive: true });
  if (await isMountPoint(target)) return { path: target, kind: 'overlay' };
  await mkdir(upper, { recursive: true });
  await mkdir(work, { recursive: true });
  const r = await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${imageRootfs},upperdir=${upper},workdir=${work}`,
    target,
  ]);
  if (r.code === 0) return { path: target, kind: 'overlay' };
  await rm(upper, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
  await cp(imageRootfs, target, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  return { path: target, kind: 'copy' };
}

/** Unmounts everything below a container (or pod) directory, deepest first; lazily if busy. */
export async function unmountAll(dir: string): Promise<void> {
  for (const mp of await mountsUnder(dir)) {
    const r = await run('umount', [mp]);
    if (r.code !== 0) await runOk('umount', ['-l', mp]);
  }
}

/**
 * Assembles a minimal busybox rootfs in `dir` (used by the runtime probe and tests): /bin/busybox from the
 * host's static busybox, a symlink per applet (/bin/sh, /bin/nc, ...), and the usual empty directories.
 */
export async function busyboxRootfs(dir: string, busybox: string): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'etc', 'tmp', 'root', 'var/www']) {
    await mkdir(join(dir, d), { recursive: true });
  }
  await cp(busybox, join(dir, 'bin/busybox'));
  const list = await run(busybox, ['--list']);
  const applets = new Set(list.stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox'));
  applets.add('sh');
  for (const a of applets) {
    await symlink('busybox', join(dir, 'bin', a)).catch(() => undefined);
  }
  await writeFile(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n',
  );
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}
