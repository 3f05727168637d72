/**
 * Applies image layers (OCI image-spec "changesets") to a rootfs directory:
 * gzip or plain tar, whiteouts (`.wh.<name>`, `.wh..wh..opq`), hard links,
 * symlinks, device nodes (only as root), modes, ownership (only as root) and
 * mtimes. Nothing is ever written outside the destination: entry paths that
 * climb out with `..` are rejected, absolute paths are taken relative to the
 * root, and symlinks met on the way are resolved *inside* the root (like
 * containerd's fs.RootPath / securejoin).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  promises as fsp,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  type Stats,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { type ReadEntry, list as tarList } from 'tar';
import { UnpackError } from './errors.js';
import { digestHex, type ImageStore, type ResolvedImage } from './store.js';

export interface ApplyOptions {
  /** Apply ownership and create device nodes (default: whether we run as uid 0). */
  privileged?: boolean;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Splits an entry name into clean components; throws if it climbs above the root. */
export function cleanEntryPath(name: string): string[] {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0) throw new UnpackError(`layer entry "${name}" escapes the root`);
      parts.pop();
      continue;
    }
    parts.push(c);
  }
  return parts;
}

/**
 * Resolves `parts` under `root`, following symlinks but never leaving the
 * root (a link to `/etc` means `<root>/etc`, `..` stops at the root). With
 * `create`, missing directories are made (0755). Returns undefined when a
 * component is missing and `create` is false.
 */
export function resolveInRoot(root: string, parts: string[], create: boolean): string | undefined {
  let stack: string[] = [];
  const queue = [...parts];
  let links = 0;
  while (queue.length > 0) {
    const c = queue.shift() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      stack.pop();
      continue;
    }
    const cur = join(root, ...stack, c);
    const st = lstatOrUndefined(cur);
    if (!st) {
      if (!create) return undefined;
      mkdirSync(cur, { mode: 0o755 });
      stack.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > 255) throw new UnpackError(`too many levels of symbolic links at "${cur}"`);
      const target = readlinkSync(cur);
      if (target.startsWith('/')) stack = [];
      queue.unshift(...target.split('/'));
      continue;
    }
    if (!st.isDirectory()) {
      throw new UnpackError(`"/${[...stack, c].join('/')}" is not a directory`);
    }
    stack.push(c);
  }
  return join(root, ...stack);
}

interface DirMeta {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime?: Date;
}

