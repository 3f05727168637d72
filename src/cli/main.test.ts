import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseCli, type UpDeps, up } from './main.js';

describe('parseCli', () => {
  const env = { HOME: '/home/u' };
  it('applies defaults for up', () => {
    expect(parseCli(['up'], env)).toEqual({
      cmd: 'up',
      opts: {
        dataDir: '/home/u/.ordinal',
        host: '127.0.0.1',
        port: 6443,
        store: 'sqlite',
        runtime: 'auto',
        nodes: 1,
        simReadyDelayMs: 500,
        dnsPort: 0,
      },
    });
  });
  it('parses every option', () => {
    const c = parseCli(
      [
        'up',
        '--data-dir',
        '/d',
        '--kubeconfig=/k.yaml',
        '--port',
        '0',
        '--host',
        '0.0.0.0',
        '--store',
        'memory',
        '--runtime',
        'sim',
        '--nodes',
        '3',
        '--sim-ready-delay',
        '0',
        '--shared-dir',
        '/nfs',
        '--dns-port',
        'off',
      ],
      env,
    );
    expect(c).toEqual({
      cmd: 'up',
      opts: {
        dataDir: '/d',
        kubeconfig: '/k.yaml',
        host: '0.0.0.0',
        port: 0,
        store: 'memory',
        runtime: 'sim',
        nodes: 3,
        simReadyDelayMs: 0,
        sharedDir: '/nfs',
        dnsPort: -1,
      },
    });
  });
  it('rejects bad input', () => {
    expect(parseCli(['up', '--port', 'x'], env).cmd).toBe('error');
    expect(parseCli(['up', '--port', '70000'], env).cmd).toBe('error');
    expect(parseCli(['up', '--store', 'etcd'], env).cmd).toBe('error');
    expect(parseCli(['up', '--runtime', 'docker'], env).cmd).toBe('error');
    expect(parseCli(['up', '--runtime', 'oci'], env)).toMatchObject({ cmd: 'up', opts: { runtime: 'oci' } });
    expect(parseCli(['up', '--sim-ready-delay', '-1'], env).cmd).toBe('error');
    expect(parseCli(['up', '--sim-ready-delay', 'soon'], env).cmd).toBe('error');
    expect(parseCli(['up', '--dns-port', '70000'], env).cmd).toBe('error');
    expect(parseCli(['up', '--dns-port', 'x'], env).cmd).toBe('error');
    expect(parseCli(['up', '--bogus'], env).cmd).toBe('error');
    expect(parseCli(['up', 'extra'], env).cmd).toBe('error');
    expect(parseCli(['frobnicate'], env)).toEqual({ cmd: 'error', message: 'unknown command "frobnicate"' });
  });
  it('routes images subcommands with their data dir', () => {
    expect(parseCli(['images', 'ls'], env)).toEqual({
      cmd: 'images',
      argv: ['ls'],
      dataDir: '/home/u/.ordinal',
    });
    expect(parseCli(['images', '--data-dir', '/d', 'import', 'x.tar'], env)).toEqual({
      cmd: 'images',
      argv: ['import', 'x.tar'],
      dataDir: '/d',
    });
    expect(parseCli(['images', 'rm', 'busybox', '--data-dir=/e'], env)).toMatchObject({
      dataDir: '/e',
      argv: ['rm', 'busybox'],
    });
    expect(parseCli(['images', '--data-dir'], env).cmd).toBe('error');
  });
  it('knows help and version', () => {
    expect(parseCli([], env).cmd).toBe('help');
    expect(parseCli(['--help'], env).cmd).toBe('help');
    expect(parseCli(['up', '--help'], env)).toEqual({ cmd: 'help', topic: 'up' });
    expect(parseCli(['version'], env).cmd).toBe('version');
  });
});

describe('up (with a stand-in cluster)', () => {
  let dir: string;
  let server: Server | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ordinal-up-'));
  });
  afterEach(async () => {
    if (server) await new Promise<void>((r) => server?.close(() => r()));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the PKI, starts, writes a kubeconfig that authenticates as admin, and stops', async () => {
    const lines: string[] = [];
    let seenUser: string | undefined;
    let stopped = false;
    const deps: UpDeps = {
      log: (l) => lines.push(l),
      now: () => performance.now(),
      async startCluster(o) {
        server = createServer(
          {
            key: o.pki.serverKeyPem,
            cert: o.pki.serverCertPem,
            ca: o.pki.caCertPem,
            requestCert: true,
            rejectUnauthorized: false,
          },
          (req, res) => {
            const s = req.socket as TLSSocket;
            seenUser = s.authorized ? String(s.getPeerCertificate().subject.CN) : undefined;
            res.end('{}');
          },
        );
        await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
        const port = (server.address() as AddressInfo).port;
        return {
          url: `https://127.0.0.1:${port}`,
          stop: async () => {
            stopped = true;
          },
        };
      },
    };
    const kubeconfig = join(dir, 'kubeconfig');
    const running = await up(
      {
        dataDir: dir,
        kubeconfig,
        host: '127.0.0.1',
        port: 0,
        store: 'memory',
        runtime: 'sim',
        nodes: 1,
        simReadyDelayMs: 0,
        dnsPort: -1,
      },
      deps,
    );
    expect(running.kubeconfigPath).toBe(kubeconfig);
    expect(lines.join('\n')).toMatch(/is up in \d+ ms/);
    expect(lines.join('\n')).toContain(`kubectl --kubeconfig ${kubeconfig} cluster-info`);

    const cfg = YAML.parse(await readFile(kubeconfig, 'utf8'));
    const user = cfg.users[0].user;
    const cluster = cfg.clusters[0].cluster;
    expect(cluster.server).toBe(running.url);
    const cert = Buffer.from(user['client-certificate-data'], 'base64').toString();
    expect(new X509Certificate(cert).subject).toContain('CN=ordinal-admin');

    // The kubeconfig's credentials work against the serving cert, like kubectl would use them.
    const { request } = await import('node:https');
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `${running.url}/api`,
        {
          ca: Buffer.from(cluster['certificate-authority-data'], 'base64').toString(),
          cert,
          key: Buffer.from(user['client-key-data'], 'base64').toString(),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(seenUser).toBe('ordinal-admin');

    await running.stop();
    expect(stopped).toBe(true);
  });
});
