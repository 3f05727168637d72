/**
 * Shared informers: one list+watch per resource kept in an in-memory cache,
 * with add/update/delete handlers, as client-go's SharedIndexInformer.
 *
 * The informer lists through the Client, then watches from the list's
 * resourceVersion. When the watch ends for any reason (a 410 Expired ERROR
 * event, another ERROR, a server timeout) it lists again and reconciles the
 * cache with the new list, emitting the adds, updates and deletes it missed.
 * List failures are retried with backoff.
 *
 * Cache contract: objects returned by `get`/`list` and passed to handlers are
 * the cache's own copies, shared by every reader. Never mutate them; use
 * `structuredClone` before changing one (e.g. to write it back).
 */
import { isStatusError } from '../api/errors.js';
import type { KObject, LabelSelector, Status, WatchEvent } from '../api/types.js';
import type { Client, ResourceRef, WatchHandle } from './interface.js';
import { type Clock, realClock } from './workqueue.js';

export interface EventHandlers {
  onAdd?(obj: KObject): void;
  onUpdate?(oldObj: KObject, newObj: KObject): void;
  /** `obj` is the last state seen (after a re-list, the last cached state). */
  onDelete?(obj: KObject): void;
}

/** A label selector object, or any predicate over cached objects. */
export type Selector = LabelSelector | ((obj: KObject) => boolean);

export interface InformerOptions {
  /** Only this namespace (default: all). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  clock?: Clock;
  /** First retry delay after a failed list (doubles up to maxBackoffMs). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called on list/watch failures (default: console.error, except for expected 410s). */
  onError?(err: unknown): void;
}

