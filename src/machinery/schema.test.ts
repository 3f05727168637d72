import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApi } from '../../scripts/gen-openapi.js';
import { handleOpenApi } from '../apiserver/openapi.js';
import {
  openapiDir,
  openapiDocument,
  openapiIndex,
  schemaFor,
  setOpenApiDir,
  strictDecodingMessage,
  unknownFields,
} from './schema.js';
import { elemSchema, fieldSchema, hasPatchStrategy, type TypeSchema } from './type-schema.js';

// Always generate fresh documents from the current generator into a temp dir, so the
// tests neither depend on a previous build nor pass without schemas.
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ordinal-openapi-'));
  const res = await generateOpenApi(dir);
  expect(Object.keys(res.index)).toContain('api/v1');
  setOpenApiDir(dir);
}, 60_000);
afterAll(() => {
  setOpenApiDir(undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** Follows a dotted path of field names ("spec.template.spec"). */
function at(schema: TypeSchema | undefined, dotted: string): TypeSchema {
  let s: TypeSchema = schema ?? { type: 'any' };
  for (const name of dotted.split('.')) s = fieldSchema(s, name);
  return s;
}

function must(group: string, version: string, kind: string): TypeSchema {
  const s = schemaFor(group, version, kind);
  if (!s) throw new Error(`no schema for ${group}/${version} ${kind}`);
  return s;
}

describe('schemaFor', () => {
  it('gives pod containers, ports, env and volume mounts their merge keys', () => {
    const pod = must('', 'v1', 'Pod');
    const containers = at(pod, 'spec.containers');
    expect(containers).toMatchObject({
      type: 'list',
      listType: 'map',
      mapKeys: ['name'],
      patchStrategy: 'merge',
      patchMergeKey: 'name',
    });
    const container = elemSchema(containers);
    expect(container.type).toBe('object');
    expect(fieldSchema(container, 'ports')).toMatchObject({
      type: 'list',
      patchMergeKey: 'containerPort',
      listType: 'map',
      mapKeys: ['containerPort', 'protocol'],
    });
    expect(fieldSchema(container, 'env')).toMatchObject({ patchMergeKey: 'name', listType: 'map' });
    expect(fieldSchema(container, 'volumeMounts')).toMatchObject({ patchMergeKey: 'mountPath' });
    expect(at(pod, 'spec.initContainers').patchMergeKey).toBe('name');
    expect(elemSchema(fieldSchema(container, 'ports')).type).toBe('object');
    // Lists without a strategy are atomic and replaced whole.
    expect(fieldSchema(container, 'args')).toMatchObject({ type: 'list', listType: 'atomic' });
    expect(fieldSchema(container, 'args').patchStrategy).toBeUndefined();
    expect(at(pod, 'spec.tolerations')).toMatchObject({ type: 'list', listType: 'atomic' });
    expect(at(pod, 'spec.tolerations').patchMergeKey).toBeUndefined();
    // volumes: merge + retainKeys by name
    const volumes = at(pod, 'spec.volumes');
    expect(volumes.patchMergeKey).toBe('name');
    expect(hasPatchStrategy(volumes, 'merge')).toBe(true);
    expect(hasPatchStrategy(volumes, 'retainKeys')).toBe(true);
    expect(at(pod, 'status.conditions')).toMatchObject({ patchMergeKey: 'type', mapKeys: ['type'] });
  });

  it('types scalars, maps and free-form values', () => {
    const pod = must('', 'v1', 'Pod');
    const container = elemSchema(at(pod, 'spec.containers'));
    expect(fieldSchema(container, 'image').type).toBe('scalar');
    const limits = at(container, 'resources.limits');
    expect(limits.type).toBe('map');
    expect(elemSchema(limits).type).toBe('scalar'); // Quantity
    expect(at(pod, 'metadata.labels')).toMatchObject({ type: 'map' });
    expect(at(pod, 'metadata.creationTimestamp').type).toBe('scalar'); // Time
    expect(at(pod, 'spec.containers').type).toBe('list');
    const probePort = at(container, 'livenessProbe.httpGet.port');
    expect(probePort.type).toBe('scalar'); // IntOrString
    const cr = must('apps', 'v1', 'ControllerRevision');
    expect(fieldSchema(cr, 'data').type).toBe('any'); // RawExtension
  });

  it('gives service ports their merge key', () => {
    const ports = at(must('', 'v1', 'Service'), 'spec.ports');
    expect(ports).toMatchObject({
      type: 'list',
      patchStrategy: 'merge',
      patchMergeKey: 'port',
      listType: 'map',
      mapKeys: ['port', 'protocol'],
    });
    expect(fieldSchema(elemSchema(ports), 'targetPort').type).toBe('scalar');
  });

  it('reaches the pod template through a StatefulSet', () => {
    const sts = must('apps', 'v1', 'StatefulSet');
    const template = at(sts, 'spec.template');
    expect(template.type).toBe('object');
    expect(at(template, 'spec.containers').patchMergeKey).toBe('name');
    expect(at(template, 'metadata.labels').type).toBe('map');
    expect(at(sts, 'spec.volumeClaimTemplates')).toMatchObject({ type: 'list', listType: 'atomic' });
    expect(elemSchema(at(sts, 'spec.volumeClaimTemplates')).type).toBe('object');
    expect(at(sts, 'spec.updateStrategy.rollingUpdate.partition').type).toBe('scalar');
    expect(at(sts, 'metadata.finalizers')).toMatchObject({ listType: 'set', patchStrategy: 'merge' });
    expect(at(sts, 'metadata.ownerReferences')).toMatchObject({ patchMergeKey: 'uid', mapKeys: ['uid'] });
    // shared definitions are built once
    expect(at(sts, 'spec.template')).toBe(template);
  });

  it('marks Deployment strategy retainKeys without touching the shared struct elsewhere', () => {
    const strategy = at(must('apps', 'v1', 'Deployment'), 'spec.strategy');
    expect(strategy.type).toBe('object');
    expect(strategy.patchStrategy).toBe('retainKeys');
    expect(fieldSchema(strategy, 'rollingUpdate').type).toBe('object');
    expect(at(must('policy', 'v1', 'PodDisruptionBudget'), 'spec.selector').patchStrategy).toBe('replace');
    expect(at(must('apps', 'v1', 'StatefulSet'), 'spec.selector').patchStrategy).toBeUndefined();
  });

  it('knows kinds of every served group and nothing else', () => {
    expect(schemaFor('autoscaling', 'v1', 'Scale')).toBeDefined();
    expect(schemaFor('policy', 'v1', 'Eviction')).toBeDefined();
    expect(schemaFor('authentication.k8s.io', 'v1', 'TokenRequest')).toBeDefined();
    expect(schemaFor('rbac.authorization.k8s.io', 'v1', 'ClusterRole')).toBeDefined();
    expect(at(schemaFor('events.k8s.io', 'v1', 'Event'), 'note').type).toBe('scalar');
    expect(at(schemaFor('', 'v1', 'Event'), 'message').type).toBe('scalar');
    expect(schemaFor('apps', 'v1', 'PodList')).toBeUndefined();
    expect(schemaFor('batch', 'v1', 'Job')).toBeUndefined();
    expect(schemaFor('', 'v1', 'ObjectReference')).toBeUndefined();
  });
});

describe('unknownFields', () => {
  it('reports unknown fields with upstream strict-decoding paths', () => {
    const sts = must('apps', 'v1', 'StatefulSet');
    const obj = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', labels: { app: 'web' }, annotations: { a: 'b' }, bogusMeta: 1 },
      spec: {
        foo: 1,
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              { name: 'a', image: 'x', ports: [{ containerPort: 80, nope: true }] },
              { name: 'b', image: 'y', bogus: 'z', resources: { limits: { cpu: '1' } } },
            ],
          },
        },
      },
      status: { replicas: 1 },
    };
    expect(unknownFields(obj, sts)).toEqual([
      'metadata.bogusMeta',
      'spec.foo',
      'spec.template.spec.containers[0].ports[0].nope',
      'spec.template.spec.containers[1].bogus',
    ]);
    expect(strictDecodingMessage(['spec.foo', 'spec.bar'])).toBe(
      'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"',
    );
  });

  it('accepts valid objects, nulls and free-form values', () => {
    const cr = must('apps', 'v1', 'ControllerRevision');
    expect(
      unknownFields(
        {
          apiVersion: 'apps/v1',
          kind: 'ControllerRevision',
          metadata: {
            name: 'r',
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'w', uid: 'u' }],
          },
          revision: 2,
          data: { spec: { template: { $patch: 'replace', anything: true } } },
        },
        cr,
      ),
    ).toEqual([]);
    const pod = must('', 'v1', 'Pod');
    expect(
      unknownFields(
        { spec: { nodeSelector: null, containers: null }, metadata: { labels: { x: 'y' } } },
        pod,
      ),
    ).toEqual([]);
    // wrong shapes are a validation matter, not unknown fields
    expect(unknownFields({ spec: 'nope', metadata: [] }, pod)).toEqual([]);
  });
});

