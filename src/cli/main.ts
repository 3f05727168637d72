/**
 * The `ordinal` command line. `bin/ordinal.js` builds if needed and calls
 * main(); nothing here runs on import.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensurePki, type Pki } from '../apiserver/auth/pki.js';
import { writeKubeconfig } from './kubeconfig.js';

export interface UpOptions {
  dataDir: string;
  kubeconfig?: string;
  host: string;
  port: number;
  store: 'sqlite' | 'memory';
  runtime: string;
  nodes: number;
  /** Simulated nodes: how long a bound pod takes to become Running and Ready. */
  simReadyDelayMs: number;
  /** Directory served by the shared-directory (nfs-subdir style) provisioner. */
  sharedDir?: string;
  /** Cluster DNS port (0: a free one; -1: no DNS). */
  dnsPort: number;
}

export type Command =
  | { cmd: 'up'; opts: UpOptions }
  | { cmd: 'images'; argv: string[]; dataDir: string }
  | { cmd: 'version' }
  | { cmd: 'help'; topic?: string }
  | { cmd: 'error'; message: string };

const RUNTIMES = ['auto', 'sim', 'oci'];

export const USAGE = `Usage: ordinal <command> [options]

Commands:
  up         Start a cluster in the foreground and point kubectl at it
  images     Manage the local image store (import, ls, rm, pull)
  version    Print the version
  help       Show this help

Options for up:
  --data-dir DIR     Where state and certificates live (default ~/.ordinal)
  --kubeconfig PATH  Write a standalone kubeconfig here instead of merging
                     into $KUBECONFIG / ~/.kube/config
  --host H           Address to listen on (default 127.0.0.1)
  --port N           Port to listen on (default 6443; 0 picks a free one)
  --store S          sqlite (default, persistent) or memory
  --runtime R        Node runtime: auto (the default: oci when this host can
                     run containers, else sim, saying why), oci (one node
                     running pods as containers with runc; needs Linux, root,
                     runc, iproute2, busybox-static) or sim (simulated
                     nodes: pods are scheduled and reported Running, no
                     processes run)
  --nodes N          Number of nodes (default 1)
  --sim-ready-delay MS
                     Simulated nodes: milliseconds from binding until a pod
                     is Running and Ready (default 500)
  --shared-dir DIR   Directory the shared-directory (nfs-subdir style)
                     provisioner creates volumes in (default DATA_DIR/shared)
  --dns-port N       Cluster DNS (UDP and TCP, cluster.local) port on the API
                     host (default 0: a free port; "off" disables it)
`;

