/**
 * The HTTPS API without kubectl: authentication, public endpoints, and bad input
 * answered with upstream-shaped 4xx Status objects while the server stays healthy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiClient, apiClient, type StatusBody, tryJson } from './api.js';
import { cleanup, type RunningCluster, startOrdinal } from './harness.js';

const CM = '/api/v1/namespaces/default/configmaps';

describe('HTTPS API', () => {
  let c: RunningCluster;
  let api: ApiClient;
  let anon: ApiClient;

  beforeAll(async () => {
    c = await startOrdinal();
    api = apiClient(c);
    anon = apiClient(c, { auth: false });
  });
  afterAll(async () => {
    api?.close();
    anon?.close();
    if (c) {
      await c.stop();
      cleanup(c);
    }
  });

  const expectStatus = (r: { status: number; body: string }, code: number, reason: string): StatusBody => {
    const s = tryJson(r.body);
    expect(s, r.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
    expect(r.status, r.body).toBe(code);
    return s!;
  };

  describe('authentication', () => {
    it('rejects requests without credentials with 401 Unauthorized', async () => {
      for (const path of ['/api/v1/namespaces', '/api', '/apis', `${CM}/x`, '/openapi/v3']) {
        const r = await anon.request('GET', path);
        const s = expectStatus(r, 401, 'Unauthorized');
        expect(s.message).toBe('Unauthorized');
      }
      const w = await anon.request('POST', CM, {
        body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"anon"}}',
        contentType: 'application/json',
      });
      expectStatus(w, 401, 'Unauthorized');
      expect((await api.request('GET', `${CM}/anon`)).status).toBe(404);
    });

    it('rejects a bogus bearer token with 401', async () => {
      const bad = apiClient(c, { token: 'not-a-real-token' });
      try {
        expectStatus(await bad.request('GET', '/api/v1/namespaces'), 401, 'Unauthorized');
      } finally {
        bad.close();
      }
    });

    it('serves /healthz, /livez, /readyz and /version publicly', async () => {
      for (const path of ['/healthz', '/livez', '/readyz']) {
        const r = await anon.request('GET', path);
        expect(r.status, path).toBe(200);
        expect(r.body, path).toBe('ok');
      }
      const v = await anon.request('GET', '/version');
      expect(v.status).toBe(200);
      const info = JSON.parse(v.body) as Record<string, string>;
      expect(info).toMatchObject({ major: '1', minor: expect.stringMatching(/^3[23]$/) });
      expect(info.gitVersion).toMatch(/^v1\.3[23]\./);
      for (const key of ['gitCommit', 'gitTreeState', 'buildDate', 'goVersion', 'compiler', 'platform']) {
        expect(info, key).toHaveProperty(key);
      }
    });

    it('admin client certificate is accepted', async () => {
      const r = await api.json<{ kind: string }>('GET', '/api/v1/namespaces');
      expect(r.status).toBe(200);
      expect(r.body.kind).toBe('NamespaceList');
    });
  });

  describe('bad input', () => {
    const post = (path: string, body: string | Buffer, contentType = 'application/json') =>
      api.request('POST', path, { body, contentType });

    it('malformed JSON → 400 BadRequest', async () => {
      expectStatus(await post(CM, '{"apiVersion":"v1",'), 400, 'BadRequest');
      expectStatus(await post(CM, '[1,2,3]'), 400, 'BadRequest');
      expectStatus(await post(CM, 'null'), 400, 'BadRequest');
    });

    it('wrong kind for the URL → 400 BadRequest', async () => {
      const s = expectStatus(
        await post(CM, JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k1' } })),
        400,
        'BadRequest',
      );
      expect(s.message).toContain('cannot be handled as a ConfigMap');
      expectStatus(
        await post(
          CM,
          JSON.stringify({ apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'k2' } }),
        ),
        400,
        'BadRequest',
      );
    });

    it('name in body differs from the URL → 400 BadRequest', async () => {
      await api.json('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n1' } });
      const r = await api.request('PUT', `${CM}/n1`, {
        body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' } }),
        contentType: 'application/json',
      });
      const s = expectStatus(r, 400, 'BadRequest');
      expect(s.message).toBe('the name of the object (other) does not match the name on the URL (n1)');
      const ns = await api.request('POST', CM, {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'n2', namespace: 'kube-system' },
        }),
        contentType: 'application/json',
      });
      expectStatus(ns, 400, 'BadRequest');
    });

    it('oversized body (> 3 MiB) → 413 RequestEntityTooLarge', async () => {
      const big = JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'big' },
        data: { a: 'x'.repeat(3 * 1024 * 1024 + 10) },
      });
      const r = await post(CM, big);
      expectStatus(r, 413, 'RequestEntityTooLarge');
      expect((await api.request('GET', `${CM}/big`)).status).toBe(404);
    });

    it('a ConfigMap over 1 MiB of data → 422 Invalid', async () => {
      const r = await post(
        CM,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'large' },
          data: { a: 'x'.repeat(1024 * 1024 + 1) },
        }),
      );
      expectStatus(r, 422, 'Invalid');
    });

    it('invalid label selector → 400 BadRequest', async () => {
      for (const sel of ['a in (', 'a=b=c', '!!x', '=b', 'x in (a']) {
        const r = await api.request('GET', `${CM}?labelSelector=${encodeURIComponent(sel)}`);
        expectStatus(r, 400, 'BadRequest');
      }
      const f = await api.request('GET', `${CM}?fieldSelector=${encodeURIComponent('data.a=1')}`);
      expectStatus(f, 400, 'BadRequest');
    });

    it('unknown resource or group → 404 NotFound', async () => {
      expectStatus(await api.request('GET', '/api/v1/namespaces/default/flurbs'), 404, 'NotFound');
      expectStatus(await api.request('GET', '/apis/nope.example.com/v1/things'), 404, 'NotFound');
      expectStatus(await api.request('GET', '/api/v9/pods'), 404, 'NotFound');
      const nf = expectStatus(await api.request('GET', `${CM}/missing`), 404, 'NotFound');
      expect(nf.message).toBe('configmaps "missing" not found');
      expect(nf.details).toMatchObject({ name: 'missing', kind: 'configmaps' });
    });

    it('fieldValidation=Strict with an unknown field → 400 naming the field', async () => {
      const r = await post(
        `${CM}?fieldValidation=Strict`,
        JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 's1' }, dataa: { a: '1' } }),
      );
      const s = expectStatus(r, 400, 'BadRequest');
      expect(s.message).toBe('strict decoding error: unknown field "dataa"');
      const nested = await post(
        '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict',
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'd1' },
          spec: {
            selector: { matchLabels: { a: 'b' } },
            template: {
              metadata: { labels: { a: 'b' } },
              spec: { containers: [{ name: 'c', image: 'x', imagePolicy: 1 }] },
            },
          },
        }),
      );
      expect(expectStatus(nested, 400, 'BadRequest').message).toContain(
        'unknown field "spec.template.spec.containers[0].imagePolicy"',
      );
      // Warn (the default) accepts and warns.
      const warn = await post(
        `${CM}?fieldValidation=Warn`,
        JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 's2' }, dataa: {} }),
      );
      expect(warn.status).toBe(201);
      expect(warn.headers.warning).toBe('299 - "unknown field \\"dataa\\""');
    });

    it('a field of the wrong type → 400 BadRequest', async () => {
      for (const data of [[1, 2], 'str', 7]) {
        const r = await post(
          CM,
          JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wt' }, data }),
        );
        expectStatus(r, 400, 'BadRequest');
      }
      await api.json('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wt2' } });
      const p = await api.request('PATCH', `${CM}/wt2`, {
        body: '{"data":[1,2]}',
        contentType: 'application/merge-patch+json',
      });
      expect(p.status, p.body).toBeGreaterThanOrEqual(400);
      expect(p.status, p.body).toBeLessThan(500);
    });

    it('stale resourceVersion on update → 409 Conflict', async () => {
      const created = await api.json<{ metadata: { resourceVersion: string } }>('POST', CM, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'rv1' },
        data: { a: '1' },
      });
      expect(created.status).toBe(201);
      const stale = created.body.metadata.resourceVersion;
      const upd = await api.json('PUT', `${CM}/rv1`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'rv1', resourceVersion: stale },
        data: { a: '2' },
      });
      expect(upd.status).toBe(200);
      const r = await api.request('PUT', `${CM}/rv1`, {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'rv1', resourceVersion: stale },
          data: { a: '3' },
        }),
        contentType: 'application/json',
      });
      const s = expectStatus(r, 409, 'Conflict');
      expect(s.message).toBe(
        'Operation cannot be fulfilled on configmaps "rv1": the object has been modified; please apply your changes to the latest version and try again',
      );
      const dup = await api.request('POST', CM, {
        body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rv1' } }),
        contentType: 'application/json',
      });
      expect(expectStatus(dup, 409, 'AlreadyExists').message).toBe('configmaps "rv1" already exists');
    });

    it('unsupported media types → 415', async () => {
      expectStatus(await post(CM, 'hello', 'text/plain'), 415, 'UnsupportedMediaType');
      const p = await api.request('PATCH', `${CM}/rv1`, { body: '{}', contentType: 'application/json' });
      expectStatus(p, 415, 'UnsupportedMediaType');
    });

    it('virtual endpoints reject bad reviews, tokens, bindings and evictions with 4xx', async () => {
      const json = (path: string, body: unknown) =>
        api.request('POST', path, { body: JSON.stringify(body), contentType: 'application/json' });
      const ssar = await json('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {},
      });
      expect(expectStatus(ssar, 422, 'Invalid').message).toContain(
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      );
      const shortToken = await json('/api/v1/namespaces/default/serviceaccounts/default/token', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 60 },
      });
      expect(expectStatus(shortToken, 422, 'Invalid').message).toContain(
        'spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
      );
      const noSa = await json('/api/v1/namespaces/default/serviceaccounts/nobody/token', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {},
      });
      expectStatus(noSa, 404, 'NotFound');
      const pod = await api.json('POST', '/api/v1/namespaces/default/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'bind-me' },
        // Another scheduler's pod: ours leaves it for this test to bind.
        spec: { schedulerName: 'manual', containers: [{ name: 'c', image: 'nginx' }] },
      });
      expect(pod.status).toBe(201);
      const noTarget = await json('/api/v1/namespaces/default/pods/bind-me/binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'bind-me' },
        target: {},
      });
      expectStatus(noTarget, 422, 'Invalid');
      const bound = await json('/api/v1/namespaces/default/pods/bind-me/binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'bind-me' },
        target: { kind: 'Node', name: 'n1' },
      });
      expect(bound.status).toBe(201);
      const again = await json('/api/v1/namespaces/default/pods/bind-me/binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'bind-me' },
        target: { kind: 'Node', name: 'n2' },
      });
      expect(expectStatus(again, 409, 'Conflict').message).toContain('is already assigned to node "n1"');
      const evictMissing = await json('/api/v1/namespaces/default/pods/ghost/eviction', {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'ghost' },
      });
      expectStatus(evictMissing, 404, 'NotFound');
      const wrongVerb = await api.request('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
      expectStatus(wrongVerb, 405, 'MethodNotAllowed');
    });

    it('the server stays healthy after bad input', async () => {
      const r = await anon.request('GET', '/readyz');
      expect(r.status).toBe(200);
      const ok = await api.json('POST', CM, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'after' },
      });
      expect(ok.status).toBe(201);
    });
  });
});
