import type { KList, KObject, WatchEvent } from '../api/types.js';

/** Names a resource collection: group "" for core. */
export interface ResourceRef {
  group: string;
  version: string;
  /** Lower-case plural: "pods". */
  resource: string;
}

export interface ListOpts {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WriteOpts {
  /** e.g. "status", "scale", "binding". */
  subresource?: string;
  fieldManager?: string;
  dryRun?: boolean;
}

export interface DeleteOpts {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface WatchOpts extends ListOpts {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface WatchHandle {
  stop(): void;
  /** Resolves when the watch ends (stopped, timed out, or failed with an ERROR event). */
  done: Promise<void>;
}

/**
 * The Kubernetes API as controllers and the agent see it. Implemented in process
 * (calling the API server's handlers directly, same semantics as HTTP) and over
 * HTTP. Errors are StatusError (isNotFound, isConflict, ...). Returned objects
 * are fresh copies the caller may mutate. `namespace` is ignored/omitted for
 * cluster-scoped resources; for list/watch an empty namespace means all.
 */
export interface Client {
  get(res: ResourceRef, namespace: string | undefined, name: string, subresource?: string): Promise<KObject>;
  list(res: ResourceRef, namespace: string | undefined, opts?: ListOpts): Promise<KList>;
  create(res: ResourceRef, namespace: string | undefined, obj: KObject, opts?: WriteOpts): Promise<KObject>;
  update(res: ResourceRef, namespace: string | undefined, obj: KObject, opts?: WriteOpts): Promise<KObject>;
  patch(
    res: ResourceRef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: WriteOpts & { force?: boolean },
  ): Promise<KObject>;
  delete(
    res: ResourceRef,
    namespace: string | undefined,
    name: string,
    opts?: DeleteOpts,
  ): Promise<KObject | undefined>;
  watch(
    res: ResourceRef,
    namespace: string | undefined,
    opts: WatchOpts,
    onEvent: (e: WatchEvent) => void,
  ): Promise<WatchHandle>;
}
