import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/errors.js';
import { goFormat, strategicMergePatch } from './strategic-merge-patch.js';
import { ANY, S, type TypeSchema } from './type-schema.js';

const envVar = S.object({ name: S.scalar(), value: S.scalar() });
const port = S.object({ containerPort: S.scalar(), protocol: S.scalar(), name: S.scalar() });
const container = S.object({
  name: S.scalar(),
  image: S.scalar(),
  args: S.atomicList(),
  command: S.atomicList(),
  env: S.mapList('name', envVar),
  ports: S.mapList('containerPort', port),
  resources: S.object({ limits: S.map(), requests: S.map() }),
});
const volume = S.object({
  name: S.scalar(),
  emptyDir: S.object({ medium: S.scalar() }),
  hostPath: S.object({ path: S.scalar() }),
});
const podSpec = S.object({
  containers: S.mapList('name', container),
  initContainers: S.mapList('name', container),
  volumes: S.mapList('name', volume, { patchStrategy: 'merge,retainKeys' }),
  tolerations: S.atomicList(S.object({ key: S.scalar() })),
  terminationGracePeriodSeconds: S.scalar(),
});
const objectMeta = S.object({
  name: S.scalar(),
  labels: S.map(),
  annotations: S.map(),
  finalizers: S.setList(),
  ownerReferences: S.mapList('uid', S.object({ uid: S.scalar(), name: S.scalar() })),
});
const template = S.object({ metadata: objectMeta, spec: podSpec });
const workload: TypeSchema = S.object({
  apiVersion: S.scalar(),
  kind: S.scalar(),
  metadata: objectMeta,
  spec: S.object({
    replicas: S.scalar(),
    serviceName: S.scalar(),
    selector: S.object({ matchLabels: S.map() }),
    strategy: S.object(
      { type: S.scalar(), rollingUpdate: S.object({ maxSurge: S.scalar(), maxUnavailable: S.scalar() }) },
      { patchStrategy: 'retainKeys' },
    ),
    template,
  }),
});

function expectStatus(fn: () => unknown, code: number, message: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    const se = e as StatusError;
    expect({ code: se.code, message: se.message }).toEqual({ code, message });
    return;
  }
  throw new Error('expected a StatusError');
}

describe('strategicMergePatch: kubectl apply v1 -> v2 (reference doc section 3)', () => {
  const live = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'api',
      finalizers: ['example.com/x', 'example.com/y'],
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"v":1}\n' },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'api' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: {
          containers: [
            {
              name: 'a',
              image: 'a:1',
              args: ['--y'],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              ports: [
                { containerPort: 80, protocol: 'TCP' },
                { containerPort: 443, protocol: 'TCP' },
              ],
            },
            { name: 'b', image: 'b:1' },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
          terminationGracePeriodSeconds: 30,
        },
      },
    },
  };
  const patch = {
    metadata: {
      '$deleteFromPrimitiveList/finalizers': ['example.com/y'],
      '$setElementOrder/finalizers': ['example.com/x'],
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"v":2}\n' },
    },
    spec: {
      strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' },
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'a' }],
          '$setElementOrder/volumes': [{ name: 'data' }],
          containers: [
            {
              '$setElementOrder/env': [{ name: 'B' }],
              '$setElementOrder/ports': [{ containerPort: 80 }],
              args: ['--x'],
              env: [{ $patch: 'delete', name: 'A' }],
              image: 'a:2',
              name: 'a',
              ports: [{ $patch: 'delete', containerPort: 443 }],
            },
            { $patch: 'delete', name: 'b' },
          ],
          volumes: [
            {
              $retainKeys: ['hostPath', 'name'],
              emptyDir: null,
              hostPath: { path: '/tmp/data' },
              name: 'data',
            },
          ],
        },
      },
    },
  };
  const wirePatch = structuredClone(patch);

  it('produces the v2 object', () => {
    const liveCopy = structuredClone(live);
    const patchCopy = structuredClone(wirePatch);
    const out = strategicMergePatch(live, wirePatch, workload);
    expect(out).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'api',
        finalizers: ['example.com/x'],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"v":2}\n' },
      },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'api' } },
        strategy: { type: 'Recreate' },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [
              {
                name: 'a',
                image: 'a:2',
                args: ['--x'],
                env: [{ name: 'B', value: '2' }],
                ports: [{ containerPort: 80, protocol: 'TCP' }],
              },
            ],
            volumes: [{ name: 'data', hostPath: { path: '/tmp/data' } }],
            terminationGracePeriodSeconds: 30,
          },
        },
      },
    });
    // inputs untouched
    expect(live).toEqual(liveCopy);
    expect(wirePatch).toEqual(patchCopy);
  });

  it('does not share structure with its inputs', () => {
    const out = strategicMergePatch(live, wirePatch, workload) as typeof live;
    expect(out.spec.selector).not.toBe(live.spec.selector);
    const outVolume = out.spec.template.spec.volumes[0] as Record<string, unknown>;
    expect(outVolume.hostPath).toEqual(wirePatch.spec.template.spec.volumes[0]?.hostPath);
    expect(outVolume.hostPath).not.toBe(wirePatch.spec.template.spec.volumes[0]?.hostPath);
    out.spec.selector.matchLabels.app = 'changed';
    expect(live.spec.selector.matchLabels.app).toBe('api');
  });
});

