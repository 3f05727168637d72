/**
 * Generates the OpenAPI v3 documents Ordinal serves (dist/openapi/) from the models
 * shipped by @kubernetes/client-node (generated from the upstream release spec):
 * attribute types come from each model's static `attributeTypeMap`, descriptions and
 * required fields from the JSDoc in its `.d.ts`, list/map merge semantics from our own
 * table in src/machinery/patch-strategies.ts.
 *
 * Output:
 *   <out>/index.json               {"api/v1": "<hash>", "apis/apps/v1": "<hash>", ...}
 *   <out>/kinds.json               {"apps/v1/StatefulSet": {"doc": "apis/apps/v1", "definition": "io.k8s.api.apps.v1.StatefulSet"}, ...}
 *   <out>/api/v1.json, <out>/apis/<group>/<version>.json   one OpenAPI 3.0 document per group-version
 *
 * Run: `node dist/scripts/gen-openapi.js [--out DIR]` (part of `npm run build`) or
 * `npx tsx scripts/gen-openapi.ts [--out DIR]`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ATOMIC_STRUCTS, fieldPatchMeta } from '../src/machinery/patch-strategies.js';
import { type OpenApiResource, openapiResources } from './openapi-resources.js';

// ---------------------------------------------------------------- OpenAPI shapes

/** The subset of an OpenAPI 3.0 schema object we emit. */
export interface OpenApiSchema {
  description?: string;
  type?: string;
  format?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema;
  allOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  $ref?: string;
  default?: unknown;
  uniqueItems?: boolean;
  [extension: `x-${string}`]: unknown;
}

interface Parameter {
  name: string;
  in: 'path' | 'query';
  description: string;
  required?: boolean;
  schema: OpenApiSchema;
}

interface Operation {
  tags: string[];
  description: string;
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: OpenApiSchema }>; required: boolean };
  responses: Record<string, { description: string; content?: Record<string, { schema: OpenApiSchema }> }>;
  'x-kubernetes-action': string;
  'x-kubernetes-group-version-kind': Gvk;
}

type PathItem = Partial<Record<'get' | 'put' | 'post' | 'delete' | 'patch', Operation>> & {
  parameters?: Parameter[];
};

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, OpenApiSchema>; securitySchemes: Record<string, unknown> };
}

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

// ---------------------------------------------------------------- client-node models

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

interface ModelInfo {
  attributes: Attribute[];
  description?: string;
  /** by attribute `name` (the TypeScript property name) */
  fields: Map<string, { description?: string; required: boolean }>;
}

function isAttributeList(v: unknown): v is Attribute[] {
  return (
    Array.isArray(v) &&
    v.every(
      (a: unknown) =>
        typeof a === 'object' &&
        a !== null &&
        typeof (a as Attribute).name === 'string' &&
        typeof (a as Attribute).baseName === 'string' &&
        typeof (a as Attribute).type === 'string',
    )
  );
}

class ModelSource {
  private readonly attrs = new Map<string, Attribute[]>();
  private readonly infos = new Map<string, ModelInfo>();

  private constructor(private readonly modelsDir: string) {}

  static async load(projectRoot: string): Promise<ModelSource> {
    const modelsDir = path.join(projectRoot, 'node_modules/@kubernetes/client-node/dist/gen/models');
    const allJs = path.join(modelsDir, 'all.js');
    if (!existsSync(allJs)) {
      throw new Error(`gen-openapi: ${allJs} not found; is @kubernetes/client-node installed (npm ci)?`);
    }
    const mod: Record<string, unknown> = await import(pathToFileURL(allJs).href);
    const src = new ModelSource(modelsDir);
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function') continue;
      const map: unknown = (value as { attributeTypeMap?: unknown }).attributeTypeMap;
      if (isAttributeList(map)) src.attrs.set(name, map);
    }
    if (src.attrs.size < 100) throw new Error(`gen-openapi: only ${src.attrs.size} models found in ${allJs}`);
    return src;
  }

  has(name: string): boolean {
    return this.attrs.has(name);
  }

  info(name: string): ModelInfo {
    let info = this.infos.get(name);
    if (!info) {
      const attributes = this.attrs.get(name);
      if (!attributes) throw new Error(`gen-openapi: unknown model ${name}`);
      info = { attributes, ...parseDts(readFileSync(path.join(this.modelsDir, `${name}.d.ts`), 'utf8')) };
      this.infos.set(name, info);
    }
    return info;
  }
}

/** Reverses the generator's escaping inside JSDoc (\" \' \\). */
function unescapeDoc(s: string): string {
  return s.replace(/\\(.)/g, '$1').trim();
}

