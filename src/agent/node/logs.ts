/**
 * Container logs as the kubelet keeps them: `<logDir>/<ns>_<pod>_<uid>/<container>/<restartCount>.log` in the
 * CRI format (`<RFC3339Nano> <stream> <P|F> <content>`), read back the way `kubectl logs` sees them
 * (tailLines, sinceSeconds, timestamps, previous, follow).
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface LogOptions {
  tailLines?: number;
  sinceSeconds?: number;
  /** RFC 3339 time; lines before it are skipped (sinceTime). */
  sinceTime?: string;
  timestamps?: boolean;
  /** The previous (terminated) instance of the container. */
  previous?: boolean;
  /** Keep reading as the container writes (see followContainerLog). */
  follow?: boolean;
  /** Byte limit on the returned text (limitBytes). */
  limitBytes?: number;
  /** For sinceSeconds (default Date.now()). */
  now?: number;
}

export class LogNotFoundError extends Error {
  readonly code = 'NotFound';
}

/** The kubelet's pod log directory name. */
export function podLogDir(logDir: string, namespace: string, pod: string, uid: string): string {
  return join(logDir, `${namespace}_${pod}_${uid}`);
}

export function containerLogPath(
  logDir: string,
  namespace: string,
  pod: string,
  uid: string,
  container: string,
  restartCount: number,
): string {
  return join(podLogDir(logDir, namespace, pod, uid), container, `${restartCount}.log`);
}

/** One logical log line (P chunks joined) with its timestamp and stream. */
export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  content: string;
}

/** Parses CRI log text; partial (P) chunks are joined with the following ones up to the F line. */
export function parseCriLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  const partial = new Map<string, { time: string; content: string }>();
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const a = raw.indexOf(' ');
    const b = raw.indexOf(' ', a + 1);
    const c = raw.indexOf(' ', b + 1);
    if (a < 0 || b < 0) continue;
    const time = raw.slice(0, a);
    const stream = raw.slice(a + 1, b) === 'stderr' ? 'stderr' : 'stdout';
    const tag = c < 0 ? raw.slice(b + 1) : raw.slice(b + 1, c);
    const content = c < 0 ? '' : raw.slice(c + 1);
    const prev = partial.get(stream);
    if (tag.startsWith('P')) {
      partial.set(stream, { time: prev?.time ?? time, content: (prev?.content ?? '') + content });
      continue;
    }
    partial.delete(stream);
    out.push({ time: prev?.time ?? time, stream, content: (prev?.content ?? '') + content });
  }
  return out;
}

function parseTime(t: string): number {
  // RFC3339Nano: Date.parse handles the fraction after trimming to milliseconds.
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]}${(m[2] ?? '').slice(0, 4)}${m[3]}`);
}

/** Formats lines as `kubectl logs` prints them. */
export function formatLogLines(lines: LogLine[], opts: LogOptions = {}): string {
  let sel = lines;
  const since =
    opts.sinceTime !== undefined
      ? Date.parse(opts.sinceTime)
      : opts.sinceSeconds !== undefined
        ? (opts.now ?? Date.now()) - opts.sinceSeconds * 1000
        : undefined;
  if (since !== undefined && Number.isFinite(since)) sel = sel.filter((l) => parseTime(l.time) >= since);
  if (opts.tailLines !== undefined && opts.tailLines >= 0) {
    sel = opts.tailLines === 0 ? [] : sel.slice(-opts.tailLines);
  }
  let text = sel.map((l) => `${opts.timestamps ? `${l.time} ` : ''}${l.content}\n`).join('');
  if (opts.limitBytes !== undefined && opts.limitBytes >= 0) {
    text = Buffer.from(text).subarray(0, opts.limitBytes).toString();
  }
  return text;
}

/** The log files of a container, by restart count (ascending), for the newest pod dir of that name. */
export async function containerLogFiles(
  logDir: string,
  namespace: string,
  pod: string,
  container: string,
  uid?: string,
): Promise<string[]> {
  let podDir: string | undefined;
  if (uid) podDir = podLogDir(logDir, namespace, pod, uid);
  else {
    const prefix = `${namespace}_${pod}_`;
    let best = -1;
    for (const d of await readdir(logDir).catch(() => [] as string[])) {
      if (!d.startsWith(prefix) || d.slice(prefix.length).includes('_')) continue;
      const m = (await stat(join(logDir, d)).catch(() => undefined))?.mtimeMs ?? -1;
      if (m > best) {
        best = m;
        podDir = join(logDir, d);
      }
    }
  }
  if (!podDir) return [];
  const dir = join(podDir, container);
  const files = (await readdir(dir).catch(() => [] as string[]))
    .filter((f) => /^\d+\.log$/.test(f))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  return files.map((f) => join(dir, f));
}

async function pickFile(
  logDir: string,
  namespace: string,
  pod: string,
  container: string,
  opts: LogOptions & { uid?: string },
): Promise<string> {
  const files = await containerLogFiles(logDir, namespace, pod, container, opts.uid);
  const file = opts.previous ? files[files.length - 2] : files[files.length - 1];
  if (!file) {
    throw new LogNotFoundError(
      opts.previous
        ? `previous terminated container "${container}" in pod "${pod}" not found`
        : `container "${container}" in pod "${pod}" has no logs`,
    );
  }
  return file;
}

/**
 * A container's log as `GET pods/<pod>/log?container=…` returns it (without follow). Throws LogNotFoundError
 * when there is no such log (or no previous instance).
 */
export async function readContainerLog(
  logDir: string,
  namespace: string,
  pod: string,
  container: string,
  opts: LogOptions & { uid?: string } = {},
): Promise<string> {
  const file = await pickFile(logDir, namespace, pod, container, opts);
  return formatLogLines(parseCriLog(await readFile(file, 'utf8')), opts);
}

/**
 * `follow=true`: yields what readContainerLog would return, then every new complete line as the container
 * writes it, until `signal` aborts or `done()` says the container finished and the file is drained.
 */
export async function* followContainerLog(
  logDir: string,
  namespace: string,
  pod: string,
  container: string,
  opts: LogOptions & { uid?: string; signal?: AbortSignal; done?: () => boolean; pollMs?: number } = {},
): AsyncGenerator<string> {
  const file = await pickFile(logDir, namespace, pod, container, opts);
  const fh = await open(file, 'r');
  try {
    let pos = 0;
    let carry = '';
    let first = true;
    for (;;) {
      const { size } = await fh.stat();
      if (size > pos) {
        const buf = Buffer.alloc(size - pos);
        await fh.read(buf, 0, buf.length, pos);
        pos = size;
        const text = carry + buf.toString();
        const cut = text.lastIndexOf('\n');
        carry = cut < 0 ? text : text.slice(cut + 1);
        const complete = cut < 0 ? '' : text.slice(0, cut + 1);
        const lines = parseCriLog(complete);
        const out = formatLogLines(lines, first ? opts : { timestamps: opts.timestamps });
        first = false;
        if (out) yield out;
      } else if (first) {
        first = false;
      }
      if (opts.signal?.aborted) return;
      if (opts.done?.() && (await fh.stat()).size <= pos) return;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
    }
  } finally {
    await fh.close();
  }
}
