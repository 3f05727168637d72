/**
 * Pseudo-terminals for containers without a console socket. runc only allocates a container pty when its
 * own stdin is a terminal (foreground `--tty` / `process.terminal`), and Node cannot create one nor receive
 * runc's pty master over SCM_RIGHTS. So runc runs under util-linux `script`, which gives it a host pty:
 *
 *   pipes ⇄ script ⇄ host pty (raw, set by runc) ⇄ runc ⇄ container pty (/dev/pts/0 inside) ⇄ process
 *
 * The process gets a real controlling terminal from the container's devpts, as under containerd. Resizing
 * sets the size of the host pty (the stdin of runc, script's only child): the kernel signals SIGWINCH to
 * runc, which copies the size to the container pty, whose foreground process group gets SIGWINCH in turn.
 */
import { readFile } from 'node:fs/promises';
import type { TerminalSize } from '../../apiserver/pod-streams.js';
import { findBusybox, pidAlive, run, sleep, which } from './util.js';

/** Quotes one argument for POSIX sh (single quotes; embedded ones as '\''). */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one sh command line that runs exactly that argv. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** The util-linux `script` binary, if installed. */
export function findScript(): string | undefined {
  return which('script');
}

/**
 * `script` arguments that run `argv` on a new pty, quietly, returning its exit code and keeping no
 * typescript. Spawn them with SHELL=/bin/sh in the environment (script runs `$SHELL -c <command>`).
 */
export function scriptArgs(argv: readonly string[]): string[] {
  return ['-q', '-e', '-c', `exec ${shellJoin(argv)}`, '/dev/null'];
}

/** The environment for spawning `script`: the given one with SHELL=/bin/sh. */
export function scriptEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, SHELL: '/bin/sh' };
}

/** The first child of a (single-threaded) process, from /proc/<pid>/task/<pid>/children. */
export async function firstChild(pid: number): Promise<number | undefined> {
  try {
    const s = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim();
    const n = Number(s.split(/\s+/)[0]);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sets the size of the terminal that is stdin of `pid` (opened through /proc/<pid>/fd/0, so it works for
 * any pts the process can see). Returns false when that failed (process gone, stdin not a terminal).
 */
export async function setTerminalSize(pid: number, size: TerminalSize): Promise<boolean> {
  const rows = String(Math.max(0, Math.min(65535, Math.floor(size.height))));
  const cols = String(Math.max(0, Math.min(65535, Math.floor(size.width))));
  const stty = which('stty');
  const busybox = stty ? undefined : findBusybox();
  if (!stty && !busybox) return false;
  const args = ['-F', `/proc/${pid}/fd/0`, 'rows', rows, 'cols', cols];
  const r = stty
    ? await run(stty, args, { timeoutMs: 5_000 })
    : await run(busybox!, ['stty', ...args], { timeoutMs: 5_000 });
  return r.code === 0;
}

/**
 * Resizes the pty `script` (pid `scriptPid`) created for its child: waits (up to `waitMs`) for the child to
 * exist, then sets the size on the child's stdin.
 */
export async function resizeScriptPty(
  scriptPid: number,
  size: TerminalSize,
  waitMs = 5_000,
): Promise<boolean> {
  const until = Date.now() + waitMs;
  for (;;) {
    const child = await firstChild(scriptPid);
    if (child !== undefined && (await setTerminalSize(child, size))) return true;
    if (Date.now() >= until || !pidAlive(scriptPid)) return false;
    await sleep(10);
  }
}