/** Class and property descriptions plus required-ness from a model's .d.ts. */
function parseDts(text: string): Pick<ModelInfo, 'description' | 'fields'> {
  const fields = new Map<string, { description?: string; required: boolean }>();
  let description: string | undefined;
  let pending: string[] | undefined;
  let inDoc = false;
  let doc: string[] = [];
  let inClass = false;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!inDoc && t.startsWith('/**')) {
      inDoc = true;
      doc = [];
      const rest = t.slice(3).replace(/\*\/$/, '').trim();
      if (rest) doc.push(rest);
      if (t.endsWith('*/') && t.length > 4) {
        inDoc = false;
        pending = doc;
      }
      continue;
    }
    if (inDoc) {
      if (t.endsWith('*/')) {
        inDoc = false;
        const rest = t.replace(/\*\/$/, '').replace(/^\*/, '').trim();
        if (rest) doc.push(rest);
        pending = doc;
      } else {
        doc.push(t.replace(/^\*\s?/, ''));
      }
      continue;
    }
    if (!inClass && t.startsWith('export declare class ')) {
      inClass = true;
      description = pending?.length ? unescapeDoc(pending.join(' ')) : undefined;
      pending = undefined;
      continue;
    }
    const m = inClass ? /^'([^']+)'(\?)?:/.exec(t) : null;
    if (m?.[1]) {
      fields.set(m[1], {
        description: pending?.length ? unescapeDoc(pending.join(' ')) : undefined,
        required: m[2] !== '?',
      });
      pending = undefined;
    } else if (t && !t.startsWith('[') && !t.startsWith('}')) {
      pending = undefined;
    }
  }
  return { description, fields };
}

// ---------------------------------------------------------------- naming

const META_PKG = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const DEF = {
  time: `${META_PKG}.Time`,
  microTime: `${META_PKG}.MicroTime`,
  fieldsV1: `${META_PKG}.FieldsV1`,
  patch: `${META_PKG}.Patch`,
  status: `${META_PKG}.Status`,
  deleteOptions: `${META_PKG}.DeleteOptions`,
  apiResourceList: `${META_PKG}.APIResourceList`,
  watchEvent: `${META_PKG}.WatchEvent`,
  intOrString: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  quantity: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
  rawExtension: 'io.k8s.apimachinery.pkg.runtime.RawExtension',
} as const;

/** Pseudo-group for apimachinery meta/v1 types. */
const META = '#meta';

/** client-node models that live in meta/v1 (apimachinery). */
const META_MODELS = new Set([
  'V1ObjectMeta',
  'V1ListMeta',
  'V1LabelSelector',
  'V1LabelSelectorRequirement',
  'V1FieldSelectorRequirement',
  'V1OwnerReference',
  'V1ManagedFieldsEntry',
  'V1Condition',
  'V1Status',
  'V1StatusDetails',
  'V1StatusCause',
  'V1DeleteOptions',
  'V1Preconditions',
  'V1WatchEvent',
  'V1APIResourceList',
  'V1APIResource',
]);

/** Models reached first from another group's kinds but defined in core/v1. */
const GROUP_OVERRIDES: Record<string, string> = {
  V1TopologySelectorTerm: '',
  V1TopologySelectorLabelRequirement: '',
  V1PodTemplateSpec: '',
};

/** Fields whose `string` values are resource.Quantity upstream. */
const QUANTITY_FIELDS = new Set([
  'V1ResourceRequirements.limits',
  'V1ResourceRequirements.requests',
  'V1VolumeResourceRequirements.limits',
  'V1VolumeResourceRequirements.requests',
  'V1PodSpec.overhead',
  'V1PodStatus.allocatedResources',
  'V1ContainerStatus.allocatedResources',
  'V1NodeStatus.allocatable',
  'V1NodeStatus.capacity',
  'V1NodeAllocatableResourceClaimStatus.resources',
  'V1PersistentVolumeSpec.capacity',
  'V1PersistentVolumeClaimStatus.allocatedResources',
  'V1PersistentVolumeClaimStatus.capacity',
  'V1EmptyDirVolumeSource.sizeLimit',
  'V1ResourceFieldSelector.divisor',
]);

/** Streaming/connect subresources: no JSON body schema of their own; left out of the documents. */
const CONNECT_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);

/** `any`-typed fields: which apimachinery type they are upstream (default RawExtension). */
const ANY_FIELDS: Record<string, string> = { 'V1ManagedFieldsEntry.fieldsV1': DEF.fieldsV1 };

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "apps" -> "apps", "" -> "core", "rbac.authorization.k8s.io" -> "rbac". */
const groupPkg = (group: string) => (group === '' ? 'core' : (group.split('.')[0] ?? group));

/** "api/v1", "apis/apps/v1". */
export const gvPath = (group: string, version: string) =>
  group === '' ? `api/${version}` : `apis/${group}/${version}`;

/** Splits "CoreV1Event" into prefix "Core", version "v1", short "Event". */
function splitModelName(model: string): { prefix?: string; version: string; short: string } {
  const m = /^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z].*)$/.exec(model);
  if (!m?.[2] || !m[3]) throw new Error(`gen-openapi: unexpected model name ${model}`);
  return { prefix: m[1], version: m[2].toLowerCase(), short: m[3] };
}

