/**
 * The service proxy of the real node (kube-proxy's job, nftables mode): watches Services and
 * EndpointSlices and keeps one nftables table (`table ip ordinal`) routing every Service cluster IP
 * and NodePort to the Service's ready endpoints. Each sync renders the whole table from the informer
 * caches (a pure function, see ruleset.ts) and installs it in one `nft -f` transaction; events are
 * debounced, syncs never overlap, and a periodic resync repairs a table someone else changed.
 *
 * Around the table it sets, on the pod bridge only, `forwarding` (pods' Service traffic is routed by
 * the host; the machine-wide ip_forward stays as it is) and `route_localnet` (Services whose endpoints
 * listen on 127.0.0.1, like `kubernetes`), and turns hairpin on for the bridge's ports (with
 * br_netfilter a connection DNATed back to the pod it came from leaves through the port it came in
 * by). stop() restores both sysctls and deletes the table.
 *
 * When `nft` is missing, or the kernel refuses the table, it says so once and keeps running without
 * virtual IPs.
 */
import { Informer } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import { type Clock, realClock } from '../../client/workqueue.js';
import { ENDPOINTSLICES, SERVICES } from '../../controllers/util/resources.js';
import {
  BRIDGE_NF_CALL_IPTABLES,
  bridgePortsDir,
  deviceSysctl,
  hairpinFile,
  LINUX_HOST,
  type ProxyHost,
} from './host.js';
import { buildProxyModel } from './model.js';
import { deleteTableScript, type RenderedTable, renderTable, syncScript } from './ruleset.js';

export interface ServiceProxyOptions {
  /** The pod CIDR of the node (e.g. 10.244.0.0/24). */
  podCidr: string;
  /** The pod bridge (default ordinal0). */
  bridge?: string;
  /** The nftables table (family ip) this proxy owns (default ordinal). */
  table?: string;
  /**
   * Masquerade all Service traffic (true), or only what upstream masquerades (false: traffic from
   * outside the pod CIDR, NodePorts, hairpin). Default: false when bridged traffic goes through
   * netfilter (`net.bridge.bridge-nf-call-iptables` = 1, checked at every sync), true otherwise.
   */
  masqueradeAll?: boolean;
  /** Quiet time after a change before syncing (default 100 ms). */
  debounceMs?: number;
  /** Full resync period, repairing outside changes (default 30 s). */
  resyncMs?: number;
  clock?: Clock;
  /** Side effects (default: this machine). */
  host?: ProxyHost;
  /** Where problems are reported, one line each (default console.error). */
  log?: (line: string) => void;
}

export interface ServiceProxy {
  /** False when nft is missing: Services have no virtual IPs on this node. */
  readonly active: boolean;
  /** Syncs now (after a sync in progress), whether or not anything changed. */
  sync(): Promise<void>;
  /** Stops watching, restores the bridge sysctls and deletes the table. */
  stop(): Promise<void>;
}

const NFT_MISSING =
  'service proxy: nft (nftables) not found, Service cluster IPs will not route to pods on this node; install it with: apt-get install -y nftables';

/** Starts the proxy; resolves once the first sync is done (or has failed and said why). */
export async function startServiceProxy(client: Client, opts: ServiceProxyOptions): Promise<ServiceProxy> {
  const host = opts.host ?? LINUX_HOST;
  const log = opts.log ?? ((line: string) => console.error(line));
  if (!host.findNft()) {
    log(NFT_MISSING);
    return { active: false, sync: async () => undefined, stop: async () => undefined };
  }
  const proxy = new NftServiceProxy(client, host, log, opts);
  await proxy.start();
  return proxy;
}

class NftServiceProxy implements ServiceProxy {
  readonly active = true;
  private readonly clock: Clock;
  private readonly bridge: string;
  private readonly table: string;
  private readonly services: Informer;
  private readonly slices: Informer;
  /** What the kernel has, when the last sync succeeded. */
  private applied: RenderedTable | undefined;
  /** Original values of the sysctls this proxy changed, to restore on stop. */
  private readonly saved = new Map<string, string>();
  private lastError: string | undefined;
  private debounceTimer: unknown;
  private resyncTimer: unknown;
  private running: Promise<void> | undefined;
  private again: { force: boolean } | undefined;
  private stopped = false;

  constructor(
    client: Client,
    private readonly host: ProxyHost,
    private readonly log: (line: string) => void,
    private readonly opts: ServiceProxyOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.bridge = opts.bridge ?? 'ordinal0';
    this.table = opts.table ?? 'ordinal';
    this.services = new Informer(client, SERVICES, { clock: this.clock });
    this.slices = new Informer(client, ENDPOINTSLICES, { clock: this.clock });
    const changed = {
      onAdd: () => this.schedule(),
      onUpdate: () => this.schedule(),
      onDelete: () => this.schedule(),
    };
    this.services.addEventHandler(changed);
    this.slices.addEventHandler(changed);
  }

