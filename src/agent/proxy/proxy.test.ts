/**
 * The proxy against an in-process API server, with an in-memory host standing in for nft and
 * /proc/sys: what it installs when Services and EndpointSlices change, what it does to the bridge,
 * and what it leaves behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import type { Client } from '../../client/interface.js';
import { ManualClock } from '../../client/workqueue.js';
import { ENDPOINTSLICES, SERVICES } from '../../controllers/util/resources.js';
import { createNamespace, startInProcessApi, Teardown, waitFor } from '../../testing/in-process.js';
import {
  BRIDGE_NF_CALL_IPTABLES,
  deviceSysctl,
  hairpinFile,
  type NftResult,
  type ProxyHost,
} from './host.js';
import { type ServiceProxy, startServiceProxy } from './proxy.js';
import { deleteTableScript } from './ruleset.js';

const FORWARDING = deviceSysctl('ordinal0', 'forwarding');
const LOCALNET = deviceSysctl('ordinal0', 'route_localnet');

class FakeHost implements ProxyHost {
  readonly files = new Map<string, string>([
    [FORWARDING, '0'],
    [LOCALNET, '0'],
    [hairpinFile('ordinal0', 'veth1111'), '0'],
    [hairpinFile('ordinal0', 'veth2222'), '1'],
  ]);
  readonly scripts: string[] = [];
  nftPath: string | undefined = '/usr/sbin/nft';
  failure: string | undefined;

  findNft() {
    return this.nftPath;
  }
  async nft(script: string): Promise<NftResult> {
    this.scripts.push(script);
    return this.failure ? { ok: false, error: this.failure } : { ok: true, error: '' };
  }
  read(path: string) {
    return this.files.get(path);
  }
  write(path: string, value: string) {
    if (!this.files.has(path)) return false;
    this.files.set(path, value);
    return true;
  }
  list(dir: string) {
    const names = new Set<string>();
    for (const p of this.files.keys()) {
      if (p.startsWith(`${dir}/`)) names.add(p.slice(dir.length + 1).split('/')[0]!);
    }
    return [...names].sort();
  }
  get last(): string {
    return this.scripts.at(-1) ?? '';
  }
}

function service(name: string, clusterIP: string, ports: Array<Record<string, unknown>>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { clusterIP, ports, selector: { app: name } },
  };
}

function endpointSlice(svc: string, port: number, ips: Array<[string, boolean]>): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-x`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: ips.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })),
  };
}

describe('service proxy', () => {
  const teardown = new Teardown();
  afterEach(() => teardown.run());

  async function setup(
    host: FakeHost,
    extra: { clock?: ManualClock; log?: string[] } = {},
  ): Promise<{ client: Client; proxy: ServiceProxy }> {
    const { client, store } = await startInProcessApi();
    teardown.add(() => store.close());
    await createNamespace(client, 'app');
    const proxy = await startServiceProxy(client, {
      podCidr: '10.244.0.0/24',
      debounceMs: 10,
      host,
      ...(extra.clock ? { clock: extra.clock } : {}),
      log: (l) => extra.log?.push(l),
    });
    teardown.add(() => proxy.stop());
    return { client, proxy };
  }

  it('routes a Service to its ready endpoints, follows changes and rejects when none is ready', async () => {
    const host = new FakeHost();
    const { client } = await setup(host);
    // First sync: the table is created afresh (the bootstrap `kubernetes` Service has no endpoints).
    expect(host.scripts).toHaveLength(1);
    expect(host.last.startsWith(deleteTableScript('ordinal'))).toBe(true);
    expect(host.last).toContain('10.96.0.1 . tcp . 443 : goto reject-chain');

    await client.create(
      SERVICES,
      'app',
      service('web', '10.96.5.5', [{ name: 'http', port: 80, targetPort: 'web' }]),
    );
    await client.create(
      ENDPOINTSLICES,
      'app',
      endpointSlice('web', 8080, [
        ['10.244.0.7', true],
        ['10.244.0.8', true],
        ['10.244.0.9', false],
      ]),
    );
    await waitFor(() => host.last.includes('dnat to 10.244.0.8:8080'), { what: 'DNAT rules for web' });
    expect(host.last.split('\n').slice(0, 2)).toEqual(['add table ip ordinal', 'flush table ip ordinal']);
    expect(host.last).toContain('10.96.5.5 . tcp . 80 : goto service-');
    expect(host.last).toContain('numgen random mod 2 vmap');
    expect(host.last).toContain('dnat to 10.244.0.7:8080');
    expect(host.last).not.toContain('10.244.0.9');

    const slice = await client.get(ENDPOINTSLICES, 'app', 'web-x');
    slice.endpoints = [
      { addresses: ['10.244.0.7'], conditions: { ready: false } },
      { addresses: ['10.244.0.8'], conditions: { ready: false } },
    ];
    await client.update(ENDPOINTSLICES, 'app', slice);
    await waitFor(() => host.last.includes('10.96.5.5 . tcp . 80 : goto reject-chain'), {
      what: 'web rejected',
    });
    expect(host.last).not.toContain('dnat to 10.244.0.7');
    // The endpoint chains that went away are deleted in the same transaction.
    expect(host.last).toMatch(
      /^delete chain ip ordinal endpoint-[0-9a-f]{8}-app\/web\/tcp\/http__10\.244\.0\.7\/8080$/m,
    );

    await client.delete(SERVICES, 'app', 'web');
    await waitFor(() => !host.last.includes('10.96.5.5'), { what: 'web gone from the table' });
  });

  it('opens the bridge for forwarding, route_localnet and hairpin, and puts everything back on stop', async () => {
    const host = new FakeHost();
    host.files.set(BRIDGE_NF_CALL_IPTABLES, '0');
    const { proxy } = await setup(host);
    expect(host.files.get(FORWARDING)).toBe('1');
    expect(host.files.get(LOCALNET)).toBe('1');
    expect(host.files.get(hairpinFile('ordinal0', 'veth1111'))).toBe('1');
    expect(host.last).toContain('iifname "ordinal0" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop');
    const before = host.scripts.length;
    await proxy.stop();
    expect(host.files.get(FORWARDING)).toBe('0');
    expect(host.files.get(LOCALNET)).toBe('0');
    expect(host.scripts.slice(before)).toEqual([deleteTableScript('ordinal')]);
    await proxy.sync();
    expect(host.scripts).toHaveLength(before + 1);
  });

  it('masquerades everything unless bridged traffic goes through netfilter', async () => {
    const host = new FakeHost();
    const { client, proxy } = await setup(host);
    await client.create(SERVICES, 'app', service('web', '10.96.5.6', [{ name: 'http', port: 80 }]));
    await client.create(ENDPOINTSLICES, 'app', endpointSlice('web', 80, [['10.244.0.7', true]]));
    await waitFor(() => host.last.includes('dnat to 10.244.0.7:80'));
    expect(host.last).not.toContain('ip saddr 10.244.0.7 jump mark-for-masquerade');
    host.files.set(BRIDGE_NF_CALL_IPTABLES, '1');
    await proxy.sync();
    expect(host.last).toContain('ip saddr 10.244.0.7 jump mark-for-masquerade');
    expect(host.last).toContain('ip saddr != 10.244.0.0/24 jump mark-for-masquerade');
  });

  it('waits for the debounce before syncing a change', async () => {
    const host = new FakeHost();
    const clock = new ManualClock();
    const { client } = await setup(host, { clock });
    const synced = host.scripts.length;
    await client.create(SERVICES, 'app', service('quiet', '10.96.5.7', [{ port: 80 }]));
    await new Promise((r) => setTimeout(r, 50));
    expect(host.scripts).toHaveLength(synced);
    await waitFor(async () => {
      await clock.advance(10);
      return host.last.includes('10.96.5.7');
    });
  });

  it('never runs two nft transactions at once, and a sync asked for meanwhile still happens', async () => {
    const host = new FakeHost();
    const { proxy } = await setup(host);
    let inFlight = 0;
    let most = 0;
    const release: Array<() => void> = [];
    const nft = host.nft.bind(host);
    host.nft = async (script: string) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((r) => release.push(r));
      inFlight--;
      return nft(script);
    };
    const before = host.scripts.length;
    const first = proxy.sync();
    const second = proxy.sync();
    const third = proxy.sync();
    await waitFor(() => release.length === 1);
    release.shift()?.();
    // The two syncs asked for while the first ran are coalesced into one more.
    await waitFor(() => release.length === 1);
    release.shift()?.();
    await Promise.all([first, second, third]);
    host.nft = nft;
    expect(most).toBe(1);
    expect(host.scripts.length - before).toBe(2);
  });

  it('without nft says how to install it, once, and runs without virtual IPs', async () => {
    const host = new FakeHost();
    host.nftPath = undefined;
    const log: string[] = [];
    const { proxy } = await setup(host, { log });
    expect(proxy.active).toBe(false);
    expect(log).toEqual([
      'service proxy: nft (nftables) not found, Service cluster IPs will not route to pods on this node; install it with: apt-get install -y nftables',
    ]);
    expect(host.scripts).toEqual([]);
    expect(host.files.get(FORWARDING)).toBe('0');
  });

  it('reports a refused table once, leaves the bridge alone, and recovers with a fresh table', async () => {
    const host = new FakeHost();
    host.failure = 'Error: Could not process rule: No such file or directory';
    const log: string[] = [];
    const { proxy } = await setup(host, { log });
    await proxy.sync();
    expect(log).toEqual([
      'service proxy: nft could not install table ip ordinal, Service cluster IPs will not route to pods: Error: Could not process rule: No such file or directory',
    ]);
    // route_localnet must never be on without the table's guard.
    expect(host.files.get(LOCALNET)).toBe('0');
    host.failure = undefined;
    await proxy.sync();
    expect(host.last.startsWith(deleteTableScript('ordinal'))).toBe(true);
    expect(host.files.get(LOCALNET)).toBe('1');
    // Failing again (say the table was deleted and cannot be made): route_localnet goes back off.
    host.failure = 'Error: Could not process rule: Operation not permitted';
    await proxy.sync();
    expect(host.files.get(LOCALNET)).toBe('0');
    expect(log).toHaveLength(2);
  });
});