// ---------------------------------------------------------------- the generator

interface GeneratorInput {
  models: ModelSource;
  resources: OpenApiResource[];
}

class Generator {
  private readonly models: ModelSource;
  private readonly resources: OpenApiResource[];
  /** model -> group ('' core, 'apps', ..., META) */
  private readonly groupOf = new Map<string, string>();
  private readonly prefixGroup = new Map<string, string>();
  /** definition name -> schema */
  readonly definitions = new Map<string, OpenApiSchema>();
  private readonly defOfModel = new Map<string, string>();
  readonly servedGroupVersions: Gvk[] = [];

  constructor(input: GeneratorInput) {
    this.models = input.models;
    this.resources = input.resources;
    for (const r of this.resources) {
      this.prefixGroup.set(capitalize(groupPkg(r.group)), r.group);
      for (const s of r.subresources ?? [])
        this.prefixGroup.set(capitalize(groupPkg(s.kind.group)), s.kind.group);
    }
  }

  /** Model class for a kind: "CoreV1Event" when the name is disambiguated, else "V1Event". */
  modelForKind(gvk: Gvk): string | undefined {
    const v = capitalize(gvk.version);
    const prefixed = `${capitalize(groupPkg(gvk.group))}${v}${gvk.kind}`;
    if (this.models.has(prefixed)) return prefixed;
    return this.models.has(`${v}${gvk.kind}`) ? `${v}${gvk.kind}` : undefined;
  }

  private requireModel(gvk: Gvk, suffix = ''): string {
    const m = this.modelForKind({ ...gvk, kind: gvk.kind + suffix });
    if (!m)
      throw new Error(
        `gen-openapi: no client-node model for ${gvk.group}/${gvk.version} ${gvk.kind}${suffix}`,
      );
    return m;
  }

  /** Model names referenced by a model's attributes. */
  private refsOf(model: string): string[] {
    const out: string[] = [];
    for (const a of this.models.info(model).attributes) {
      const name = innermostType(a.type);
      if (this.models.has(name)) out.push(name);
    }
    return out;
  }

  /** Assigns each reachable model its API group: core kinds first, then the others. */
  private assignGroups(roots: { model: string; group: string }[]): void {
    const ordered = [...roots.filter((r) => r.group === ''), ...roots.filter((r) => r.group !== '')];
    for (const root of ordered) {
      const queue: { model: string; group: string }[] = [root];
      while (queue.length > 0) {
        const item = queue.shift();
        if (!item || this.groupOf.has(item.model)) continue;
        const group = this.fixedGroup(item.model) ?? item.group;
        this.groupOf.set(item.model, group);
        for (const ref of this.refsOf(item.model)) queue.push({ model: ref, group });
      }
    }
  }

  private fixedGroup(model: string): string | undefined {
    if (META_MODELS.has(model)) return META;
    if (Object.hasOwn(GROUP_OVERRIDES, model)) return GROUP_OVERRIDES[model];
    const { prefix } = splitModelName(model);
    if (prefix) {
      const g = this.prefixGroup.get(prefix);
      if (g === undefined) throw new Error(`gen-openapi: model ${model} belongs to a group we do not serve`);
      return g;
    }
    return undefined;
  }

  definitionOf(model: string): string {
    let def = this.defOfModel.get(model);
    if (def) return def;
    const group = this.groupOf.get(model);
    if (group === undefined) throw new Error(`gen-openapi: model ${model} was not assigned a group`);
    const { version, short } = splitModelName(model);
    def = group === META ? `${META_PKG}.${short}` : `io.k8s.api.${groupPkg(group)}.${version}.${short}`;
    this.defOfModel.set(model, def);
    return def;
  }

