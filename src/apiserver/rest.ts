/**
 * The storage-backed REST semantics of every resource kind: create, get, list,
 * watch, update, patch, delete, deletecollection, and the status/scale
 * subresources. HTTP-free: the HTTP handlers and the in-process client both call
 * this, so controllers see exactly the semantics kubectl sees.
 */
import { randomUUID } from 'node:crypto';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  type FieldError,
  forbidden,
  type GroupResource,
  invalid,
  isOptimisticConflict,
  notFound,
  optimisticConflict,
  StatusError,
} from '../api/errors.js';
import {
  isObject,
  type KList,
  type KObject,
  type ManagedFieldsEntry,
  type ObjectMeta,
  type WatchEvent,
} from '../api/types.js';
import type { ResourceDef } from '../registry/types.js';
import { type KV, StorageError, type Store, type StoreEvent, type Watcher } from '../storage/interface.js';
import { defaultHooks, type Hooks } from './hooks.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface RequestContext {
  /** The authenticated user name (for managedFields manager defaults and audit). */
  user?: string;
  /** Field manager name (defaults from the user agent). */
  fieldManager?: string;
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Warnings to return as `Warning: 299 - "..."` headers. */
  warnings?: string[];
  /** Entries already computed by server-side apply for a create; recorded as they are. */
  managedFields?: ManagedFieldsEntry[];
}

export interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface WatchParams {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

export interface DeleteParams {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
}

export type PatchKind = 'json' | 'merge' | 'strategic' | 'apply';

/** Keys: /registry/<group|core>/<plural>/[<ns>/]<name>. */
export function keyPrefix(def: ResourceDef, namespace?: string): string {
  const base = `/registry/${def.group || 'core'}/${def.plural}/`;
  return def.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function objectKey(def: ResourceDef, namespace: string | undefined, name: string): string {
  return `${keyPrefix(def, def.namespaced ? namespace : undefined)}${name}`;
}

export function apiVersionOf(def: { group: string; version: string }): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

export function groupResource(def: ResourceDef): GroupResource {
  return { group: def.group, resource: def.plural };
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

/** Clock and randomness are injectable for tests. */
export interface RestOptions {
  now?: () => Date;
  uid?: () => string;
  hooks?: Hooks;
  /**
   * Mutating admission on create (pods: the ServiceAccount plugin). `ordinal up` turns it on; in-process
   * test clusters without the ServiceAccount controller leave it off, as upstream's integration tests do.
   */
  admission?: boolean;
}

interface DecodedKV {
  obj: KObject;
  kv: KV;
}

/** How many times a read-modify-write is retried when the store reports a concurrent write. */
const MAX_RETRIES = 16;

export class Rest {
  readonly now: () => Date;
  private readonly uid: () => string;
  readonly hooks: Hooks;
  private readonly admission: boolean;
  private readonly byPlural = new Map<string, ResourceDef>();
  private readonly byKind = new Map<string, ResourceDef>();

  constructor(
    readonly store: Store,
    readonly resources: ResourceDef[],
    opts: RestOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.uid = opts.uid ?? randomUUID;
    this.hooks = opts.hooks ?? defaultHooks;
    this.admission = opts.admission ?? false;
    for (const r of resources) {
      this.byPlural.set(`${r.group}/${r.version}/${r.plural}`, r);
      this.byKind.set(`${r.group}/${r.version}/${r.kind}`, r);
    }
  }

  resource(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.byPlural.get(`${group}/${version}/${plural}`);
  }

  resourceForKind(group: string, version: string, kind: string): ResourceDef | undefined {
    return this.byKind.get(`${group}/${version}/${kind}`);
  }

  timestamp(): string {
    return `${this.now().toISOString().slice(0, 19)}Z`;
  }

  // ---- encoding ---------------------------------------------------------------

  private decode(kv: KV): KObject {
    const obj = JSON.parse(kv.value) as KObject;
    obj.metadata.resourceVersion = String(kv.modRevision);
    return obj;
  }

  private encode(obj: KObject): string {
    const { resourceVersion: _rv, ...meta } = obj.metadata;
    return JSON.stringify({ ...obj, metadata: meta });
  }

  private async read(def: ResourceDef, ns: string | undefined, name: string): Promise<DecodedKV> {
    const kv = await this.store.get(objectKey(def, ns, name));
    if (!kv) throw notFound(groupResource(def), name);
    return { obj: this.decode(kv), kv };
  }

  // ---- get / list ---------------------------------------------------------------

  async get(def: ResourceDef, ns: string | undefined, name: string): Promise<KObject> {
    return (await this.read(def, ns, name)).obj;
  }

  async list(def: ResourceDef, ns: string | undefined, params: ListParams = {}): Promise<KList> {
    const match = this.hooks.compileSelectors(def, params.labelSelector, params.fieldSelector);
    const prefix = keyPrefix(def, ns);
    let revision: number | undefined;
    let startAfter: string | undefined;
    if (params.continue) {
      const tok = decodeContinue(params.continue);
      if (!tok.start.startsWith(prefix))
        throw badRequest('continue key is not valid: key does not match the request');
      revision = tok.rv;
      startAfter = tok.start;
    } else if (params.resourceVersion && params.resourceVersion !== '0') {
      const rv = parseRv(params.resourceVersion);
      const exact =
        params.resourceVersionMatch === 'Exact' ||
        (params.resourceVersionMatch === undefined && params.limit !== undefined && params.limit > 0);
      if (params.resourceVersionMatch && !['Exact', 'NotOlderThan'].includes(params.resourceVersionMatch)) {
        throw badRequest(
          `resourceVersionMatch: Unsupported value: "${params.resourceVersionMatch}": supported values: "Exact", "NotOlderThan"`,
        );
      }
      const current = await this.store.currentRevision();
      if (rv > current) {
        throw new StatusError(504, 'Timeout', `Too large resource version: ${rv}, current: ${current}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
      if (exact) revision = rv;
    } else if (params.resourceVersionMatch && !params.resourceVersion) {
      throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    }
    const limit = params.limit && params.limit > 0 ? params.limit : 0;
    const items: KObject[] = [];
    let more = false;
    let lastKey: string | undefined;
    let listRevision = 0;
    let remaining = 0;
    try {
      for (;;) {
        const page = await this.store.list(prefix, {
          revision,
          startAfter,
          limit: limit ? Math.max(limit - items.length, 64) : 0,
        });
        listRevision = page.revision;
        revision = page.revision;
        let stoppedEarly = false;
        for (let i = 0; i < page.items.length; i++) {
          const kv = page.items[i]!;
          const obj = this.decode(kv);
          lastKey = kv.key;
          if (ns === undefined && def.namespaced && obj.metadata.namespace === undefined) continue;
          if (!match(obj)) continue;
          items.push(obj);
          if (limit && items.length >= limit) {
            if (i < page.items.length - 1 || page.more) {
              more = true;
              remaining = page.items.length - 1 - i + page.remaining;
            }
            stoppedEarly = true;
            break;
          }
        }
        if (stoppedEarly || !page.more) break;
        startAfter = lastKey;
      }
    } catch (e) {
      if (e instanceof StorageError && e.code === 'Compacted') {
        if (params.continue) {
          throw expired(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          );
        }
        throw expired(`too old resource version: ${params.resourceVersion} (${e.revision ?? 0})`);
      }
      throw e;
    }
    const list: KList = {
      apiVersion: apiVersionOf(def),
      kind: `${def.kind}List`,
      metadata: { resourceVersion: String(listRevision) },
      items: items.map((o) => ({ ...o, apiVersion: apiVersionOf(def), kind: def.kind })),
    };
    if (more && lastKey) {
      list.metadata.continue = encodeContinue(
        listRevision,
        items[items.length - 1]?.metadata.name ? lastKey : lastKey,
      );
      // Upstream only reports remainingItemCount when no selector filtering happened.
      if (!params.labelSelector && !params.fieldSelector) list.metadata.remainingItemCount = remaining;
    }
    return list;
  }

  // ---- watch ----------------------------------------------------------------------

  /**
   * Starts a watch. Events are delivered to `onEvent` in order. Resolves once the
   * watch is established (after initial ADDED events for RV ""/"0").
   */
  async watch(
    def: ResourceDef,
    ns: string | undefined,
    params: WatchParams,
    onEvent: (e: WatchEvent) => void,
    onError?: (e: Error) => void,
  ): Promise<Watcher> {
    const match = this.hooks.compileSelectors(def, params.labelSelector, params.fieldSelector);
    const prefix = keyPrefix(def, ns);
    let from: number;
    const rvParam = params.resourceVersion;
    const initial =
      rvParam === undefined || rvParam === '' || rvParam === '0' || params.sendInitialEvents === true;
    if (initial && params.sendInitialEvents !== false) {
      const list = await this.list(def, ns, {
        labelSelector: params.labelSelector,
        fieldSelector: params.fieldSelector,
      });
      for (const item of list.items) onEvent({ type: 'ADDED', object: item });
      from = parseRv(list.metadata.resourceVersion ?? '0');
      if (params.sendInitialEvents && params.allowWatchBookmarks) {
        onEvent({
          type: 'BOOKMARK',
          object: {
            kind: def.kind,
            apiVersion: apiVersionOf(def),
            metadata: {
              resourceVersion: String(from),
              annotations: { 'k8s.io/initial-events-end': 'true' },
            },
          },
        });
      }
    } else {
      from = parseRv(rvParam ?? '0');
    }
    const apiVersion = apiVersionOf(def);
    const toObj = (kv: KV, rev: number): KObject => {
      const o = JSON.parse(kv.value) as KObject;
      o.metadata.resourceVersion = String(rev);
      o.apiVersion = apiVersion;
      o.kind = def.kind;
      return o;
    };
    try {
      return await this.store.watch(prefix, from, {
        onEvent: (ev: StoreEvent) => {
          // Namespaced prefix "/registry/core/pods/" also sees every namespace; fine.
          if (ev.type === 'DELETE') {
            const o = toObj(ev.kv, ev.revision);
            if (match(o)) onEvent({ type: 'DELETED', object: o });
            return;
          }
          const cur = toObj(ev.kv, ev.revision);
          const now = match(cur);
          if (!ev.prevKv) {
            if (now) onEvent({ type: 'ADDED', object: cur });
            return;
          }
          const prev = toObj(ev.prevKv, ev.prevKv.modRevision);
          const was = match(prev);
          if (now && was) onEvent({ type: 'MODIFIED', object: cur });
          else if (now) onEvent({ type: 'ADDED', object: cur });
          else if (was) {
            cur.metadata.resourceVersion = String(ev.revision);
            onEvent({ type: 'DELETED', object: cur });
          }
        },
        onError,
      });
    } catch (e) {
      if (e instanceof StorageError && e.code === 'Compacted') {
        throw expired(`too old resource version: ${from} (${e.revision ?? 0})`);
      }
      throw e;
    }
  }

  // ---- create ---------------------------------------------------------------------

  async create(
    def: ResourceDef,
    ns: string | undefined,
    body: unknown,
    ctx: RequestContext = {},
  ): Promise<KObject> {
    const obj = this.checkBody(def, body, ns);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (!meta.name) {
      throw invalid(def.kind, def.group, '', [
        { type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' },
      ]);
    }
    this.checkUnknownFields(def, obj, ctx);
    if (def.namespaced) await this.checkNamespaceForCreate(ns!);
    // System-maintained metadata.
    meta.uid = this.uid();
    meta.creationTimestamp = this.timestamp();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    dropEmptyMetaCollections(meta);
    if (this.tracksGeneration(def)) meta.generation = 1;
    else delete meta.generation;
    if (def.hasStatus) obj.status = this.hooks.initialStatus(def, obj);
    this.hooks.prepareForCreate(def, obj);
    if (this.admission) await this.hooks.admit(def, obj, this, ns);
    if (!ctx.dryRun) await this.hooks.allocate(def, obj, this);
    def.defaults?.(obj);
    this.validate(def, obj);
    if (ctx.managedFields) meta.managedFields = ctx.managedFields;
    else this.hooks.trackManagedFields(def, undefined, obj, ctx, undefined, this.timestamp());
    if (ctx.dryRun) return obj;
    // A generated name that is taken gets a new suffix (upstream retries up to 8 times).
    const generated = meta.generateName !== undefined && meta.name.startsWith(meta.generateName);
    for (let attempt = 0; ; attempt++) {
      try {
        const kv = await this.store.create(objectKey(def, ns, meta.name), this.encode(obj));
        return { ...obj, metadata: { ...meta, resourceVersion: String(kv.modRevision) } };
      } catch (e) {
        if (!(e instanceof StorageError && e.code === 'KeyExists')) throw e;
        if (!generated || attempt >= 7) throw alreadyExists(groupResource(def), meta.name);
        meta.name = `${meta.generateName}${randomSuffix()}`;
      }
    }
  }

  // ---- update ---------------------------------------------------------------------

  /** PUT: replaces the object (or its status/scale), with optimistic concurrency on metadata.resourceVersion. */
  async update(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    body: unknown,
    ctx: RequestContext = {},
    subresource?: string,
  ): Promise<KObject> {
    if (subresource === 'scale') return this.updateScale(def, ns, name, body, ctx);
    const incoming = this.checkBody(def, body, ns);
    if (incoming.metadata.name && incoming.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    incoming.metadata.name = name;
    this.checkUnknownFields(def, incoming, ctx);
    const { obj: current, kv } = await this.read(def, ns, name);
    const rv = incoming.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
      throw optimisticConflict(groupResource(def), name);
    }
    return this.commitUpdate(def, ns, current, kv, incoming, ctx, subresource);
  }

  /**
   * Applies `incoming` as the new state of `current` (whose store entry is `kv`),
   * enforcing strategy (status vs spec), defaults, validation, generation, managed
   * fields, and finalizer-driven deletion.
   */
  private async commitUpdate(
    def: ResourceDef,
    ns: string | undefined,
    current: KObject,
    kv: KV,
    incoming: KObject,
    ctx: RequestContext,
    subresource: string | undefined,
    managedFieldsDone = false,
  ): Promise<KObject> {
    const name = current.metadata.name!;
    // A uid in the body is a precondition (upstream defaultUpdatedObjectInfo.Preconditions).
    const wantUid = incoming.metadata.uid;
    if (wantUid && wantUid !== current.metadata.uid) {
      throw conflict(
        groupResource(def),
        name,
        `Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    let next: KObject;
    if (subresource === 'status') {
      next = structuredClone(current);
      next.status = incoming.status;
      // Upstream's Deployment status strategy keeps annotation changes (the controller stores the revision there).
      if (def.group === 'apps' && def.plural === 'deployments') {
        if (incoming.metadata.annotations === undefined) delete next.metadata.annotations;
        else next.metadata.annotations = incoming.metadata.annotations;
      }
      // Only status changes through /status (labels, annotations, finalizers come from the old object).
      if (incoming.metadata.managedFields !== undefined)
        next.metadata.managedFields = incoming.metadata.managedFields;
    } else if (subresource === 'finalize') {
      next = structuredClone(current);
      const spec = isObject(incoming.spec) ? incoming.spec : {};
      next.spec = { ...(isObject(next.spec) ? next.spec : {}), finalizers: spec.finalizers };
      if (spec.finalizers === undefined) delete (next.spec as Record<string, unknown>).finalizers;
    } else if (subresource) {
      throw new StatusError(404, 'NotFound', `the server could not find the requested resource`, {});
    } else {
      next = incoming;
      if (def.hasStatus) next.status = current.status;
    }
    const m = next.metadata;
    const o = current.metadata;
    m.uid = o.uid;
    m.creationTimestamp = o.creationTimestamp;
    m.namespace = o.namespace;
    m.name = o.name;
    if (o.deletionTimestamp) {
      m.deletionTimestamp = o.deletionTimestamp;
      m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    delete m.selfLink;
    dropEmptyMetaCollections(m);
    if (m.generateName === undefined && o.generateName !== undefined) m.generateName = o.generateName;
    if (!subresource) def.prepareForUpdate?.(next, current);
    def.defaults?.(next);
    this.hooks.prepareForUpdate(def, next, current, subresource);
    if (this.tracksGeneration(def)) {
      m.generation = o.generation ?? 1;
      if (specChanged(next, current)) m.generation += 1;
    } else {
      delete m.generation;
    }
    if (o.deletionTimestamp) {
      // Finalizers may only be removed once deletion started; new ones are forbidden upstream too.
      const added = (m.finalizers ?? []).filter((f) => !(o.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalid(def.kind, def.group, name, [
          {
            type: 'FieldValueForbidden',
            field: 'metadata.finalizers',
            detail: `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added
              .map((f) => JSON.stringify(f))
              .join(', ')}}`,
          },
        ]);
      }
    }
    this.validateUpdate(def, next, current);
    if (!managedFieldsDone)
      this.hooks.trackManagedFields(def, current, next, ctx, subresource, this.timestamp());
    if (ctx.dryRun) {
      next.metadata.resourceVersion = current.metadata.resourceVersion;
      return next;
    }
    // Semantically unchanged writes do not bump the resourceVersion (upstream behaviour).
    const encoded = this.encode(next);
    if (encoded === this.encode(current)) return current;
    if (
      m.deletionTimestamp &&
      (m.finalizers ?? []).length === 0 &&
      this.hooks.deleteWhenFinalized(def, next)
    ) {
      return this.removeNow(def, ns, next, kv.modRevision);
    }
    try {
      const out = await this.store.update(kv.key, encoded, kv.modRevision);
      // `next` is exactly what was stored: no need to parse it back (metadata is
      // copied because `next` may share it with the caller's body).
      return { ...next, metadata: { ...next.metadata, resourceVersion: String(out.modRevision) } };
    } catch (e) {
      throw this.translateWriteError(def, name, e);
    }
  }

  private translateWriteError(def: ResourceDef, name: string, e: unknown): unknown {
    if (e instanceof StorageError) {
      if (e.code === 'Conflict') return optimisticConflict(groupResource(def), name);
      if (e.code === 'KeyNotFound') return notFound(groupResource(def), name);
    }
    return e;
  }

  /**
   * Writes a scheduling decision (spec.nodeName + PodScheduled condition) onto the
   * pod whose resourceVersion is `pod.metadata.resourceVersion`; 409 when it moved on.
   */
  async bindPod(
    def: ResourceDef,
    ns: string | undefined,
    pod: KObject,
    ctx: RequestContext,
  ): Promise<KObject> {
    const { obj: current, kv } = await this.read(def, ns, pod.metadata.name!);
    if (current.metadata.resourceVersion !== pod.metadata.resourceVersion) {
      throw optimisticConflict(groupResource(def), pod.metadata.name!);
    }
    this.hooks.trackManagedFields(def, current, pod, ctx, 'binding', this.timestamp());
    if (ctx.dryRun) return pod;
    try {
      return this.decode(await this.store.update(kv.key, this.encode(pod), kv.modRevision));
    } catch (e) {
      throw this.translateWriteError(def, pod.metadata.name!, e);
    }
  }

  // ---- patch ----------------------------------------------------------------------

  async patch(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    kind: PatchKind,
    patch: unknown,
    ctx: RequestContext & { force?: boolean } = {},
    subresource?: string,
  ): Promise<KObject> {
    if (subresource === 'scale') {
      return this.retry(async () => {
        const scale = await this.getScale(def, ns, name);
        const patched = this.hooks.applyPatch(
          { group: 'autoscaling', version: 'v1', kind: 'Scale' },
          scale,
          kind,
          patch,
        );
        return this.updateScale(def, ns, name, patched, ctx, true);
      });
    }
    return this.retry(async () => {
      const kv = await this.store.get(objectKey(def, ns, name));
      if (!kv) {
        if (kind === 'apply' && !subresource) return this.applyCreate(def, ns, name, patch, ctx);
        throw notFound(groupResource(def), name);
      }
      const current = this.decode(kv);
      const gvk = { group: def.group, version: def.version, kind: def.kind };
      let next: KObject;
      let managed = false;
      if (kind === 'apply') {
        const applied = this.checkApplyBody(def, patch, ns, name);
        this.checkUnknownFields(def, applied, ctx);
        next = this.hooks.serverSideApply(gvk, current, applied, ctx, ctx.force === true, this.timestamp());
        managed = true;
      } else {
        const patched = this.hooks.applyPatch(gvk, current, kind, patch);
        if (!isObject(patched)) throw badRequest('the patch produced an object that is not a JSON object');
        next = patched as KObject;
        if (!isObject(next.metadata)) next.metadata = {};
        this.checkUnknownFields(def, next, ctx);
      }
      if (next.metadata.name !== undefined && next.metadata.name !== name) {
        throw badRequest(
          `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`,
        );
      }
      const rv = next.metadata.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion) {
        // A patch that carries a resourceVersion is a precondition (kubectl apply never sends one).
        throw optimisticConflict(groupResource(def), name);
      }
      next.apiVersion = apiVersionOf(def);
      next.kind = def.kind;
      return this.commitUpdate(def, ns, current, kv, next, ctx, subresource, managed);
    });
  }

  private async applyCreate(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    patch: unknown,
    ctx: RequestContext & { force?: boolean },
  ): Promise<KObject> {
    const applied = this.checkApplyBody(def, patch, ns, name);
    const gvk = { group: def.group, version: def.version, kind: def.kind };
    const obj = this.hooks.serverSideApply(
      gvk,
      undefined,
      applied,
      ctx,
      ctx.force === true,
      this.timestamp(),
    );
    return this.create(def, ns, obj, {
      ...ctx,
      fieldValidation: 'Ignore',
      managedFields: obj.metadata.managedFields ?? [],
    });
  }

  private checkApplyBody(def: ResourceDef, patch: unknown, ns: string | undefined, name: string): KObject {
    if (!isObject(patch)) throw badRequest('error decoding YAML: the apply configuration must be an object');
    const applied = patch as KObject;
    if (!applied.apiVersion || !applied.kind) {
      throw badRequest('invalid object type: /, Kind=');
    }
    if (applied.kind !== def.kind || applied.apiVersion !== apiVersionOf(def)) {
      throw badRequest(
        `the object provided is unrecognized (must be of type ${def.kind}): ${applied.apiVersion}, Kind=${applied.kind}`,
      );
    }
    if (!isObject(applied.metadata)) applied.metadata = {};
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    applied.metadata.name = name;
    if (def.namespaced) {
      if (applied.metadata.namespace !== undefined && applied.metadata.namespace !== ns) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      applied.metadata.namespace = ns;
    }
    return applied;
  }

  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        // Another writer won the race: re-read and re-apply the patch.
        if (!isOptimisticConflict(e) || attempt >= MAX_RETRIES) throw e;
      }
    }
  }

  // ---- scale ------------------------------------------------------------------------

  async getScale(def: ResourceDef, ns: string | undefined, name: string): Promise<KObject> {
    const obj = await this.get(def, ns, name);
    return this.hooks.toScale(def, obj);
  }

  private async updateScale(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    body: unknown,
    ctx: RequestContext,
    fromPatch = false,
  ): Promise<KObject> {
    if (!isObject(body)) throw badRequest('the body of the request must be a Scale object');
    const scale = body as KObject;
    const spec = isObject(scale.spec) ? scale.spec : {};
    const replicas = spec.replicas;
    const { obj: current, kv } = await this.read(def, ns, name);
    const rv = isObject(scale.metadata) ? scale.metadata.resourceVersion : undefined;
    if (!fromPatch && rv && rv !== current.metadata.resourceVersion)
      throw optimisticConflict(groupResource(def), name);
    if (
      replicas !== undefined &&
      (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
    ) {
      throw invalid('Scale', 'autoscaling', name, [
        {
          type: 'FieldValueInvalid',
          field: 'spec.replicas',
          value: replicas,
          detail: 'must be greater than or equal to 0',
        },
      ]);
    }
    const next = structuredClone(current);
    (next.spec as Record<string, unknown>).replicas = replicas ?? 0;
    const updated = await this.commitUpdate(def, ns, current, kv, next, ctx, undefined);
    return this.hooks.toScale(def, updated);
  }

  // ---- delete -----------------------------------------------------------------------

  /**
   * Deletes or starts deleting. Returns `{ object, deleted }`: `deleted` is false when
   * the object still exists (finalizers or a grace period pending).
   */
  async delete(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    params: DeleteParams = {},
    ctx: RequestContext = {},
  ): Promise<{ object: KObject; deleted: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const { obj, kv } = await this.read(def, ns, name);
      const pre = params.preconditions;
      if (pre?.uid && pre.uid !== obj.metadata.uid) {
        throw conflict(
          groupResource(def),
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
        throw conflict(
          groupResource(def),
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
        );
      }
      const policy = params.propagationPolicy ?? (params.orphanDependents ? 'Orphan' : undefined);
      if (policy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(policy)) {
        throw invalid('DeleteOptions', '', '', [
          {
            type: 'FieldValueNotSupported',
            field: 'propagationPolicy',
            value: policy,
            supported: ['Foreground', 'Background', 'Orphan'],
          },
        ]);
      }

      const next = structuredClone(obj);
      const m = next.metadata;
      const finalizers = new Set(m.finalizers ?? []);
      const policyFinalizer =
        policy === 'Foreground' ? 'foregroundDeletion' : policy === 'Orphan' ? 'orphan' : undefined;
      const defaultPolicyFinalizer =
        policy === undefined ? this.hooks.defaultDeletionFinalizer(def) : undefined;
      const addFinalizer = policyFinalizer ?? defaultPolicyFinalizer;
      if (policy === 'Background') {
        finalizers.delete('orphan');
        finalizers.delete('foregroundDeletion');
      }
      // Graceful deletion (pods): the object stays until the grace period is over.
      // Negative grace periods mean "now", as upstream.
      const requested =
        params.gracePeriodSeconds === undefined ? undefined : Math.max(0, params.gracePeriodSeconds);
      const grace = this.hooks.gracePeriod(def, obj, requested);
      const alreadyDeleting = m.deletionTimestamp !== undefined;
      const hasOwnerDependents = addFinalizer !== undefined;
      if (hasOwnerDependents) {
        finalizers.add(addFinalizer);
        if (addFinalizer === 'foregroundDeletion') finalizers.delete('orphan');
        if (addFinalizer === 'orphan') finalizers.delete('foregroundDeletion');
      }
      const specFinalizers = this.hooks.pendingFinalizers(def, obj);
      const pending = finalizers.size > 0 || specFinalizers || (grace !== undefined && grace > 0);
      if (!pending) {
        if (ctx.dryRun) return { object: obj, deleted: true };
        try {
          const gone = await this.removeNow(def, ns, obj, kv.modRevision);
          return { object: gone, deleted: true };
        } catch (e) {
          if (e instanceof StatusError && e.reason === 'Conflict' && attempt < MAX_RETRIES) continue;
          throw e;
        }
      }
      if (!alreadyDeleting) {
        const when =
          grace !== undefined && grace > 0 ? new Date(this.now().getTime() + grace * 1000) : this.now();
        m.deletionTimestamp = `${when.toISOString().slice(0, 19)}Z`;
        m.deletionGracePeriodSeconds = grace ?? 0;
      } else if (
        grace !== undefined &&
        m.deletionGracePeriodSeconds !== undefined &&
        grace < m.deletionGracePeriodSeconds
      ) {
        // A shorter grace period may replace a longer one.
        const when = new Date(this.now().getTime() + grace * 1000);
        m.deletionTimestamp = `${when.toISOString().slice(0, 19)}Z`;
        m.deletionGracePeriodSeconds = grace;
      }
      m.finalizers = finalizers.size > 0 ? [...finalizers] : undefined;
      if (m.finalizers === undefined) delete m.finalizers;
      this.hooks.prepareForDelete(def, next);
      if (grace === 0 && finalizers.size === 0 && !specFinalizers) {
        if (ctx.dryRun) return { object: next, deleted: true };
        const gone = await this.removeNow(def, ns, next, kv.modRevision);
        return { object: gone, deleted: true };
      }
      if (ctx.dryRun) return { object: next, deleted: false };
      if (this.encode(next) === this.encode(obj)) return { object: obj, deleted: false };
      try {
        const out = await this.store.update(kv.key, this.encode(next), kv.modRevision);
        return { object: this.decode(out), deleted: false };
      } catch (e) {
        if (e instanceof StorageError && e.code === 'Conflict' && attempt < MAX_RETRIES) continue;
        throw this.translateWriteError(def, name, e);
      }
    }
  }

  /** Removes the key now (expected at `modRevision`), returning the last state. */
  private async removeNow(
    def: ResourceDef,
    ns: string | undefined,
    obj: KObject,
    modRevision: number,
  ): Promise<KObject> {
    try {
      const kv = await this.store.delete(objectKey(def, ns, obj.metadata.name!), modRevision);
      const out = this.decode(kv);
      return out;
    } catch (e) {
      throw this.translateWriteError(def, obj.metadata.name!, e);
    }
  }

  async deleteCollection(
    def: ResourceDef,
    ns: string | undefined,
    params: ListParams & DeleteParams,
    ctx: RequestContext = {},
  ): Promise<KList> {
    const list = await this.list(def, ns, {
      labelSelector: params.labelSelector,
      fieldSelector: params.fieldSelector,
    });
    const deleted: KObject[] = [];
    for (const item of list.items) {
      try {
        const r = await this.delete(def, item.metadata.namespace, item.metadata.name!, params, ctx);
        deleted.push(r.object);
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === 'NotFound')) throw e;
      }
    }
    return { ...list, items: deleted };
  }

  // ---- helpers --------------------------------------------------------------------

  private tracksGeneration(def: ResourceDef): boolean {
    return def.tracksGeneration ?? (def.group !== '' && def.hasStatus === true);
  }

  /** Checks the decoded body is an object of this kind, and fixes up namespace. */
  private checkBody(def: ResourceDef, body: unknown, ns: string | undefined): KObject {
    if (!isObject(body)) {
      throw badRequest(`the object provided is unrecognized (must be of type ${def.kind})`);
    }
    const obj = body as KObject;
    const expected = apiVersionOf(def);
    if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== def.kind) {
      throw badRequest(
        `${String(obj.kind)} in version "${versionOf(obj.apiVersion) || def.version}" cannot be handled as a ${def.kind}: no kind "${String(obj.kind)}" is registered for version "${String(obj.apiVersion ?? expected)}" in scheme "pkg/api/legacyscheme/scheme.go:30"`,
      );
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== expected) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expected})`,
      );
    }
    obj.apiVersion = expected;
    obj.kind = def.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isObject(obj.metadata)) {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: metadata must be an object`,
      );
    }
    const meta = obj.metadata as ObjectMeta;
    for (const key of ['name', 'generateName', 'namespace', 'resourceVersion', 'uid'] as const) {
      const v: unknown = meta[key];
      if (v !== undefined && v !== null && typeof v !== 'string') {
        const got = Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v;
        throw badRequest(
          `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: json: cannot unmarshal ${got} into Go struct field ObjectMeta.metadata.${key} of type string`,
        );
      }
    }
    if (def.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== ns) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = ns;
    } else {
      delete meta.namespace;
    }
    return obj;
  }

  private checkUnknownFields(def: ResourceDef, obj: KObject, ctx: RequestContext): void {
    // Values of the wrong JSON type never decode upstream, whatever fieldValidation says.
    const wrong = this.hooks.typeMismatch(def, obj);
    if (wrong) {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: json: cannot unmarshal ${wrong.got} into Go struct field ${def.kind}.${wrong.path} of type ${wrong.want}`,
      );
    }
    const mode = ctx.fieldValidation ?? 'Warn';
    if (mode === 'Strict') {
      const unknown = this.hooks.unknownFields(def, obj);
      if (unknown.length === 0) return;
      const msgs = unknown.map((f) => `unknown field "${f}"`);
      throw badRequest(`strict decoding error: ${msgs.join(', ')}`);
    }
    // Ignore and Warn drop unknown fields, as upstream's decoder does; Warn also says so.
    const unknown = this.hooks.pruneUnknownFields(def, obj);
    if (mode === 'Ignore' || unknown.length === 0) return;
    ctx.warnings ??= [];
    for (const f of unknown) ctx.warnings.push(`unknown field "${f}"`);
  }

  private async checkNamespaceForCreate(ns: string): Promise<void> {
    const nsDef = this.resource('', 'v1', 'namespaces');
    if (!nsDef) return;
    const kv = await this.store.get(objectKey(nsDef, undefined, ns));
    if (!kv) throw notFound({ group: '', resource: 'namespaces' }, ns);
    const nsObj = this.decode(kv);
    if (nsObj.metadata.deletionTimestamp) {
      throw forbidden(`unable to create new content in namespace ${ns} because it is being terminated`, {
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${ns} is being terminated`,
            field: 'metadata.namespace',
          },
        ],
      });
    }
  }

  private validate(def: ResourceDef, obj: KObject): void {
    const errs: FieldError[] = def.validate ? def.validate(obj) : this.hooks.validateMeta(def, obj);
    if (errs.length > 0) throw invalid(def.kind, def.group, obj.metadata.name ?? '', errs);
  }

  private validateUpdate(def: ResourceDef, obj: KObject, old: KObject): void {
    const errs: FieldError[] = def.validateUpdate
      ? def.validateUpdate(obj, old)
      : def.validate
        ? def.validate(obj)
        : this.hooks.validateMeta(def, obj);
    if (errs.length > 0) throw invalid(def.kind, def.group, obj.metadata.name ?? '', errs);
  }
}

function versionOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  const i = apiVersion.indexOf('/');
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

/** True when anything outside metadata and status differs. */
export function specChanged(a: KObject, b: KObject): boolean {
  const strip = (o: KObject): string => {
    const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
    return JSON.stringify(rest);
  };
  return strip(a) !== strip(b);
}

export function parseRv(rv: string): number {
  if (!/^\d+$/.test(rv)) {
    throw badRequest(`resourceVersion: Invalid value: "${rv}": must be a non-negative integer`);
  }
  return Number(rv);
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: lastKey })).toString('base64');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      v?: string;
      rv?: unknown;
      start?: unknown;
    };
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string')
      throw new Error('bad');
    return { rv: t.rv, start: t.start };
  } catch {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}

/**
 * ObjectMeta's labels, annotations, finalizers and ownerReferences are `omitempty`:
 * upstream never stores or returns them empty (e.g. after removing the last label).
 */
function dropEmptyMetaCollections(meta: ObjectMeta): void {
  const m = meta as Record<string, unknown>;
  for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
    const v = m[key];
    if (v === null || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0)) {
      delete m[key];
    }
  }
}
