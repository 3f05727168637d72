/**
 * Per-kind behaviour the generic REST layer delegates: selectors, patch
 * application, managed fields, status reset, graceful deletion, scale. Kept as
 * one seam so the REST semantics stay in rest.ts and kind quirks stay here.
 */
import { badRequest } from '../api/errors.js';
import { isObject, type KObject, type ManagedFieldsEntry } from '../api/types.js';
import { applyPatch as serverSideApplyPatch, updateManagedFields } from '../machinery/apply.js';
import { applyJsonPatch } from '../machinery/json-patch.js';
import { jsonMergePatch } from '../machinery/merge-patch.js';
import { pruneUnknownFields, schemaFor, unknownFields } from '../machinery/schema.js';
import { parseFieldSelector, parseLabelSelector } from '../machinery/selectors.js';
import { strategicMergePatch } from '../machinery/strategic-merge-patch.js';
import { ANY, type TypeSchema } from '../machinery/type-schema.js';
import type { GroupVersionKind, ResourceDef } from '../registry/types.js';
import { validateObjectMeta } from '../registry/validation.js';
import type { PatchKind, RequestContext, Rest } from './rest.js';
import { admitServiceAccount } from './service-account-admission.js';
import { allocateServiceAddresses, keepServiceAddresses } from './service-alloc.js';

export interface Hooks {
  compileSelectors(def: ResourceDef, label?: string, field?: string): (obj: KObject) => boolean;
  initialStatus(def: ResourceDef, obj: KObject): unknown;
  prepareForCreate(def: ResourceDef, obj: KObject): void;
  prepareForUpdate(def: ResourceDef, next: KObject, current: KObject, subresource?: string): void;
  prepareForDelete(def: ResourceDef, obj: KObject): void;
  trackManagedFields(
    def: ResourceDef,
    old: KObject | undefined,
    next: KObject,
    ctx: RequestContext,
    subresource: string | undefined,
    now: string,
  ): void;
  /** True when an object whose deletion started and whose finalizers are empty should now be removed. */
  deleteWhenFinalized(def: ResourceDef, obj: KObject): boolean;
  /** Finalizer implied by a delete without propagationPolicy (none for current kinds). */
  defaultDeletionFinalizer(def: ResourceDef): string | undefined;
  /** Non-metadata finalizers that keep an object (namespace spec.finalizers). */
  pendingFinalizers(def: ResourceDef, obj: KObject): boolean;
  /** Seconds of graceful deletion, or undefined when the kind deletes at once. */
  gracePeriod(def: ResourceDef, obj: KObject, requested: number | undefined): number | undefined;
  applyPatch(gvk: GroupVersionKind, current: KObject, kind: PatchKind, patch: unknown): unknown;
  serverSideApply(
    gvk: GroupVersionKind,
    current: KObject | undefined,
    applied: KObject,
    ctx: RequestContext,
    force: boolean,
    now: string,
  ): KObject;
  toScale(def: ResourceDef, obj: KObject): KObject;
  unknownFields(def: ResourceDef, obj: KObject): string[];
  /** Deletes the fields unknownFields would report from `obj` (in place) and returns their paths. */
  pruneUnknownFields(def: ResourceDef, obj: KObject): string[];
  /** The first value whose JSON type cannot decode into the schema (e.g. an array for a map). */
  typeMismatch(def: ResourceDef, obj: KObject): TypeMismatch | undefined;
  /** Assigns cluster-allocated values on create (Service clusterIP and nodePorts). */
  allocate(def: ResourceDef, obj: KObject, rest: Rest): Promise<void>;
  /** Mutating admission on create, dry runs included (pods: ServiceAccount). */
  admit(def: ResourceDef, obj: KObject, rest: Rest, namespace: string | undefined): Promise<void>;
  validateMeta(def: ResourceDef, obj: KObject): import('../api/errors.js').FieldError[];
}

function supportedFields(def: ResourceDef): Set<string> {
  const keys = new Set(['metadata.name', 'metadata.namespace']);
  try {
    for (const k of Object.keys(def.fieldLabels?.({ apiVersion: '', kind: def.kind, metadata: {} }) ?? {}))
      keys.add(k);
  } catch {
    // fieldLabels may assume fields exist; fall back to metadata only.
  }
  return keys;
}

