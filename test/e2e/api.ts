/**
 * A small HTTPS client for the e2e tests: talks to a running `ordinal up` with the
 * CA and (optionally) the admin client certificate taken from its kubeconfig.
 */
import { Agent, request } from 'node:https';
import { parse } from 'yaml';
import { type RunningCluster, readKubeconfig } from './harness.js';

export interface Credentials {
  host: string;
  port: number;
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

interface KubeconfigDoc {
  clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[];
  users?: { user?: { 'client-certificate-data'?: string; 'client-key-data'?: string; token?: string } }[];
}

/** Reads server address, CA and admin client credentials from the cluster's kubeconfig. */
export function credentials(c: RunningCluster): Credentials {
  const doc = parse(readKubeconfig(c)) as KubeconfigDoc;
  const cluster = doc.clusters?.[0]?.cluster;
  const user = doc.users?.[0]?.user;
  if (!cluster?.server || !cluster['certificate-authority-data'])
    throw new Error('kubeconfig has no cluster');
  const u = new URL(cluster.server);
  const b64 = (s: string | undefined): Buffer | undefined => (s ? Buffer.from(s, 'base64') : undefined);
  return {
    host: u.hostname,
    port: Number(u.port),
    ca: Buffer.from(cluster['certificate-authority-data'], 'base64'),
    cert: b64(user?.['client-certificate-data']),
    key: b64(user?.['client-key-data']),
    token: user?.token,
  };
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface StatusBody {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

export interface ApiClient {
  creds: Credentials;
  request(
    method: string,
    path: string,
    opts?: {
      body?: string | Buffer;
      contentType?: string;
      headers?: Record<string, string>;
      timeoutMs?: number;
    },
  ): Promise<ApiResponse>;
  /** JSON request helper: serialises `body`, parses the answer. */
  json<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<{ status: number; body: T }>;
  close(): void;
}

/**
 * Creates a client. `auth: false` sends no client certificate (anonymous);
 * `token` sends `Authorization: Bearer <token>` without the client certificate.
 */
export function apiClient(c: RunningCluster, opts: { auth?: boolean; token?: string } = {}): ApiClient {
  const creds = credentials(c);
  const useCert = opts.auth !== false && opts.token === undefined;
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 16,
    ca: creds.ca,
    cert: useCert ? creds.cert : undefined,
    key: useCert ? creds.key : undefined,
  });
  const doRequest: ApiClient['request'] = (method, path, ro = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: 'application/json', ...ro.headers };
      if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
      if (ro.body !== undefined) {
        if (ro.contentType !== undefined) headers['content-type'] = ro.contentType;
        headers['content-length'] = Buffer.byteLength(ro.body);
      }
      const req = request({ host: creds.host, port: creds.port, method, path, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      });
      req.setTimeout(ro.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on('error', reject);
      if (ro.body !== undefined) req.end(ro.body);
      else req.end();
    });
  return {
    creds,
    request: doRequest,
    async json<T>(method: string, path: string, body?: unknown, contentType = 'application/json') {
      const r = await doRequest(method, path, {
        body: body === undefined ? undefined : JSON.stringify(body),
        contentType,
      });
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.body);
      } catch {
        parsed = { raw: r.body };
      }
      return { status: r.status, body: parsed as T };
    },
    close: () => agent.destroy(),
  };
}

/** Parses a JSON body, returning undefined when it is not JSON. */
export function tryJson(body: string): StatusBody | undefined {
  try {
    return JSON.parse(body) as StatusBody;
  } catch {
    return undefined;
  }
}
