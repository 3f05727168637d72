/**
 * Randomised robustness: thousands of mutated manifests and patch bodies thrown at
 * create/update/patch endpoints. Every answer must be 2xx or 4xx — never a 5xx,
 * never a dropped connection — and the server must still be ready afterwards.
 * Seed with ORDINAL_FUZZ_SEED to replay a failure; the seed is printed on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiClient, apiClient } from './api.js';
import { cleanup, type RunningCluster, startOrdinal } from './harness.js';

const SEED = Number(process.env.ORDINAL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MAX_REQUESTS = Number(process.env.ORDINAL_FUZZ_REQUESTS ?? 3000);
const MAX_MS = 50_000;
const CONCURRENCY = 8;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Kind {
  path: string;
  base: (name: string) => { [k: string]: Json };
}

const podSpec = (): { [k: string]: Json } => ({
  containers: [
    {
      name: 'c',
      image: 'nginx:1.25',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      env: [{ name: 'A', value: '1' }],
      volumeMounts: [{ name: 'v', mountPath: '/data' }],
      resources: { limits: { cpu: '100m', memory: '64Mi' } },
    },
  ],
  volumes: [{ name: 'v', emptyDir: {} }],
  restartPolicy: 'Always',
});

const KINDS: Kind[] = [
  {
    path: '/api/v1/namespaces/fuzz/configmaps',
    base: (name) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, labels: { a: 'b' } },
      data: { k: 'v' },
    }),
  },
  {
    path: '/api/v1/namespaces/fuzz/secrets',
    base: (name) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name },
      type: 'Opaque',
      stringData: { p: 'q' },
    }),
  },
  {
    path: '/api/v1/namespaces/fuzz/services',
    base: (name) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { selector: { app: 'x' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
    }),
  },
  {
    path: '/api/v1/namespaces/fuzz/pods',
    base: (name) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app: 'x' } },
      spec: podSpec(),
    }),
  },
  {
    path: '/api/v1/namespaces/fuzz/serviceaccounts',
    base: (name) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } }),
  },
  {
    path: '/api/v1/namespaces/fuzz/persistentvolumeclaims',
    base: (name) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    }),
  },
  {
    path: '/apis/apps/v1/namespaces/fuzz/deployments',
    base: (name) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
        template: { metadata: { labels: { app: name } }, spec: podSpec() },
      },
    }),
  },
  {
    path: '/apis/apps/v1/namespaces/fuzz/statefulsets',
    base: (name) => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name },
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: podSpec() },
        volumeClaimTemplates: [
          {
            metadata: { name: 'v' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    }),
  },
  {
    path: '/apis/rbac.authorization.k8s.io/v1/namespaces/fuzz/roles',
    base: (name) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
    }),
  },
];

const CONTENT_TYPES = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-8',
  'application/cbor',
  '',
];
const PATCH_TYPES = [
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
  'application/json',
  'text/plain',
];

class Fuzzer {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  string(): string {
    switch (this.int(8)) {
      case 0:
        return '';
      case 1:
        return 'x'.repeat(this.pick([63, 64, 253, 254, 1000, 70_000]));
      case 2:
        return String.fromCharCode(...Array.from({ length: 1 + this.int(20) }, () => this.int(0x2fff)));
      case 3:
        return this.pick(['..', '.', '-a-', 'A_B', 'a/b', '$patch', '\u0000', '💥', 'null', 'true', '1e400']);
      case 4:
        return `${this.int(1e6)}`;
      default:
        return Array.from(
          { length: 1 + this.int(12) },
          () => 'abcdefghijklmnopqrstuvwxyz0123456789-.'[this.int(38)],
        ).join('');
    }
  }
  scalar(): Json {
    switch (this.int(7)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1.5, 1e308]);
      default:
        return this.string();
    }
  }
  junk(depth = 0): Json {
    if (depth > 3 || this.chance(0.4)) return this.scalar();
    if (this.chance(0.5)) return Array.from({ length: this.int(4) }, () => this.junk(depth + 1));
    const o: { [k: string]: Json } = {};
    for (let i = this.int(4); i > 0; i--) o[this.string().slice(0, 30)] = this.junk(depth + 1);
    return o;
  }
  /** Collects paths to every value in a JSON tree. */
  paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
    out.push(prefix);
    if (Array.isArray(v)) {
      // forEach skips the holes of sparse arrays the mutator can create.
      v.forEach((x, i) => {
        this.paths(x, [...prefix, i], out);
      });
    } else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) this.paths(x, [...prefix, k], out);
    return out;
  }
  mutate(obj: { [k: string]: Json }, keepName?: string): { [k: string]: Json } {
    const o = structuredClone(obj);
    for (let n = 1 + this.int(4); n > 0; n--) {
      const ps = this.paths(o).filter((p) => p.length > 0);
      if (ps.length === 0) break;
      const p = this.pick(ps);
      let parent: Json = o;
      for (const seg of p.slice(0, -1)) parent = (parent as { [k: string]: Json })[seg as string] as Json;
      if (parent === null || typeof parent !== 'object') continue;
      const key = p[p.length - 1]!;
      const holder = parent as { [k: string]: Json };
      switch (this.int(5)) {
        case 0:
          if (Array.isArray(parent)) parent.splice(key as number, 1);
          else delete holder[key as string];
          break;
        case 1:
          holder[key as string] = this.scalar();
          break;
        case 2:
          holder[key as string] = this.junk();
          break;
        case 3:
          holder[this.string().slice(0, 20)] = this.junk();
          break;
        default: {
          const v = holder[key as string];
          // Type changes: wrap in array, stringify, or turn into an object.
          holder[key as string] = this.pick<Json>([[v ?? null], JSON.stringify(v ?? null), { v: v ?? null }]);
        }
      }
    }
    if (this.chance(0.1)) o.kind = this.pick(['Pod', 'Secret', 'Nope', '', 'ConfigMapList']);
    if (this.chance(0.05)) o.apiVersion = this.pick(['v2', 'apps/v1', 'x/y/z', '']);
    if (
      keepName &&
      this.chance(0.8) &&
      o.metadata &&
      typeof o.metadata === 'object' &&
      !Array.isArray(o.metadata)
    ) {
      o.metadata.name = keepName;
    }
    return o;
  }
  patchBody(base: { [k: string]: Json }, type: string): string {
    if (this.chance(0.1)) return this.pick(['', '{', 'null', '[]', '"x"', '1', '{}', '---\n: :']);
    if (type === 'application/json-patch+json') {
      const ops = Array.from({ length: 1 + this.int(3) }, () => {
        const p = this.pick(this.paths(base));
        const op: { [k: string]: Json } = {
          op: this.pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus']),
          path: `/${p.join('/')}`,
        };
        if (this.chance(0.7)) op.value = this.junk();
        if (this.chance(0.3)) op.from = `/${this.pick(this.paths(base)).join('/')}`;
        if (this.chance(0.1)) op.path = this.string();
        return op as Json;
      });
      return JSON.stringify(this.chance(0.05) ? ops[0] : ops);
    }
    const patch = this.mutate(base);
    if (type === 'application/strategic-merge-patch+json' && this.chance(0.3)) {
      patch[
        this.pick([
          '$patch',
          '$retainKeys',
          '$setElementOrder/containers',
          '$deleteFromPrimitiveList/finalizers',
        ])
      ] = this.junk();
    }
    if (type !== 'application/apply-patch+yaml' && this.chance(0.5)) {
      delete patch.apiVersion;
      delete patch.kind;
    }
    return JSON.stringify(patch);
  }
}

