/**
 * Namespace lifecycle, as upstream's namespace controller: once a namespace has
 * a deletionTimestamp, delete every namespaced object in it (every kind that
 * supports list and delete), report progress in the namespace's status
 * conditions, wait until the content is gone (graceful pods and finalizers take
 * time: the key is re-queued), then remove the "kubernetes" token from
 * spec.finalizers through the finalize subresource; the API server removes the
 * namespace once no finalizers remain.
 *
 * Wiring (informer → queue) and policy (`syncNamespace`) live here; all reads
 * and writes go through the Client. Condition bookkeeping is pure
 * (`namespaceConditions`, `mergeConditions`).
 */
import { isConflict, isNotFound } from '../api/errors.js';
import { isObject, type KObject } from '../api/types.js';
import type { InformerFactory } from '../client/informer.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../client/workqueue.js';
import type { ResourceDef } from '../registry/types.js';

export const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
export const FINALIZER_KUBERNETES = 'kubernetes';

export interface NamespaceCondition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime?: string;
  reason: string;
  message: string;
}

/** Condition types the namespace deleter maintains, in upstream's order. */
export const CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

const OK: Record<(typeof CONDITION_TYPES)[number], { reason: string; message: string }> = {
  NamespaceDeletionDiscoveryFailure: {
    reason: 'ResourcesDiscovered',
    message: 'All resources successfully discovered',
  },
  NamespaceDeletionGroupVersionParsingFailure: {
    reason: 'ParsedGroupVersions',
    message: 'All legacy kube types successfully parsed',
  },
  NamespaceDeletionContentFailure: {
    reason: 'ContentDeleted',
    message: 'All content successfully deleted, may be waiting on finalization',
  },
  NamespaceContentRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  NamespaceFinalizersRemaining: {
    reason: 'ContentHasNoFinalizers',
    message: 'All content-preserving finalizers finished',
  },
};

/** What one deletion pass found. */
export interface ContentReport {
  /** Errors deleting or listing content (one message per failing resource kind). */
  deleteErrors: string[];
  /** "<resource>.<group>" → objects still present. */
  remaining: Map<string, number>;
  /** finalizer → objects still carrying it. */
  finalizers: Map<string, number>;
}

