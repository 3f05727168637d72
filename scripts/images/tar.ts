/**
 * Reproducible tar archives built in memory from a list of entries (no filesystem walk),
 * using the `tar` package's header encoder, plus a small reader for checking them.
 *
 * Every entry gets the same mtime, uid/gid 0 and empty uname/gname; entries are sorted
 * bytewise by path and missing parent directories are added, so the same entries always
 * give the same bytes (and therefore the same digest).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, type HeaderData, Pax } from 'tar';

/** The fixed timestamp every entry (and every image config) carries. */
export const REPRODUCIBLE_MTIME = new Date('2000-01-01T00:00:00Z');

export type TarEntryType = 'file' | 'dir' | 'symlink';

export interface TarEntry {
  /** Relative path without leading `/` or `./`; directories without trailing slash. */
  path: string;
  type: TarEntryType;
  /** Permission bits (including setuid/sticky), e.g. 0o755 or 0o1777. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** File contents (type `file`). */
  content?: Buffer;
  /** Symlink target (type `symlink`). */
  linkpath?: string;
}

const BLOCK = 512;

/** Normalizes a path: no leading `/` or `./`, no trailing `/`, no `.`/`..`/empty segments. */
export function normalizeEntryPath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.length === 0) throw new Error(`tar entry path ${JSON.stringify(p)} is empty`);
  if (parts.includes('..')) throw new Error(`tar entry path ${JSON.stringify(p)} contains ".."`);
  return parts.join('/');
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Normalizes paths, rejects conflicting duplicates (identical duplicates collapse), adds
 * missing parent directories (0755) and sorts bytewise by path.
 */
export function normalizeEntries(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    const path = normalizeEntryPath(e.path);
    const entry: TarEntry = { ...e, path };
    const prev = byPath.get(path);
    if (prev && !sameEntry(prev, entry)) throw new Error(`conflicting tar entries for ${path}`);
    byPath.set(path, entry);
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const existing = byPath.get(dir);
      if (!existing) byPath.set(dir, { path: dir, type: 'dir', mode: 0o755 });
      else if (existing.type !== 'dir')
        throw new Error(`${dir} is a ${existing.type} but ${path} is below it`);
    }
  }
  return [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path));
}

function sameEntry(a: TarEntry, b: TarEntry): boolean {
  return (
    a.type === b.type &&
    (a.mode ?? defaultMode(a.type)) === (b.mode ?? defaultMode(b.type)) &&
    (a.uid ?? 0) === (b.uid ?? 0) &&
    (a.gid ?? 0) === (b.gid ?? 0) &&
    (a.linkpath ?? '') === (b.linkpath ?? '') &&
    Buffer.compare(a.content ?? Buffer.alloc(0), b.content ?? Buffer.alloc(0)) === 0
  );
}

function defaultMode(type: TarEntryType): number {
  return type === 'file' ? 0o644 : type === 'dir' ? 0o755 : 0o777;
}

function tarPath(e: TarEntry): string {
  return e.type === 'dir' ? `${e.path}/` : e.path;
}

function encodeHeader(e: TarEntry, size: number): Buffer[] {
  const data: HeaderData = {
    path: tarPath(e),
    mode: e.mode ?? defaultMode(e.type),
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    size,
    mtime: REPRODUCIBLE_MTIME,
    type: e.type === 'file' ? 'File' : e.type === 'dir' ? 'Directory' : 'SymbolicLink',
    linkpath: e.linkpath ?? '',
    uname: '',
    gname: '',
  };
  const block = Buffer.alloc(BLOCK);
  const header = new Header(data);
  const needPax = header.encode(block, 0);
  if (!needPax) return [block];
  // Long path or link target: a PAX extended header carrying only those fields.
  const pax = new Pax({ path: data.path, linkpath: e.linkpath, mtime: REPRODUCIBLE_MTIME });
  return [pax.encode(), block];
}

/** Writes an uncompressed tar archive (sorted, with parents) ending in two zero blocks. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of normalizeEntries(entries)) {
    if (e.type === 'file') {
      const content = e.content ?? Buffer.alloc(0);
      out.push(...encodeHeader(e, content.length), content);
      const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
      if (pad) out.push(Buffer.alloc(pad));
    } else {
      if (e.type === 'symlink' && !e.linkpath) throw new Error(`symlink ${e.path} has no target`);
      out.push(...encodeHeader(e, 0));
    }
  }
  out.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(out);
}

/** Gzip with fixed settings (no name, mtime 0 in the gzip header) so output is reproducible. */
export function gzip(data: Buffer): Buffer {
  return gzipSync(data, { level: 9 });
}

export function gunzip(data: Buffer): Buffer {
  return gunzipSync(data);
}

/** One entry read back from an archive, in archive order. */
export interface ReadTarEntry {
  /** As stored (directories keep their trailing `/`). */
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date | undefined;
  linkpath: string;
  content: Buffer;
}

/** Reads a ustar/PAX archive produced by `writeTar` (or any tool writing those formats). */
export function readTar(buf: Buffer): ReadTarEntry[] {
  const entries: ReadTarEntry[] = [];
  let off = 0;
  let ex: HeaderData | undefined;
  while (off + BLOCK <= buf.length) {
    const header = new Header(buf, off, ex);
    if (header.nullBlock) break;
    if (!header.cksumValid) throw new Error(`bad tar header checksum at offset ${off}`);
    const size = header.size ?? 0;
    const body = buf.subarray(off + BLOCK, off + BLOCK + size);
    if (body.length !== size) throw new Error(`truncated tar entry ${header.path ?? ''} at offset ${off}`);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (header.type === 'ExtendedHeader') {
      ex = Pax.parse(body.toString('utf8'), ex, false);
      continue;
    }
    if (header.type === 'GlobalExtendedHeader') continue;
    ex = undefined;
    entries.push({
      path: header.path ?? '',
      type: header.type,
      mode: header.mode ?? 0,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      mtime: header.mtime,
      linkpath: header.linkpath ?? '',
      content: Buffer.from(body),
    });
  }
  return entries;
}
