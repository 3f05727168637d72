/**
 * One streaming `<runtime> exec` session (kubectl exec): the process, its stdio, its pid (from
 * `--pid-file`, so an abandoned session can kill the process itself: killing runc would orphan it), terminal
 * resizes, and the outcome. With a tty, runc runs with `--tty` under `script` (terminal.ts) and TERM=xterm,
 * as containerd's CRI exec does. Output is written to the caller's streams with backpressure, but only once
 * the process has started (runc wrote the pid file): before that anything on runc's stdio is runc's own
 * complaint, which containerd never shows. When the runtime could not start the process at all (no such
 * executable, ...), the outcome is the error text containerd reports, e.g.
 * `failed to exec in container: failed to start exec "<id>": OCI runtime exec failed: exec failed: unable to
 * start container process: exec: "nope": executable file not found in $PATH: unknown`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { TerminalSize } from '../../apiserver/pod-streams.js';
import { firstChild, resizeScriptPty, scriptArgs, scriptEnv } from './terminal.js';
import { pidAlive, signalNumber, sleep } from './util.js';

export interface ExecStreamOptions {
  /** Run on a terminal (needs the `script` path in ExecSpawn; output is then one stream on stdout). */
  tty?: boolean;
  /** Whether the caller feeds stdin (else the process reads EOF, or nothing for a tty). */
  stdin?: boolean;
  /** Where the process's output goes (not ended by the session); absent: discarded. */
  stdout?: Writable;
  /** Where its error output goes (unused with a tty: one stream). */
  stderr?: Writable;
  env?: string[];
  cwd?: string;
  /** "uid[:gid]"; default the container's. */
  user?: string;
}

/** Where and how to run the runtime for one exec. */
export interface ExecSpawn {
  runtimePath: string;
  runtimeRoot: string;
  containerId: string;
  /** Directory for the session's pid and log files (removed again when the session ends). */
  workDir: string;
  /** util-linux `script`, required for tty sessions. */
  script?: string;
}

export type ExecOutcome = { exitCode: number } | { startError: string };

/** Messages of error-level lines in a runtime JSON log (`--log-format json`). */
export function runtimeLogErrors(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"level":"error"')) continue;
    try {
      const msg = (JSON.parse(line) as { msg?: unknown }).msg;
      out.push(typeof msg === 'string' ? msg : line);
    } catch {
      out.push(line);
    }
  }
  return out;
}

/** containerd's text for an exec the runtime refused to start. */
export function execStartError(execId: string, runtimeError: string): string {
  return `failed to exec in container: failed to start exec "${execId}": OCI runtime exec failed: ${runtimeError}: unknown`;
}

export class ExecProcess {
  /** Random id like containerd's exec ids (64 hex digits). */
  readonly execId = randomBytes(32).toString('hex');
  readonly tty: boolean;
  readonly stdin: Writable | null;
  private readonly child: ChildProcess;
  private readonly pidFile: string;
  private readonly logFile: string;
  private readonly outcome: Promise<ExecOutcome>;
  private exited = false;
  private resizeTo?: TerminalSize;
  private resizing = false;
  private started = false;
  private held: [Writable, Buffer][] = [];

  private constructor(spec: ExecSpawn, argv: string[], opts: ExecStreamOptions) {
    this.tty = opts.tty === true && spec.script !== undefined;
    this.pidFile = join(spec.workDir, `${this.execId}.pid`);
    this.logFile = join(spec.workDir, `${this.execId}.log`);
    const args = [
      '--root',
      spec.runtimeRoot,
      '--log',
      this.logFile,
      '--log-format',
      'json',
      'exec',
      '--pid-file',
      this.pidFile,
    ];
    if (this.tty) args.push('--tty', '--env', 'TERM=xterm');
    for (const e of opts.env ?? []) args.push('--env', e);
    if (opts.cwd) args.push('--cwd', opts.cwd);
    if (opts.user) args.push('--user', opts.user);
    args.push(spec.containerId, ...argv);
    const out = opts.stdout ? 'pipe' : 'ignore';
    if (this.tty) {
      // script's stdin stays a pipe even without client stdin: EOF there would end the terminal session.
      this.child = spawn(spec.script!, scriptArgs([spec.runtimePath, ...args]), {
        stdio: ['pipe', out, 'pipe'],
        env: scriptEnv(),
      });
    } else {
      this.child = spawn(spec.runtimePath, args, {
        stdio: [opts.stdin ? 'pipe' : 'ignore', out, opts.stderr ? 'pipe' : 'ignore'],
      });
    }
    this.stdin = opts.stdin ? this.child.stdin : null;
    this.child.stdin?.on('error', () => undefined);
    if (this.child.stdout && opts.stdout) this.gate(this.child.stdout, opts.stdout);
    // With a tty, stderr of `script` is script's own complaints, not the process's.
    let scriptErr = '';
    if (this.tty) {
      this.child.stderr?.on('data', (d: Buffer) => {
        if (scriptErr.length < 4096) scriptErr += d.toString();
      });
    } else if (this.child.stderr && opts.stderr) {
      this.gate(this.child.stderr, opts.stderr);
    }
    void this.pid().then((pid) => {
      if (pid !== undefined) this.markStarted();
    });
    this.outcome = new Promise<ExecOutcome>((resolve) => {
      let spawnError: Error | undefined;
      this.child.on('error', (e) => {
        spawnError = e;
      });
      this.child.on('close', (code, signal) => {
        this.exited = true;
        void this.finish(code, signal, spawnError, scriptErr).then(resolve);
      });
    });
  }