describe('strategicMergePatch: kubectl rollout undo statefulset', () => {
  it('replaces the whole template with $patch: replace', () => {
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 3,
        serviceName: 'web',
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/restartedAt': 'x' } },
          spec: {
            containers: [
              { name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, name: 'web' }] },
              { name: 'sidecar', image: 'busybox' },
            ],
            terminationGracePeriodSeconds: 10,
          },
        },
      },
    };
    const body = JSON.parse(
      '{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.24"}]}}}}',
    );
    expect(strategicMergePatch(sts, body, workload)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 3,
        serviceName: 'web',
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.24' }] },
        },
      },
    });
  });
});

describe('strategicMergePatch: maps', () => {
  it('merges recursively, null deletes, new values lose nulls and directives', () => {
    const orig = { metadata: { labels: { a: '1', b: '2' } }, spec: { replicas: 1, paused: false } };
    const patch = {
      metadata: { labels: { b: null, c: '3' } },
      spec: {
        paused: true,
        extra: { keep: 1, drop: null, $retainKeys: ['keep'], list: [{ $patch: 'delete' }, 1] },
      },
      missing: null,
    };
    expect(strategicMergePatch(orig, patch, workload)).toEqual({
      metadata: { labels: { a: '1', c: '3' } },
      spec: { replicas: 1, paused: true, extra: { keep: 1, list: [1] } },
    });
  });

  it('kubectl rollout restart / pause shapes', () => {
    const orig = { spec: { paused: false, template: { metadata: { labels: { app: 'x' } } } } };
    const patch = {
      spec: {
        paused: true,
        template: {
          metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } },
        },
      },
    };
    expect(strategicMergePatch(orig, patch, workload)).toEqual({
      spec: {
        paused: true,
        template: {
          metadata: {
            labels: { app: 'x' },
            annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' },
          },
        },
      },
    });
  });

  it('$patch: delete on a map empties it; $patch: replace replaces it', () => {
    const orig = { spec: { selector: { matchLabels: { a: '1' } }, strategy: { type: 'Recreate' } } };
    expect(
      strategicMergePatch(
        orig,
        {
          spec: {
            selector: { $patch: 'delete' },
            strategy: { $patch: 'replace', rollingUpdate: { maxSurge: 1 } },
          },
        },
        workload,
      ),
    ).toEqual({ spec: { selector: {}, strategy: { rollingUpdate: { maxSurge: 1 } } } });
  });

  it('top-level $patch: delete yields an empty object', () => {
    expect(strategicMergePatch({ a: 1 }, { $patch: 'delete' }, ANY)).toEqual({});
  });

  it('replaces values of different types and scalars', () => {
    expect(strategicMergePatch({ a: 'x', b: { c: 1 }, d: [1] }, { a: { n: 1 }, b: 'y', d: 5 }, ANY)).toEqual({
      a: { n: 1 },
      b: 'y',
      d: 5,
    });
  });

  it('a map field with patch strategy replace is replaced whole', () => {
    const schema = S.object({ m: S.map(S.scalar(), { patchStrategy: 'replace' }) });
    expect(strategicMergePatch({ m: { a: '1', b: '2' } }, { m: { c: '3' } }, schema)).toEqual({
      m: { c: '3' },
    });
  });

  it('treats a null patch as a no-op and a missing original as {}', () => {
    expect(strategicMergePatch({ a: 1 }, null, ANY)).toEqual({ a: 1 });
    expect(strategicMergePatch(undefined, { a: 1 }, ANY)).toEqual({ a: 1 });
  });

  it('rejects a non-object patch', () => {
    expectStatus(
      () => strategicMergePatch({}, [1], ANY),
      400,
      'json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
  });

  it('rejects unknown $patch values on maps', () => {
    expectStatus(
      () => strategicMergePatch({ spec: { a: 1 } }, { spec: { $patch: 'frobnicate', b: 2 } }, ANY),
      400,
      'unknown patch type: frobnicate in map: map[$patch:frobnicate b:2]',
    );
    expectStatus(
      () => strategicMergePatch({ spec: { a: 1 } }, { spec: { $patch: 'merge' } }, ANY),
      400,
      'unknown patch type: merge in map: map[$patch:merge]',
    );
  });
});

