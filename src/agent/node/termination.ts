/**
 * How a container ended, beyond its exit code, as the kubelet reports it in `state.terminated`:
 *
 * - `message`: the file the container wrote at `terminationMessagePath` (default /dev/termination-log, at
 *   most 4096 bytes), or with `terminationMessagePolicy: FallbackToLogsOnError` and a failure, the last 80
 *   lines / 2048 bytes of its log;
 * - `reason: OOMKilled`: the kernel's memory-cgroup OOM killer ended it. On cgroup v2 the container
 *   cgroup's `memory.events` says so while it exists; on v1 (and after runc removed the cgroup) the kernel
 *   log (/dev/kmsg) names the cgroup in its `oom-kill:` record (`task_memcg=<cgroupsPath>`).
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCriLog } from './logs.js';

export const MAX_TERMINATION_MESSAGE = 4096;
const FALLBACK_LINES = 80;
const FALLBACK_BYTES = 2048;

/**
 * The termination message: the file's content, or (FallbackToLogsOnError, exit code not 0, empty file) the
 * tail of the CRI log. Undefined when there is none.
 */
export async function terminationMessage(opts: {
  file?: string;
  policy?: string;
  exitCode: number;
  logPath?: string;
}): Promise<string | undefined> {
  let msg = '';
  if (opts.file) {
    const buf = await readFile(opts.file).catch(() => Buffer.alloc(0));
    msg = buf.subarray(0, MAX_TERMINATION_MESSAGE).toString();
  }
  if (msg === '' && opts.policy === 'FallbackToLogsOnError' && opts.exitCode !== 0 && opts.logPath) {
    const text = await readFile(opts.logPath, 'utf8').catch(() => '');
    const lines = parseCriLog(text)
      .slice(-FALLBACK_LINES)
      .map((l) => `${l.content}\n`)
      .join('');
    const bytes = Buffer.from(lines);
    msg = bytes.subarray(Math.max(0, bytes.length - FALLBACK_BYTES)).toString();
  }
  return msg === '' ? undefined : msg;
}

/** Whether the kernel OOM killer killed a process of this container cgroup (see the module comment). */
export async function oomKilled(
  cgroupsPath: string,
  opts: { cgroupRoot?: string; kmsg?: string } = {},
): Promise<boolean> {
  const root = opts.cgroupRoot ?? '/sys/fs/cgroup';
  for (const file of [
    join(root, cgroupsPath, 'memory.events'),
    join(root, 'memory', cgroupsPath, 'memory.oom_control'),
  ]) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const m = /^oom_kill (\d+)$/m.exec(text);
    if (m && Number(m[1]) > 0) return true;
  }
  return kmsgNamesCgroup(cgroupsPath, opts.kmsg ?? '/dev/kmsg');
}

/** Scans the kernel log buffer (non-blocking) for an oom-kill record of this memory cgroup. */
export function kmsgNamesCgroup(cgroupsPath: string, path = '/dev/kmsg'): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  const needle = `task_memcg=${cgroupsPath},`;
  const needleEnd = `task_memcg=${cgroupsPath}\n`;
  const buf = Buffer.alloc(16 * 1024);
  try {
    for (let i = 0; i < 1_000_000; i++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        // EPIPE: a record was overwritten while reading; go on. EAGAIN: the end of the buffer.
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue;
        return false;
      }
      if (n <= 0) return false;
      const rec = buf.toString('utf8', 0, n);
      if (rec.includes('oom-kill:') && (rec.includes(needle) || rec.includes(needleEnd))) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}