  /** Copies `from` to `to` with backpressure, holding data back until the process has started. */
  private gate(from: Readable, to: Writable): void {
    from.on('data', (chunk: Buffer) => {
      if (!this.started && existsSync(this.pidFile)) this.markStarted();
      if (!this.started) {
        this.held.push([to, chunk]);
      } else if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
  }

  private markStarted(): void {
    if (this.started) return;
    this.started = true;
    for (const [to, chunk] of this.held.splice(0)) to.write(chunk);
  }

  /** Starts `argv` in the container (see ExecSpawn); the process runs once this returns. */
  static async start(spec: ExecSpawn, argv: string[], opts: ExecStreamOptions = {}): Promise<ExecProcess> {
    await mkdir(spec.workDir, { recursive: true });
    return new ExecProcess(spec, argv, opts);
  }

  private async finish(
    code: number | null,
    signal: NodeJS.Signals | null,
    spawnError: Error | undefined,
    scriptErr: string,
  ): Promise<ExecOutcome> {
    const started = this.started || existsSync(this.pidFile);
    const log = await readFile(this.logFile, 'utf8').catch(() => '');
    await rm(this.pidFile, { force: true });
    await rm(this.logFile, { force: true });
    if (spawnError) return { startError: execStartError(this.execId, spawnError.message) };
    if (!started) {
      const errs = runtimeLogErrors(log);
      let startError: string | undefined;
      if (errs.length > 0) startError = execStartError(this.execId, errs.join('; '));
      else if (this.tty && code !== 0 && scriptErr.trim()) startError = scriptErr.trim();
      if (startError) {
        this.held = []; // runc's own error text, already in startError
        return { startError };
      }
    }
    this.markStarted();
    return { exitCode: code ?? 128 + signalNumber(signal ?? '') };
  }

  /** Resolves when the session is over: the process's exit code, or why it never started. */
  wait(): Promise<ExecOutcome> {
    return this.outcome;
  }

  /** The process's host pid, once runc wrote it; undefined if the session ended first. */
  async pid(): Promise<number | undefined> {
    for (;;) {
      const text = await readFile(this.pidFile, 'utf8').catch(() => '');
      const pid = Number(text.trim());
      if (text.trim() !== '' && Number.isInteger(pid) && pid > 0) return pid;
      if (this.exited) return undefined;
      await sleep(10);
    }
  }

  /** Sets the terminal size (tty sessions; the latest size wins, sizes are applied in order). */
  resize(size: TerminalSize): void {
    if (!this.tty || this.exited) return;
    this.resizeTo = size;
    if (this.resizing) return;
    this.resizing = true;
    void (async () => {
      while (this.resizeTo && !this.exited && this.child.pid) {
        const s = this.resizeTo;
        this.resizeTo = undefined;
        await resizeScriptPty(this.child.pid, s);
      }
      this.resizing = false;
    })();
  }

  /**
   * Kills the process (SIGKILL by its pid, as containerd does when the client goes away), then, if the
   * runtime still has not exited after `graceMs`, the runtime and `script` too.
   */
  async kill(graceMs = 2_000): Promise<void> {
    if (this.exited) return;
    const pid = await Promise.race([this.pid(), sleep(graceMs).then(() => undefined)]);
    if (pid !== undefined && !this.exited) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const until = Date.now() + graceMs;
    while (!this.exited && Date.now() < until) await sleep(20);
    if (this.exited || !this.child.pid) return;
    const pids = [this.child.pid];
    // With a tty the child is script; runc is its child.
    if (this.tty) pids.unshift((await firstChild(this.child.pid)) ?? 0);
    for (const p of pids) {
      if (p > 0 && pidAlive(p)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }
}
