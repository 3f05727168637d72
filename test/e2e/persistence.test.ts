/**
 * Durability of `ordinal up`: a clean SIGTERM restart keeps every object, and a
 * SIGKILL in the middle of a write load loses no acknowledged (201) write.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from './api.js';
import { cleanup, HAVE_KUBECTL, type RunningCluster, SKIP_REASON, startOrdinal } from './harness.js';

const running: RunningCluster[] = [];

async function start(dir: string): Promise<RunningCluster> {
  const c = await startOrdinal([], dir);
  running.push(c);
  return c;
}

afterEach(async () => {
  const dirs = new Set<string>();
  for (const c of running.splice(0)) {
    await c.stop('SIGKILL');
    dirs.add(c.dir);
  }
  for (const c of [...dirs].map((dir) => ({ dir }) as RunningCluster)) cleanup(c);
});

describe.skipIf(!HAVE_KUBECTL)(`restart persistence${HAVE_KUBECTL ? '' : ` (${SKIP_REASON})`}`, () => {
  it('SIGTERM exits 0 and a restart on the same data dir keeps every object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordinal-e2e-'));
    const c1 = await start(dir);
    await c1.k(['create', 'namespace', 'keep']);
    await c1.k(['-n', 'keep', 'create', 'configmap', 'cfg', '--from-literal=a=1']);
    await c1.k(['-n', 'keep', 'create', 'deployment', 'api', '--image=nginx:1.25', '--replicas=2']);
    await c1.k(['-n', 'keep', 'create', 'secret', 'generic', 'sec', '--from-literal=p=q']);
    await c1.k(['-n', 'keep', 'label', 'configmap', 'cfg', 'tier=x']);
    const before = JSON.parse(await c1.k(['-n', 'keep', 'get', 'configmap', 'cfg', '-o', 'json'])) as {
      metadata: { uid: string; resourceVersion: string };
    };
    expect(await c1.stop('SIGTERM')).toBe(0);

    const c2 = await start(dir);
    const after = JSON.parse(await c2.k(['-n', 'keep', 'get', 'configmap', 'cfg', '-o', 'json'])) as {
      metadata: { uid: string; resourceVersion: string; labels: Record<string, string> };
      data: Record<string, string>;
    };
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.labels).toEqual({ tier: 'x' });
    expect(after.data).toEqual({ a: '1' });
    expect(await c2.k(['-n', 'keep', 'get', 'deployment', 'api', '-o', 'jsonpath={.spec.replicas}'])).toBe(
      '2',
    );
    expect(await c2.k(['-n', 'keep', 'get', 'secret', 'sec', '-o', 'jsonpath={.data.p}'])).toBe(
      Buffer.from('q').toString('base64'),
    );
    const ns = await c2.k(['get', 'namespace', 'keep']);
    expect(ns).toMatch(/^keep\s+Active\s+/m);
    // New writes continue with larger resourceVersions.
    const created = JSON.parse(await c2.k(['-n', 'keep', 'create', 'configmap', 'new', '-o', 'json'])) as {
      metadata: { resourceVersion: string };
    };
    expect(Number(created.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    expect(await c2.stop('SIGTERM')).toBe(0);
  });
});

describe('kill -9 durability', () => {
  it('every ConfigMap acknowledged with 201 survives SIGKILL mid-load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordinal-e2e-'));
    const c1 = await start(dir);
    const api = apiClient(c1);
    const acked: string[] = [];
    let attempted = 0;
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const name = `cm-${w}-${i}`;
        attempted++;
        try {
          const r = await api.request('POST', '/api/v1/namespaces/default/configmaps', {
            body: JSON.stringify({
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name },
              data: { w: String(w), i: String(i) },
            }),
            contentType: 'application/json',
            timeoutMs: 5_000,
          });
          if (r.status === 201) acked.push(name);
          else throw new Error(`unexpected ${r.status}: ${r.body}`);
        } catch (e) {
          if (stop) return; // the server died under us: not acknowledged
          throw e;
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    // Let the load build up, then pull the plug while requests are in flight.
    while (acked.length < 300) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    const code = await c1.stop('SIGKILL');
    expect(code).toBeNull();
    await Promise.all(workers);
    api.close();
    expect(acked.length).toBeGreaterThanOrEqual(300);

    const c2 = await start(dir);
    const api2 = apiClient(c2);
    try {
      const list = await api2.json<{ items: { metadata: { name: string }; data: Record<string, string> }[] }>(
        'GET',
        '/api/v1/namespaces/default/configmaps',
      );
      expect(list.status).toBe(200);
      const present = new Map(list.body.items.map((i) => [i.metadata.name, i]));
      const missing = acked.filter((n) => !present.has(n));
      expect(
        missing,
        `${missing.length} of ${acked.length} acknowledged writes lost (${attempted} attempted)`,
      ).toEqual([]);
      for (const name of acked.slice(0, 20)) {
        const [, w, i] = name.split('-');
        expect(present.get(name)?.data).toEqual({ w, i });
      }
      // The store is consistent enough to keep working.
      const more = await api2.json('POST', '/api/v1/namespaces/default/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'after-crash' },
      });
      expect(more.status).toBe(201);
    } finally {
      api2.close();
    }
  });
});
