/**
 * Service account tokens: JWTs (ES256) signed with the cluster's service-account
 * key, shaped like upstream's bound tokens, and their verification.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

export const DEFAULT_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface IssueRequest {
  namespace: string;
  name: string;
  uid: string;
  audiences: string[];
  expirationSeconds: number;
  now: Date;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string } };
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

export class ServiceAccountTokens {
  private readonly key: KeyObject;
  private readonly pub: KeyObject;

  /** `keyPem`: an EC P-256 private key in PEM. */
  constructor(keyPem: string) {
    this.key = createPrivateKey(keyPem);
    this.pub = createPublicKey(this.key);
  }

  issue(r: IssueRequest): { token: string; expiration: string } {
    const iat = Math.floor(r.now.getTime() / 1000);
    const claims: TokenClaims = {
      iss: ISSUER,
      sub: `system:serviceaccount:${r.namespace}:${r.name}`,
      aud: r.audiences,
      exp: iat + r.expirationSeconds,
      iat,
      nbf: iat,
      'kubernetes.io': { namespace: r.namespace, serviceaccount: { name: r.name, uid: r.uid } },
    };
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: 'ordinal' }));
    const payload = b64url(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${header}.${payload}`), {
      key: this.key,
      dsaEncoding: 'ieee-p1363',
    });
    return {
      token: `${header}.${payload}.${b64url(sig)}`,
      expiration: `${new Date(claims.exp * 1000).toISOString().slice(0, 19)}Z`,
    };
  }

  /** Returns the claims of a valid, unexpired token, else undefined. Never throws. */
  verify(token: string, now: Date): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    try {
      const ok = verify(
        'sha256',
        Buffer.from(`${h}.${p}`),
        { key: this.pub, dsaEncoding: 'ieee-p1363' },
        Buffer.from(s, 'base64url'),
      );
      if (!ok) return undefined;
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as TokenClaims;
      const t = Math.floor(now.getTime() / 1000);
      if (typeof claims.exp !== 'number' || claims.exp < t) return undefined;
      if (claims.iss !== ISSUER || !claims['kubernetes.io']?.serviceaccount) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }
}
