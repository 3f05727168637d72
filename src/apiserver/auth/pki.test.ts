import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensurePki, issueClientCert, issueServingCert } from './pki.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ordinal-pki-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('ensurePki', () => {
  it('generates a CA, serving and admin certs, and a token', async () => {
    const dir = await tempDir();
    const pki = await ensurePki(dir);
    const ca = new X509Certificate(pki.caCertPem);
    const server = new X509Certificate(pki.serverCertPem);
    const admin = new X509Certificate(pki.adminCertPem);
    expect(ca.subject).toBe('CN=ordinal-ca');
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(admin.verify(ca.publicKey)).toBe(true);
    expect(server.checkIssued(ca)).toBe(true);
    for (const host of [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ]) {
      expect(server.checkHost(host)).toBe(host);
    }
    for (const ip of ['127.0.0.1', '::1', '10.96.0.1']) expect(server.checkIP(ip)).toBe(ip);
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(admin.subject.split('\n')).toEqual(['CN=ordinal-admin', 'O=system:masters']);
    expect(admin.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(pki.adminToken.length).toBeGreaterThanOrEqual(32);
    expect(admin.checkPrivateKey(createPrivateKey(pki.adminKeyPem))).toBe(true);
    expect(server.checkPrivateKey(createPrivateKey(pki.serverKeyPem))).toBe(true);
  });

  it('writes keys with mode 0600 and reuses everything on the next start', async () => {
    const dir = await tempDir();
    const first = await ensurePki(dir);
    for (const f of ['ca.key', 'apiserver.key', 'admin.key', 'admin.token']) {
      expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600);
    }
    const second = await ensurePki(dir);
    expect(second).toEqual(first);
    expect((await readFile(join(dir, 'admin.token'), 'utf8')).trim()).toBe(first.adminToken);
  });

  it('re-issues the serving cert when a new SAN is needed, keeping the CA', async () => {
    const dir = await tempDir();
    const first = await ensurePki(dir);
    const second = await ensurePki(dir, { extraSans: ['192.168.7.7', 'my.host'] });
    expect(second.caCertPem).toBe(first.caCertPem);
    expect(second.adminCertPem).toBe(first.adminCertPem);
    expect(second.serverCertPem).not.toBe(first.serverCertPem);
    const server = new X509Certificate(second.serverCertPem);
    expect(server.checkIP('192.168.7.7')).toBe('192.168.7.7');
    expect(server.checkHost('my.host')).toBe('my.host');
    expect(server.checkHost('localhost')).toBe('localhost');
  });

  it('re-issues a serving cert from an older data dir that lacks the in-cluster names, keeping the CA and admin credentials', async () => {
    const dir = await tempDir();
    const first = await ensurePki(dir);
    // What an older version wrote: a serving cert for localhost only, signed by the same CA.
    const old = await issueServingCert(first, 'ordinal-apiserver', ['localhost', '127.0.0.1']);
    await writeFile(join(dir, 'apiserver.crt'), old.certPem);
    await writeFile(join(dir, 'apiserver.key'), old.keyPem);
    expect(new X509Certificate(old.certPem).checkIP('10.96.0.1')).toBeUndefined();

    const second = await ensurePki(dir);
    expect(second.caCertPem).toBe(first.caCertPem);
    expect(second.caKeyPem).toBe(first.caKeyPem);
    expect(second.adminCertPem).toBe(first.adminCertPem);
    expect(second.adminToken).toBe(first.adminToken);
    expect(second.serverCertPem).not.toBe(old.certPem);
    const server = new X509Certificate(second.serverCertPem);
    expect(server.checkIssued(new X509Certificate(first.caCertPem))).toBe(true);
    expect(server.checkIP('10.96.0.1')).toBe('10.96.0.1');
    expect(server.checkHost('kubernetes.default.svc.cluster.local')).toBe(
      'kubernetes.default.svc.cluster.local',
    );
    expect(server.checkPrivateKey(createPrivateKey(second.serverKeyPem))).toBe(true);
    expect(await readFile(join(dir, 'apiserver.crt'), 'utf8')).toBe(second.serverCertPem);
  });

  it('regenerates leaves when the CA is gone', async () => {
    const dir = await tempDir();
    const first = await ensurePki(dir);
    await rm(join(dir, 'ca.crt'));
    const second = await ensurePki(dir);
    expect(second.caCertPem).not.toBe(first.caCertPem);
    expect(new X509Certificate(second.serverCertPem).checkIssued(new X509Certificate(second.caCertPem))).toBe(
      true,
    );
  });

  it('keeps a token written by the user', async () => {
    const dir = await tempDir();
    await ensurePki(dir);
    await writeFile(join(dir, 'admin.token'), 'my-token\n');
    expect((await ensurePki(dir)).adminToken).toBe('my-token');
  });

  it('issues client certs for arbitrary users and groups', async () => {
    const pki = await ensurePki(await tempDir());
    const { certPem } = await issueClientCert(pki, 'jane', ['dev', 'ops']);
    const cert = new X509Certificate(certPem);
    expect(cert.subject.split('\n')).toEqual(['CN=jane', 'O=dev', 'O=ops']);
    expect(cert.checkIssued(new X509Certificate(pki.caCertPem))).toBe(true);
  });
});
