/**
 * In-memory Store: the reference backend for tests and `--storage memory`.
 * Keeps every version since the last compaction, so reads at past revisions
 * and watch replay behave exactly like the durable backends.
 */

import {
  closedError,
  compactedError,
  compareKeys,
  conflictError,
  futureRevisionError,
  keyExistsError,
  keyNotFoundError,
  normaliseLimit,
  resolveReadRevision,
} from './common.js';
import type { KV, ListOptions, ListResult, Store, StoreEvent, Watcher, WatchHandlers } from './interface.js';
import { freezeEvent, WatchHub } from './watch-hub.js';

export interface MemoryStoreOptions {
  /**
   * Keep at most this many revisions of history: after each write the store
   * compacts itself to `currentRevision - historyLimit`. Unlimited by default
   * (callers compact explicitly, as the API server does).
   */
  historyLimit?: number;
}

interface Version {
  rev: number;
  /** Absent for a deletion. */
  kv?: KV;
}

export class MemoryStore implements Store {
  private rev = 0;
  private compacted = 0;
  private closed = false;
  /** Live keys at the latest revision. KVs are frozen and never handed out. */
  private readonly live = new Map<string, KV>();
  /** Every key with retained history, versions ascending by revision. */
  private readonly history = new Map<string, Version[]>();
  /** The keys of `history`, sorted with compareKeys, except those still in `pendingKeys`. */
  private sortedKeys: string[] = [];
  /** Keys added since the last flushKeys() (merged in on the next ordered read). */
  private pendingKeys: string[] = [];
  /** events[eventsStart + i] has revision compacted + 1 + i. */
  private events: StoreEvent[] = [];
  private eventsStart = 0;
  private readonly historyLimit: number | undefined;
  private readonly hub: WatchHub;

  constructor(options: MemoryStoreOptions = {}) {
    this.historyLimit =
      options.historyLimit !== undefined && options.historyLimit >= 0 ? options.historyLimit : undefined;
    this.hub = new WatchHub({
      readEvents: (prefix, after, limit) => this.readEvents(prefix, after, limit),
      committedRevision: () => this.rev,
      compactedRevision: () => this.compacted,
    });
  }

  async currentRevision(): Promise<number> {
    this.ensureOpen();
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    this.ensureOpen();
    return this.compacted;
  }

  async get(key: string, revision?: number): Promise<KV | undefined> {
    this.ensureOpen();
    const at = resolveReadRevision(revision, this.rev, this.compacted);
    const kv = at === this.rev ? this.live.get(key) : this.versionAt(key, at);
    return kv ? { ...kv } : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.ensureOpen();
    const at = resolveReadRevision(options.revision, this.rev, this.compacted);
    const latest = at === this.rev;
    const limit = normaliseLimit(options.limit);
    const startAfter = options.startAfter;
    let i =
      startAfter !== undefined && compareKeys(startAfter, prefix) >= 0
        ? this.upperBound(startAfter)
        : this.lowerBound(prefix);
    const items: KV[] = [];
    let remaining = 0;
    for (; i < this.sortedKeys.length; i++) {
      const key = this.sortedKeys[i]!;
      if (!key.startsWith(prefix)) break;
      const kv = latest ? this.live.get(key) : this.versionAt(key, at);
      if (!kv) continue;
      if (items.length < limit) items.push({ ...kv });
      else remaining++;
    }
    return { items, revision: at, more: remaining > 0, remaining };
  }

  async count(prefix: string): Promise<number> {
    this.ensureOpen();
    let n = 0;
    for (let i = this.lowerBound(prefix); i < this.sortedKeys.length; i++) {
      const key = this.sortedKeys[i]!;
      if (!key.startsWith(prefix)) break;
      if (this.live.has(key)) n++;
    }
    return n;
  }