  run(): Map<string, OpenApiDocument> {
    // Which group-versions get a document, and which kinds are roots of each.
    const docRoots = new Map<string, Set<string>>();
    const addRoot = (gv: { group: string; version: string }, model: string) => {
      const key = gvPath(gv.group, gv.version);
      let set = docRoots.get(key);
      if (!set) {
        set = new Set();
        docRoots.set(key, set);
        this.servedGroupVersions.push({ group: gv.group, version: gv.version, kind: '' });
      }
      set.add(model);
    };
    const roots: { model: string; group: string }[] = [];
    for (const r of this.resources) {
      const kindModel = this.requireModel(r);
      roots.push({ model: kindModel, group: r.group });
      addRoot(r, kindModel);
      if (r.verbs.includes('list')) {
        const listModel = this.requireModel(r, 'List');
        roots.push({ model: listModel, group: r.group });
        addRoot(r, listModel);
      }
      for (const s of r.subresources ?? []) {
        const m = CONNECT_SUBRESOURCES.has(s.name) ? undefined : this.modelForKind(s.kind);
        if (!m) continue;
        roots.push({ model: m, group: s.kind.group });
        addRoot(r, m);
        addRoot(s.kind, m);
      }
    }
    for (const m of META_MODELS) roots.push({ model: m, group: META });
    this.assignGroups(roots);

    for (const model of this.groupOf.keys())
      this.definitions.set(this.definitionOf(model), this.modelSchema(model));
    for (const [name, schema] of Object.entries(syntheticDefinitions())) this.definitions.set(name, schema);

    const docs = new Map<string, OpenApiDocument>();
    const sortedKeys = [...docRoots.keys()].sort((a, b) =>
      a === 'api/v1' ? -1 : b === 'api/v1' ? 1 : a < b ? -1 : 1,
    );
    for (const key of sortedKeys) {
      const paths = this.pathsFor(key);
      const rootDefs = [...(docRoots.get(key) ?? [])].map((m) => this.definitionOf(m));
      rootDefs.push(DEF.status, DEF.deleteOptions, DEF.apiResourceList, DEF.watchEvent, DEF.patch);
      const schemas: Record<string, OpenApiSchema> = {};
      for (const name of [...this.closure(rootDefs)].sort()) {
        const s = this.definitions.get(name);
        if (s) schemas[name] = s;
      }
      docs.set(key, {
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: 'unversioned' },
        paths,
        components: {
          schemas,
          securitySchemes: {
            BearerToken: {
              type: 'apiKey',
              name: 'authorization',
              in: 'header',
              description: 'Bearer token authentication',
            },
          },
        },
      });
    }
    return docs;
  }

  /** All definitions reachable from `start` through $ref. */
  private closure(start: string[]): Set<string> {
    const seen = new Set<string>();
    const stack = [...start];
    while (stack.length > 0) {
      const name = stack.pop();
      if (!name || seen.has(name)) continue;
      const schema = this.definitions.get(name);
      if (!schema) throw new Error(`gen-openapi: dangling reference to ${name}`);
      seen.add(name);
      collectRefs(schema, stack);
    }
    return seen;
  }

  // ------------------------------------------------------------ schemas

  private modelSchema(model: string): OpenApiSchema {
    const info = this.models.info(model);
    const def = this.definitionOf(model);
    const schema: OpenApiSchema = {};
    if (info.description) schema.description = info.description;
    schema.type = 'object';
    const properties: Record<string, OpenApiSchema> = {};
    const required: string[] = [];
    // Kinds (objects, lists, subresource bodies) carry apiVersion, kind and metadata;
    // references such as ObjectReference lack metadata.
    const isKind = ['apiVersion', 'kind', 'metadata'].every((f) =>
      info.attributes.some((a) => a.baseName === f),
    );
    for (const a of [...info.attributes].sort((x, y) => (x.baseName < y.baseName ? -1 : 1))) {
      const field = info.fields.get(a.name);
      let description = field?.description;
      if (!description && a.baseName === 'metadata' && isKind) {
        description = info.attributes.some((x) => x.baseName === 'items')
          ? 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds'
          : "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
      }
      if (!description) {
        const refModel = innermostType(a.type);
        if (this.models.has(refModel)) description = this.models.info(refModel).description;
      }
      properties[a.baseName] = this.propertySchema(model, def, a, description);
      if (field?.required) required.push(a.baseName);
    }
    if (Object.keys(properties).length > 0) schema.properties = properties;
    if (required.length > 0) schema.required = required;
    if (ATOMIC_STRUCTS.has(def)) schema['x-kubernetes-map-type'] = 'atomic';
    const gvks = this.gvksOf(model, isKind);
    if (gvks) schema['x-kubernetes-group-version-kind'] = gvks;
    return schema;
  }

  private gvksOf(model: string, isKind: boolean): Gvk[] | undefined {
    const group = this.groupOf.get(model);
    const { version, short } = splitModelName(model);
    if (group !== META) return isKind ? [{ group: group ?? '', kind: short, version }] : undefined;
    if (model === 'V1Status' || model === 'V1APIResourceList')
      return [{ group: '', kind: short, version: 'v1' }];
    if (model === 'V1DeleteOptions' || model === 'V1WatchEvent') {
      return this.servedGroupVersions.map((gv) => ({ group: gv.group, kind: short, version: gv.version }));
    }
    return undefined;
  }

  private propertySchema(model: string, def: string, a: Attribute, description?: string): OpenApiSchema {
    const key = `${model}.${a.name}`;
    const out = this.typeSchema(a.type, a.format, key);
    let schema: OpenApiSchema;
    if (out.$ref && description) schema = { allOf: [out], description };
    else schema = description ? { description, ...out } : out;
    const meta = fieldPatchMeta(def, a.baseName);
    if (meta?.patchStrategy) schema['x-kubernetes-patch-strategy'] = meta.patchStrategy;
    if (meta?.patchMergeKey) schema['x-kubernetes-patch-merge-key'] = meta.patchMergeKey;
    if (schema.type === 'array') {
      schema['x-kubernetes-list-type'] = meta?.listType ?? 'atomic';
      if (meta?.listMapKeys) schema['x-kubernetes-list-map-keys'] = meta.listMapKeys;
    } else if (meta?.listType) {
      throw new Error(`gen-openapi: patch table gives a list type to non-list field ${def}.${a.baseName}`);
    }
    if (meta?.mapType) schema['x-kubernetes-map-type'] = meta.mapType;
    return schema;
  }

  /** Schema for a client-node attribute type string. */
  private typeSchema(type: string, format: string, fieldKey: string): OpenApiSchema {
    const arr = /^Array<(.*)>$/.exec(type);
    if (arr?.[1]) return { type: 'array', items: this.typeSchema(arr[1], format, fieldKey) };
    const map = /^\{ \[key: string\]: (.*); \}$/.exec(type);
    if (map?.[1]) return { type: 'object', additionalProperties: this.typeSchema(map[1], format, fieldKey) };
    switch (type) {
      case 'string':
        if (QUANTITY_FIELDS.has(fieldKey)) return ref(DEF.quantity);
        return format ? { type: 'string', format } : { type: 'string' };
      case 'number':
        return format === 'double' || format === 'float'
          ? { type: 'number', format }
          : { type: 'integer', format };
      case 'boolean':
        return { type: 'boolean' };
      case 'Date':
        return ref(DEF.time);
      case 'V1MicroTime':
        return ref(DEF.microTime);
      case 'IntOrString':
        return ref(DEF.intOrString);
      case 'any':
        return ref(ANY_FIELDS[fieldKey] ?? DEF.rawExtension);
      default:
        if (!this.models.has(type))
          throw new Error(`gen-openapi: unknown attribute type ${type} (${fieldKey})`);
        return ref(this.definitionOf(type));
    }
  }

  // ------------------------------------------------------------ paths

  private pathsFor(docKey: string): Record<string, PathItem> {
    const paths: Record<string, PathItem> = {};
    for (const r of this.resources) {
      if (gvPath(r.group, r.version) !== docKey) continue;
      const gvk: Gvk = { group: r.group, version: r.version, kind: r.kind };
      const kindRef = ref(this.definitionOf(this.requireModel(r)));
      const tag = `${tagGroup(r.group)}_${r.version}`;
      const opBase = `${camelGroup(r.group)}${capitalize(r.version)}`;
      const ns = r.namespaced ? 'Namespaced' : '';
      const prefix = `/${docKey}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
      const nsParams = r.namespaced ? [P.namespace] : [];
      const has = (v: string) => r.verbs.includes(v);

      // collection
      const coll: PathItem = { parameters: [...nsParams, P.pretty] };
      if (has('list')) {
        const listRef = ref(this.definitionOf(this.requireModel(r, 'List')));
        coll.get = op(
          tag,
          `list or watch objects of kind ${r.kind}`,
          `list${opBase}${ns}${r.kind}`,
          'list',
          gvk,
          {
            parameters: LIST_PARAMS,
            responses: ok(listRef, WATCH_TYPES),
          },
        );
        if (r.namespaced) {
          paths[`/${docKey}/${r.plural}`] = {
            parameters: [P.pretty],
            get: op(
              tag,
              `list or watch objects of kind ${r.kind}`,
              `list${opBase}${r.kind}ForAllNamespaces`,
              'list',
              gvk,
              { parameters: LIST_PARAMS, responses: ok(listRef, WATCH_TYPES) },
            ),
          };
        }
      }
      if (has('create')) {
        coll.post = op(tag, `create ${article(r.kind)}`, `create${opBase}${ns}${r.kind}`, 'post', gvk, {
          parameters: WRITE_PARAMS,
          requestBody: body(kindRef),
          responses: { ...ok(kindRef), '201': created(kindRef), '202': accepted(kindRef) },
        });
      }
      if (has('deletecollection')) {
        coll.delete = op(
          tag,
          `delete collection of ${r.kind}`,
          `deleteCollection${opBase}${ns}${r.kind}`,
          'deletecollection',
          gvk,
          {
            parameters: DELETECOLLECTION_PARAMS,
            requestBody: body(ref(DEF.deleteOptions), false),
            responses: ok(ref(DEF.status)),
          },
        );
      }
      if (coll.get || coll.post || coll.delete) paths[prefix] = coll;

      // item
      const item: PathItem = { parameters: [P.name(r.kind), ...nsParams, P.pretty] };
      if (has('get')) {
        item.get = op(tag, `read the specified ${r.kind}`, `read${opBase}${ns}${r.kind}`, 'get', gvk, {
          responses: ok(kindRef),
        });
      }
      if (has('update')) {
        item.put = op(tag, `replace the specified ${r.kind}`, `replace${opBase}${ns}${r.kind}`, 'put', gvk, {
          parameters: WRITE_PARAMS,
          requestBody: body(kindRef),
          responses: { ...ok(kindRef), '201': created(kindRef) },
        });
      }
      if (has('patch')) {
        item.patch = op(
          tag,
          `partially update the specified ${r.kind}`,
          `patch${opBase}${ns}${r.kind}`,
          'patch',
          gvk,
          {
            parameters: PATCH_PARAMS,
            requestBody: patchBody(),
            responses: { ...ok(kindRef), '201': created(kindRef) },
          },
        );
      }
      if (has('delete')) {
        item.delete = op(tag, `delete ${article(r.kind)}`, `delete${opBase}${ns}${r.kind}`, 'delete', gvk, {
          parameters: DELETE_PARAMS,
          requestBody: body(ref(DEF.deleteOptions), false),
          responses: { ...ok(ref(DEF.status)), '202': accepted(ref(DEF.status)) },
        });
      }
      if (item.get || item.put || item.patch || item.delete) paths[`${prefix}/{name}`] = item;

      // subresources
      for (const s of r.subresources ?? []) {
        const model = CONNECT_SUBRESOURCES.has(s.name) ? undefined : this.modelForKind(s.kind);
        if (!model) continue;
        const subRef = ref(this.definitionOf(model));
        const subGvk: Gvk = { ...s.kind };
        const sub = capitalize(s.name);
        const what = `${s.name} of the specified ${r.kind}`;
        const p: PathItem = {
          parameters: [P.name(s.kind.kind), ...nsParams, P.pretty],
        };
        if (s.verbs.includes('get')) {
          p.get = op(tag, `read ${what}`, `read${opBase}${ns}${r.kind}${sub}`, 'get', subGvk, {
            responses: ok(subRef),
          });
        }
        if (s.verbs.includes('update')) {
          p.put = op(tag, `replace ${what}`, `replace${opBase}${ns}${r.kind}${sub}`, 'put', subGvk, {
            parameters: WRITE_PARAMS,
            requestBody: body(subRef),
            responses: { ...ok(subRef), '201': created(subRef) },
          });
        }
        if (s.verbs.includes('patch')) {
          p.patch = op(
            tag,
            `partially update ${what}`,
            `patch${opBase}${ns}${r.kind}${sub}`,
            'patch',
            subGvk,
            {
              parameters: PATCH_PARAMS,
              requestBody: patchBody(),
              responses: { ...ok(subRef), '201': created(subRef) },
            },
          );
        }
        if (s.verbs.includes('create')) {
          p.post = op(
            tag,
            `create ${s.name} of ${article(r.kind)}`,
            `create${opBase}${ns}${r.kind}${sub}`,
            'post',
            subGvk,
            {
              parameters: WRITE_PARAMS,
              requestBody: body(subRef),
              responses: { ...ok(subRef), '201': created(subRef), '202': accepted(subRef) },
            },
          );
        }
        if (p.get || p.put || p.patch || p.post) paths[`${prefix}/{name}/${s.name}`] = p;
      }
    }
    return paths;
  }
}

/** The element type name of "Array<X>" / "{ [key: string]: X; }" (nested). */
function innermostType(type: string): string {
  let t = type;
  for (;;) {
    const m = /^Array<(.*)>$/.exec(t) ?? /^\{ \[key: string\]: (.*); \}$/.exec(t);
    if (!m?.[1]) return t;
    t = m[1];
  }
}

function ref(definition: string): OpenApiSchema {
  return { $ref: `#/components/schemas/${definition}` };
}

function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v.replace('#/components/schemas/', ''));
      else collectRefs(v, out);
    }
  }
}