/** The five deletion conditions for a pass's report (pure; lastTransitionTime is filled by mergeConditions). */
export function namespaceConditions(report: ContentReport): NamespaceCondition[] {
  const out: NamespaceCondition[] = [];
  for (const type of CONDITION_TYPES) {
    let c: NamespaceCondition = { type, status: 'False', ...OK[type] };
    if (type === 'NamespaceDeletionContentFailure' && report.deleteErrors.length > 0) {
      const msgs = [...report.deleteErrors].sort();
      c = {
        type,
        status: 'True',
        reason: 'ContentDeletionFailed',
        message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}`,
      };
    } else if (type === 'NamespaceContentRemaining' && [...report.remaining.values()].some((n) => n > 0)) {
      const parts = [...report.remaining]
        .filter(([, n]) => n > 0)
        .map(([gr, n]) => `${gr} has ${n} resource instances`)
        .sort();
      c = {
        type,
        status: 'True',
        reason: 'SomeResourcesRemain',
        message: `Some resources are remaining: ${parts.join(', ')}`,
      };
    } else if (
      type === 'NamespaceFinalizersRemaining' &&
      [...report.finalizers.values()].some((n) => n > 0)
    ) {
      const parts = [...report.finalizers]
        .filter(([, n]) => n > 0)
        .map(([f, n]) => `${f} in ${n} resource instances`)
        .sort();
      c = {
        type,
        status: 'True',
        reason: 'SomeFinalizersRemain',
        message: `Some content in the namespace has finalizers remaining: ${parts.join(', ')}`,
      };
    }
    out.push(c);
  }
  return out;
}

/**
 * Merges `next` into `current` (upstream's updateConditions): missing types are
 * appended, changed ones updated in place, lastTransitionTime moves only when
 * the status flips. Returns the new list and whether anything changed.
 */
export function mergeConditions(
  current: NamespaceCondition[],
  next: NamespaceCondition[],
  now: string,
): { conditions: NamespaceCondition[]; changed: boolean } {
  const conditions = current.map((c) => ({ ...c }));
  let changed = false;
  for (const n of next) {
    const old = conditions.find((c) => c.type === n.type);
    if (!old) {
      conditions.push({ ...n, lastTransitionTime: now });
      changed = true;
    } else if (old.status !== n.status || old.reason !== n.reason || old.message !== n.message) {
      if (old.status !== n.status) old.lastTransitionTime = now;
      old.status = n.status;
      old.reason = n.reason;
      old.message = n.message;
      changed = true;
    }
  }
  return { conditions, changed };
}

export interface NamespaceControllerOptions {
  clock?: Clock;
  now?: () => Date;
  concurrency?: number;
  /** Longest wait before checking again on content that is still going away (default 2 s). */
  maxRemainingPollMs?: number;
}

/** Kinds whose objects live in namespaces and can be listed and deleted (virtual create-only kinds excluded). */
export function deletableNamespacedKinds(resources: ResourceDef[]): ResourceDef[] {
  return resources.filter((d) => d.namespaced && d.verbs.includes('list') && d.verbs.includes('delete'));
}

function refOf(d: ResourceDef): ResourceRef {
  return { group: d.group, version: d.version, resource: d.plural };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export class NamespaceController {
  readonly queue: WorkQueue;
  private readonly kinds: ResourceDef[];
  private readonly now: () => Date;
  private readonly clock: Clock;
  private readonly maxPollMs: number;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly client: Client,
    resources: ResourceDef[],
    private readonly informers: InformerFactory,
    opts: NamespaceControllerOptions = {},
  ) {
    this.kinds = deletableNamespacedKinds(resources);
    this.clock = opts.clock ?? realClock;
    this.now = opts.now ?? (() => new Date(this.clock.now()));
    this.maxPollMs = opts.maxRemainingPollMs ?? 2000;
    this.queue = new WorkQueue((key) => this.sync(key), {
      name: 'namespace',
      concurrency: opts.concurrency ?? 4,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(5, 60_000),
      onError: (key, err) => {
        if (!isConflict(err)) console.error(`namespace controller: syncing ${key}:`, err);
      },
    });
  }

  /** Registers with the namespace informer; the informer factory is started by the caller. */
  start(): void {
    const inf = this.informers.forResource(NAMESPACES);
    const consider = (ns: KObject): void => {
      if (ns.metadata.deletionTimestamp && ns.metadata.name) this.queue.add(ns.metadata.name);
    };
    this.unsubscribe = inf.addEventHandler({ onAdd: consider, onUpdate: (_old, ns) => consider(ns) });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.queue.shutdown();
  }

  private stamp(): string {
    return `${this.now().toISOString().slice(0, 19)}Z`;
  }

  /** One pass over a namespace; returns when to look again, if it must. */
  async sync(name: string): Promise<{ requeueAfterMs?: number } | undefined> {
    let ns: KObject;
    try {
      ns = await this.client.get(NAMESPACES, undefined, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (!ns.metadata.deletionTimestamp) return undefined;
    const uid = ns.metadata.uid;

    // The status says Terminating (the API server sets it on delete; make sure).
    const status = isObject(ns.status) ? ns.status : {};
    if (status.phase !== 'Terminating') {
      ns = await this.client.update(
        NAMESPACES,
        undefined,
        { ...ns, status: { ...status, phase: 'Terminating' } },
        {
          subresource: 'status',
        },
      );
    }

    const report = await this.deleteAllContent(name);
    const estimate = report.estimateSeconds;
    ns = await this.updateConditions(ns, report);
    if (ns.metadata.uid !== uid) return undefined;

    if (report.deleteErrors.length > 0) {
      // Retried with backoff; the condition above tells the user what is wrong.
      throw new Error(`failed to delete all content in namespace ${name}: ${report.deleteErrors.join('; ')}`);
    }
    const remaining = [...report.remaining.values()].reduce((a, b) => a + b, 0);
    if (remaining > 0) {
      // Upstream re-checks after half the estimate; in process a short poll costs little.
      const ms = Math.min(Math.max((estimate * 1000) / 2, 100), this.maxPollMs);
      return { requeueAfterMs: ms };
    }
    await this.finalize(ns);
    return undefined;
  }

  /**
   * Deletes every object of every namespaced kind in `namespace` (background
   * propagation, as upstream), then lists again to see what is left.
   */
  private async deleteAllContent(namespace: string): Promise<ContentReport & { estimateSeconds: number }> {
    const report: ContentReport & { estimateSeconds: number } = {
      deleteErrors: [],
      remaining: new Map(),
      finalizers: new Map(),
      estimateSeconds: 0,
    };
    for (const def of this.kinds) {
      const res = refOf(def);
      const gr = `${def.plural}.${def.group}`;
      try {
        const list = await this.client.list(res, namespace);
        for (const item of list.items) {
          const itemName = item.metadata.name;
          if (!itemName) continue;
          try {
            await this.client.delete(res, namespace, itemName, {
              propagationPolicy: 'Background',
              preconditions: item.metadata.uid ? { uid: item.metadata.uid } : undefined,
            });
          } catch (err) {
            // Gone already, or replaced (uid precondition): the re-list below sees the truth.
            if (!isNotFound(err) && !isConflict(err)) throw err;
          }
        }
        const left = (await this.client.list(res, namespace)).items;
        if (left.length === 0) continue;
        report.remaining.set(gr, left.length);
        let kindEstimate = 0;
        let withFinalizers = 0;
        for (const item of left) {
          const fins = item.metadata.finalizers ?? [];
          if (fins.length > 0) withFinalizers++;
          for (const f of fins) report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
          kindEstimate = Math.max(kindEstimate, this.gracefulEstimate(def, item));
        }
        if (kindEstimate === 0 && withFinalizers > 0) kindEstimate = 15;
        if (kindEstimate === 0) {
          // Nothing explains why these are still here: report it and retry with backoff.
          report.deleteErrors.push(
            `unexpected items still remain in namespace: ${namespace} for gvr: ${def.group}/${def.version}, Resource=${def.plural}`,
          );
        }
        report.estimateSeconds = Math.max(report.estimateSeconds, kindEstimate);
      } catch (err) {
        report.deleteErrors.push(errorMessage(err));
      }
    }
    return report;
  }

  /** Seconds until a gracefully deleted object (a pod) should be gone; 0 when not applicable. */
  private gracefulEstimate(def: ResourceDef, item: KObject): number {
    const dt = item.metadata.deletionTimestamp;
    if (!dt || !(def.group === '' && def.plural === 'pods')) return 0;
    // A terminating pod that already reports Succeeded/Failed is about to be
    // removed by its kubelet: wait a second rather than report an error.
    const left = Math.ceil((Date.parse(dt) - this.now().getTime()) / 1000);
    return Math.max(left, 1);
  }

  private async updateConditions(ns: KObject, report: ContentReport): Promise<KObject> {
    const status = isObject(ns.status) ? ns.status : {};
    const current = Array.isArray(status.conditions) ? (status.conditions as NamespaceCondition[]) : [];
    const { conditions, changed } = mergeConditions(current, namespaceConditions(report), this.stamp());
    if (!changed) return ns;
    try {
      return await this.client.update(
        NAMESPACES,
        undefined,
        { ...ns, status: { ...status, conditions } },
        {
          subresource: 'status',
        },
      );
    } catch (err) {
      if (isNotFound(err)) return { ...ns, metadata: { ...ns.metadata, uid: undefined } };
      throw err;
    }
  }

  /** Removes "kubernetes" from spec.finalizers through /finalize (the API server deletes the namespace when none remain). */
  private async finalize(ns: KObject): Promise<void> {
    const spec = isObject(ns.spec) ? ns.spec : {};
    const fins = Array.isArray(spec.finalizers)
      ? spec.finalizers.map(str).filter((f) => f !== undefined)
      : [];
    if (!fins.includes(FINALIZER_KUBERNETES)) return;
    const rest = [...new Set(fins.filter((f) => f !== FINALIZER_KUBERNETES))].sort();
    try {
      await this.client.update(
        NAMESPACES,
        undefined,
        { ...ns, spec: { ...spec, finalizers: rest } },
        {
          subresource: 'finalize',
        },
      );
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}
