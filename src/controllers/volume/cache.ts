/**
 * An informer view that also remembers what this controller just wrote, like
 * upstream's PV controller keeps its own claim/volume stores updated from its
 * writes: a binding writes four objects in a row and the next pass must not
 * act on the informer's older copies. `get` returns whichever of the
 * informer's copy and our written copy has the newer resourceVersion; our copy
 * is dropped once the informer catches up or the object is deleted.
 *
 * Objects returned are shared (informer cache or our last write): never mutate
 * them; copy with structuredClone first.
 */
import type { KObject } from '../../api/types.js';
import type { Informer } from '../../client/informer.js';
import { newerThan } from './util.js';

function cacheKey(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export class FreshCache {
  private readonly written = new Map<string, KObject>();
  private readonly listeners: Array<(ns: string | undefined, name: string) => void> = [];
  private unsubscribe: (() => void) | undefined;

  constructor(readonly informer: Informer) {}

  /** Starts following the informer; call once before reading. */
  start(): void {
    if (this.unsubscribe) return;
    const seen = (o: KObject): void => {
      const k = cacheKey(o.metadata.namespace, o.metadata.name ?? '');
      const mine = this.written.get(k);
      if (mine && (mine.metadata.uid !== o.metadata.uid || !newerThan(mine, o))) this.written.delete(k);
      this.changed(o.metadata.namespace, o.metadata.name ?? '');
    };
    this.unsubscribe = this.informer.addEventHandler({
      onAdd: seen,
      onUpdate: (_old, o) => seen(o),
      onDelete: (o) => {
        const k = cacheKey(o.metadata.namespace, o.metadata.name ?? '');
        const mine = this.written.get(k);
        // A copy we wrote after this deletion (re-created object) survives.
        if (mine && (mine.metadata.uid === o.metadata.uid || !newerThan(mine, o))) this.written.delete(k);
        this.changed(o.metadata.namespace, o.metadata.name ?? '');
      },
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Called with (namespace, name) whenever the merged view of an object may have changed. */
  onChange(fn: (ns: string | undefined, name: string) => void): void {
    this.listeners.push(fn);
  }

  private changed(ns: string | undefined, name: string): void {
    for (const l of this.listeners) l(ns, name);
  }

  get(ns: string | undefined, name: string): KObject | undefined {
    const inf = this.informer.get(ns, name);
    const mine = this.written.get(cacheKey(ns, name));
    if (!mine) return inf;
    if (!inf) return mine;
    return newerThan(mine, inf) ? mine : inf;
  }

  /** Records an object returned by a write (create/update) so the next read sees it. */
  store(obj: KObject): void {
    const name = obj.metadata.name;
    if (!name) return;
    const k = cacheKey(obj.metadata.namespace, name);
    const inf = this.informer.get(obj.metadata.namespace, name);
    if (inf && inf.metadata.uid === obj.metadata.uid && !newerThan(obj, inf)) return;
    this.written.set(k, obj);
    this.changed(obj.metadata.namespace, name);
  }

  /** Forgets our copy (after we deleted the object). */
  forget(ns: string | undefined, name: string): void {
    if (this.written.delete(cacheKey(ns, name))) this.changed(ns, name);
  }

  /** Objects written by us that the informer does not show yet (new objects). */
  *pending(): Iterable<KObject> {
    for (const o of this.written.values()) {
      if (!this.informer.get(o.metadata.namespace, o.metadata.name ?? '')) yield o;
    }
  }
}