/** Applies one layer tarball (gzip detected automatically) onto `dest`. */
export async function applyLayer(layerFile: string, dest: string, opts: ApplyOptions = {}): Promise<void> {
  const privileged = opts.privileged ?? isRoot();
  await fsp.mkdir(dest, { recursive: true });
  const unpacked = new Set<string>();
  const dirs: DirMeta[] = [];
  let failure: unknown;

  const setMeta = (path: string, entry: ReadEntry, symlink: boolean) => {
    if (privileged && entry.uid !== undefined && entry.gid !== undefined) {
      lchownSync(path, entry.uid, entry.gid);
    }
    if (!symlink && entry.mode !== undefined) chmodSync(path, entry.mode & 0o7777);
    if (entry.mtime) {
      if (symlink) lutimesSync(path, entry.mtime, entry.mtime);
      else utimesSync(path, entry.mtime, entry.mtime);
    }
  };

  const handle = (entry: ReadEntry): void => {
    const parts = cleanEntryPath(entry.path);
    if (parts.length === 0) return; // "./" itself
    const rel = parts.join('/');
    const base = parts[parts.length - 1] as string;
    const parentParts = parts.slice(0, -1);

    if (base.startsWith('.wh.')) {
      const parent = resolveInRoot(dest, parentParts, false);
      if (!parent) return;
      if (base === '.wh..wh..opq') {
        // Opaque: hide everything lower layers put here, keep this layer's entries.
        for (const child of readdirSync(parent)) {
          const childRel = [...parentParts, child].join('/');
          if (!unpacked.has(childRel)) rmSync(join(parent, child), { recursive: true, force: true });
        }
        return;
      }
      if (base.startsWith('.wh..wh.')) return; // other aufs metadata
      const victim = base.slice(4);
      if (victim === '' || victim === '.' || victim === '..') return;
      rmSync(join(parent, victim), { recursive: true, force: true });
      return;
    }

    const parent = resolveInRoot(dest, parentParts, true) as string;
    const target = join(parent, base);
    unpacked.add(rel);
    const existing = lstatOrUndefined(target);
    const isDir = entry.type === 'Directory';
    if (existing && !(isDir && existing.isDirectory())) {
      if (existing.isDirectory()) rmSync(target, { recursive: true, force: true });
      else unlinkSync(target);
    }

    switch (entry.type) {
      case 'Directory': {
        if (!existing?.isDirectory()) mkdirSync(target, { mode: 0o755 });
        let mode = (entry.mode ?? 0o755) & 0o7777;
        // Unprivileged, we must keep writing into directories a layer marks read-only.
        if (!privileged) mode |= 0o700;
        dirs.push({ path: target, mode, uid: entry.uid ?? 0, gid: entry.gid ?? 0, mtime: entry.mtime });
        return;
      }
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        const fd = openSync(target, 'wx', 0o600);
        let closed = false;
        const close = () => {
          if (!closed) {
            closed = true;
            closeSync(fd);
          }
        };
        entry.on('data', (chunk: Buffer) => {
          if (failure !== undefined) return;
          try {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off);
          } catch (e) {
            failure ??= e;
            close();
          }
        });
        entry.on('end', () => {
          close();
          if (failure !== undefined) return;
          try {
            setMeta(target, entry, false);
          } catch (e) {
            failure ??= e;
          }
        });
        return;
      }
      case 'SymbolicLink': {
        symlinkSync(entry.linkpath ?? '', target);
        setMeta(target, entry, true);
        return;
      }
      case 'Link': {
        const linkParts = cleanEntryPath(entry.linkpath ?? '');
        const linkParent = resolveInRoot(dest, linkParts.slice(0, -1), false);
        const source =
          linkParent && linkParts.length > 0 ? join(linkParent, linkParts.at(-1) as string) : undefined;
        const st = source ? lstatOrUndefined(source) : undefined;
        if (!source || !st) throw new UnpackError(`hard link "${entry.path}" to missing "${entry.linkpath}"`);
        if (st.isDirectory())
          throw new UnpackError(`hard link "${entry.path}" to directory "${entry.linkpath}"`);
        linkSync(source, target);
        return;
      }
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO': {
        const fifo = entry.type === 'FIFO';
        if (!privileged && !fifo) return; // device nodes need CAP_MKNOD: skipped, like rootless runtimes
        const kind = fifo ? 'p' : entry.type === 'CharacterDevice' ? 'c' : 'b';
        const args = fifo
          ? [target]
          : [target, kind, String(entry.header.devmaj ?? 0), String(entry.header.devmin ?? 0)];
        const r = spawnSync(fifo ? 'mkfifo' : 'mknod', args, { stdio: ['ignore', 'ignore', 'pipe'] });
        if (r.status !== 0) {
          throw new UnpackError(
            `creating ${entry.type} "${entry.path}": ${r.stderr?.toString().trim() || r.error}`,
          );
        }
        setMeta(target, entry, false);
        return;
      }
      default:
        return; // sparse, GNU dumpdir, … are not produced by image builders
    }
  };

  await tarList({
    file: layerFile,
    maxDecompressionRatio: Number.MAX_SAFE_INTEGER,
    onReadEntry: (entry: ReadEntry) => {
      if (failure !== undefined) return;
      try {
        handle(entry);
      } catch (e) {
        failure = e;
      }
    },
  });
  if (failure !== undefined) throw failure;
  // Directory metadata last (deepest first), so read-only dirs did not block their children.
  for (const d of dirs.reverse()) {
    if (!lstatOrUndefined(d.path)?.isDirectory()) continue;
    if (privileged) lchownSync(d.path, d.uid, d.gid);
    chmodSync(d.path, d.mode);
    if (d.mtime) utimesSync(d.path, d.mtime, d.mtime);
  }
}

/** Applies every layer of a resolved image, in order, onto `dest`. */
export async function unpackImage(
  store: ImageStore,
  image: ResolvedImage,
  dest: string,
  opts?: ApplyOptions,
): Promise<void> {
  await fsp.mkdir(dest, { recursive: true });
  for (const layer of image.layers) {
    if (!(await store.hasBlob(layer.digest))) {
      throw new UnpackError(`layer ${layer.digest} of ${image.name} is not in the content store`);
    }
    await applyLayer(store.blobPath(layer.digest), dest, opts);
  }
}

const building = new Map<string, Promise<string>>();

/**
 * The cached read-only rootfs of an image, `<store>/rootfs/<config hex>`,
 * built on first use (in tmp/, renamed into place when complete).
 */
export async function prepareRootfs(store: ImageStore, ref: string, opts?: ApplyOptions): Promise<string> {
  const image = await store.resolve(ref);
  const dir = join(store.root, 'rootfs', digestHex(image.configDigest));
  if (lstatOrUndefined(dir)?.isDirectory()) return dir;
  const pending = building.get(dir);
  if (pending) return pending;
  const work = (async () => {
    await store.init();
    const tmp = store.tmpPath('rootfs');
    try {
      await unpackImage(store, image, tmp, opts);
      if (!lstatOrUndefined(dir)) await fsp.rename(tmp, dir);
      return dir;
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  })();
  building.set(dir, work);
  try {
    return await work;
  } finally {
    building.delete(dir);
  }
}
