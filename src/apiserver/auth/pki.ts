/**
 * The cluster's PKI: one self-signed CA, the API server's serving certificate,
 * an admin client certificate and an admin bearer token. Generated once with
 * ECDSA P-256 (fast) and kept as PEM files in a directory; later starts reuse
 * them, re-issuing only leaf certificates that expire soon or lack a SAN.
 */
import { X509Certificate as NodeX509, randomBytes, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as X509Lib from '@peculiar/x509';

/**
 * @peculiar/x509 (and its ASN.1 stack) costs ~100 ms to load, so it is loaded only
 * when a certificate has to be generated; reading an existing PKI uses node:crypto.
 */
type CryptoKey = webcrypto.CryptoKey;
const crypto = webcrypto;
let x509Lib: typeof X509Lib | undefined;
async function loadX509(): Promise<typeof X509Lib> {
  if (!x509Lib) {
    const lib = await import('@peculiar/x509');
    // @peculiar/x509 types its provider as the DOM Crypto; Node's webcrypto implements it.
    lib.cryptoProvider.set(
      crypto as unknown as Parameters<typeof lib.X509CertificateGenerator.create>[1] & object,
    );
    x509Lib = lib;
  }
  return x509Lib;
}

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGN: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY = 24 * 60 * 60 * 1000;
const CA_LIFETIME = 10 * 365 * DAY;
const LEAF_LIFETIME = 2 * 365 * DAY;
/** Leaf certificates closer than this to expiry are re-issued on start. */
const RENEW_BEFORE = 30 * DAY;
/** Clock skew allowance for notBefore. */
const BACKDATE = 60 * 60 * 1000;

export const CA_COMMON_NAME = 'ordinal-ca';
export const ADMIN_USER = 'ordinal-admin';
export const ADMIN_GROUP = 'system:masters';

/** SANs every serving certificate carries. */
export const DEFAULT_SERVING_SANS: readonly string[] = [
  'localhost',
  '127.0.0.1',
  '::1',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
  '10.96.0.1',
];

/** All PEM strings; keys are PKCS#8 ("BEGIN PRIVATE KEY"). Treat as immutable. */
export interface Pki {
  caCertPem: string;
  caKeyPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  adminToken: string;
}

export interface EnsurePkiOptions {
  /** Extra DNS names or IPs for the serving certificate (e.g. the --host address). */
  extraSans?: string[];
  /** Clock, for tests. */
  now?: () => Date;
}

const FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'apiserver.crt',
  serverKey: 'apiserver.key',
  adminCert: 'admin.crt',
  adminKey: 'admin.key',
  adminToken: 'admin.token',
} as const;

/**
 * Loads the PKI from `dir`, generating whatever is missing. If the CA is
 * missing everything is regenerated (old leaves would not verify). Keys and the
 * token are written with mode 0600. Throws on unreadable/corrupt files rather
 * than silently replacing a CA that clients may already trust.
 */
export async function ensurePki(dir: string, opts: EnsurePkiOptions = {}): Promise<Pki> {
  const now = opts.now ?? (() => new Date());
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const read = async (name: string): Promise<string | undefined> => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  };
  const [caCertPem, caKeyPem, serverCertPem, serverKeyPem, adminCertPem, adminKeyPem, adminTokenRaw] =
    await Promise.all([
      read(FILES.caCert),
      read(FILES.caKey),
      read(FILES.serverCert),
      read(FILES.serverKey),
      read(FILES.adminCert),
      read(FILES.adminKey),
      read(FILES.adminToken),
    ]);
  const sans = uniq([...DEFAULT_SERVING_SANS, ...(opts.extraSans ?? [])]);

  let loaded: CaMaterial | undefined;
  let fresh = false;
  if (!caCertPem || !caKeyPem) {
    loaded = await createCa(now());
    fresh = true;
    await writePem(dir, FILES.caCert, loaded.certPem, 0o644);
    await writePem(dir, FILES.caKey, loaded.keyPem, 0o600);
  }
  // Parsing the CA for signing is only needed when a leaf must be (re)issued.
  const getCa = async (): Promise<CaMaterial> => {
    loaded ??= await loadCa(caCertPem!, caKeyPem!);
    return loaded;
  };

  let server = { certPem: serverCertPem ?? '', keyPem: serverKeyPem ?? '' };
  if (fresh || !serverCertPem || !serverKeyPem || needsRenewal(serverCertPem, now(), sans)) {
    server = await issueCert(await getCa(), {
      commonName: 'ordinal-apiserver',
      sans,
      usage: 'server',
      now: now(),
    });
    await writePem(dir, FILES.serverKey, server.keyPem, 0o600);
    await writePem(dir, FILES.serverCert, server.certPem, 0o644);
  }

  let admin = { certPem: adminCertPem ?? '', keyPem: adminKeyPem ?? '' };
  if (fresh || !adminCertPem || !adminKeyPem || needsRenewal(adminCertPem, now(), [])) {
    admin = await issueCert(await getCa(), {
      commonName: ADMIN_USER,
      organizations: [ADMIN_GROUP],
      usage: 'client',
      now: now(),
    });
    await writePem(dir, FILES.adminKey, admin.keyPem, 0o600);
    await writePem(dir, FILES.adminCert, admin.certPem, 0o644);
  }

  let adminToken = adminTokenRaw?.trim() ?? '';
  if (!adminToken) {
    adminToken = randomBytes(32).toString('base64url');
    await writePem(dir, FILES.adminToken, `${adminToken}\n`, 0o600);
  }

  return {
    caCertPem: caCertPem ?? loaded!.certPem,
    caKeyPem: caKeyPem ?? loaded!.keyPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    adminToken,
  };
}

