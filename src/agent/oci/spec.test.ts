import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCidr, podIpInCidr } from './sandbox.js';
import {
  buildBundle,
  DEFAULT_CAPABILITIES,
  mergeEnv,
  processArgs,
  resolveUser,
  resourceLimits,
  runAsNonRootError,
} from './spec.js';

const sandbox = { network: '/run/netns/ordinal-x', ipc: '/proc/1/ns/ipc', uts: '/proc/1/ns/uts' };

describe('processArgs (Kubernetes command/args over image Entrypoint/Cmd)', () => {
  const image = { Entrypoint: ['/ep'], Cmd: ['c1'] };
  it('uses Entrypoint + Cmd by default', () => {
    expect(processArgs({}, image)).toEqual(['/ep', 'c1']);
  });
  it('args replaces Cmd only', () => {
    expect(processArgs({ args: ['a'] }, image)).toEqual(['/ep', 'a']);
  });
  it('command replaces Entrypoint and drops Cmd', () => {
    expect(processArgs({ command: ['/bin/x'] }, image)).toEqual(['/bin/x']);
    expect(processArgs({ command: ['/bin/x'], args: ['y'] }, image)).toEqual(['/bin/x', 'y']);
  });
});

describe('buildBundle', () => {
  it('generates env, cwd, caps, namespaces, mounts and limits', () => {
    const spec = buildBundle({
      container: {
        name: 'c',
        workingDir: '/w',
        resources: { limits: { cpu: '500m', memory: '64Mi' } },
      },
      image: { Cmd: ['/bin/sh'], Env: ['PATH=/bin', 'A=1'], WorkingDir: '/img' },
      rootfs: '/r',
      env: [
        { name: 'A', value: '2' },
        { name: 'B', value: '3' },
      ],
      sandbox,
      mounts: [{ containerPath: '/etc/hosts', hostPath: '/h/hosts', readOnly: true }],
      cgroupsPath: '/ordinal/podu/c_0',
      hostname: 'web-0',
    });
    expect(spec.process.args).toEqual(['/bin/sh']);
    expect(spec.process.env).toEqual(['PATH=/bin', 'A=2', 'HOSTNAME=web-0', 'B=3']);
    expect(spec.process.cwd).toBe('/w');
    expect(spec.process.terminal).toBe(false);
    expect(spec.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(spec.linux.namespaces).toEqual([
      { type: 'pid' },
      { type: 'mount' },
      { type: 'network', path: sandbox.network },
      { type: 'ipc', path: sandbox.ipc },
      { type: 'uts', path: sandbox.uts },
    ]);
    expect(spec.linux.resources.memory).toEqual({ limit: 64 * 1024 * 1024 });
    expect(spec.linux.resources.cpu).toEqual({ quota: 50_000, period: 100_000, shares: 512 });
    expect(spec.mounts.map((m) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
      '/dev/shm',
      '/etc/hosts',
    ]);
    expect(spec.mounts.at(-1)).toEqual({
      destination: '/etc/hosts',
      type: 'bind',
      source: '/h/hosts',
      options: ['rbind', 'rprivate', 'ro'],
    });
    expect(spec.root).toEqual({ path: '/r', readonly: false });
    expect(spec.linux.cgroupsPath).toBe('/ordinal/podu/c_0');
  });

  it('privileged gets all capabilities, rw sysfs and all devices; readOnlyRootFilesystem and cap drop', () => {
    const priv = buildBundle({
      container: { name: 'p', securityContext: { privileged: true } },
      image: { Cmd: ['x'] },
      rootfs: '/r',
      sandbox,
      cgroupsPath: '/x',
    });
    expect(priv.process.capabilities.bounding).toContain('CAP_SYS_ADMIN');
    expect(priv.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
    expect(priv.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    const ro = buildBundle({
      container: {
        name: 'r',
        securityContext: {
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['NET_RAW'], add: ['NET_ADMIN'] },
        },
      },
      image: { Cmd: ['x'] },
      rootfs: '/r',
      sandbox,
      cgroupsPath: '/x',
    });
    expect(ro.root.readonly).toBe(true);
    expect(ro.process.capabilities.bounding).toContain('CAP_NET_ADMIN');
    expect(ro.process.capabilities.bounding).not.toContain('CAP_NET_RAW');
    expect(ro.process.capabilities.bounding).not.toContain('CAP_SYS_ADMIN');
  });

  it('rejects a container with no command at all', () => {
    expect(() =>
      buildBundle({ container: { name: 'n' }, image: {}, rootfs: '/r', sandbox, cgroupsPath: '/x' }),
    ).toThrow(/no command/);
  });
});

describe('resolveUser', () => {
  const root = mkdtempSync(join(tmpdir(), 'ordinal-user-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nstaff:x:50:\n');
  it('resolves image User names and numbers, and runAsUser/runAsGroup override it', () => {
    expect(resolveUser({ User: 'app' }, root, {}, {})).toEqual({ uid: 1000, gid: 1001 });
    expect(resolveUser({ User: 'app:staff' }, root, {}, {})).toEqual({ uid: 1000, gid: 50 });
    expect(resolveUser({ User: '1000' }, root, {}, {})).toEqual({ uid: 1000, gid: 1001 });
    expect(resolveUser({ User: 'app' }, root, { runAsUser: 7 }, { runAsGroup: 8, fsGroup: 9 })).toEqual({
      uid: 7,
      gid: 8,
      additionalGids: [9],
    });
    expect(() => resolveUser({ User: 'nobody' }, root, {}, {})).toThrow(/not found/);
  });
  it('adds the groups /etc/group lists the user in, then supplementalGroups and fsGroup', () => {
    const r2 = mkdtempSync(join(tmpdir(), 'ordinal-user-'));
    mkdirSync(join(r2, 'etc'));
    writeFileSync(join(r2, 'etc/passwd'), 'app:x:1000:1000::/:/bin/sh\n');
    writeFileSync(join(r2, 'etc/group'), 'app:x:1000:app\nwheel:x:10:root,app\naudio:x:29:other\n');
    expect(resolveUser({ User: 'app' }, r2, {}, { supplementalGroups: [10, 500], fsGroup: 600 })).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [10, 500, 600],
    });
    expect(resolveUser({}, r2, { runAsUser: 1000, runAsGroup: 5 }, {})).toEqual({
      uid: 1000,
      gid: 5,
      additionalGids: [10],
    });
  });
});

describe('securityContext checks', () => {
  const ref = 'web-0_shop(u-1)';
  it('runAsNonRoot refuses uid 0 and unverifiable image user names, as the kubelet', () => {
    const c = (sc: Record<string, unknown>) => ({ name: 'main', securityContext: sc });
    expect(runAsNonRootError(c({}), {}, {}, ref)).toBeUndefined();
    expect(runAsNonRootError(c({ runAsNonRoot: true }), {}, {}, ref)).toBe(
      'container has runAsNonRoot and image will run as root (pod: "web-0_shop(u-1)", container: main)',
    );
    expect(runAsNonRootError(c({}), { runAsNonRoot: true }, { User: 'app' }, ref)).toBe(
      'container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: "web-0_shop(u-1)", container: main)',
    );
    expect(runAsNonRootError(c({ runAsNonRoot: true, runAsUser: 0 }), {}, { User: '1000' }, ref)).toBe(
      `container's runAsUser breaks non-root policy (pod: "web-0_shop(u-1)", container: main)`,
    );
    expect(runAsNonRootError(c({ runAsNonRoot: true }), {}, { User: '1000:1000' }, ref)).toBeUndefined();
    expect(runAsNonRootError(c({ runAsNonRoot: true }), { runAsUser: 5 }, {}, ref)).toBeUndefined();
  });

  it('pod sysctls become linux.sysctl; noNewPrivileges follows allowPrivilegeEscalation', () => {
    const spec = buildBundle({
      container: { name: 'c', securityContext: { allowPrivilegeEscalation: false } },
      image: { Cmd: ['x'] },
      rootfs: '/r',
      sandbox,
      cgroupsPath: '/x',
      podSecurityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
    });
    expect(spec.linux.sysctl).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0' });
    expect(spec.process.noNewPrivileges).toBe(true);
    const plain = buildBundle({
      container: { name: 'c' },
      image: { Cmd: ['x'] },
      rootfs: '/r',
      sandbox,
      cgroupsPath: '/x',
    });
    expect(plain.linux.sysctl).toBeUndefined();
    expect(plain.process.noNewPrivileges).toBe(false);
  });
});

describe('helpers', () => {
  it('mergeEnv replaces in place', () => {
    expect(mergeEnv(['A=1', 'B=2'], [{ name: 'A', value: 'x' }])).toEqual(['A=x', 'B=2']);
  });
  it('resourceLimits has a 1ms minimum quota and no cpu without cpu resources', () => {
    expect(resourceLimits({ resources: { limits: { cpu: '1m' } } }).cpu).toEqual({
      quota: 1000,
      period: 100_000,
      shares: 2,
    });
    expect(resourceLimits({}).cpu).toBeUndefined();
  });
  it('parseCidr / podIpInCidr', () => {
    const c = parseCidr('10.244.3.0/24');
    expect(c).toEqual({ network: '10.244.3.0', prefix: 24, gateway: '10.244.3.1' });
    expect(podIpInCidr('10.244.3.7', c)).toBe(true);
    expect(podIpInCidr('10.244.3.1', c)).toBe(false);
    expect(podIpInCidr('10.244.3.255', c)).toBe(false);
    expect(podIpInCidr('10.244.4.7', c)).toBe(false);
  });
});