/** Parses argv (without node and script). Never throws; bad input is {cmd:'error'}. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    return { cmd: 'help', topic: rest[0] };
  }
  if (first === 'version' || first === '--version' || first === '-v') return { cmd: 'version' };
  if (first === 'images') {
    // --data-dir DIR / --data-dir=DIR may appear anywhere; the rest goes to the images command.
    const argv: string[] = [];
    let dir: string | undefined;
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === '--data-dir') {
        dir = rest[++i];
        if (dir === undefined) return { cmd: 'error', message: '--data-dir needs a value' };
      } else if (a.startsWith('--data-dir=')) dir = a.slice('--data-dir='.length);
      else argv.push(a);
    }
    const dataDir = resolve(expandHome(dir ?? join(env.HOME || homedir(), '.ordinal')));
    return { cmd: 'images', argv, dataDir };
  }
  if (first !== 'up') return { cmd: 'error', message: `unknown command "${first}"` };

  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        kubeconfig: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        store: { type: 'string' },
        runtime: { type: 'string' },
        nodes: { type: 'string' },
        'sim-ready-delay': { type: 'string' },
        'shared-dir': { type: 'string' },
        'dns-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return { cmd: 'error', message: e instanceof Error ? e.message : String(e) };
  }
  if (values.help) return { cmd: 'help', topic: 'up' };
  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };

  const port = parseIntOption(str('port') ?? '6443');
  if (port === undefined || port < 0 || port > 65535) {
    return { cmd: 'error', message: `--port must be a number between 0 and 65535, got "${str('port')}"` };
  }
  const nodes = parseIntOption(str('nodes') ?? '1');
  if (nodes === undefined || nodes < 0 || nodes > 1000) {
    return { cmd: 'error', message: `--nodes must be a number between 0 and 1000, got "${str('nodes')}"` };
  }
  const simReadyDelayMs = parseIntOption(str('sim-ready-delay') ?? '500');
  if (simReadyDelayMs === undefined || simReadyDelayMs > 3_600_000) {
    return {
      cmd: 'error',
      message: `--sim-ready-delay must be a number of milliseconds up to 3600000, got "${str('sim-ready-delay')}"`,
    };
  }
  const dnsArg = str('dns-port') ?? '0';
  const dnsPort = dnsArg === 'off' ? -1 : parseIntOption(dnsArg);
  if (dnsPort === undefined || dnsPort > 65535) {
    return { cmd: 'error', message: `--dns-port must be a port number or "off", got "${dnsArg}"` };
  }
  const store = str('store') ?? 'sqlite';
  if (store !== 'sqlite' && store !== 'memory') {
    return { cmd: 'error', message: `--store must be sqlite or memory, got "${store}"` };
  }
  const runtime = str('runtime') ?? 'auto';
  if (!RUNTIMES.includes(runtime)) {
    return { cmd: 'error', message: `--runtime must be one of ${RUNTIMES.join(', ')}, got "${runtime}"` };
  }
  const host = str('host') ?? '127.0.0.1';
  if (!host) return { cmd: 'error', message: '--host must not be empty' };
  const dataDir = resolve(expandHome(str('data-dir') ?? join(env.HOME || homedir(), '.ordinal')));
  const kubeconfig = str('kubeconfig');
  const sharedDir = str('shared-dir');
  return {
    cmd: 'up',
    opts: {
      dataDir,
      ...(kubeconfig ? { kubeconfig: resolve(expandHome(kubeconfig)) } : {}),
      host,
      port,
      store,
      runtime,
      nodes,
      simReadyDelayMs,
      ...(sharedDir ? { sharedDir: resolve(expandHome(sharedDir)) } : {}),
      dnsPort,
    },
  };
}

function parseIntOption(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  return Number(s);
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

export function version(): string {
  // dist/src/cli/main.js and src/cli/main.ts both have package.json above them.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'ordinal' && pkg.version) return pkg.version;
    } catch {
      // keep walking up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** What `up` needs from the rest of the system; tests substitute startCluster. */
export interface UpDeps {
  startCluster(opts: {
    dataDir: string;
    host: string;
    port: number;
    store: 'sqlite' | 'memory';
    runtime?: string;
    nodes?: number;
    simReadyDelayMs?: number;
    sharedDir?: string;
    dnsPort?: number;
    pki: Pki;
  }): Promise<{
    url: string;
    dns?: { host: string; port: number };
    runtime?: { name: string; detail: string };
    stop(): Promise<void>;
  }>;
  log(line: string): void;
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** When startup began on the `now` clock (default: when up() is called). */
  startedAt?: number;
}

