/**
 * Pure generators of the root-filesystem entries of Ordinal's example images. Host data
 * (binaries, applet lists, `ldd` output) is passed in, so these are testable without the
 * Debian packages.
 */
import path from 'node:path';
import type { TarEntry } from './tar.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Relative symlink target from `from` (a path in the image) to `to` (another path in the image). */
export function relativeLink(from: string, to: string): string {
  const rel = path.posix.relative(path.posix.dirname(`/${from}`), `/${to}`);
  return rel === '' ? '.' : rel;
}

/** Parses `busybox --list-full` output (`bin/sh`, `usr/sbin/httpd`, ...). */
export function parseAppletList(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const p = line.trim().replace(/^\/+/, '');
    if (p !== '' && !p.split('/').includes('..')) out.add(p);
  }
  return [...out].sort();
}

/** `bin/busybox` plus one relative symlink per applet. */
export function busyboxEntries(binary: Buffer, applets: readonly string[]): TarEntry[] {
  const entries: TarEntry[] = [{ path: 'bin/busybox', type: 'file', mode: 0o755, content: binary }];
  for (const a of applets) {
    if (a === 'bin/busybox') continue;
    entries.push({ path: a, type: 'symlink', linkpath: relativeLink(a, 'bin/busybox') });
  }
  return entries;
}

/** Where an applet lives in the image (e.g. `httpd` → `/usr/sbin/httpd`). */
export function appletPath(applets: readonly string[], name: string): string {
  const p = applets.find((a) => path.posix.basename(a) === name);
  if (!p) throw new Error(`busybox has no ${name} applet`);
  return `/${p}`;
}

const text = (s: string): Buffer => Buffer.from(s);

/** The minimal files every image gets: users, groups, hosts placeholder, /tmp, mount points. */
export function baseEntries(): TarEntry[] {
  return [
    {
      path: 'etc/passwd',
      type: 'file',
      content: text('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'),
    },
    { path: 'etc/group', type: 'file', content: text('root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n') },
    {
      // Replaced by the runtime (a bind mount, like the kubelet's etc-hosts).
      path: 'etc/hosts',
      type: 'file',
      content: text('127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'),
    },
    // Replaced by the runtime with the pod's DNS configuration.
    { path: 'etc/resolv.conf', type: 'file', content: Buffer.alloc(0) },
    { path: 'etc/nsswitch.conf', type: 'file', content: text('hosts: files dns\n') },
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'root', type: 'dir', mode: 0o700 },
    { path: 'proc', type: 'dir', mode: 0o555 },
    { path: 'sys', type: 'dir', mode: 0o555 },
    { path: 'dev', type: 'dir', mode: 0o755 },
    { path: 'run', type: 'dir', mode: 0o755 },
    { path: 'var/tmp', type: 'dir', mode: 0o1777 },
  ];
}

/**
 * Parses `ldd` output into the absolute paths of the shared objects a binary needs
 * (including the dynamic loader); the vDSO is skipped. Throws on `not found`.
 * Returns `[]` for static binaries (`not a dynamic executable` / `statically linked`).
 */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (line === '' || /not a dynamic executable|statically linked/.test(line)) continue;
    if (/=>\s*not found/.test(line)) throw new Error(`missing shared library: ${line}`);
    const arrow = line.match(/^\S+\s+=>\s+(\/\S+)\s+\(0x[0-9a-f]+\)$/);
    if (arrow?.[1]) {
      paths.push(arrow[1]);
      continue;
    }
    const direct = line.match(/^(\/\S+)\s+\(0x[0-9a-f]+\)$/);
    if (direct?.[1]) paths.push(direct[1]);
    // Anything else (linux-vdso.so.1 => (0x...), linux-gate) has no file.
  }
  return [...new Set(paths)].sort();
}

/** A host file copied into the image at the same path (libraries: the resolved contents). */
export interface HostFile {
  /** Absolute path in the image. */
  path: string;
  content: Buffer;
  mode: number;
}

export function hostFileEntries(files: readonly HostFile[]): TarEntry[] {
  return files.map((f) => ({ path: f.path, type: 'file', mode: f.mode & 0o7777, content: f.content }));
}

/**
 * The visits app's CGI script: increments the count in $VISITS_FILE (default /data/visits)
 * under an exclusive `flock` (so concurrent requests, even from several pods sharing the
 * volume, never lose a count) and prints the pod's hostname and the new count.
 */
export const VISITS_CGI = `#!/bin/sh
# Ordinal example app: count visits in a file on a volume.
file="\${VISITS_FILE:-/data/visits}"
dir=$(dirname "$file")
mkdir -p "$dir" 2>/dev/null
count=$(
  {
    flock -x 9 || exit 1
    n=$(cat "$file" 2>/dev/null)
    case "$n" in '' | *[!0-9]*) n=0 ;; esac
    n=$((n + 1))
    echo "$n" > "$file.tmp" && mv -f "$file.tmp" "$file" || exit 1
    echo "$n"
  } 9>>"$file.lock"
)
if [ -z "$count" ]; then
  printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\n'
  printf 'cannot update %s\\n' "$file"
  exit 0
fi
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'Hello from %s, visit %s\\n' "$(hostname)" "$count"
`;

/** The visits app: CGI script (also the directory index), a static health check, /data. */
export function visitsEntries(): TarEntry[] {
  return [
    { path: 'www/cgi-bin/index', type: 'file', mode: 0o755, content: text(VISITS_CGI) },
    // busybox httpd runs /cgi-bin/index.cgi for "/" when there is no index.html.
    { path: 'www/cgi-bin/index.cgi', type: 'symlink', linkpath: 'index' },
    { path: 'www/healthz', type: 'file', content: text('ok\n') },
    { path: 'data', type: 'dir', mode: 0o755 },
  ];
}