describe('documents', () => {
  it('indexes every served group-version with a hash', () => {
    const { body, hashes } = openapiIndex();
    const index = JSON.parse(body) as { paths: Record<string, { serverRelativeURL: string }> };
    for (const gv of [
      'api/v1',
      'apis/apps/v1',
      'apis/rbac.authorization.k8s.io/v1',
      'apis/storage.k8s.io/v1',
      'apis/networking.k8s.io/v1',
      'apis/coordination.k8s.io/v1',
      'apis/discovery.k8s.io/v1',
      'apis/events.k8s.io/v1',
      'apis/authorization.k8s.io/v1',
      'apis/authentication.k8s.io/v1',
      'apis/autoscaling/v1',
      'apis/policy/v1',
    ]) {
      expect(index.paths[gv]?.serverRelativeURL).toBe(`/openapi/v3/${gv}?hash=${hashes[gv]}`);
      expect(openapiDocument(gv)?.hash).toBe(hashes[gv]);
    }
    expect(openapiDocument('apis/batch/v1')).toBeUndefined();
  });

  it('declares fieldValidation and the patch content types on PATCH operations', () => {
    const doc = JSON.parse(openapiDocument('apis/apps/v1')?.body ?? '{}');
    const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}'];
    expect(Object.keys(item).sort()).toEqual(['delete', 'get', 'parameters', 'patch', 'put']);
    expect(item.patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'apps',
      kind: 'StatefulSet',
      version: 'v1',
    });
    expect(item.patch['x-kubernetes-action']).toBe('patch');
    expect(item.patch.parameters.map((p: { name: string }) => p.name)).toEqual([
      'dryRun',
      'fieldManager',
      'fieldValidation',
      'force',
    ]);
    expect(Object.keys(item.patch.requestBody.content).sort()).toEqual([
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ]);
    const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}/scale'];
    expect(scale.patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'autoscaling',
      kind: 'Scale',
      version: 'v1',
    });
    expect(
      doc.components.schemas['io.k8s.api.apps.v1.StatefulSet']['x-kubernetes-group-version-kind'],
    ).toEqual([{ group: 'apps', kind: 'StatefulSet', version: 'v1' }]);
    expect(doc.components.schemas['io.k8s.api.apps.v1.StatefulSetSpec'].required).toEqual([
      'selector',
      'template',
    ]);
    const core = JSON.parse(openapiDocument('api/v1')?.body ?? '{}');
    expect(Object.keys(core.paths)).toContain('/api/v1/namespaces/{namespace}/pods/{name}');
    expect(Object.keys(core.paths['/api/v1/namespaces/{namespace}/pods'])).toEqual([
      'parameters',
      'get',
      'post',
      'delete',
    ]);
    expect(
      core.components.schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString'][
        'x-kubernetes-int-or-string'
      ],
    ).toBe(true);
  });

  it('is served by handleOpenApi with hash-based caching', () => {
    const idx = handleOpenApi('/openapi/v3', new URLSearchParams());
    expect(idx?.status).toBe(200);
    const hash = openapiIndex().hashes['apis/apps/v1'] ?? '';
    const fresh = handleOpenApi(
      '/openapi/v3/apis/apps/v1',
      new URLSearchParams({ hash }),
      'application/json',
    );
    expect(fresh?.status).toBe(200);
    expect(fresh?.headers?.['Cache-Control']).toContain('immutable');
    const stale = handleOpenApi('/openapi/v3/apis/apps/v1', new URLSearchParams({ hash: 'OLD' }));
    expect(stale?.status).toBe(301);
    expect(stale?.headers?.Location).toBe(`/openapi/v3/apis/apps/v1?hash=${hash}`);
    expect(handleOpenApi('/openapi/v3/apis/batch/v1', new URLSearchParams())?.status).toBe(404);
    expect(handleOpenApi('/openapi/v2', new URLSearchParams(), 'application/json')?.status).toBe(200);
    expect(
      handleOpenApi(
        '/openapi/v3/api/v1',
        new URLSearchParams(),
        'application/com.github.proto-openapi.spec.v3@v1.0+protobuf',
      )?.status,
    ).toBe(406);
    expect(handleOpenApi('/api/v1', new URLSearchParams())).toBeUndefined();
  });
});

describe('loading', () => {
  it('defaults to dist/openapi under the package root', () => {
    setOpenApiDir(undefined);
    const saved = process.env.ORDINAL_OPENAPI_DIR;
    delete process.env.ORDINAL_OPENAPI_DIR;
    try {
      expect(openapiDir()).toBe(path.resolve(import.meta.dirname, '../../dist/openapi'));
    } finally {
      if (saved !== undefined) process.env.ORDINAL_OPENAPI_DIR = saved;
      setOpenApiDir(dir);
    }
  });

  it('tells to run the build when the documents are missing', () => {
    setOpenApiDir(path.join(dir, 'does-not-exist'));
    try {
      expect(() => schemaFor('', 'v1', 'Pod')).toThrow(/npm run build/);
    } finally {
      setOpenApiDir(dir);
    }
  });
});
