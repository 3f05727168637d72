/**
 * An event recorder writing core/v1 Events the way client-go's legacy recorder
 * (tools/record) does: `<name>.<hex unix nanos>` names, involvedObject refs,
 * source.component, first/lastTimestamp and count, and aggregation of identical
 * events (same source, object, type, reason and message) by bumping `count` and
 * `lastTimestamp` on the existing Event instead of creating a new one.
 *
 * Recording never throws and never blocks the caller's logic: failures (no
 * events resource, a terminating namespace, ...) are reported through
 * `onError` and dropped, as upstream drops events it cannot write.
 */
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { Client, ResourceRef } from '../client/interface.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /**
   * Records an event about `obj`. The returned promise settles once the write
   * was attempted and never rejects; callers may ignore it.
   */
  event(obj: KObject, type: EventType, reason: string, message: string): Promise<void>;
}

export interface RecorderOptions {
  now?: () => Date;
  /** source.host and reportingInstance (upstream: the node or controller-manager host). */
  host?: string;
  /** How many distinct events are remembered for aggregation (default 4096, as upstream's LRU). */
  cacheSize?: number;
  onError?: (err: unknown) => void;
}

export const EVENTS: ResourceRef = { group: '', version: 'v1', resource: 'events' };

interface Remembered {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

function stamp(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** core/v1 ObjectReference for an object, as upstream's reference.GetReference. */
export function objectReference(obj: KObject): Record<string, string> {
  const ref: Record<string, string> = { kind: obj.kind, apiVersion: obj.apiVersion };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.name) ref.name = obj.metadata.name;
  if (obj.metadata.uid) ref.uid = obj.metadata.uid;
  if (obj.metadata.resourceVersion) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}

/** The last event-name suffix handed out, shared by every recorder in the process. */
let lastNanos = 0n;

/** Unique, increasing "unix nanos" from a millisecond clock (unique across recorders, so names never collide). */
function nanos(d: Date): bigint {
  let n = BigInt(d.getTime()) * 1_000_000n;
  if (n <= lastNanos) n = lastNanos + 1n;
  lastNanos = n;
  return n;
}

export function createRecorder(client: Client, component: string, opts: RecorderOptions = {}): EventRecorder {
  const now = opts.now ?? (() => new Date());
  const host = opts.host;
  const cacheSize = opts.cacheSize ?? 4096;
  const onError = opts.onError ?? ((err: unknown) => console.error(`event recorder (${component}):`, err));
  const seen = new Map<string, Remembered>();
  const chains = new Map<string, Promise<void>>();

  const remember = (key: string, r: Remembered): void => {
    seen.delete(key);
    seen.set(key, r);
    while (seen.size > cacheSize) {
      const oldest = seen.keys().next().value as string;
      seen.delete(oldest);
    }
  };

  const record = async (
    obj: KObject,
    type: EventType,
    reason: string,
    message: string,
    t: Date,
  ): Promise<void> => {
    const ref = objectReference(obj);
    const namespace = obj.metadata.namespace || 'default';
    const key = [
      component,
      host ?? '',
      ref.kind,
      ref.namespace ?? '',
      ref.name ?? '',
      ref.uid ?? '',
      ref.apiVersion,
      type,
      reason,
      message,
    ].join('\u0000');
    const ts = stamp(t);
    const prev = seen.get(key);
    if (prev) {
      const count = prev.count + 1;
      try {
        await client.patch(EVENTS, prev.namespace, prev.name, 'merge', { count, lastTimestamp: ts, message });
        remember(key, { ...prev, count });
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // The event expired or was deleted: create it again below, keeping the aggregate.
      }
    }
    const name = `${obj.metadata.name ?? ''}.${nanos(t).toString(16)}`;
    const count = prev ? prev.count + 1 : 1;
    const firstTimestamp = prev ? prev.firstTimestamp : ts;
    const ev: KObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      source: host ? { component, host } : { component },
      firstTimestamp,
      lastTimestamp: ts,
      count,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: host ?? '',
    };
    try {
      await client.create(EVENTS, namespace, ev);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    remember(key, { name, namespace, count, firstTimestamp });
  };

  return {
    event(obj, type, reason, message) {
      const t = now(); // when it happened, not when the write gets its turn
      const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}/${obj.metadata.uid ?? ''}`;
      // Serialise per object so identical events aggregate instead of racing to create twins.
      const prev = chains.get(key) ?? Promise.resolve();
      const next = prev
        .then(() => record(obj, type, reason, message, t))
        .catch((err: unknown) => {
          try {
            onError(err);
          } catch {
            // ignore
          }
        });
      chains.set(key, next);
      void next.then(() => {
        if (chains.get(key) === next) chains.delete(key);
      });
      return next;
    },
  };
}