describe('strategicMergePatch: lists', () => {
  const orig = {
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
            { name: 'b', image: 'b:1' },
          ],
          tolerations: [{ key: 'k1' }, { key: 'k2' }],
        },
      },
    },
  };

  it('merges by merge key and appends new items (new items first, as upstream orders them)', () => {
    const out = strategicMergePatch(
      orig,
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'c', image: 'c:1' },
                { name: 'a', env: [{ name: 'Y', value: '2' }] },
              ],
            },
          },
        },
      },
      workload,
    );
    expect(out).toEqual({
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'c', image: 'c:1' },
              {
                name: 'a',
                image: 'a:1',
                env: [
                  { name: 'Y', value: '2' },
                  { name: 'X', value: '1' },
                ],
              },
              { name: 'b', image: 'b:1' },
            ],
            tolerations: [{ key: 'k1' }, { key: 'k2' }],
          },
        },
      },
    });
  });

  it('replaces lists without a merge strategy and lists with unknown schema', () => {
    expect(
      strategicMergePatch(
        { spec: { template: { spec: { tolerations: [{ key: 'k1' }] } } }, other: [{ name: 'x', v: 1 }] },
        { spec: { template: { spec: { tolerations: [{ key: 'k3' }] } } }, other: [{ name: 'x' }] },
        workload,
      ),
    ).toEqual({ spec: { template: { spec: { tolerations: [{ key: 'k3' }] } } }, other: [{ name: 'x' }] });
  });

  it('$patch: replace as a list element replaces the list', () => {
    const out = strategicMergePatch(
      orig,
      { spec: { template: { spec: { containers: [{ name: 'z', image: 'z' }, { $patch: 'replace' }] } } } },
      workload,
    );
    expect(out).toEqual({
      spec: {
        template: {
          spec: { containers: [{ name: 'z', image: 'z' }], tolerations: [{ key: 'k1' }, { key: 'k2' }] },
        },
      },
    });
  });

  it('$patch: delete removes all matching elements', () => {
    const out = strategicMergePatch(
      {
        spec: {
          template: { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'a', image: 'dup' }] } },
        },
      },
      { spec: { template: { spec: { containers: [{ name: 'a', $patch: 'delete' }] } } } },
      workload,
    );
    expect(out).toEqual({ spec: { template: { spec: { containers: [{ name: 'b' }] } } } });
  });

  it('rejects $patch: merge and unknown $patch in list elements', () => {
    const base = { spec: { template: { spec: { containers: [{ name: 'a' }] } } } };
    expectStatus(
      () =>
        strategicMergePatch(
          base,
          { spec: { template: { spec: { containers: [{ $patch: 'merge' }] } } } },
          workload,
        ),
      400,
      'merging lists cannot yet be specified in the patch',
    );
    expectStatus(
      () =>
        strategicMergePatch(
          base,
          { spec: { template: { spec: { containers: [{ $patch: 'oops', name: 'a' }] } } } },
          workload,
        ),
      400,
      'unknown patch type: oops in map: map[$patch:oops name:a]',
    );
  });

  it('rejects merge-list items without the merge key', () => {
    expectStatus(
      () =>
        strategicMergePatch(
          { spec: { template: { spec: { containers: [{ name: 'a' }] } } } },
          { spec: { template: { spec: { containers: [{ image: 'x' }] } } } },
          workload,
        ),
      400,
      'map: map[image:x] does not contain declared merge key: name',
    );
    expectStatus(
      () =>
        strategicMergePatch(
          { spec: { template: { spec: { containers: [{ name: 'a' }] } } } },
          { spec: { template: { spec: { containers: [{ $patch: 'delete' }] } } } },
          workload,
        ),
      400,
      'map: map[$patch:delete] does not contain declared merge key: name',
    );
  });

  it('rejects lists of lists with 422 and mixed element types with 400', () => {
    const schema = S.object({ l: S.setList() });
    expectStatus(
      () => strategicMergePatch({ l: [['a']] }, { l: [['b']] }, schema),
      422,
      'the server rejected our request due to an error in our request',
    );
    expectStatus(
      () => strategicMergePatch({ l: ['a'] }, { l: [1] }, schema),
      400,
      'list element types are not identical: [[a] [1]]',
    );
  });

  it('unions primitive merge lists (finalizers) in upstream order', () => {
    expect(
      strategicMergePatch(
        { metadata: { finalizers: ['a', 'b'] } },
        { metadata: { finalizers: ['c', 'a'] } },
        workload,
      ),
    ).toEqual({ metadata: { finalizers: ['c', 'a', 'b'] } });
  });

  it('$deleteFromPrimitiveList removes values', () => {
    expect(
      strategicMergePatch(
        { metadata: { finalizers: ['a', 'b', 'c'] } },
        { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'zz'] } },
        workload,
      ),
    ).toEqual({ metadata: { finalizers: ['a', 'c'] } });
    // nothing to delete from
    expect(
      strategicMergePatch(
        { metadata: {} },
        { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } },
        workload,
      ),
    ).toEqual({ metadata: {} });
  });

  it('rejects a malformed $deleteFromPrimitiveList key', () => {
    expectStatus(
      () => strategicMergePatch({}, { $deleteFromPrimitiveListfinalizers: ['x'] }, workload),
      400,
      'invalid patch format of primitive list',
    );
  });
});

