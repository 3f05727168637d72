/**
 * Files of configMap, secret, downwardAPI and projected volumes, written the way the kubelet's AtomicWriter
 * does so that a running container never sees a half-updated volume:
 *
 * ```
 * <dir>/..2026_01_02_03_04_05.XXXXXX/   the payload (timestamped, replaced as a whole)
 * <dir>/..data -> ..2026_01_02_…          swapped atomically with rename(2)
 * <dir>/<name> -> ..data/<name>           one symlink per top-level path of the payload
 * ```
 *
 * Also `setVolumeOwnership`, the kubelet's fsGroup handling (group ownership, g+rw or g+r, setgid dirs).
 */
import {
  chmod,
  chown,
  lchown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';

/** One file of a volume payload. */
export interface FileProjection {
  data: Buffer;
  /** Permission bits (e.g. 0o644). */
  mode: number;
  /** Owner uid (projected service account tokens for a non-root user); default root. */
  uid?: number;
}

/** Relative path → file. */
export type Payload = Map<string, FileProjection>;

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** Upstream validatePayload: relative, no `..` element, not starting with `..`. */
export function validatePayloadPath(p: string): string | undefined {
  if (p === '') return 'invalid path: must not be empty';
  if (p.startsWith('/')) return `invalid path: must be relative path: ${p}`;
  if (p.length > 4096) return `invalid path: must be less than or equal to 4096 characters`;
  if (p.split('/').includes('..')) return `invalid path: must not contain '..': ${p}`;
  if (p.startsWith('..')) return `invalid path: must not start with '..': ${p}`;
  return undefined;
}

function timestampPrefix(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Relative paths of every regular file under `dir`. */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => [])) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else out.push(rel);
  }
  return out;
}

/** True when the current payload differs (a path added, removed, or with other content). */
async function changed(current: string, payload: Payload): Promise<boolean> {
  const have = await filesUnder(current);
  if (have.length !== payload.size) return true;
  for (const rel of have) {
    const want = payload.get(rel);
    if (!want) return true;
    const got = await readFile(join(current, rel)).catch(() => undefined);
    if (!got?.equals(want.data)) return true;
  }
  return false;
}

function topLevel(p: string): string {
  return p.split('/')[0] ?? p;
}

/**
 * Writes `payload` into `dir` atomically (see the module comment). Returns false when the volume already
 * holds exactly this payload (nothing is touched), true when it was (re)written.
 */
export async function writePayload(dir: string, payload: Payload, now = new Date()): Promise<boolean> {
  for (const p of payload.keys()) {
    const err = validatePayloadPath(p);
    if (err) throw new Error(err);
  }
  await mkdir(dir, { recursive: true });
  const dataLink = join(dir, DATA);
  let oldTs: string | undefined;
  try {
    oldTs = await readlink(dataLink);
  } catch {
    oldTs = undefined;
  }
  if (oldTs !== undefined && !(await changed(join(dir, oldTs), payload))) return false;

  const tsDir = await mkdtemp(join(dir, timestampPrefix(now)));
  await chmod(tsDir, 0o755);
  for (const [rel, f] of payload) {
    const file = join(tsDir, rel);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFileMode(file, f);
  }
  const tmp = join(dir, DATA_TMP);
  await rm(tmp, { force: true });
  await symlink(posix.basename(tsDir), tmp);
  await rename(tmp, dataLink);

  const wanted = new Set([...payload.keys()].map(topLevel));
  for (const name of wanted) {
    const link = join(dir, name);
    if (!(await exists(link))) await symlink(posix.join(DATA, name), link);
  }
  // Paths of the old payload that are gone, then the old payload itself.
  for (const e of await readdir(dir)) {
    if (e.startsWith('..') || wanted.has(e)) continue;
    await rm(join(dir, e), { recursive: true, force: true });
  }
  if (oldTs !== undefined && oldTs !== posix.basename(tsDir)) {
    await rm(join(dir, oldTs), { recursive: true, force: true });
  }
  return true;
}

async function writeFileMode(file: string, f: FileProjection): Promise<void> {
  await writeFile(file, f.data, { mode: f.mode });
  await chmod(file, f.mode);
  if (f.uid !== undefined) await chown(file, f.uid, -1);
}

/**
 * fsGroup (upstream SetVolumeOwnership): every file and directory under `dir` gets group `gid` and
 * `g+rw` (`g+r` when `readOnly`), directories also `g+x` and setgid. Symlinks only change group.
 * With `onRootMismatch` (fsGroupChangePolicy OnRootMismatch) nothing is done when the root already
 * has the group, the permissions and setgid.
 */
export async function setVolumeOwnership(
  dir: string,
  gid: number,
  opts: { readOnly?: boolean; onRootMismatch?: boolean } = {},
): Promise<void> {
  const mask = opts.readOnly ? 0o440 : 0o660;
  if (opts.onRootMismatch) {
    const st = await lstat(dir);
    const want = mask | 0o110 | 0o2000;
    if (st.gid === gid && (st.mode & want) === want) return;
  }
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    await lchown(p, st.uid, gid);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      await chmod(p, (st.mode & 0o7777) | mask | 0o110 | 0o2000);
      for (const e of await readdir(p)) await walk(join(p, e));
    } else {
      await chmod(p, (st.mode & 0o7777) | mask);
    }
  };
  await walk(dir);
}