export interface RunningCluster {
  url: string;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

/** Starts the cluster, writes the kubeconfig and prints how to use it. Does not wait for signals. */
export async function up(opts: UpOptions, deps: UpDeps): Promise<RunningCluster> {
  const t0 = deps.startedAt ?? deps.now();
  const pki = await ensurePki(join(opts.dataDir, 'pki'), {
    extraSans: LOOPBACK_OR_ANY.has(opts.host) ? [] : [opts.host],
  });
  const cluster = await deps.startCluster({
    dataDir: opts.dataDir,
    host: opts.host,
    port: opts.port,
    store: opts.store,
    runtime: opts.runtime,
    nodes: opts.nodes,
    simReadyDelayMs: opts.simReadyDelayMs,
    ...(opts.sharedDir ? { sharedDir: opts.sharedDir } : {}),
    dnsPort: opts.dnsPort,
    pki,
  });
  let kubeconfigPath: string;
  const server = clientUrl(cluster.url);
  try {
    kubeconfigPath = await writeKubeconfig({
      ...(opts.kubeconfig ? { path: opts.kubeconfig } : {}),
      server,
      caPem: pki.caCertPem,
      certPem: pki.adminCertPem,
      keyPem: pki.adminKeyPem,
    });
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  const ms = Math.round(deps.now() - t0);
  const kubectl = opts.kubeconfig ? `kubectl --kubeconfig ${shellQuote(kubeconfigPath)}` : 'kubectl';
  const storeDesc = opts.store === 'sqlite' ? `sqlite in ${opts.dataDir}` : 'memory (state is lost on exit)';
  deps.log(`Ordinal ${version()} is up in ${ms} ms`);
  deps.log(`  API server:  ${server}`);
  deps.log(`  store:       ${storeDesc}`);
  const rt = cluster.runtime;
  deps.log(
    rt
      ? `  runtime:     ${rt.name} (${rt.detail})`
      : `  runtime:     ${opts.runtime}, ${opts.nodes} node${opts.nodes === 1 ? '' : 's'}`,
  );
  if (cluster.dns) {
    const h = cluster.dns.host.includes(':') ? `[${cluster.dns.host}]` : cluster.dns.host;
    deps.log(`  cluster DNS: ${h}:${cluster.dns.port} (cluster.local, UDP and TCP)`);
  }
  deps.log(
    opts.kubeconfig
      ? `  kubeconfig:  ${kubeconfigPath}`
      : `  kubeconfig:  context "ordinal" in ${kubeconfigPath} (now the current context)`,
  );
  deps.log('');
  deps.log('Try:');
  deps.log(opts.kubeconfig ? `  ${kubectl} cluster-info` : `  ${kubectl} cluster-info --context ordinal`);
  deps.log(`  ${kubectl} get nodes`);
  deps.log('');
  deps.log('Press Ctrl+C to stop.');
  return { url: server, kubeconfigPath, stop: () => cluster.stop() };
}

/** The URL clients should use: a wildcard listen address becomes loopback. */
function clientUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.toString().replace(/\/$/, '');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs the CLI; resolves with the exit code once the command is done (for `up`: after shutdown). */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const command = parseCli(argv);
  switch (command.cmd) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      process.stdout.write(`ordinal ${version()} (node ${process.version})\n`);
      return 0;
    case 'error':
      process.stderr.write(`ordinal: ${command.message}\n\n${USAGE}`);
      return 2;
    case 'up':
      return runUp(command.opts);
    case 'images': {
      const { runImagesCommand } = await import('./images.js');
      return runImagesCommand(command.argv, command.dataDir);
    }
  }
}

async function runUp(opts: UpOptions): Promise<number> {
  let running: RunningCluster;
  try {
    const { startCluster } = await import('../cluster.js');
    running = await up(opts, {
      startCluster,
      log: (line) => process.stdout.write(`${line}\n`),
      now: () => performance.now(),
      // performance.now() counts from process start: report the whole startup.
      startedAt: 0,
    });
  } catch (e) {
    process.stderr.write(`ordinal: failed to start: ${describeStartError(e, opts)}\n`);
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`\nordinal: ${signal} again, exiting without a clean shutdown\n`);
        process.exit(130);
      }
      stopping = true;
      process.stdout.write(`\nStopping (${signal})...\n`);
      const force = setTimeout(() => {
        process.stderr.write('ordinal: shutdown took longer than 15s, exiting\n');
        process.exit(1);
      }, 15_000);
      force.unref();
      running.stop().then(
        () => {
          clearTimeout(force);
          process.stdout.write('Stopped.\n');
          resolveExit(0);
        },
        (e: unknown) => {
          clearTimeout(force);
          process.stderr.write(
            `ordinal: error during shutdown: ${e instanceof Error ? e.message : String(e)}\n`,
          );
          resolveExit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function describeStartError(e: unknown, opts: UpOptions): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'EADDRINUSE') {
    return `${opts.host}:${opts.port} is already in use (is another cluster running? try --port)`;
  }
  if (err?.code === 'EACCES') return `permission denied (${err.message})`;
  return err instanceof Error ? (err.stack ?? err.message) : String(e);
}
