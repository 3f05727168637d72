import { describe, expect, it } from 'vitest';
import type { ProbeResult } from './agent/oci/index.js';
import { chooseRuntime, type RuntimeHost } from './cluster.js';

const WORKS: ProbeResult = {
  runtime: 'runc',
  path: '/usr/sbin/runc',
  version: 'runc version 1.1.5',
  cgroup: 'hybrid',
  rejected: [{ runtime: 'crun', path: '/usr/bin/crun', reason: 'crun refused' }],
};

function host(over: Partial<RuntimeHost> = {}): RuntimeHost & { probes: number } {
  const h = {
    platform: 'linux',
    isRoot: true,
    hasCommand: () => true,
    probes: 0,
    async probe(): Promise<ProbeResult> {
      h.probes++;
      return WORKS;
    },
    ...over,
  };
  return h;
}

describe('chooseRuntime', () => {
  it('auto runs real pods when the host can, naming the runtime it chose', async () => {
    const c = await chooseRuntime('auto', 1, host());
    expect(c.name).toBe('oci');
    expect(c.detail).toContain('runc version 1.1.5 at /usr/sbin/runc');
    expect(c.detail).toContain('not crun: crun refused');
  });

  it('auto falls back to simulated nodes and says why and how to get real pods', async () => {
    const cases: [Partial<RuntimeHost>, string][] = [
      [{ platform: 'darwin' }, 'real containers need Linux, this is darwin'],
      [{ isRoot: false }, 'not running as root'],
      [{ hasCommand: (n) => n !== 'ip' }, 'the ip command (iproute2) is missing'],
      [
        { probe: async () => ({ error: 'no working OCI runtime (install runc)', rejected: [] }) },
        'no working OCI runtime (install runc)',
      ],
    ];
    for (const [over, why] of cases) {
      const c = await chooseRuntime('auto', 1, host(over));
      expect(c.name).toBe('sim');
      expect(c.detail).toContain(why);
      expect(c.detail).toContain('apt-get install -y runc');
    }
  });

  it('auto with several nodes simulates them without probing', async () => {
    const h = host();
    const c = await chooseRuntime('auto', 3, h);
    expect(c).toMatchObject({ name: 'sim' });
    expect(c.detail).toContain('3 simulated nodes');
    expect(h.probes).toBe(0);
  });

  it('an explicit oci fails with the probe explanation instead of falling back', async () => {
    const h = host({ probe: async () => ({ error: 'runc not found on PATH', rejected: [] }) });
    await expect(chooseRuntime('oci', 1, h)).rejects.toThrow(/no OCI runtime: .*runc not found on PATH/);
  });

  it('an explicit sim never probes', async () => {
    const h = host();
    expect((await chooseRuntime('sim', 1, h)).name).toBe('sim');
    expect(h.probes).toBe(0);
  });
});