interface Failure {
  seed: number;
  n: number;
  method: string;
  path: string;
  contentType: string;
  body: string;
  result: string;
}

describe('fuzz: mutated manifests and patches', () => {
  let c: RunningCluster;
  let api: ApiClient;

  beforeAll(async () => {
    c = await startOrdinal();
    api = apiClient(c);
    const ns = await api.json('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'fuzz' },
    });
    expect(ns.status).toBe(201);
  });
  afterAll(async () => {
    api?.close();
    if (c) {
      await c.stop();
      cleanup(c);
    }
  });

  it(`never answers 5xx or drops the connection (seed ${SEED})`, async () => {
    const f = new Fuzzer(rng(SEED));
    const failures: Failure[] = [];
    const statuses = new Map<number, number>();
    const started = Date.now();
    let n = 0;
    // Valid objects to update and patch, one per kind.
    for (const [i, kind] of KINDS.entries()) {
      const r = await api.request('POST', kind.path, {
        body: JSON.stringify(kind.base(`seed-${i}`)),
        contentType: 'application/json',
      });
      expect(r.status, `${kind.path}: ${r.body}`).toBe(201);
    }

    const one = async (): Promise<void> => {
      const i = n++;
      const ki = f.int(KINDS.length);
      const kind = KINDS[ki]!;
      const target = `seed-${ki}`;
      let method: string;
      let path: string;
      let contentType: string;
      let body: string;
      const op = f.int(10);
      if (op < 4) {
        method = 'POST';
        path =
          kind.path +
          f.pick(['', '', '', '?fieldValidation=Strict', '?dryRun=All', '?fieldManager=fz', '?bogus=1']);
        contentType = f.chance(0.85) ? 'application/json' : f.pick(CONTENT_TYPES);
        body = JSON.stringify(f.mutate(kind.base(`fz-${i}`)));
        if (f.chance(0.03)) body = `{"a":"${'y'.repeat(3_200_000)}"}`;
        if (f.chance(0.03)) body = body.slice(0, f.int(body.length));
      } else if (op < 6) {
        method = 'PUT';
        path = `${kind.path}/${f.chance(0.9) ? target : encodeURIComponent(f.string().slice(0, 40) || 'x')}`;
        contentType = f.chance(0.9) ? 'application/json' : f.pick(CONTENT_TYPES);
        body = JSON.stringify(f.mutate(kind.base(target), target));
      } else {
        method = 'PATCH';
        contentType = f.pick(PATCH_TYPES);
        const q =
          contentType === 'application/apply-patch+yaml'
            ? `?fieldManager=fz${f.pick(['', '&force=true'])}`
            : '';
        path = `${kind.path}/${f.chance(0.9) ? target : `fz-missing-${i}`}${q}`;
        body = f.patchBody(kind.base(target), contentType);
      }
      const rec = (result: string): void => {
        if (failures.length < 25)
          failures.push({
            seed: SEED,
            n: i,
            method,
            path,
            contentType,
            body: body.slice(0, 400),
            result: result.slice(0, 400),
          });
      };
      try {
        const r = await api.request(method, path, {
          body,
          contentType: contentType || undefined,
          timeoutMs: 20_000,
        });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (!((r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500)))
          rec(`${r.status} ${r.body}`);
      } catch (e) {
        rec(`connection error: ${String(e)}`);
      }
    };

    const worker = async (): Promise<void> => {
      while (n < MAX_REQUESTS && Date.now() - started < MAX_MS) await one();
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const ready = await api.request('GET', '/readyz');
    const summary = `seed=${SEED} requests=${n} in ${Date.now() - started} ms, statuses=${JSON.stringify(Object.fromEntries(statuses))}`;
    console.log(`fuzz: ${summary}`);
    expect(failures, `fuzz failures (replay with ORDINAL_FUZZ_SEED=${SEED}); ${summary}`).toEqual([]);
    expect(ready.status, summary).toBe(200);
    expect(ready.body).toBe('ok');
    // The API still serves reads and writes correctly.
    const list = await api.json<{ kind: string }>('GET', '/api/v1/namespaces/fuzz/configmaps');
    expect(list.status).toBe(200);
    expect(list.body.kind).toBe('ConfigMapList');
    const ok = await api.json('POST', '/api/v1/namespaces/fuzz/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'post-fuzz' },
    });
    expect(ok.status).toBe(201);
    expect(n).toBeGreaterThanOrEqual(Math.min(MAX_REQUESTS, 1000));
  });
});