describe('strategicMergePatch: $setElementOrder', () => {
  it('reorders a primitive list', () => {
    expect(
      strategicMergePatch(
        { metadata: { finalizers: ['a', 'b', 'c'] } },
        { metadata: { '$setElementOrder/finalizers': ['c', 'a', 'b'] } },
        workload,
      ),
    ).toEqual({ metadata: { finalizers: ['c', 'a', 'b'] } });
  });

  it('orders merged maps and keeps server-only items where the live list had them', () => {
    const out = strategicMergePatch(
      {
        spec: {
          template: {
            spec: {
              containers: [{ name: 'a' }, { name: 'sidecar', image: 's' }, { name: 'b', image: 'b:1' }],
            },
          },
        },
      },
      {
        spec: {
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
              containers: [{ name: 'b', image: 'b:2' }],
            },
          },
        },
      },
      workload,
    );
    expect(out).toEqual({
      spec: {
        template: {
          spec: { containers: [{ name: 'sidecar', image: 's' }, { name: 'b', image: 'b:2' }, { name: 'a' }] },
        },
      },
    });
  });

  it('adds new items in directive order', () => {
    const out = strategicMergePatch(
      { spec: { template: { spec: { containers: [{ name: 'a' }] } } } },
      {
        spec: {
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'a' }, { name: 'n' }],
              containers: [{ name: 'n', image: 'n' }],
            },
          },
        },
      },
      workload,
    );
    expect(out).toEqual({
      spec: { template: { spec: { containers: [{ name: 'a' }, { name: 'n', image: 'n' }] } } },
    });
  });

  it('creates a list that was absent', () => {
    const out = strategicMergePatch(
      { spec: { template: { spec: {} } } },
      {
        spec: {
          template: {
            spec: {
              '$setElementOrder/initContainers': [{ name: 'i1' }, { name: 'i2' }],
              initContainers: [
                { name: 'i1' },
                { name: 'i2', '$setElementOrder/env': [{ name: 'E' }], env: [{ name: 'E' }] },
              ],
            },
          },
        },
      },
      workload,
    );
    expect(out).toEqual({
      spec: {
        template: { spec: { initContainers: [{ name: 'i1' }, { name: 'i2', env: [{ name: 'E' }] }] } },
      },
    });
  });

  it('rejects patch items out of directive order', () => {
    expectStatus(
      () =>
        strategicMergePatch(
          { spec: { template: { spec: { containers: [{ name: 'a' }, { name: 'b' }] } } } },
          {
            spec: {
              template: {
                spec: {
                  '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
                  containers: [{ name: 'b' }, { name: 'a' }],
                },
              },
            },
          },
          workload,
        ),
      400,
      "The order in patch list:\n[map[name:b] map[name:a]]\n doesn't match $setElementOrder list:\n[map[name:a] map[name:b]]\n",
    );
  });

  it('rejects a non-list directive', () => {
    expectStatus(
      () => strategicMergePatch({}, { '$setElementOrder/x': 'a' }, workload),
      400,
      'expected a []interface {}, but received a string',
    );
  });
});

