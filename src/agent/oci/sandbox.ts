/**
 * The pod sandbox (the pause container's role): a network namespace per pod created with `ip netns add`,
 * attached to the host bridge `ordinal0` by a veth pair, plus a holder process (busybox `sleep`) that owns
 * the pod's IPC and UTS namespaces, with the pod hostname set in its UTS namespace. Containers join all
 * three by path.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { findBusybox, pidAlive, run, runOk, shortUid, sleep, which } from './util.js';

export const BRIDGE = 'ordinal0';

export interface Cidr {
  /** Network address, e.g. 10.244.0.0. */
  network: string;
  prefix: number;
  /** First host address, used as the bridge/gateway address, e.g. 10.244.0.1. */
  gateway: string;
}

function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new Error(`bad IPv4 ${ip}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses an IPv4 CIDR such as the node's `spec.podCIDR`. */
export function parseCidr(cidr: string): Cidr {
  const [ip = '', len = ''] = cidr.split('/');
  const prefix = Number(len);
  if (!Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`unsupported pod CIDR ${cidr}`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (ipToInt(ip) & mask) >>> 0;
  return { network: intToIp(net), prefix, gateway: intToIp(net + 1) };
}

/** Whether `ip` lies inside the CIDR (and is neither the network, gateway nor broadcast address). */
export function podIpInCidr(ip: string, c: Cidr): boolean {
  const mask = (0xffffffff << (32 - c.prefix)) >>> 0;
  const n = ipToInt(ip);
  const net = ipToInt(c.network);
  return (n & mask) >>> 0 === net && n !== net && n !== net + 1 && n !== (net | ~mask) >>> 0;
}

/** Creates (or updates) the host bridge with the gateway address of the pod CIDR; idempotent. */
export async function ensureBridge(podCidr: string, bridge = BRIDGE): Promise<Cidr> {
  const c = parseCidr(podCidr);
  if (!which('ip'))
    throw new Error('`ip` (iproute2) is required for pod networking: apt-get install -y iproute2');
  if ((await run('ip', ['link', 'show', bridge])).code !== 0) {
    await runOk('ip', ['link', 'add', bridge, 'type', 'bridge']);
  }
  await runOk('ip', ['addr', 'replace', `${c.gateway}/${c.prefix}`, 'dev', bridge]);
  await runOk('ip', ['link', 'set', bridge, 'up']);
  return c;
}

/** Removes the host bridge (when the node agent shuts down for good). */
export async function removeBridge(bridge = BRIDGE): Promise<void> {
  await run('ip', ['link', 'del', bridge]);
}

export interface SandboxInput {
  podUid: string;
  hostname: string;
  /** The pod's IP inside podCidr. */
  ip: string;
  podCidr: string;
  /** Host bridge name (default ordinal0). */
  bridge?: string;
}

export interface Sandbox {
  podUid: string;
  hostname: string;
  ip: string;
  /** `ip netns` name, ordinal-<uid8>. */
  netnsName: string;
  /** /run/netns/ordinal-<uid8>. */
  netnsPath: string;
  /** Host-side veth name, veth<uid8>. */
  hostVeth: string;
  holderPid: number;
  ipcPath: string;
  utsPath: string;
}

export function sandboxNames(podUid: string): {
  netnsName: string;
  netnsPath: string;
  hostVeth: string;
  peer: string;
} {
  const u = shortUid(podUid);
  return {
    netnsName: `ordinal-${u}`,
    netnsPath: `/run/netns/ordinal-${u}`,
    hostVeth: `veth${u}`,
    peer: `vpod${u}`,
  };
}

/** Creates the pod's network namespace, veth and holder process. Cleans up what it made if a step fails. */
export async function createSandbox(input: SandboxInput): Promise<Sandbox> {
  const bridge = input.bridge ?? BRIDGE;
  const c = await ensureBridge(input.podCidr, bridge);
  if (!podIpInCidr(input.ip, c))
    throw new Error(`pod IP ${input.ip} is not a host address of ${input.podCidr}`);
  const busybox = findBusybox();
  if (!busybox) throw new Error('busybox-static is required for the pod sandbox holder');
  const n = sandboxNames(input.podUid);
  try {
    await runOk('ip', ['netns', 'add', n.netnsName]);
    await runOk('ip', ['link', 'add', n.hostVeth, 'type', 'veth', 'peer', 'name', n.peer]);
    await runOk('ip', ['link', 'set', n.peer, 'netns', n.netnsName]);
    await runOk('ip', ['link', 'set', n.hostVeth, 'master', bridge, 'up']);
    const inNs = (args: string[]) => runOk('ip', ['-n', n.netnsName, ...args]);
    await inNs(['link', 'set', 'lo', 'up']);
    await inNs(['link', 'set', n.peer, 'name', 'eth0']);
    await inNs(['addr', 'add', `${input.ip}/${c.prefix}`, 'dev', 'eth0']);
    await inNs(['link', 'set', 'eth0', 'up']);
    await inNs(['route', 'add', 'default', 'via', c.gateway]);
    const holderPid = await startHolder(busybox, n.netnsPath, input.hostname);
    return {
      podUid: input.podUid,
      hostname: input.hostname,
      ip: input.ip,
      netnsName: n.netnsName,
      netnsPath: n.netnsPath,
      hostVeth: n.hostVeth,
      holderPid,
      ipcPath: `/proc/${holderPid}/ns/ipc`,
      utsPath: `/proc/${holderPid}/ns/uts`,
    };
  } catch (err) {
    await removeSandbox({ podUid: input.podUid });
    throw err;
  }
}

/**
 * Starts `busybox sleep` in fresh IPC + UTS namespaces inside the pod netns, after `hostname <name>`.
 * Waits until it has exec'd sleep (so its namespaces and hostname are final).
 */
async function startHolder(busybox: string, netnsPath: string, hostname: string): Promise<number> {
  const child = spawn(
    'nsenter',
    [
      `--net=${netnsPath}`,
      '--',
      'unshare',
      '--ipc',
      '--uts',
      '--',
      busybox,
      'sh',
      '-c',
      `${busybox} hostname "$0" && exec ${busybox} sleep 2147483647`,
      hostname,
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the pod sandbox holder');
  for (let i = 0; i < 500; i++) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('sleep')) return pid;
    if (!pidAlive(pid)) break;
    await sleep(10);
  }
  throw new Error(`pod sandbox holder (pid ${pid}) did not start (hostname ${JSON.stringify(hostname)})`);
}

/** Tears a sandbox down: holder process, netns, host veth. Safe to call repeatedly or on partial sandboxes. */
export async function removeSandbox(s: { podUid: string; holderPid?: number }): Promise<void> {
  const n = sandboxNames(s.podUid);
  if (s.holderPid !== undefined && pidAlive(s.holderPid)) {
    const cmd = await readFile(`/proc/${s.holderPid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('sleep')) {
      try {
        process.kill(s.holderPid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await run('ip', ['netns', 'del', n.netnsName]);
  await run('ip', ['link', 'del', n.hostVeth]);
  await run('ip', ['link', 'del', n.peer]);
}