  async start(): Promise<void> {
    this.services.start();
    this.slices.start();
    await Promise.all([this.services.waitForSync(), this.slices.waitForSync()]);
    await this.sync();
    this.armResync();
  }

  /** Coalesces bursts of events into one sync after `debounceMs`. */
  private schedule(): void {
    if (this.stopped || !this.services.hasSynced() || !this.slices.hasSynced()) return;
    if (this.debounceTimer !== undefined) return;
    this.debounceTimer = this.clock.setTimeout(() => {
      this.debounceTimer = undefined;
      void this.run(false);
    }, this.opts.debounceMs ?? 100);
  }

  private armResync(): void {
    if (this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.resyncTimer = undefined;
      void this.run(true).then(() => this.armResync());
    }, this.opts.resyncMs ?? 30_000);
  }

  sync(): Promise<void> {
    return this.run(true);
  }

  /** Runs one sync, or queues one behind the sync in progress (never two at once). */
  private run(force: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      // The sync in progress runs the queued one before it settles.
      this.again = { force: force || (this.again?.force ?? false) };
      return this.running;
    }
    this.running = (async () => {
      try {
        await this.syncOnce(force);
      } catch (err) {
        this.report(`service proxy: sync failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.running = undefined;
      const next = this.again;
      this.again = undefined;
      if (next && !this.stopped) await this.run(next.force);
    })();
    return this.running;
  }

  private async syncOnce(force: boolean): Promise<void> {
    const model = buildProxyModel(this.services.list(), this.slices.list());
    const next = renderTable(model, {
      table: this.table,
      bridge: this.bridge,
      podCidr: this.opts.podCidr,
      masqueradeAll: this.opts.masqueradeAll ?? this.host.read(BRIDGE_NF_CALL_IPTABLES) !== '1',
      localnet: true,
    });
    if (force || this.applied?.text !== next.text) {
      let r = await this.host.nft(syncScript(this.table, next, this.applied));
      // The table may have been changed or removed behind our back: start it afresh.
      if (!r.ok && this.applied) r = await this.host.nft(syncScript(this.table, next));
      if (this.stopped) return;
      if (!r.ok) {
        this.applied = undefined;
        // Without our table there is no 127/8 guard: route_localnet goes back to what it was.
        const localnet = deviceSysctl(this.bridge, 'route_localnet');
        const original = this.saved.get(localnet);
        if (original !== undefined && this.host.read(localnet) !== undefined)
          this.host.write(localnet, original);
        this.report(
          `service proxy: nft could not install table ip ${this.table}, Service cluster IPs will not route to pods: ${firstLines(r.error)}`,
        );
        return;
      }
      this.applied = next;
      this.lastError = undefined;
    }
    // Only with the table's 127/8 guard in place may route_localnet be turned on.
    this.ensureSysctl(deviceSysctl(this.bridge, 'forwarding'));
    this.ensureSysctl(deviceSysctl(this.bridge, 'route_localnet'));
    for (const port of this.host.list(bridgePortsDir(this.bridge))) {
      const f = hairpinFile(this.bridge, port);
      if (this.host.read(f) === '0') this.host.write(f, '1');
    }
  }

  /** Sets a bridge sysctl to 1, remembering its first value seen (nothing when the bridge is absent). */
  private ensureSysctl(path: string): void {
    const cur = this.host.read(path);
    if (cur === undefined) return;
    if (!this.saved.has(path)) this.saved.set(path, cur);
    if (cur !== '1' && !this.host.write(path, '1')) this.report(`service proxy: could not set ${path} to 1`);
  }

  /** Logs a problem once until it changes or a sync succeeds. */
  private report(line: string): void {
    if (line === this.lastError) return;
    this.lastError = line;
    this.log(line);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.debounceTimer !== undefined) this.clock.clearTimeout(this.debounceTimer);
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.again = undefined;
    await this.running;
    await Promise.all([this.services.stop(), this.slices.stop()]);
    // Sysctls first: route_localnet must not outlive the table's guard.
    for (const [path, value] of this.saved) {
      if (this.host.read(path) !== undefined) this.host.write(path, value);
    }
    const r = await this.host.nft(deleteTableScript(this.table));
    if (!r.ok) this.log(`service proxy: could not delete table ip ${this.table}: ${firstLines(r.error)}`);
  }
}

function firstLines(s: string): string {
  return s.split('\n').slice(0, 3).join(' | ');
}
