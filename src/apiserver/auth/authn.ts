/**
 * Request authentication: verified client certificates (CN = user, O = groups)
 * and bearer tokens (the admin token, then pluggable authenticators such as
 * service account tokens). The HTTPS server must run with
 * `requestCert: true, rejectUnauthorized: false, ca: pki.caCertPem` so that
 * `socket.authorized` reflects verification against the cluster CA.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type StatusError, unauthorized } from '../../api/errors.js';
import { ADMIN_GROUP, ADMIN_USER, type Pki } from './pki.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const AUTHENTICATED_GROUP = 'system:authenticated';

/**
 * Turns a bearer token into a user. Resolves undefined when the token is not
 * one this authenticator recognises (the next one is tried); rejects only on
 * internal failure, which the caller treats like an unrecognised token.
 */
export interface TokenAuthenticator {
  authenticateToken(token: string): Promise<UserInfo | undefined>;
}

export interface AuthenticatorOptions {
  pki: Pick<Pki, 'adminToken'>;
  tokenAuthenticators?: TokenAuthenticator[];
}

/** Resolves the user of a request, or undefined when it carries no valid credentials. */
export type Authenticate = (req: IncomingMessage) => Promise<UserInfo | undefined>;

export function createAuthenticator(opts: AuthenticatorOptions): Authenticate {
  const adminToken = Buffer.from(opts.pki.adminToken);
  const tokenAuthenticators = opts.tokenAuthenticators ?? [];

  return async (req) => {
    const fromCert = userFromClientCert(req);
    if (fromCert) return withAuthenticatedGroup(fromCert);

    const token = bearerToken(req);
    if (token === undefined) return undefined;
    const given = Buffer.from(token);
    if (given.length === adminToken.length && timingSafeEqual(given, adminToken)) {
      return withAuthenticatedGroup({ username: ADMIN_USER, groups: [ADMIN_GROUP] });
    }
    for (const a of tokenAuthenticators) {
      let user: UserInfo | undefined;
      try {
        user = await a.authenticateToken(token);
      } catch {
        user = undefined;
      }
      if (user) return withAuthenticatedGroup(user);
    }
    return undefined;
  };
}

/** The user named by a CA-verified client certificate, if the connection presented one. */
export function userFromClientCert(req: IncomingMessage): UserInfo | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerCertificate !== 'function') {
    return undefined;
  }
  const cert = socket.getPeerCertificate(false);
  if (!cert?.subject) return undefined;
  const cn = asList(cert.subject.CN)[0];
  if (!cn) return undefined;
  return { username: cn, groups: asList(cert.subject.O) };
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or empty. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] || undefined;
}

/** Paths reachable without credentials, as upstream's default public-info RBAC allows. */
const PUBLIC_PREFIXES = ['/healthz', '/livez', '/readyz', '/version'];

export function isPublicPath(path: string): boolean {
  const p = path.split('?')[0] ?? '';
  return PUBLIC_PREFIXES.some((pre) => p === pre || p.startsWith(`${pre}/`));
}

/** Who an unauthenticated request to a public path is, as upstream's anonymous authenticator says. */
export const ANONYMOUS_USER: Readonly<UserInfo> = Object.freeze({
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
});

/**
 * The authentication decision for one request: the authenticated user; the
 * anonymous user for public paths without credentials; otherwise a 401
 * StatusError (`Unauthorized`) to be sent as is. Invalid credentials on a
 * public path are still rejected, as upstream does.
 */
export async function authenticateRequest(
  authenticate: Authenticate,
  req: IncomingMessage,
): Promise<UserInfo | StatusError> {
  const user = await authenticate(req);
  if (user) return user;
  const path = req.url ?? '/';
  if (isPublicPath(path) && !hasCredentials(req))
    return { ...ANONYMOUS_USER, groups: [...ANONYMOUS_USER.groups] };
  return unauthorized();
}

/** A bearer token, or a client certificate that failed verification. */
function hasCredentials(req: IncomingMessage): boolean {
  if (bearerToken(req) !== undefined) return true;
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || socket.authorized || typeof socket.getPeerCertificate !== 'function') return false;
  const cert = socket.getPeerCertificate(false);
  return !!cert && Object.keys(cert).length > 0;
}

function withAuthenticatedGroup(u: UserInfo): UserInfo {
  const groups = u.groups.includes(AUTHENTICATED_GROUP) ? [...u.groups] : [...u.groups, AUTHENTICATED_GROUP];
  return { ...u, groups };
}

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