const supportedCache = new WeakMap<ResourceDef, Set<string>>();

function fieldValues(def: ResourceDef, obj: KObject): Record<string, string> {
  const base: Record<string, string> = {
    'metadata.name': obj.metadata.name ?? '',
    'metadata.namespace': obj.metadata.namespace ?? '',
  };
  return def.fieldLabels ? { ...base, ...def.fieldLabels(obj) } : base;
}

function schemaOf(gvk: GroupVersionKind) {
  return schemaFor(gvk.group, gvk.version, gvk.kind) ?? ANY;
}

export const defaultHooks: Hooks = {
  compileSelectors(def, label, field) {
    const lm = label ? parseLabelSelector(label) : undefined;
    const fm = field ? parseFieldSelector(field) : undefined;
    if (fm) {
      let supported = supportedCache.get(def);
      if (!supported) {
        supported = supportedFields(def);
        supportedCache.set(def, supported);
      }
      for (const { field: f } of fm.requirements) {
        if (!supported.has(f)) {
          throw badRequest(`field label not supported: ${f}`);
        }
      }
    }
    if (!lm && !fm) return () => true;
    return (obj) =>
      (!lm || lm.matches(obj.metadata.labels ?? {})) && (!fm || fm.matches(fieldValues(def, obj)));
  },
  initialStatus() {
    return {};
  },
  prepareForCreate() {},
  prepareForUpdate(def, next, current, subresource) {
    if (!subresource && def.group === '' && def.plural === 'services') keepServiceAddresses(next, current);
  },
  prepareForDelete(def, obj) {
    if (def.group === '' && def.plural === 'namespaces') {
      obj.status = { ...(isObject(obj.status) ? obj.status : {}), phase: 'Terminating' };
    }
  },
  trackManagedFields(def, old, next, ctx, subresource, now) {
    const schema = schemaOf(def);
    const updated = updateManagedFields(
      old,
      next,
      schema,
      ctx.fieldManager ?? 'unknown',
      'Update',
      subresource,
      now,
    );
    next.metadata.managedFields = updated.metadata.managedFields as ManagedFieldsEntry[] | undefined;
    if (next.metadata.managedFields === undefined) delete next.metadata.managedFields;
  },
  deleteWhenFinalized(def, obj) {
    // Upstream shouldDeleteDuringUpdate: an object in graceful deletion (a pod
    // waiting for its kubelet) stays until a delete with grace 0, however many
    // updates (status, finalizer removal) it receives meanwhile.
    const grace = obj.metadata.deletionGracePeriodSeconds;
    if (typeof grace === 'number' && grace > 0) return false;
    return !this.pendingFinalizers(def, obj);
  },
  defaultDeletionFinalizer() {
    return undefined;
  },
  pendingFinalizers(def, obj) {
    if (def.group === '' && def.plural === 'namespaces') {
      const spec = isObject(obj.spec) ? obj.spec : {};
      return Array.isArray(spec.finalizers) && spec.finalizers.length > 0;
    }
    return false;
  },
  gracePeriod(def, obj, requested) {
    if (!(def.group === '' && def.plural === 'pods')) return undefined;
    const spec = isObject(obj.spec) ? obj.spec : {};
    const status = isObject(obj.status) ? obj.status : {};
    // Unscheduled or finished pods have no kubelet to wait for.
    if (!spec.nodeName || status.phase === 'Succeeded' || status.phase === 'Failed') return 0;
    if (requested !== undefined) return requested;
    const t = spec.terminationGracePeriodSeconds;
    return typeof t === 'number' ? t : 30;
  },
  applyPatch(gvk, current, kind, patch) {
    switch (kind) {
      case 'json':
        return applyJsonPatch(current, patch);
      case 'merge':
        return jsonMergePatch(current, patch);
      case 'strategic':
        return strategicMergePatch(current, patch, schemaOf(gvk));
      default:
        throw badRequest(`patch type ${kind} is not supported here`);
    }
  },
  serverSideApply(gvk, current, applied, ctx, force, now) {
    return serverSideApplyPatch(current, applied, schemaOf(gvk), ctx.fieldManager ?? 'unknown', force, now);
  },
  toScale(_def, obj) {
    const spec = isObject(obj.spec) ? obj.spec : {};
    const status = isObject(obj.status) ? obj.status : {};
    const sel = isObject(spec.selector) ? spec.selector : undefined;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 0 },
      status: {
        replicas: typeof status.replicas === 'number' ? status.replicas : 0,
        ...(sel ? { selector: selectorString(sel) } : {}),
      },
    };
  },
  unknownFields(def, obj) {
    const schema = schemaFor(def.group, def.version, def.kind);
    if (!schema) return [];
    return unknownFields(obj, schema);
  },
  pruneUnknownFields(def, obj) {
    const schema = schemaFor(def.group, def.version, def.kind);
    if (!schema) return [];
    return pruneUnknownFields(obj, schema);
  },
  typeMismatch(def, obj) {
    const schema = schemaFor(def.group, def.version, def.kind);
    if (!schema) return undefined;
    const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
    return findTypeMismatch(rest, schema, '');
  },
  async allocate(def, obj, rest) {
    if (def.group === '' && def.plural === 'services') await allocateServiceAddresses(def, obj, rest);
  },
  async admit(def, obj, rest, namespace) {
    if (def.group === '' && def.plural === 'pods' && namespace)
      await admitServiceAccount(obj, rest, namespace);
  },
  validateMeta(def, obj) {
    return validateObjectMeta(obj.metadata, { namespaced: def.namespaced });
  },
};