/** Matches labels against a metav1.LabelSelector: `{}` matches everything. */
export function matchesLabelSelector(
  sel: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const v = l[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(v as string)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(v as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** "ns/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: KObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name ?? ''}` : (obj.metadata.name ?? '');
}

/** Splits a key made by `objectKey`. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Informer {
  /** namespace ("" for cluster-scoped) → name → object. */
  private readonly cache = new Map<string, Map<string, KObject>>();
  private readonly handlers = new Set<EventHandlers>();
  private readonly clock: Clock;
  private readonly onError: (err: unknown) => void;
  private synced = false;
  private syncWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private started = false;
  private stopped = false;
  private watch: WatchHandle | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private sleepTimer: unknown;

  constructor(
    private readonly client: Client,
    readonly resource: ResourceRef,
    private readonly opts: InformerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.onError =
      opts.onError ??
      ((err) => {
        if (isStatusError(err) && err.code === 410) return;
        console.error(`informer ${this.describe()}:`, err);
      });
  }

  private describe(): string {
    const r = this.resource;
    return r.group ? `${r.resource}.${r.group}` : r.resource;
  }

  /**
   * Registers handlers; returns a function that removes them. Handlers added
   * after objects are cached get an onAdd for each cached object first (as
   * client-go). Handlers run synchronously in event order and should only
   * record or enqueue; exceptions they throw are reported and ignored.
   */
  addEventHandler(h: EventHandlers): () => void {
    this.handlers.add(h);
    for (const byName of this.cache.values()) for (const o of byName.values()) this.call(h, 'add', o);
    return () => {
      this.handlers.delete(h);
    };
  }

  onAdd(fn: (obj: KObject) => void): () => void {
    return this.addEventHandler({ onAdd: fn });
  }

  onUpdate(fn: (oldObj: KObject, newObj: KObject) => void): () => void {
    return this.addEventHandler({ onUpdate: fn });
  }

  onDelete(fn: (obj: KObject) => void): () => void {
    return this.addEventHandler({ onDelete: fn });
  }

  /** The cached object, or undefined. `namespace` is ignored for cluster-scoped kinds (pass undefined). */
  get(namespace: string | undefined, name: string): KObject | undefined {
    return this.cache.get(namespace ?? '')?.get(name);
  }

  /** Cached objects, optionally in one namespace and matching a selector. */
  list(namespace?: string, selector?: Selector): KObject[] {
    const out: KObject[] = [];
    const match =
      selector === undefined
        ? () => true
        : typeof selector === 'function'
          ? selector
          : (o: KObject) => matchesLabelSelector(selector, o.metadata.labels);
    const maps =
      namespace === undefined ? [...this.cache.values()] : [this.cache.get(namespace) ?? new Map()];
    for (const byName of maps) for (const o of byName.values()) if (match(o)) out.push(o);
    return out;
  }

  /** True once the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is cached (rejects if the informer stops before). */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(new Error(`informer ${this.describe()} stopped before syncing`));
        return;
      }
      this.syncWaiters.push({ resolve, reject });
    });
  }

  /** Starts listing and watching; idempotent. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.loop = this.run();
  }

  /** Stops the watch and waits for the loop to end. Cached data stays readable. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    if (this.sleepTimer !== undefined) this.clock.clearTimeout(this.sleepTimer);
    this.wake?.();
    const ws = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of ws) w.reject(new Error(`informer ${this.describe()} stopped before syncing`));
    await this.loop;
  }

  private async run(): Promise<void> {
    const minBackoff = this.opts.minBackoffMs ?? 100;
    const maxBackoff = this.opts.maxBackoffMs ?? 30_000;
    let backoff = minBackoff;
    while (!this.stopped) {
      let rv: string;
      try {
        const list = await this.client.list(this.resource, this.opts.namespace, {
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        });
        if (this.stopped) return;
        this.replace(list.items);
        rv = list.metadata.resourceVersion ?? '';
      } catch (err) {
        if (this.stopped) return;
        this.onError(err);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
        continue;
      }
      const startedAt = this.clock.now();
      const healthy = await this.watchFrom(rv);
      if (this.stopped) return;
      // A watch that ends at once (or fails) backs off before the next list; a long one resets the backoff.
      if (healthy && this.clock.now() - startedAt >= 1000) {
        backoff = minBackoff;
      } else {
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  }

  /** Watches from `rv` until the watch ends; false when it could not start or ended with an ERROR. */
  private async watchFrom(rv: string): Promise<boolean> {
    let failed = false;
    let handle: WatchHandle | undefined;
    let endEarly = false;
    const onEvent = (e: WatchEvent): void => {
      if (this.stopped || endEarly) return;
      switch (e.type) {
        case 'ADDED':
        case 'MODIFIED':
          this.upsert(e.object);
          break;
        case 'DELETED':
          this.remove(e.object);
          break;
        case 'BOOKMARK':
          break;
        case 'ERROR': {
          const st = e.object as unknown as Status;
          // 410 Expired/Gone is the normal "re-list" signal; anything else is worth a log line.
          if (st.code !== 410)
            this.onError(new Error(`watch error: ${st.message ?? st.reason ?? 'unknown'}`));
          failed = true;
          endEarly = true;
          handle?.stop();
          break;
        }
      }
    };
    try {
      handle = await this.client.watch(
        this.resource,
        this.opts.namespace,
        {
          resourceVersion: rv,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          allowWatchBookmarks: true,
        },
        onEvent,
      );
    } catch (err) {
      if (!this.stopped) this.onError(err);
      return false;
    }
    this.watch = handle;
    if (this.stopped || endEarly) handle.stop();
    await handle.done;
    this.watch = undefined;
    return !failed;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        this.sleepTimer = undefined;
        resolve();
      };
      this.sleepTimer = this.clock.setTimeout(() => this.wake?.(), ms);
    });
  }

  /** Replaces the cache with a fresh list, emitting the differences. */
  private replace(items: KObject[]): void {
    const seen = new Set<string>();
    for (const o of items) {
      seen.add(`${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`);
      this.upsert(o);
    }
    for (const [ns, byName] of [...this.cache]) {
      for (const [name, o] of [...byName]) if (!seen.has(`${ns}/${name}`)) this.remove(o);
    }
    if (!this.synced) {
      this.synced = true;
      const ws = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of ws) w.resolve();
    }
  }

  private upsert(obj: KObject): void {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    let byName = this.cache.get(ns);
    if (!byName) {
      byName = new Map();
      this.cache.set(ns, byName);
    }
    const old = byName.get(name);
    byName.set(name, obj);
    if (!old) {
      for (const h of [...this.handlers]) this.call(h, 'add', obj);
    } else if (
      old.metadata.resourceVersion !== obj.metadata.resourceVersion ||
      old.metadata.uid !== obj.metadata.uid
    ) {
      if (old.metadata.uid !== obj.metadata.uid) {
        // Deleted and re-created between two observations: report both.
        for (const h of [...this.handlers]) this.call(h, 'delete', old);
        for (const h of [...this.handlers]) this.call(h, 'add', obj);
      } else {
        for (const h of [...this.handlers]) this.call(h, 'update', obj, old);
      }
    }
  }

  private remove(obj: KObject): void {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    const byName = this.cache.get(ns);
    const old = byName?.get(name);
    if (!byName || !old) return;
    byName.delete(name);
    if (byName.size === 0) this.cache.delete(ns);
    // Prefer the event's object (its final state); fall back to the cached one after a re-list.
    const last = obj.metadata.uid === old.metadata.uid && obj.metadata.resourceVersion ? obj : old;
    for (const h of [...this.handlers]) this.call(h, 'delete', last);
  }

  private call(h: EventHandlers, kind: 'add' | 'update' | 'delete', obj: KObject, old?: KObject): void {
    try {
      if (kind === 'add') h.onAdd?.(obj);
      else if (kind === 'update') h.onUpdate?.(old!, obj);
      else h.onDelete?.(obj);
    } catch (err) {
      console.error(`informer ${this.describe()}: event handler failed:`, err);
    }
  }
}

/** Shares one informer per resource (cluster-wide) between controllers. */
export class InformerFactory {
  private readonly informers = new Map<string, Informer>();
  private started = false;

  constructor(
    private readonly client: Client,
    private readonly opts: Omit<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector'> = {},
  ) {}

  /** The shared informer for `res` (created on first use; started at once if the factory already started). */
  forResource(res: ResourceRef): Informer {
    const key = `${res.group}/${res.version}/${res.resource}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer(this.client, res, this.opts);
      this.informers.set(key, inf);
      if (this.started) inf.start();
    }
    return inf;
  }

  /** Starts every informer created so far and any created later. */
  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Resolves once every informer created so far has synced. */
  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