function syntheticDefinitions(): Record<string, OpenApiSchema> {
  return {
    [DEF.time]: {
      description:
        'Time is a timestamp serialized as an RFC 3339 string in UTC with second precision, e.g. "2024-01-02T15:04:05Z".',
      type: 'string',
      format: 'date-time',
    },
    [DEF.microTime]: {
      description: 'MicroTime is a timestamp serialized as an RFC 3339 string with microsecond precision.',
      type: 'string',
      format: 'date-time',
    },
    [DEF.intOrString]: {
      description:
        'IntOrString holds either a 32-bit integer or a string (for example a port number or a percentage such as "25%"). It is serialized as the bare integer or the bare string.',
      format: 'int-or-string',
      oneOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
    },
    [DEF.quantity]: {
      description:
        'Quantity is a fixed-point number with an optional suffix: binary SI (Ki, Mi, Gi, Ti, Pi, Ei), decimal SI (n, u, m, "", k, M, G, T, P, E) or a decimal exponent (e.g. 1e3). Examples: "500m" (half a CPU), "128Mi", "1.5". It is serialized as a string; JSON numbers are also accepted.',
      oneOf: [{ type: 'string' }, { type: 'number' }],
    },
    [DEF.fieldsV1]: {
      description:
        'FieldsV1 is the JSON encoding of a set of field paths, in the format used by server-side apply to record field ownership.',
      type: 'object',
    },
    [DEF.rawExtension]: {
      description: 'RawExtension holds an arbitrary embedded JSON object, typically a complete API object.',
      type: 'object',
    },
    [DEF.patch]: {
      description:
        'Patch is the body of a PATCH request; its format depends on the Content-Type (JSON patch, merge patch, strategic merge patch or apply configuration).',
      type: 'object',
    },
  };
}

