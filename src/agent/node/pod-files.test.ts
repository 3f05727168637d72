import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import {
  ContainerConfigError,
  containerEnv,
  expandCommandAndArgs,
  expandSubPathExpr,
  expandVars,
  hostsFile,
  podHostname,
  resolvConf,
} from './pod-files.js';

function pod(spec: Record<string, unknown>, name = 'web-0'): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', uid: 'u-1', labels: { app: 'a' } },
    spec,
  };
}

describe('pod files', () => {
  it('hostname: spec.hostname, else the pod name cut to 63 characters', () => {
    expect(podHostname(pod({})).hostname).toBe('web-0');
    expect(podHostname(pod({ hostname: 'h', subdomain: 'sub' }))).toEqual({
      hostname: 'h',
      domain: 'sub.shop.svc',
    });
    expect(podHostname(pod({}, `${'a'.repeat(62)}-b`)).hostname).toBe('a'.repeat(62));
  });

  it('/etc/hosts as the kubelet writes it, with the FQDN when a subdomain is set and host aliases', () => {
    const h = hostsFile(
      pod({ subdomain: 'web', hostAliases: [{ ip: '10.0.0.9', hostnames: ['a.local', 'b.local'] }] }),
      '10.244.0.5',
    );
    expect(h.startsWith('# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n')).toBe(true);
    expect(h).toContain('10.244.0.5\tweb-0.web.shop.svc.cluster.local\tweb-0\n');
    expect(h.endsWith('\n# Entries added by HostAliases.\n10.0.0.9\ta.local\tb.local\n')).toBe(true);
    expect(hostsFile(pod({}), '10.244.0.6')).toContain('\n10.244.0.6\tweb-0\n');
  });

  it('resolv.conf: ClusterFirst, None with dnsConfig, Default from the host', () => {
    expect(resolvConf(pod({}), { dnsServer: '10.96.0.10' })).toBe(
      'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    );
    expect(
      resolvConf(
        pod({
          dnsPolicy: 'None',
          dnsConfig: {
            nameservers: ['1.2.3.4'],
            searches: ['x.y'],
            options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
          },
        }),
        { dnsServer: '10.96.0.10' },
      ),
    ).toBe('nameserver 1.2.3.4\nsearch x.y\noptions ndots:2 edns0\n');
    expect(
      resolvConf(pod({ dnsPolicy: 'Default' }), {
        dnsServer: '10.96.0.10',
        hostResolvConf: 'nameserver 127.0.0.53\nsearch lan\n',
      }),
    ).toBe('nameserver 127.0.0.53\nsearch lan\n');
    expect(
      resolvConf(pod({ dnsConfig: { options: [{ name: 'ndots', value: '1' }] } }), {
        dnsServer: '10.96.0.10',
      }),
    ).toContain('options ndots:1\n');
  });

  it('$(VAR) expansion as upstream', () => {
    const vars = new Map([['A', 'x']]);
    expect(expandVars('$(A)-$(B)-$$(A)-$', vars)).toBe('x-$(B)-$(A)-$');
  });

  it('expands $(VAR) in command and args from the container env, leaving other fields alone', () => {
    const env = [
      { name: 'POD_NAME', value: 'db-1' },
      { name: 'NS', value: 'etcd' },
    ];
    const c = {
      name: 'c',
      command: ['sh', '-c', 'echo $(POD_NAME)'],
      args: ['--url=$(POD_NAME).db.$(NS)', '$(NOPE)', '$$(NS)'],
    };
    expect(expandCommandAndArgs(c, env)).toEqual({
      name: 'c',
      command: ['sh', '-c', 'echo db-1'],
      args: ['--url=db-1.db.etcd', '$(NOPE)', '$(NS)'],
    });
    expect(c.args[0]).toBe('--url=$(POD_NAME).db.$(NS)');
    expect(expandCommandAndArgs({ name: 'c' }, env)).toEqual({ name: 'c' });
  });

  it('env: values, fieldRefs, configMap/secret keys, envFrom, optional and missing sources', async () => {
    const data: Record<string, Record<string, string>> = {
      'configmap/cfg': { mode: 'fast', other: 'o' },
      'secret/sec': { password: 'pw' },
    };
    const src = {
      podIP: '10.244.0.5',
      hostIP: '10.244.0.1',
      nodeName: 'n1',
      readData: async (kind: 'configmap' | 'secret', _ns: string, name: string) => data[`${kind}/${name}`],
    };
    const env = await containerEnv(
      pod({}),
      {
        envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
        env: [
          { name: 'A', value: 'a' },
          { name: 'B', value: '$(A)b' },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
          { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
          { name: 'OPT', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } },
        ],
      },
      src,
    );
    expect(env).toEqual([
      { name: 'CFG_mode', value: 'fast' },
      { name: 'CFG_other', value: 'o' },
      { name: 'A', value: 'a' },
      { name: 'B', value: 'ab' },
      { name: 'IP', value: '10.244.0.5' },
      { name: 'NODE', value: 'n1' },
      { name: 'APP', value: 'a' },
      { name: 'MODE', value: 'fast' },
      { name: 'PW', value: 'pw' },
    ]);
    await expect(
      containerEnv(
        pod({}),
        { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k' } } }] },
        src,
      ),
    ).rejects.toThrow(new ContainerConfigError('configmap "missing" not found'));
    await expect(
      containerEnv(
        pod({}),
        { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] },
        src,
      ),
    ).rejects.toThrow("couldn't find key k in ConfigMap shop/cfg");
  });

  it("service variables come after the container's own, which win, and $(VAR) can refer to them", async () => {
    const env = await containerEnv(
      pod({}),
      {
        env: [
          { name: 'WEB_SERVICE_PORT', value: '9999' },
          { name: 'API', value: 'https://$(KUBERNETES_SERVICE_HOST):$(WEB_SERVICE_PORT)' },
        ],
        args: ['$(WEB_SERVICE_HOST)'],
      },
      {
        podIP: '',
        hostIP: '',
        nodeName: 'n1',
        readData: async () => undefined,
        serviceEnv: [
          { name: 'KUBERNETES_SERVICE_HOST', value: '10.96.0.1' },
          { name: 'WEB_SERVICE_HOST', value: '10.96.5.5' },
          { name: 'WEB_SERVICE_PORT', value: '80' },
        ],
      },
    );
    expect(env).toEqual([
      { name: 'WEB_SERVICE_PORT', value: '9999' },
      { name: 'API', value: 'https://10.96.0.1:9999' },
      { name: 'KUBERNETES_SERVICE_HOST', value: '10.96.0.1' },
      { name: 'WEB_SERVICE_HOST', value: '10.96.5.5' },
    ]);
    expect(expandCommandAndArgs({ args: ['$(WEB_SERVICE_HOST)'] }, env).args).toEqual(['10.96.5.5']);
  });

  it('env resourceFieldRef: divisor, rounding up, node allocatable for unset limits', async () => {
    const src = {
      podIP: '',
      hostIP: '',
      nodeName: 'n1',
      allocatable: { milliCpu: 8000, memory: 2 * 1024 ** 3, ephemeralStorage: 0 },
      readData: async () => undefined,
    };
    const env = await containerEnv(
      pod({}),
      {
        resources: { limits: { memory: '100Mi' }, requests: { cpu: '250m' } },
        env: [
          { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'REQ', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
        ],
      },
      src,
    );
    expect(env).toEqual([
      { name: 'MEM', value: '100' },
      { name: 'CPU', value: '8' },
      { name: 'REQ', value: '1' },
    ]);
  });

  it('subPathExpr expands from the container env; unset or empty variables fail', () => {
    const env = [
      { name: 'POD', value: 'web-0' },
      { name: 'EMPTY', value: '' },
    ];
    expect(expandSubPathExpr('logs/$(POD)', env)).toBe('logs/web-0');
    expect(() => expandSubPathExpr('$(NOPE)/$(EMPTY)/$(POD)', env)).toThrow(
      new ContainerConfigError('missing value for EMPTY, NOPE'),
    );
  });
});