/** metav1.FormatLabelSelector-like rendering used in Scale.status.selector. */
function selectorString(sel: Record<string, unknown>): string {
  const parts: string[] = [];
  const ml = isObject(sel.matchLabels) ? sel.matchLabels : {};
  for (const k of Object.keys(ml).sort()) parts.push(`${k}=${String(ml[k])}`);
  const me = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : [];
  for (const e of me) {
    if (!isObject(e)) continue;
    const vals = Array.isArray(e.values) ? [...e.values].map(String).sort() : [];
    switch (e.operator) {
      case 'In':
        parts.push(`${String(e.key)} in (${vals.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${String(e.key)} notin (${vals.join(',')})`);
        break;
      case 'Exists':
        parts.push(String(e.key));
        break;
      case 'DoesNotExist':
        parts.push(`!${String(e.key)}`);
        break;
    }
  }
  return parts.join(',');
}

export interface TypeMismatch {
  path: string;
  got: string;
  want: string;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Depth-first search for a value whose JSON type the schema cannot take. Null is always fine. */
export function findTypeMismatch(v: unknown, schema: TypeSchema, path: string): TypeMismatch | undefined {
  if (v === null || v === undefined) return undefined;
  const isObj = isObject(v);
  switch (schema.type) {
    case 'object': {
      if (!isObj) return { path, got: jsonType(v), want: 'struct' };
      for (const [k, child] of Object.entries(v)) {
        const f: unknown = schema.fields?.[k];
        if (typeof f !== 'object' || f === null) continue;
        const m = findTypeMismatch(child, f as TypeSchema, path ? `${path}.${k}` : k);
        if (m) return m;
      }
      return undefined;
    }
    case 'map': {
      if (!isObj) return { path, got: jsonType(v), want: 'map[string]' };
      if (!schema.elem) return undefined;
      for (const [k, child] of Object.entries(v)) {
        const m = findTypeMismatch(child, schema.elem, `${path}.${k}`);
        if (m) return m;
      }
      return undefined;
    }
    case 'list': {
      if (!Array.isArray(v)) return { path, got: jsonType(v), want: '[]' };
      if (!schema.elem) return undefined;
      for (let i = 0; i < v.length; i++) {
        const m = findTypeMismatch(v[i], schema.elem, `${path}[${i}]`);
        if (m) return m;
      }
      return undefined;
    }
    case 'scalar':
      return isObj || Array.isArray(v) ? { path, got: jsonType(v), want: 'string' } : undefined;
    default:
      return undefined;
  }
}
