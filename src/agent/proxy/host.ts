/**
 * The service proxy's only side effects, behind one seam so tests can substitute an in-memory
 * host: running `nft -f -`, and reading and writing the few /proc/sys and /sys files it uses
 * (the bridge's forwarding and route_localnet sysctls, br_netfilter's bridge-nf-call-iptables,
 * and the hairpin flag of the bridge's ports).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { run, which } from '../oci/util.js';

export interface NftResult {
  ok: boolean;
  /** nft's error output when it failed. */
  error: string;
}

export interface ProxyHost {
  /** Where `nft` is, or undefined when nftables is not installed. */
  findNft(): string | undefined;
  /** Runs one `nft -f -` transaction (all of it applies, or none). */
  nft(script: string): Promise<NftResult>;
  /** A file's content without surrounding whitespace, or undefined when it cannot be read. */
  read(path: string): string | undefined;
  /** Writes a file; false when it cannot be written (e.g. the device is gone). */
  write(path: string, value: string): boolean;
  /** Entries of a directory (empty when it does not exist). */
  list(path: string): string[];
}

/** Per-device IPv4 sysctl of the bridge. */
export function deviceSysctl(device: string, name: 'forwarding' | 'route_localnet'): string {
  return `/proc/sys/net/ipv4/conf/${device}/${name}`;
}

/** Whether bridged IPv4 traffic goes through netfilter (br_netfilter); absent without the module. */
export const BRIDGE_NF_CALL_IPTABLES = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/** The directory listing the bridge's ports. */
export function bridgePortsDir(bridge: string): string {
  return `/sys/class/net/${bridge}/brif`;
}

/** The hairpin flag of a bridge port (1: frames may leave through the port they came in by). */
export function hairpinFile(bridge: string, port: string): string {
  return `${bridgePortsDir(bridge)}/${port}/hairpin_mode`;
}

/** This machine. */
export const LINUX_HOST: ProxyHost = {
  findNft: () => which('nft'),
  async nft(script) {
    const r = await run('nft', ['-f', '-'], { input: script, timeoutMs: 30_000 });
    return { ok: r.code === 0, error: (r.stderr || r.stdout).trim() };
  },
  read(path) {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return undefined;
    }
  },
  write(path, value) {
    try {
      writeFileSync(path, value);
      return true;
    } catch {
      return false;
    }
  },
  list(path) {
    try {
      return readdirSync(path).sort();
    } catch {
      return [];
    }
  },
};
