/**
 * Drives the built `ordinal` CLI and the real kubectl binaries installed on the
 * machine. Every test gets a fresh data dir, kubeconfig and kubectl cache dir.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'bin/ordinal.js');
const BUILT = join(ROOT, 'dist/src/cli/main.js');

/** Directory holding kubectl.1.27 … kubectl.1.33 (beside the `kubectl` link's target), if any. */
function kubectlDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, 'kubectl');
    if (!existsSync(p)) continue;
    const real = dirname(realpathSync(p));
    if (existsSync(join(real, 'kubectl.1.33'))) return real;
  }
  return undefined;
}

const KDIR = kubectlDir();

/** Path of kubectl for a minor version ("1.33"), or undefined when not installed. */
export function kubectlPath(version: string): string | undefined {
  if (!KDIR) return undefined;
  const p = join(KDIR, `kubectl.${version}`);
  return existsSync(p) ? p : undefined;
}

export const HAVE_KUBECTL = kubectlPath('1.33') !== undefined;
export const SKIP_REASON =
  'real kubectl (kubectl.1.27 … kubectl.1.33 beside the kubectl link) is not installed';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningCluster {
  dir: string;
  kubeconfig: string;
  url: string;
  proc: ChildProcess;
  /** Runs kubectl (default 1.33) against this cluster. */
  kubectl(
    args: string[],
    opts?: { version?: string; input?: string; env?: Record<string, string> },
  ): Promise<KubectlResult>;
  /** Like kubectl() but throws unless the exit code is 0; returns stdout. */
  k(
    args: string[],
    opts?: { version?: string; input?: string; env?: Record<string, string> },
  ): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  output(): string;
}

export async function startOrdinal(extraArgs: string[] = [], dataDir?: string): Promise<RunningCluster> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run "npm run build" first`);
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'ordinal-e2e-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const cacheDir = join(dir, 'kcache');
  // Simulated nodes unless the test asks for a runtime (the CLI's default, auto, would run real containers as root).
  const runtime = extraArgs.includes('--runtime') ? [] : ['--runtime', 'sim'];
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'up',
      '--data-dir',
      join(dir, 'data'),
      '--kubeconfig',
      kubeconfig,
      '--port',
      '0',
      ...runtime,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const deadline = setTimeout(() => reject(new Error(`ordinal up did not start in time:\n${out}`)), 60_000);
    const check = (): void => {
      const m = /(https:\/\/[^\s]+:\d+)/.exec(out);
      if (m && existsSync(kubeconfig)) {
        clearTimeout(deadline);
        resolveUrl(m[1]!);
      }
    };
    proc.stdout?.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(deadline);
      reject(new Error(`ordinal up exited with ${code}:\n${out}`));
    });
  });
  const kubectl = (
    args: string[],
    opts: { version?: string; input?: string; env?: Record<string, string> } = {},
  ): Promise<KubectlResult> => {
    const bin = kubectlPath(opts.version ?? '1.33');
    if (!bin) throw new Error(SKIP_REASON);
    return new Promise((resolveRun) => {
      const child = execFile(
        bin,
        ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
        {
          env: { ...process.env, KUBECONFIG: kubeconfig, ...opts.env },
          timeout: 90_000,
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolveRun({ code, stdout, stderr });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  };
  return {
    dir,
    kubeconfig,
    url,
    proc,
    kubectl,
    async k(args, opts) {
      const r = await kubectl(args, opts);
      if (r.code !== 0)
        throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill(signal);
      const code = await exited;
      return code;
    },
    output: () => out,
  };
}

export function cleanup(c: RunningCluster | undefined): void {
  if (c && !process.env.ORDINAL_KEEP) rmSync(c.dir, { recursive: true, force: true });
}

export function readKubeconfig(c: RunningCluster): string {
  return readFileSync(c.kubeconfig, 'utf8');
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  ms = 30_000,
  every = 100,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`condition not met within ${ms} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
