import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import {
  type Authenticate,
  authenticateRequest,
  createAuthenticator,
  isPublicPath,
  type UserInfo,
} from './authn.js';
import { ensurePki, issueClientCert, type Pki } from './pki.js';

let dir: string;
let pki: Pki;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ordinal-authn-'));
  pki = await ensurePki(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Seen {
  user: UserInfo | undefined;
  authorized: boolean;
  decision: UserInfo | { code: number };
}

/** Starts an HTTPS server configured like the API server and makes one request with `client` options. */
async function tlsRoundTrip(
  authenticate: Authenticate,
  client: { cert?: string; key?: string; headers?: Record<string, string>; path?: string },
): Promise<Seen> {
  let seen: Seen | undefined;
  const server = createHttpsServer(
    {
      key: pki.serverKeyPem,
      cert: pki.serverCertPem,
      ca: pki.caCertPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      void (async () => {
        const user = await authenticate(req);
        const d = await authenticateRequest(authenticate, req);
        seen = {
          user,
          authorized: (req.socket as import('node:tls').TLSSocket).authorized,
          decision: isStatusError(d) ? { code: d.code } : d,
        };
        res.end('ok');
      })();
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  try {
    await new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: client.path ?? '/api',
          ca: pki.caCertPem,
          servername: 'localhost',
          cert: client.cert,
          key: client.key,
          headers: client.headers,
          agent: false,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end();
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  if (!seen) throw new Error('no request seen');
  return seen;
}

describe('createAuthenticator over real TLS', () => {
  it('authenticates the admin client certificate (CN → user, O → groups)', async () => {
    const authenticate = createAuthenticator({ pki });
    const seen = await tlsRoundTrip(authenticate, { cert: pki.adminCertPem, key: pki.adminKeyPem });
    expect(seen.authorized).toBe(true);
    expect(seen.user).toEqual({
      username: 'ordinal-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
  });

  it('authenticates issued client certs with several groups', async () => {
    const authenticate = createAuthenticator({ pki });
    const c = await issueClientCert(pki, 'jane', ['dev', 'ops']);
    const seen = await tlsRoundTrip(authenticate, { cert: c.certPem, key: c.keyPem });
    expect(seen.user).toEqual({ username: 'jane', groups: ['dev', 'ops', 'system:authenticated'] });
  });

  it('ignores client certs from another CA, and rejects them with 401', async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'ordinal-authn-other-'));
    try {
      const other = await ensurePki(otherDir);
      const authenticate = createAuthenticator({ pki });
      const seen = await tlsRoundTrip(authenticate, {
        cert: other.adminCertPem,
        key: other.adminKeyPem,
        path: '/healthz',
      });
      expect(seen.authorized).toBe(false);
      expect(seen.user).toBeUndefined();
      expect(seen.decision).toEqual({ code: 401 });
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('authenticates the admin bearer token', async () => {
    const authenticate = createAuthenticator({ pki });
    const seen = await tlsRoundTrip(authenticate, { headers: { authorization: `Bearer ${pki.adminToken}` } });
    expect(seen.user).toEqual({
      username: 'ordinal-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
  });

  it('treats a request without credentials as unauthenticated (401 except public paths)', async () => {
    const authenticate = createAuthenticator({ pki });
    const api = await tlsRoundTrip(authenticate, { path: '/api/v1/pods' });
    expect(api.user).toBeUndefined();
    expect(api.decision).toEqual({ code: 401 });
    const healthz = await tlsRoundTrip(authenticate, { path: '/healthz?verbose' });
    expect(healthz.decision).toEqual({ username: 'system:anonymous', groups: ['system:unauthenticated'] });
  });
});

describe('bearer tokens (plain requests)', () => {
  function fakeReq(headers: Record<string, string>, url = '/api'): IncomingMessage {
    return { headers, url, socket: {} } as unknown as IncomingMessage;
  }

  it('consults pluggable token authenticators in order and adds system:authenticated', async () => {
    const authenticate = createAuthenticator({
      pki,
      tokenAuthenticators: [
        { authenticateToken: async () => undefined },
        {
          authenticateToken: async (t) =>
            t === 'sa-token'
              ? {
                  username: 'system:serviceaccount:ns:default',
                  uid: 'u1',
                  groups: ['system:serviceaccounts'],
                }
              : undefined,
        },
      ],
    });
    expect(await authenticate(fakeReq({ authorization: 'Bearer sa-token' }))).toEqual({
      username: 'system:serviceaccount:ns:default',
      uid: 'u1',
      groups: ['system:serviceaccounts', 'system:authenticated'],
    });
    expect(await authenticate(fakeReq({ authorization: 'Bearer nope' }))).toBeUndefined();
    expect(await authenticate(fakeReq({ authorization: `Basic ${pki.adminToken}` }))).toBeUndefined();
    expect(await authenticate(fakeReq({ authorization: 'Bearer ' }))).toBeUndefined();
    expect(await authenticate(fakeReq({}))).toBeUndefined();
  });

  it('treats a throwing token authenticator as "not recognised"', async () => {
    const authenticate = createAuthenticator({
      pki,
      tokenAuthenticators: [
        {
          authenticateToken: async () => {
            throw new Error('boom');
          },
        },
      ],
    });
    expect(await authenticate(fakeReq({ authorization: 'Bearer x' }))).toBeUndefined();
    expect(await authenticate(fakeReq({ authorization: `Bearer ${pki.adminToken}` }))).toMatchObject({
      username: 'ordinal-admin',
    });
  });

  it('rejects invalid tokens even on public paths', async () => {
    const authenticate = createAuthenticator({ pki });
    const d = await authenticateRequest(authenticate, fakeReq({ authorization: 'Bearer bad' }, '/version'));
    expect(isStatusError(d) && d.code).toBe(401);
    const ok = await authenticateRequest(authenticate, fakeReq({}, '/version'));
    expect(ok).toMatchObject({ username: 'system:anonymous' });
  });

  it('authenticates over plain HTTP requests too (no TLS socket)', async () => {
    const authenticate = createAuthenticator({ pki });
    let user: UserInfo | undefined;
    const server = createServer((req, res) => {
      void authenticate(req).then((u) => {
        user = u;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    await fetch(`http://127.0.0.1:${port}/api`, { headers: { authorization: `Bearer ${pki.adminToken}` } });
    await new Promise<void>((r) => server.close(() => r()));
    expect(user?.username).toBe('ordinal-admin');
  });
});

describe('isPublicPath', () => {
  it('matches the upstream public endpoints and their subpaths only', () => {
    for (const p of [
      '/healthz',
      '/healthz/ping',
      '/livez',
      '/livez/etcd',
      '/readyz',
      '/readyz?verbose',
      '/version',
      '/version/',
    ]) {
      expect(isPublicPath(p)).toBe(true);
    }
    for (const p of ['/', '/api', '/apis', '/healthzz', '/versions', '/openapi/v2', '/api/v1/namespaces']) {
      expect(isPublicPath(p)).toBe(false);
    }
  });
});