// ---------------------------------------------------------------- operations

const JSON_TYPES = ['application/json', 'application/yaml'];
const WATCH_TYPES = [...JSON_TYPES, 'application/json;stream=watch'];

function content(
  schema: OpenApiSchema,
  types: string[] = JSON_TYPES,
): Record<string, { schema: OpenApiSchema }> {
  return Object.fromEntries(types.map((t) => [t, { schema }]));
}
function ok(schema: OpenApiSchema, types?: string[]): Operation['responses'] {
  return {
    '200': { description: 'OK', content: content(schema, types) },
    '401': { description: 'Unauthorized' },
  };
}
function created(schema: OpenApiSchema) {
  return { description: 'Created', content: content(schema) };
}
function accepted(schema: OpenApiSchema) {
  return { description: 'Accepted', content: content(schema) };
}
function body(schema: OpenApiSchema, required = true): NonNullable<Operation['requestBody']> {
  return { content: content(schema, ['*/*']), required };
}
function patchBody(): NonNullable<Operation['requestBody']> {
  return {
    content: content(ref(DEF.patch), [
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ]),
    required: true,
  };
}

function op(
  tag: string,
  description: string,
  operationId: string,
  action: string,
  gvk: Gvk,
  rest: Pick<Operation, 'parameters' | 'requestBody' | 'responses'>,
): Operation {
  const o: Operation = {
    tags: [tag],
    description,
    operationId,
    responses: rest.responses,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: gvk.group, kind: gvk.kind, version: gvk.version },
  };
  if (rest.parameters?.length) o.parameters = rest.parameters;
  if (rest.requestBody) o.requestBody = rest.requestBody;
  return o;
}

