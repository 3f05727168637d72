/**
 * `GET pods/NAME/log` over HTTPS on a real cluster process-in-test: refusals
 * come back as Statuses, a registered node log source is streamed (with
 * limitBytes), and pods on nodes without a source have empty logs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePki, type Pki } from '../../src/apiserver/auth/pki.js';
import { type Cluster, startCluster } from '../../src/cluster.js';
import { PODS } from '../../src/controllers/util/resources.js';
import { waitFor } from './harness.js';

describe('pods/log', () => {
  let dir: string;
  let pki: Pki;
  let c: Cluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ordinal-log-'));
    pki = await ensurePki(join(dir, 'pki'));
    c = await startCluster({
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      store: 'memory',
      pki,
      nodes: 1,
      simReadyDelayMs: 0,
      dnsPort: -1,
    });
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string): Promise<{ code: number; body: string; type: string }> =>
    new Promise((resolve, reject) => {
      const u = new URL(c.url);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path,
          ca: pki.caCertPem,
          cert: pki.adminCertPem,
          key: pki.adminKeyPem,
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () =>
            resolve({ code: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('streams from the node source, refuses bad requests, and is empty without a source', async () => {
    for (const [name, containers] of [
      ['one', [{ name: 'web', image: 'x' }]],
      [
        'two',
        [
          { name: 'a', image: 'x' },
          { name: 'b', image: 'x' },
        ],
      ],
    ] as const) {
      await c.client.create(PODS, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { containers },
      });
    }
    await waitFor(async () => {
      const p = await c.client.get(PODS, 'default', 'one');
      return (p.status as { phase?: string }).phase === 'Running';
    });
    const empty = await get('/api/v1/namespaces/default/pods/one/log');
    expect(empty).toMatchObject({ code: 200, body: '', type: 'text/plain' });

    const seen: string[] = [];
    const unregister = c.logs.register('sim-0', {
      async *stream(pod, opts) {
        seen.push(`${pod.metadata.name}/${opts.container} tail=${opts.tailLines ?? '-'}`);
        yield 'hello\n';
        yield Buffer.from('world\n');
      },
    });
    try {
      expect(await get('/api/v1/namespaces/default/pods/one/log?tailLines=2')).toMatchObject({
        code: 200,
        body: 'hello\nworld\n',
      });
      expect(await get('/api/v1/namespaces/default/pods/two/log?container=b&limitBytes=3')).toMatchObject({
        code: 200,
        body: 'hel',
      });
      expect(seen).toEqual(['one/web tail=2', 'two/b tail=-']);
    } finally {
      unregister();
    }
    const noContainer = await get('/api/v1/namespaces/default/pods/two/log');
    expect(noContainer.code).toBe(400);
    expect(JSON.parse(noContainer.body)).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      message: 'a container name must be specified for pod two, choose one of: [a b]',
    });
    expect((await get('/api/v1/namespaces/default/pods/one/log?container=zz')).code).toBe(400);
    expect((await get('/api/v1/namespaces/default/pods/one/log?tailLines=-3')).code).toBe(422);
    expect((await get('/api/v1/namespaces/default/pods/ghost/log')).code).toBe(404);
    expect((await get('/api/v1/namespaces/default/pods/one/log?sinceSeconds=abc')).code).toBe(400);
    // Still healthy after the refusals.
    expect(await get('/readyz')).toMatchObject({ code: 200 });
  }, 60_000);
});
