import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApi } from '../../scripts/gen-openapi.js';
import { setOpenApiDir } from '../machinery/schema.js';
import { handleOpenApi } from './openapi.js';
import { documentType } from './openapi-v2-proto.js';

// Fresh documents from the current generator, so the test neither depends on a previous
// build nor passes without schemas.
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ordinal-openapi-v2-'));
  const res = await generateOpenApi(dir);
  expect(Object.keys(res.index)).toContain('apis/apps/v1');
  setOpenApiDir(dir);
}, 60_000);
afterAll(() => {
  setOpenApiDir(undefined);
  rmSync(dir, { recursive: true, force: true });
});

// Shapes of the decoded messages (protobufjs toObject with keepCase field names).
interface NamedAny {
  name: string;
  value?: { yaml?: string };
}
interface Schema {
  _ref?: string;
  description?: string;
  type?: { value?: string[] };
  items?: { schema?: Schema[] };
  properties?: { additional_properties?: { name: string; value: Schema }[] };
  vendor_extension?: NamedAny[];
}
interface QueryParam {
  name?: string;
  in?: string;
  type?: string;
}
interface ParametersItem {
  parameter?: {
    body_parameter?: { name?: string; in?: string; schema?: Schema };
    non_body_parameter?: { query_parameter_sub_schema?: QueryParam; path_parameter_sub_schema?: QueryParam };
  };
}
interface Operation {
  operation_id?: string;
  consumes?: string[];
  parameters?: ParametersItem[];
  vendor_extension?: NamedAny[];
}
interface DecodedDocument {
  swagger?: string;
  paths?: { path?: { name: string; value: { patch?: Operation; get?: Operation } }[] };
  definitions?: { additional_properties?: { name: string; value: Schema }[] };
}

const PB = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

function decode(): DecodedDocument {
  const res = handleOpenApi('/openapi/v2', new URLSearchParams(), PB);
  expect(res?.status).toBe(200);
  expect(res?.contentType).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  const body = res?.body;
  if (!(body instanceof Uint8Array)) throw new Error('expected protobuf bytes');
  const t = documentType();
  return t.toObject(t.decode(body), { defaults: false }) as DecodedDocument;
}

function ext(list: NamedAny[] | undefined, name: string): unknown {
  const yaml = list?.find((e) => e.name === name)?.value?.yaml;
  return yaml === undefined ? undefined : JSON.parse(yaml);
}

function definition(doc: DecodedDocument, name: string): Schema {
  const d = doc.definitions?.additional_properties?.find((x) => x.name === name)?.value;
  if (!d) throw new Error(`no definition ${name}`);
  return d;
}

function prop(s: Schema, name: string): Schema {
  const p = s.properties?.additional_properties?.find((x) => x.name === name)?.value;
  if (!p) throw new Error(`no property ${name}`);
  return p;
}

describe('/openapi/v2 protobuf', () => {
  it('decodes with the gnostic Document schema and carries the definitions kubectl needs', () => {
    const doc = decode();
    expect(doc.swagger).toBe('2.0');

    const sts = definition(doc, 'io.k8s.api.apps.v1.StatefulSet');
    expect(ext(sts.vendor_extension, 'x-kubernetes-group-version-kind')).toEqual([
      { group: 'apps', kind: 'StatefulSet', version: 'v1' },
    ]);
    // allOf: [{$ref}] wrappers are unwrapped, refs point at #/definitions.
    expect(prop(sts, 'spec')._ref).toBe('#/definitions/io.k8s.api.apps.v1.StatefulSetSpec');

    const spec = definition(doc, 'io.k8s.api.apps.v1.StatefulSetSpec');
    expect(prop(spec, 'template')._ref).toMatch(
      /^#\/definitions\/io\.k8s\.api\.[a-z]+\.v1\.PodTemplateSpec$/,
    );
    expect(prop(spec, 'volumeClaimTemplates').type?.value).toEqual(['array']);

    const containers = prop(definition(doc, 'io.k8s.api.core.v1.PodSpec'), 'containers');
    expect(containers.type?.value).toEqual(['array']);
    expect(containers.items?.schema?.[0]?._ref).toBe('#/definitions/io.k8s.api.core.v1.Container');
    expect(ext(containers.vendor_extension, 'x-kubernetes-patch-merge-key')).toBe('name');
    expect(ext(containers.vendor_extension, 'x-kubernetes-patch-strategy')).toBe('merge');

    // No v3 leftovers: every $ref resolves to a definition, v2 has no oneOf (IntOrString is a string).
    const names = new Set(doc.definitions?.additional_properties?.map((d) => d.name));
    const refs = JSON.stringify(doc).match(/"_ref":"[^"]*"/g) ?? [];
    expect(refs.length).toBeGreaterThan(100);
    for (const r of refs) {
      const target = r.slice('"_ref":"'.length, -1);
      expect(target.startsWith('#/definitions/')).toBe(true);
      expect(names.has(target.slice('#/definitions/'.length))).toBe(true);
    }
    const ios = definition(doc, 'io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    expect(ios.type?.value).toEqual(['string']);
  });

  it('has the statefulset patch operation with its GVK and the fieldValidation parameter', () => {
    const doc = decode();
    const item = doc.paths?.path?.find(
      (p) => p.name === '/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}',
    )?.value;
    const patch = item?.patch;
    expect(patch?.operation_id).toBe('patchAppsV1NamespacedStatefulSet');
    expect(ext(patch?.vendor_extension, 'x-kubernetes-group-version-kind')).toEqual({
      group: 'apps',
      kind: 'StatefulSet',
      version: 'v1',
    });
    expect(patch?.consumes).toContain('application/strategic-merge-patch+json');
    const query = (patch?.parameters ?? []).map(
      (p) => p.parameter?.non_body_parameter?.query_parameter_sub_schema,
    );
    expect(query).toContainEqual(
      expect.objectContaining({ name: 'fieldValidation', in: 'query', type: 'string' }),
    );
    const body = patch?.parameters?.[0]?.parameter?.body_parameter;
    expect(body).toMatchObject({ name: 'body', in: 'body' });
    expect(body?.schema?._ref).toBe('#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch');
  });
});

describe('/openapi/v2 negotiation', () => {
  it('serves JSON for application/json and no Accept, with a stable ETag, and 406 otherwise', () => {
    const json = handleOpenApi('/openapi/v2', new URLSearchParams(), 'application/json');
    expect(json?.status).toBe(200);
    expect(json?.contentType).toBe('application/json');
    const doc = JSON.parse(String(json?.body)) as { swagger: string; definitions: Record<string, unknown> };
    expect(doc.swagger).toBe('2.0');
    expect(doc.definitions['io.k8s.api.apps.v1.StatefulSetSpec']).toBeDefined();
    expect(json?.headers?.ETag).toMatch(/^"[0-9A-F]{128}"$/);
    const again = handleOpenApi('/openapi/v2/', new URLSearchParams());
    expect(again?.contentType).toBe('application/json');
    expect(again?.headers?.ETag).toBe(json?.headers?.ETag);
    expect(handleOpenApi('/openapi/v2', new URLSearchParams(), 'application/yaml')?.status).toBe(406);
    const pb = handleOpenApi('/openapi/v2', new URLSearchParams(), `application/json;q=0.5, ${PB}`);
    expect(pb?.body).toBeInstanceOf(Uint8Array);
  });
});