const article = (kind: string) => (/^[AEIOU]/.test(kind) ? `an ${kind}` : `a ${kind}`);
const camelGroup = (group: string) =>
  group === ''
    ? 'Core'
    : group
        .split('.')
        .filter((s) => s !== 'k8s' && s !== 'io')
        .map(capitalize)
        .join('');
const tagGroup = (group: string) => {
  const c = camelGroup(group);
  return c.charAt(0).toLowerCase() + c.slice(1);
};

function q(name: string, description: string, type = 'string'): Parameter {
  return { name, in: 'query', description, schema: { type, uniqueItems: true } };
}

const P = {
  pretty: q('pretty', "If 'true', the output is pretty printed."),
  namespace: {
    name: 'namespace',
    in: 'path',
    description: 'object name and auth scope, such as for teams and projects',
    required: true,
    schema: { type: 'string', uniqueItems: true },
  } satisfies Parameter,
  name: (kind: string): Parameter => ({
    name: 'name',
    in: 'path',
    description: `name of the ${kind}`,
    required: true,
    schema: { type: 'string', uniqueItems: true },
  }),
  dryRun: q(
    'dryRun',
    'When present, the request is fully processed (defaulting, admission, validation) but not persisted. The only valid value is "All".',
  ),
  fieldManager: q(
    'fieldManager',
    'The name of the actor making this change, recorded in managedFields. At most 128 printable characters. Required for apply patches.',
  ),
  fieldValidation: q(
    'fieldValidation',
    'How to treat unknown or duplicate fields in the request body: "Ignore" drops them silently, "Warn" drops them and returns a Warning header per field, "Strict" rejects the request with a BadRequest error listing them. Default: Warn.',
  ),
  force: q(
    'force',
    'Apply patches only: take ownership of fields that conflict with other managers instead of failing with a conflict. Must be unset for other patch types.',
    'boolean',
  ),
  labelSelector: q(
    'labelSelector',
    'Restrict the returned objects to those whose labels match this selector.',
  ),
  fieldSelector: q(
    'fieldSelector',
    'Restrict the returned objects to those whose fields match this selector.',
  ),
  limit: q(
    'limit',
    'Maximum number of objects to return in one page; when more exist, metadata.continue holds a token for the next page.',
    'integer',
  ),
  continue: q('continue', 'The continue token from a previous page of this list.'),
  resourceVersion: q(
    'resourceVersion',
    'Constrains which resource versions the request may be served from; see resourceVersionMatch. For watches, the version to start after.',
  ),
  resourceVersionMatch: q(
    'resourceVersionMatch',
    'How resourceVersion applies to a list: "NotOlderThan" or "Exact". Only valid when resourceVersion is set.',
  ),
  timeoutSeconds: q('timeoutSeconds', 'Timeout for the list or watch call, in seconds.', 'integer'),
  watch: q(
    'watch',
    'Stream add, update and delete notifications for the selected objects instead of a list.',
    'boolean',
  ),
  allowWatchBookmarks: q(
    'allowWatchBookmarks',
    'Watches only: the server may send BOOKMARK events carrying only a resourceVersion.',
    'boolean',
  ),
  sendInitialEvents: q(
    'sendInitialEvents',
    'Watches only: start with synthetic ADDED events for the current state, followed by a bookmark marking their end. Requires resourceVersionMatch=NotOlderThan.',
    'boolean',
  ),
  gracePeriodSeconds: q(
    'gracePeriodSeconds',
    'Seconds to wait before the object is deleted; zero means immediately. Defaults to the kind-specific default.',
    'integer',
  ),
  orphanDependents: q(
    'orphanDependents',
    'Deprecated: use propagationPolicy. Whether dependents are orphaned rather than garbage collected.',
    'boolean',
  ),
  propagationPolicy: q(
    'propagationPolicy',
    'Whether and how garbage collection is performed: "Orphan", "Background" or "Foreground".',
  ),
  ignoreStoreReadError: q(
    'ignoreStoreReadErrorWithClusterBreakingPotential',
    'Unsafe deletion of objects that cannot be read from storage (for example because they cannot be decoded).',
    'boolean',
  ),
};

