/**
 * The etcd-shaped storage interface every backend implements (memory, sqlite,
 * later etcd). Keys are strings such as `/registry/apps/statefulsets/ns/name`;
 * values are opaque strings (the API server stores JSON). Every successful write
 * bumps the store-wide revision by exactly one; that revision becomes the
 * object's resourceVersion. Backends translate their own failures into
 * `StorageError` codes; callers never see driver exceptions for expected cases.
 */

export interface KV {
  key: string;
  value: string;
  /** Revision of the write that created this key (since its last deletion). */
  createRevision: number;
  /** Revision of the last write to this key. */
  modRevision: number;
}

export interface StoreEvent {
  type: 'PUT' | 'DELETE';
  /** The revision of this event (== kv.modRevision for PUT). */
  revision: number;
  /** PUT: the new value. DELETE: the last value before deletion, with modRevision = the deleting revision. */
  kv: KV;
  /** The previous value, when there was one (always present for DELETE and for updates). */
  prevKv?: KV;
}

export type StorageErrorCode =
  | 'KeyExists' // create on an existing key
  | 'KeyNotFound' // update/delete of a missing key
  | 'Conflict' // expected modRevision did not match
  | 'Compacted' // revision older than the compaction point
  | 'FutureRevision' // revision newer than the store's current revision
  | 'InvalidContinue'; // continue token could not be decoded

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    /** For Compacted: the compacted revision; for Conflict: the current modRevision. */
    readonly revision?: number,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

export interface ListOptions {
  /** Read the state as of this revision (0/undefined = latest). Throws Compacted/FutureRevision. */
  revision?: number;
  /** Return at most this many items (0/undefined = all). */
  limit?: number;
  /** Return only keys strictly greater than this key (used for continue tokens). */
  startAfter?: string;
}

export interface ListResult {
  items: KV[];
  /** The revision the list reflects (the store revision at read time, or `options.revision`). */
  revision: number;
  /** More keys follow the last item under this prefix. */
  more: boolean;
  /** How many keys follow the last item, when `more`. */
  remaining: number;
}

export interface Watcher {
  /** Stops delivery; idempotent. */
  stop(): void;
}

export interface WatchHandlers {
  /** Called in revision order for every change under the prefix. */
  onEvent(e: StoreEvent): void;
  /** Called at most once if the watch breaks (e.g. the store closed); delivery then stops. */
  onError?(err: Error): void;
}

export interface Store {
  /** Latest revision (0 for an empty store). */
  currentRevision(): Promise<number>;
  /**
   * Oldest revision that can still be read or watched from: reads/watches below it throw Compacted.
   * Reads at exactly this revision work; a watch from it delivers the events after it.
   */
  compactedRevision(): Promise<number>;

  /** The key's value at `revision` (latest if omitted), or undefined when absent. */
  get(key: string, revision?: number): Promise<KV | undefined>;
  /**
   * Keys under `prefix` in ascending key order (Unicode code point order, as SQLite's BINARY
   * collation; for ASCII keys the same as `<`). Returned KVs, here and from get/create/update/delete,
   * are fresh objects the caller owns.
   */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Number of live keys under `prefix`. */
  count(prefix: string): Promise<number>;

  /** Creates the key; throws KeyExists if present. Resolves only once durable. */
  create(key: string, value: string): Promise<KV>;
  /**
   * Replaces the value when the key's modRevision equals `expectedModRevision`
   * (throws Conflict otherwise, KeyNotFound when absent). Resolves only once durable.
   */
  update(key: string, value: string, expectedModRevision: number): Promise<KV>;
  /**
   * Deletes the key (when `expectedModRevision` is given it must match, else Conflict).
   * Returns the deleted value with modRevision set to the deletion's revision.
   */
  delete(key: string, expectedModRevision?: number): Promise<KV>;

  /**
   * Delivers every event under `prefix` with revision > `fromRevision`, first the
   * history (replay), then live events, in order. Throws Compacted synchronously
   * (as a rejected promise) when `fromRevision` < compactedRevision(). A `fromRevision` above the
   * current revision is allowed (delivery starts once the store gets there).
   *
   * Handlers run asynchronously (from a microtask, never inside a store call), so they may call
   * the store. Events are frozen and shared between watchers. A watch still replaying when
   * compaction overtakes it ends with onError(StorageError 'Compacted'); a handler that throws
   * ends its own watch with onError(that error).
   */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watcher>;

  /**
   * Forgets history at or below `revision` (latest values of live keys are always kept).
   * No-op at or below compactedRevision(); throws FutureRevision above currentRevision().
   */
  compact(revision: number): Promise<void>;

  /** Flushes and releases resources; pending watches get onError. */
  close(): Promise<void>;
}