/**
 * Issues a client certificate for `user` (CN) in `groups` (O, one RDN value
 * each), signed by the cluster CA. The result authenticates through
 * createAuthenticator as that user.
 */
export async function issueClientCert(
  pki: Pick<Pki, 'caCertPem' | 'caKeyPem'>,
  user: string,
  groups: string[] = [],
  opts: { lifetimeMs?: number; now?: Date } = {},
): Promise<{ certPem: string; keyPem: string }> {
  const ca = await loadCa(pki.caCertPem, pki.caKeyPem);
  return issueCert(ca, {
    commonName: user,
    organizations: groups,
    usage: 'client',
    now: opts.now ?? new Date(),
    lifetimeMs: opts.lifetimeMs,
  });
}

/**
 * Issues a serving certificate for the given DNS names / IPs (e.g. for a
 * node agent's kubelet-like endpoint), signed by the cluster CA.
 */
export async function issueServingCert(
  pki: Pick<Pki, 'caCertPem' | 'caKeyPem'>,
  commonName: string,
  sans: string[],
): Promise<{ certPem: string; keyPem: string }> {
  const ca = await loadCa(pki.caCertPem, pki.caKeyPem);
  return issueCert(ca, { commonName, sans, usage: 'server', now: new Date() });
}

// ---------------------------------------------------------------------------

interface CaMaterial {
  cert: X509Lib.X509Certificate;
  certPem: string;
  keyPem: string;
  privateKey: CryptoKey;
}

async function createCa(now: Date): Promise<CaMaterial> {
  const x509 = await loadX509();
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [CA_COMMON_NAME] }],
    notBefore: new Date(now.getTime() - BACKDATE),
    notAfter: new Date(now.getTime() + CA_LIFETIME),
    signingAlgorithm: EC_SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    cert,
    certPem: cert.toString('pem'),
    keyPem: await exportKeyPem(keys.privateKey),
    privateKey: keys.privateKey,
  };
}

async function loadCa(certPem: string, keyPem: string): Promise<CaMaterial> {
  const x509 = await loadX509();
  const cert = new x509.X509Certificate(certPem);
  const der = pemToDer(keyPem, 'PRIVATE KEY');
  const privateKey = await crypto.subtle.importKey('pkcs8', der, EC_KEY, true, ['sign']);
  return { cert, certPem, keyPem, privateKey };
}

interface IssueParams {
  commonName: string;
  organizations?: string[];
  sans?: string[];
  usage: 'server' | 'client';
  now: Date;
  lifetimeMs?: number;
}

async function issueCert(ca: CaMaterial, p: IssueParams): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const subject: X509Lib.JsonName = [{ CN: [p.commonName] }];
  for (const o of p.organizations ?? []) subject.push({ O: [o] });
  const extensions: X509Lib.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(
      [p.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  if (p.sans?.length) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        p.sans.map((v) => ({ type: isIp(v) ? 'ip' : 'dns', value: v })),
        false,
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subjectName,
    notBefore: new Date(p.now.getTime() - BACKDATE),
    notAfter: new Date(p.now.getTime() + (p.lifetimeMs ?? LEAF_LIFETIME)),
    signingAlgorithm: EC_SIGN,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** True when the certificate expires within RENEW_BEFORE or lacks one of `sans`. */
function needsRenewal(certPem: string, now: Date, sans: string[]): boolean {
  const cert = new NodeX509(certPem);
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE) return true;
  return sans.some((san) =>
    isIp(san) ? cert.checkIP(san) === undefined : cert.checkHost(san) === undefined,
  );
}

function isIp(v: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(v) || v.includes(':');
}

/** 16 random bytes with the top bit cleared: a positive, unique serial. */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  if (b[0] === 0) b[0] = 1;
  return b.toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return derToPem(der, 'PRIVATE KEY');
}

function derToPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.endsWith('\n') ? b64 : `${b64}\n`}-----END ${label}-----\n`;
}

function pemToDer(pem: string, label: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (!m?.[1]) throw new Error(`no ${label} PEM block found`);
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs.filter((x) => x.length > 0))];
}

/** Atomic write (temp file + rename) so a crash never leaves half a key behind. */
async function writePem(dir: string, name: string, content: string, mode: number): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  await writeFile(tmp, content, { mode });
  await rename(tmp, join(dir, name));
}