const LIST_PARAMS = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const PATCH_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation, P.force];
const DELETE_PARAMS = [
  P.dryRun,
  P.gracePeriodSeconds,
  P.ignoreStoreReadError,
  P.orphanDependents,
  P.propagationPolicy,
];
const DELETECOLLECTION_PARAMS = [
  P.continue,
  P.dryRun,
  P.fieldSelector,
  P.gracePeriodSeconds,
  P.ignoreStoreReadError,
  P.labelSelector,
  P.limit,
  P.orphanDependents,
  P.propagationPolicy,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
];

// ---------------------------------------------------------------- entry points

export interface GenerateResult {
  outDir: string;
  /** gvPath -> content hash */
  index: Record<string, string>;
  /** total bytes written for the documents */
  bytes: number;
  definitions: number;
  millis: number;
}

/** Walks up from `from` to the directory holding node_modules/@kubernetes/client-node. */
export function findProjectRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (
      existsSync(path.join(dir, 'package.json')) &&
      existsSync(path.join(dir, 'node_modules/@kubernetes/client-node/package.json'))
    ) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`gen-openapi: no project root with node_modules above ${from}`);
    dir = parent;
  }
}

/** Generates every document into `outDir` (replacing its previous contents). */
export async function generateOpenApi(
  outDir: string,
  opts: { projectRoot?: string; resources?: OpenApiResource[] } = {},
): Promise<GenerateResult> {
  const started = performance.now();
  const models = await ModelSource.load(opts.projectRoot ?? findProjectRoot());
  const gen = new Generator({ models, resources: opts.resources ?? openapiResources });
  const docs = gen.run();

  rmSync(outDir, { recursive: true, force: true });
  const index: Record<string, string> = {};
  const kinds: Record<string, { doc: string; definition: string }> = {};
  let bytes = 0;
  for (const [key, doc] of docs) {
    const text = JSON.stringify(doc);
    index[key] = createHash('sha512').update(text).digest('hex').toUpperCase();
    const file = path.join(outDir, `${key}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    bytes += text.length;
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      const gvks = schema['x-kubernetes-group-version-kind'];
      if (!Array.isArray(gvks) || gvks.length !== 1) continue; // skip meta kinds shared by every group
      const gvk = gvks[0] as Gvk;
      const k = `${gvk.group}/${gvk.version}/${gvk.kind}`;
      // Prefer the kind's own group-version document.
      if (!kinds[k] || key === gvPath(gvk.group, gvk.version)) kinds[k] = { doc: key, definition: name };
    }
  }
  writeFileSync(path.join(outDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'kinds.json'), `${JSON.stringify(kinds, null, 2)}\n`);
  return {
    outDir,
    index,
    bytes,
    definitions: gen.definitions.size,
    millis: Math.round(performance.now() - started),
  };
}

async function main(): Promise<void> {
  const root = findProjectRoot();
  const i = process.argv.indexOf('--out');
  const outDir =
    i > 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1] ?? '') : path.join(root, 'dist/openapi');
  const res = await generateOpenApi(outDir, { projectRoot: root });
  console.log(
    `gen-openapi: ${Object.keys(res.index).length} documents, ${res.definitions} definitions, ${(res.bytes / 1024).toFixed(0)} KiB -> ${path.relative(process.cwd(), outDir) || outDir} (${res.millis} ms)`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
