/**
 * In-process watch fan-out shared by the backends.
 *
 * A new watcher first replays history from the backend's log in chunks (one
 * chunk per macrotask, so a long replay does not starve the event loop), then
 * switches to live events published by the backend after each commit. While a
 * watcher is replaying it ignores live events: the next chunk reads them from
 * the log. The switch happens synchronously right after a read that reached the
 * committed revision, and backends publish synchronously right after they
 * commit, so nothing can be missed or delivered twice.
 *
 * Handlers are always called from a microtask, never from inside a store call,
 * so a handler may call back into the store. Events are frozen and shared
 * between watchers.
 */

import { compactedError } from './common.js';
import type { StoreEvent, Watcher, WatchHandlers } from './interface.js';

/** What the hub needs from a backend. All calls see committed state only. */
export interface EventLog {
  /** Committed events under `prefix` with revision > `afterRevision`, ascending, at most `limit`. */
  readEvents(prefix: string, afterRevision: number, limit: number): StoreEvent[];
  committedRevision(): number;
  compactedRevision(): number;
}

interface WatchState {
  prefix: string;
  handlers: WatchHandlers;
  /** Highest revision already queued (or known to have nothing for this prefix). */
  cursor: number;
  live: boolean;
  queue: StoreEvent[];
  scheduled: boolean;
  /** No more events will be queued. */
  ended: boolean;
  /** No more callbacks at all. */
  stopped: boolean;
  error?: Error;
}

const REPLAY_CHUNK = 1000;

export function freezeEvent(e: StoreEvent): StoreEvent {
  Object.freeze(e.kv);
  if (e.prevKv) Object.freeze(e.prevKv);
  return Object.freeze(e);
}

export class WatchHub {
  private readonly watchers = new Set<WatchState>();

  constructor(private readonly log: EventLog) {}

  /** Starts a watch; the caller has already checked `fromRevision` against compaction. */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watcher {
    const w: WatchState = {
      prefix,
      handlers,
      cursor: fromRevision,
      live: false,
      queue: [],
      scheduled: false,
      ended: false,
      stopped: false,
    };
    this.watchers.add(w);
    this.replayStep(w);
    return {
      stop: () => {
        w.stopped = true;
        w.ended = true;
        w.queue = [];
        this.watchers.delete(w);
      },
    };
  }

  /** Called by the backend right after committing, with the new events in revision order. */
  publish(events: readonly StoreEvent[]): void {
    if (events.length === 0) return;
    for (const w of this.watchers) {
      if (!w.live || w.ended) continue;
      let added = false;
      for (const e of events) {
        if (e.revision <= w.cursor || !e.kv.key.startsWith(w.prefix)) continue;
        w.queue.push(e);
        w.cursor = e.revision;
        added = true;
      }
      if (added) this.schedule(w);
    }
  }

  /** Ends every watch: queued events are still delivered, then onError(err). */
  closeAll(err: Error): void {
    for (const w of [...this.watchers]) this.end(w, err, true);
  }

  private replayStep(w: WatchState): void {
    if (w.ended) return;
    try {
      const compacted = this.log.compactedRevision();
      if (w.cursor < compacted) {
        this.end(w, compactedError(w.cursor, compacted), false);
        return;
      }
      const committed = this.log.committedRevision();
      if (w.cursor < committed) {
        const events = this.log.readEvents(w.prefix, w.cursor, REPLAY_CHUNK);
        for (const e of events) w.queue.push(e);
        if (events.length > 0) this.schedule(w);
        if (events.length === REPLAY_CHUNK) {
          w.cursor = events[events.length - 1]!.revision;
          setImmediate(() => this.replayStep(w));
          return;
        }
        w.cursor = committed;
      }
      w.live = true;
    } catch (err) {
      this.end(w, toError(err), false);
    }
  }

  private end(w: WatchState, err: Error, deliverQueued: boolean): void {
    if (w.ended) return;
    w.ended = true;
    this.watchers.delete(w);
    if (!deliverQueued) w.queue = [];
    w.error = err;
    this.schedule(w);
  }

  private schedule(w: WatchState): void {
    if (w.scheduled || w.stopped) return;
    w.scheduled = true;
    queueMicrotask(() => this.drain(w));
  }

  private drain(w: WatchState): void {
    w.scheduled = false;
    while (w.queue.length > 0 && !w.stopped) {
      const batch = w.queue;
      w.queue = [];
      for (const e of batch) {
        if (w.stopped) return;
        try {
          w.handlers.onEvent(e);
        } catch (err) {
          // A throwing handler breaks its own watch rather than the store.
          this.end(w, toError(err), false);
          w.queue = [];
          break;
        }
      }
    }
    if (w.error && !w.stopped) {
      w.stopped = true;
      try {
        w.handlers.onError?.(w.error);
      } catch {
        // Nothing sensible to do with an error thrown by an error handler.
      }
    }
  }
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