describe('strategicMergePatch: $retainKeys', () => {
  it('clears keys not retained', () => {
    expect(
      strategicMergePatch(
        { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
        { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
        workload,
      ),
    ).toEqual({ spec: { strategy: { type: 'Recreate' } } });
  });

  it('rejects patch keys missing from the list and a non-list directive', () => {
    expectStatus(
      () => strategicMergePatch({ s: {} }, { s: { $retainKeys: ['a'], b: 1 } }, ANY),
      400,
      'invalid patch format of retainKeys',
    );
    expectStatus(
      () => strategicMergePatch({ s: {} }, { s: { $retainKeys: 'a' } }, ANY),
      400,
      'invalid patch format of retainKeys',
    );
  });
});

describe('goFormat', () => {
  it('renders values like Go %v', () => {
    expect(goFormat({ b: [1, 'x', true, null], a: { c: 0.5 } })).toBe('map[a:map[c:0.5] b:[1 x true <nil>]]');
    expect(goFormat(15000000)).toBe('15000000');
    expect(goFormat(1234567.5)).toBe('1.2345675e+06');
    expect(goFormat(0.00001)).toBe('1e-05');
  });
});

describe('strategicMergePatch: hostile keys', () => {
  it('keeps __proto__ as plain data', () => {
    const patch = JSON.parse('{"metadata":{"labels":{"__proto__":{"polluted":"yes"}}},"__proto__":{"x":1}}');
    const out = strategicMergePatch({ metadata: { labels: {} } }, patch, workload) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(out))).toEqual(patch);
  });
});
