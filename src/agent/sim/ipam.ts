/**
 * Pod IP allocation for simulated nodes, in the manner of CNI host-local IPAM:
 * each node owns an IPv4 pod CIDR; addresses are handed out round-robin from
 * the one after the last allocated (so a freed IP is reused only after the
 * range wraps), skipping the network address, the gateway (.1) and broadcast.
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
  /** Number of addresses in the range. */
  size: number;
}

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function intToIp(n: number): string {
  return `${Math.floor(n / 16777216) % 256}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

/** Parses an IPv4 CIDR ("10.244.0.0/22"); the base is masked to the prefix. */
export function parseCidr(cidr: string): Cidr {
  const [ip, bitsStr] = cidr.split('/');
  const addr = ip === undefined ? undefined : ipToInt(ip);
  const prefix = Number(bitsStr);
  if (addr === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  }
  const size = 2 ** (32 - prefix);
  const base = addr - (addr % size);
  return { base, prefix, size };
}

/** Host bits needed so a node's range holds `pods` addresses plus network, gateway and broadcast (at least a /24). */
export function hostBitsFor(pods: number): number {
  let bits = 8;
  while (2 ** bits - 3 < pods && bits < 16) bits++;
  return bits;
}

const POD_NETWORK_BASE = ipToInt('10.244.0.0') as number;
const POD_NETWORK_END = ipToInt('10.255.255.255') as number;

/**
 * The default pod CIDR of node `index`: consecutive blocks carved from
 * 10.244.0.0 upwards, each big enough for `podsPerNode` pods (a /24 per node
 * up to 253 pods, as kube-controller-manager's usual allocation; a /22 for the
 * default 1000 pods).
 */
export function defaultPodCidr(index: number, podsPerNode: number): string {
  const bits = hostBitsFor(podsPerNode);
  const size = 2 ** bits;
  const base = POD_NETWORK_BASE + index * size;
  if (base + size - 1 > POD_NETWORK_END) {
    throw new Error(`no default pod CIDR left for node ${index} (10.244.0.0-10.255.255.255 is exhausted)`);
  }
  return `${intToIp(base)}/${32 - bits}`;
}

export class PodIpAllocator {
  private readonly first: number;
  private readonly last: number;
  private readonly used = new Set<number>();
  private next: number;

  constructor(readonly cidr: string) {
    const c = parseCidr(cidr);
    if (c.size >= 4) {
      this.first = c.base + 2;
      this.last = c.base + c.size - 2;
    } else {
      this.first = c.base;
      this.last = c.base + c.size - 1;
    }
    this.next = this.first;
  }

  /** Addresses in use. */
  get inUse(): number {
    return this.used.size;
  }

  /** Addresses this range can hand out. */
  get capacity(): number {
    return Math.max(0, this.last - this.first + 1);
  }

  contains(ip: string): boolean {
    const n = ipToInt(ip);
    return n !== undefined && n >= this.first && n <= this.last;
  }

  /** The next free address after the last one handed out, or undefined when the range is full. */
  allocate(): string | undefined {
    const span = this.capacity;
    for (let i = 0; i < span; i++) {
      const n = this.next;
      this.next = n >= this.last ? this.first : n + 1;
      if (!this.used.has(n)) {
        this.used.add(n);
        return intToIp(n);
      }
    }
    return undefined;
  }

  /** Marks an address as used (adopting running pods after a restart); false if outside the range or taken. */
  reserve(ip: string): boolean {
    const n = ipToInt(ip);
    if (n === undefined || n < this.first || n > this.last || this.used.has(n)) return false;
    this.used.add(n);
    // Continue after the highest adopted address, as host-local resumes from its last reservation.
    if (n >= this.next) this.next = n >= this.last ? this.first : n + 1;
    return true;
  }

  release(ip: string): void {
    const n = ipToInt(ip);
    if (n !== undefined) this.used.delete(n);
  }
}
