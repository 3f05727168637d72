import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { defaultKubeconfigPath, writeKubeconfig } from './kubeconfig.js';

const params = {
  server: 'https://127.0.0.1:6443',
  caPem: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  certPem: '-----BEGIN CERTIFICATE-----\nADMIN\n-----END CERTIFICATE-----\n',
  keyPem: '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n',
};
const b64 = (s: string) => Buffer.from(s).toString('base64');

let dir: string;
let savedKubeconfig: string | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ordinal-kubeconfig-'));
  savedKubeconfig = process.env.KUBECONFIG;
});
afterEach(async () => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await rm(dir, { recursive: true, force: true });
});

const EXISTING = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example.com
- name: ordinal
  cluster:
    server: https://old:1
contexts:
- name: prod
  context:
    cluster: prod
    user: prod-admin
    namespace: web
users:
- name: prod-admin
  user:
    token: secret
current-context: prod
preferences: {}
`;

describe('writeKubeconfig', () => {
  it('writes a standalone kubeconfig at an explicit path (0600)', async () => {
    const path = join(dir, 'sub', 'ordinal.yaml');
    expect(await writeKubeconfig({ ...params, path })).toBe(path);
    const cfg = YAML.parse(await readFile(path, 'utf8'));
    expect(cfg).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'ordinal',
          cluster: { server: params.server, 'certificate-authority-data': b64(params.caPem) },
        },
      ],
      users: [
        {
          name: 'ordinal',
          user: { 'client-certificate-data': b64(params.certPem), 'client-key-data': b64(params.keyPem) },
        },
      ],
      contexts: [{ name: 'ordinal', context: { cluster: 'ordinal', user: 'ordinal' } }],
      'current-context': 'ordinal',
      preferences: {},
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('includes a token when given', async () => {
    const path = join(dir, 'tok.yaml');
    await writeKubeconfig({ ...params, path, token: 'abc' });
    expect(YAML.parse(await readFile(path, 'utf8')).users[0].user.token).toBe('abc');
  });

  it('merges into the first $KUBECONFIG file, keeping other entries', async () => {
    const first = join(dir, 'config');
    const second = join(dir, 'other');
    await writeFile(first, EXISTING, { mode: 0o644 });
    process.env.KUBECONFIG = [first, second].join(process.platform === 'win32' ? ';' : ':');
    expect(defaultKubeconfigPath()).toBe(first);
    expect(await writeKubeconfig(params)).toBe(first);
    const cfg = YAML.parse(await readFile(first, 'utf8'));
    expect(cfg['current-context']).toBe('ordinal');
    expect(cfg.clusters.map((c: { name: string }) => c.name)).toEqual(['prod', 'ordinal']);
    expect(cfg.clusters[0]).toEqual({ name: 'prod', cluster: { server: 'https://prod.example.com' } });
    expect(cfg.clusters[1].cluster.server).toBe(params.server);
    expect(cfg.contexts).toEqual([
      { name: 'prod', context: { cluster: 'prod', user: 'prod-admin', namespace: 'web' } },
      { name: 'ordinal', context: { cluster: 'ordinal', user: 'ordinal' } },
    ]);
    expect(cfg.users.map((u: { name: string }) => u.name)).toEqual(['prod-admin', 'ordinal']);
    expect(cfg.users[0].user.token).toBe('secret');
    expect((await stat(first)).mode & 0o777).toBe(0o600);

    // Idempotent: a second merge replaces, never duplicates.
    await writeKubeconfig({ ...params, server: 'https://127.0.0.1:7000' });
    const again = YAML.parse(await readFile(first, 'utf8'));
    expect(again.clusters).toHaveLength(2);
    expect(again.clusters[1].cluster.server).toBe('https://127.0.0.1:7000');
    expect(again.contexts).toHaveLength(2);
  });

  it('creates the default file when none exists', async () => {
    const path = join(dir, 'new', 'config');
    process.env.KUBECONFIG = path;
    await writeKubeconfig(params);
    const cfg = YAML.parse(await readFile(path, 'utf8'));
    expect(cfg.kind).toBe('Config');
    expect(cfg.contexts).toEqual([{ name: 'ordinal', context: { cluster: 'ordinal', user: 'ordinal' } }]);
  });

  it('refuses to overwrite something that is not a kubeconfig', async () => {
    const path = join(dir, 'config');
    await writeFile(path, '- just\n- a list\n');
    process.env.KUBECONFIG = path;
    await expect(writeKubeconfig(params)).rejects.toThrow(/not a kubeconfig/);
    expect(await readFile(path, 'utf8')).toBe('- just\n- a list\n');
  });

  it('falls back to ~/.kube/config', () => {
    expect(defaultKubeconfigPath({ HOME: '/nonexistent' })).toMatch(/\.kube[/\\]config$/);
  });
});