  async create(key: string, value: string): Promise<KV> {
    this.ensureOpen();
    if (this.live.has(key)) throw keyExistsError(key);
    const rev = this.rev + 1;
    const kv: KV = Object.freeze({ key, value, createRevision: rev, modRevision: rev });
    this.commit(key, kv, { type: 'PUT', revision: rev, kv });
    return { ...kv };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KV> {
    this.ensureOpen();
    const prev = this.live.get(key);
    if (!prev) throw keyNotFoundError(key);
    if (prev.modRevision !== expectedModRevision)
      throw conflictError(key, expectedModRevision, prev.modRevision);
    const rev = this.rev + 1;
    const kv: KV = Object.freeze({ key, value, createRevision: prev.createRevision, modRevision: rev });
    this.commit(key, kv, { type: 'PUT', revision: rev, kv, prevKv: prev });
    return { ...kv };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KV> {
    this.ensureOpen();
    const prev = this.live.get(key);
    if (!prev) throw keyNotFoundError(key);
    if (expectedModRevision !== undefined && prev.modRevision !== expectedModRevision) {
      throw conflictError(key, expectedModRevision, prev.modRevision);
    }
    const rev = this.rev + 1;
    const kv: KV = Object.freeze({ ...prev, modRevision: rev });
    this.commit(key, undefined, { type: 'DELETE', revision: rev, kv, prevKv: prev });
    return { ...kv };
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watcher> {
    this.ensureOpen();
    if (fromRevision < this.compacted) throw compactedError(fromRevision, this.compacted);
    return this.hub.watch(prefix, fromRevision, handlers);
  }

  async compact(revision: number): Promise<void> {
    this.ensureOpen();
    if (revision > this.rev) throw futureRevisionError(revision, this.rev);
    this.compactTo(revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.closeAll(closedError());
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError();
  }

  /** Applies one write at revision this.rev + 1; `kv` undefined means deletion. */
  private commit(key: string, kv: KV | undefined, event: StoreEvent): void {
    this.rev = event.revision;
    if (kv) this.live.set(key, kv);
    else this.live.delete(key);
    let versions = this.history.get(key);
    if (!versions) {
      versions = [];
      this.history.set(key, versions);
      // Inserting into the sorted array at once costs O(keys) per new key;
      // batching makes a burst of creates O(k log k) at the next list.
      this.pendingKeys.push(key);
    }
    versions.push(kv ? { rev: this.rev, kv } : { rev: this.rev });
    const frozen = freezeEvent(event);
    this.events.push(frozen);
    this.hub.publish([frozen]);
    if (this.historyLimit !== undefined) this.compactTo(this.rev - this.historyLimit);
  }

  private versionAt(key: string, rev: number): KV | undefined {
    const versions = this.history.get(key);
    if (!versions) return undefined;
    const i = lastAtOrBelow(versions, rev);
    return i < 0 ? undefined : versions[i]!.kv;
  }

  private readEvents(prefix: string, after: number, limit: number): StoreEvent[] {
    const out: StoreEvent[] = [];
    const from = this.eventsStart + Math.max(0, after - this.compacted);
    for (let i = from; i < this.events.length && out.length < limit; i++) {
      const e = this.events[i]!;
      if (e.kv.key.startsWith(prefix)) out.push(e);
    }
    return out;
  }

  /**
   * Drops history at or below `revision`. Only keys written since the last
   * compaction can have anything to drop, so this costs O(revisions compacted).
   */
  private compactTo(revision: number): void {
    if (revision <= this.compacted) return;
    const touched = new Set<string>();
    const end = this.eventsStart + (revision - this.compacted);
    for (let i = this.eventsStart; i < end; i++) touched.add(this.events[i]!.kv.key);
    this.eventsStart = end;
    this.compacted = revision;
    if (this.eventsStart > 1024 && this.eventsStart * 2 > this.events.length) {
      this.events = this.events.slice(this.eventsStart);
      this.eventsStart = 0;
    }
    for (const key of touched) {
      const versions = this.history.get(key)!;
      const i = lastAtOrBelow(versions, revision);
      // Keep the newest version at/below the compaction point if it is live.
      const drop = versions[i]!.kv ? i : i + 1;
      if (drop > 0) versions.splice(0, drop);
      if (versions.length === 0) {
        this.history.delete(key);
        const at = this.lowerBound(key); // flushes pending keys: read sortedKeys after it
        this.sortedKeys.splice(at, 1);
      }
    }
  }

  /** Merges keys added since the last ordered read into sortedKeys. */
  private flushKeys(): void {
    if (this.pendingKeys.length === 0) return;
    const add = this.pendingKeys.sort(compareKeys);
    this.pendingKeys = [];
    const old = this.sortedKeys;
    const merged: string[] = new Array(old.length + add.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length && j < add.length) {
      merged[k++] = compareKeys(old[i]!, add[j]!) <= 0 ? old[i++]! : add[j++]!;
    }
    while (i < old.length) merged[k++] = old[i++]!;
    while (j < add.length) merged[k++] = add[j++]!;
    this.sortedKeys = merged;
  }

  /** Index of the first key >= `key`. */
  private lowerBound(key: string): number {
    this.flushKeys();
    let lo = 0;
    let hi = this.sortedKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sortedKeys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first key > `key`. */
  private upperBound(key: string): number {
    this.flushKeys();
    let lo = 0;
    let hi = this.sortedKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sortedKeys[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Index of the newest version with rev <= `rev`, or -1. */
function lastAtOrBelow(versions: readonly Version[], rev: number): number {
  let lo = 0;
  let hi = versions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (versions[mid]!.rev <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
