/**
 * Durable Store on an embedded SQLite file (better-sqlite3, WAL, synchronous=FULL).
 *
 * Tables:
 * - `log`: one row per revision (PUT or DELETE), the history used for reads at
 *   past revisions and for watch replay. A DELETE row carries the deleted value
 *   and its create revision; `prev_rev` is the modRevision the write replaced.
 * - `current`: the latest value of every live key, for fast latest reads.
 * - `meta`: the compacted revision and the schema version.
 *
 * Writes are group-committed: every write issued before the next macrotask is
 * applied, in call order, inside one transaction (each one checked against the
 * state the previous ones left and given its own revision); promises settle
 * only after COMMIT returned, i.e. after the WAL was fsynced. Reads run on the
 * same connection and so see exactly the committed writes.
 *
 * The connection uses exclusive locking so a second process (or a second
 * SqliteStore in this one) cannot open the same file while it is in use:
 * revisions are assigned in memory, so two writers would corrupt the history.
 */

import Database from 'better-sqlite3';
import {
  closedError,
  compactedError,
  compareKeys,
  conflictError,
  futureRevisionError,
  keyExistsError,
  keyNotFoundError,
  normaliseLimit,
  prefixEnd,
  resolveReadRevision,
} from './common.js';
import {
  type KV,
  type ListOptions,
  type ListResult,
  StorageError,
  type Store,
  type StoreEvent,
  type Watcher,
  type WatchHandlers,
} from './interface.js';
import { freezeEvent, toError, WatchHub } from './watch-hub.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  rev INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('PUT', 'DELETE')),
  value TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  prev_rev INTEGER
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS current (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;

type WriteOp =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; value: string; expected: number }
  | { kind: 'delete'; key: string; expected?: number };

interface PendingWrite {
  op: WriteOp;
  resolve(kv: KV): void;
  reject(err: Error): void;
}

interface CurrentRow {
  value: string;
  create_rev: number;
  mod_rev: number;
}

interface KVRow {
  key: string;
  value: string;
  create_rev: number;
  mod_rev: number;
}

interface LogRow {
  rev: number;
  key: string;
  type: 'PUT' | 'DELETE';
  value: string;
  create_rev: number;
  prev_rev: number | null;
}

interface EventRow extends LogRow {
  prev_value: string | null;
}

type Param = string | number;

/** Log row `l` is a PUT and the newest row of its key at/below the revision (bound twice). */
const AT_REVISION = `l.type = 'PUT' AND l.rev <= ? AND l.rev = (SELECT max(m.rev) FROM log m WHERE m.key = l.key AND m.rev <= ?)`;

/** A key range as SQL (on `column`) plus its parameters. */
function keyRange(column: string, prefix: string, startAfter?: string): { sql: string; params: Param[] } {
  const parts: string[] = [];
  const params: Param[] = [];
  if (startAfter !== undefined && compareKeys(startAfter, prefix) >= 0) {
    parts.push(`${column} > ?`);
    params.push(startAfter);
  } else {
    parts.push(`${column} >= ?`);
    params.push(prefix);
  }
  const end = prefixEnd(prefix);
  if (end !== undefined) {
    parts.push(`${column} < ?`);
    params.push(end);
  }
  return { sql: parts.join(' AND '), params };
}

function kvFromRow(row: KVRow): KV {
  return { key: row.key, value: row.value, createRevision: row.create_rev, modRevision: row.mod_rev };
}

export class SqliteStore implements Store {
  private rev: number;
  private compacted: number;
  private closed = false;
  private pending: PendingWrite[] = [];
  private flushHandle: NodeJS.Immediate | undefined;
  private readonly hub: WatchHub;
  private readonly statements = new Map<string, Database.Statement<Param[], unknown>>();

  private readonly selectCurrent: Database.Statement<[string], CurrentRow>;
  private readonly insertLog: Database.Statement<[number, string, string, string, number, number | null]>;
  private readonly insertCurrent: Database.Statement<[string, string, number, number]>;
  private readonly updateCurrent: Database.Statement<[string, number, string]>;
  private readonly deleteCurrent: Database.Statement<[string]>;
  private readonly selectAt: Database.Statement<[string, number], LogRow>;
  private readonly setMeta: Database.Statement<[string, number]>;
  private readonly compactLog: Database.Statement<{ old: number; rev: number }>;

  private constructor(private readonly db: Database.Database) {
    this.selectCurrent = db.prepare('SELECT value, create_rev, mod_rev FROM current WHERE key = ?');
    this.insertLog = db.prepare(
      'INSERT INTO log (rev, key, type, value, create_rev, prev_rev) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.insertCurrent = db.prepare(
      'INSERT INTO current (key, value, create_rev, mod_rev) VALUES (?, ?, ?, ?)',
    );
    this.updateCurrent = db.prepare('UPDATE current SET value = ?, mod_rev = ? WHERE key = ?');
    this.deleteCurrent = db.prepare('DELETE FROM current WHERE key = ?');
    this.selectAt = db.prepare(
      'SELECT rev, key, type, value, create_rev, prev_rev FROM log WHERE key = ? AND rev <= ? ORDER BY rev DESC LIMIT 1',
    );
    this.setMeta = db.prepare(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    );
    // Only keys written since the previous compaction can have rows to drop:
    // every older row of a key, and its newest row at/below :rev if that is a deletion.
    this.compactLog = db.prepare(`
      DELETE FROM log WHERE rev IN (
        SELECT o.rev FROM log o
        WHERE o.rev <= :rev
          AND o.key IN (SELECT key FROM log WHERE rev > :old AND rev <= :rev)
          AND (o.type = 'DELETE' OR o.rev < (SELECT max(m.rev) FROM log m WHERE m.key = o.key AND m.rev <= :rev))
      )`);

    const meta = db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE name = ?');
    const version = meta.get('schema')?.value;
    if (version === undefined) this.setMeta.run('schema', SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) throw new Error(`unsupported storage schema version ${version}`);
    this.compacted = meta.get('compacted')?.value ?? 0;
    const maxRev = db.prepare<[], { rev: number | null }>('SELECT max(rev) AS rev FROM log').get()?.rev ?? 0;
    // Compaction may have removed the newest rows (deletions), but never above the compacted revision.
    this.rev = Math.max(maxRev, this.compacted);

    this.hub = new WatchHub({
      readEvents: (prefix, after, limit) => this.readEvents(prefix, after, limit),
      committedRevision: () => this.rev,
      compactedRevision: () => this.compacted,
    });
  }

  /** Opens (creating if needed) the database file at `path`. Throws if another store holds it. */
  static open(path: string): SqliteStore {
    const db = new Database(path, { timeout: 250 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.transaction(() => db.exec(SCHEMA))();
      return new SqliteStore(db);
    } catch (err) {
      db.close();
      if (err instanceof Error && 'code' in err && err.code === 'SQLITE_BUSY') {
        throw new Error(`storage file ${path} is in use by another store`, { cause: err });
      }
      throw err;
    }
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
    if (at === this.rev) {
      const row = this.selectCurrent.get(key);
      return row
        ? { key, value: row.value, createRevision: row.create_rev, modRevision: row.mod_rev }
        : undefined;
    }
    const row = this.selectAt.get(key, at);
    if (row?.type !== 'PUT') return undefined;
    return { key, value: row.value, createRevision: row.create_rev, modRevision: row.rev };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.ensureOpen();
    const at = resolveReadRevision(options.revision, this.rev, this.compacted);
    const limit = normaliseLimit(options.limit);
    const latest = at === this.rev;
    const range = keyRange(latest ? 'key' : 'l.key', prefix, options.startAfter);
    const sqlLimit = Number.isFinite(limit) ? limit : -1;
    const rows = (
      latest
        ? this.stmt(
            `SELECT key, value, create_rev, mod_rev FROM current WHERE ${range.sql} ORDER BY key LIMIT ?`,
          ).all(...range.params, sqlLimit)
        : this.stmt(
            `SELECT l.key, l.value, l.create_rev, l.rev AS mod_rev FROM log l WHERE ${range.sql} AND ${AT_REVISION}
             ORDER BY l.key LIMIT ?`,
          ).all(...range.params, at, at, sqlLimit)
    ) as KVRow[];
    const items = rows.filter((r) => r.key.startsWith(prefix)).map(kvFromRow);
    let remaining = 0;
    const last = items[items.length - 1];
    if (last && items.length >= limit) remaining = this.countFrom(prefix, last.key, latest ? undefined : at);
    return { items, revision: at, more: remaining > 0, remaining };
  }

  async count(prefix: string): Promise<number> {
    this.ensureOpen();
    return this.countFrom(prefix, undefined, undefined);
  }

  create(key: string, value: string): Promise<KV> {
    return this.enqueue({ kind: 'create', key, value });
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KV> {
    return this.enqueue({ kind: 'update', key, value, expected: expectedModRevision });
  }

  delete(key: string, expectedModRevision?: number): Promise<KV> {
    return this.enqueue({ kind: 'delete', key, expected: expectedModRevision });
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watcher> {
    this.ensureOpen();
    if (fromRevision < this.compacted) throw compactedError(fromRevision, this.compacted);
    return this.hub.watch(prefix, fromRevision, handlers);
  }

  async compact(revision: number): Promise<void> {
    this.ensureOpen();
    if (revision > this.rev) throw futureRevisionError(revision, this.rev);
    if (revision <= this.compacted) return;
    const old = this.compacted;
    this.db.transaction(() => {
      this.compactLog.run({ old, rev: revision });
      this.setMeta.run('compacted', revision);
    })();
    this.compacted = revision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.hub.closeAll(closedError());
    this.db.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError();
  }

  private stmt(sql: string): Database.Statement<Param[], unknown> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare<Param[], unknown>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Live keys under `prefix` (and after `startAfter`) at revision `at` (latest when undefined). */
  private countFrom(prefix: string, startAfter: string | undefined, at: number | undefined): number {
    const range = keyRange(at === undefined ? 'key' : 'l.key', prefix, startAfter);
    const row = (
      at === undefined
        ? this.stmt(`SELECT count(*) AS n FROM current WHERE ${range.sql}`).get(...range.params)
        : this.stmt(`SELECT count(*) AS n FROM log l WHERE ${range.sql} AND ${AT_REVISION}`).get(
            ...range.params,
            at,
            at,
          )
    ) as { n: number } | undefined;
    return row?.n ?? 0;
  }

  private readEvents(prefix: string, after: number, limit: number): StoreEvent[] {
    const range = keyRange('l.key', prefix);
    const rows = this.stmt(
      `SELECT l.rev, l.key, l.type, l.value, l.create_rev, l.prev_rev, p.value AS prev_value
       FROM log l LEFT JOIN log p ON l.type = 'PUT' AND p.rev = l.prev_rev
       WHERE l.rev > ? AND ${range.sql} ORDER BY l.rev LIMIT ?`,
    ).all(after, ...range.params, limit) as EventRow[];
    const events: StoreEvent[] = [];
    for (const r of rows) {
      if (!r.key.startsWith(prefix)) continue;
      const kv: KV = { key: r.key, value: r.value, createRevision: r.create_rev, modRevision: r.rev };
      let prevKv: KV | undefined;
      if (r.prev_rev !== null) {
        const prevValue = r.type === 'DELETE' ? r.value : r.prev_value;
        if (prevValue !== null) {
          prevKv = { key: r.key, value: prevValue, createRevision: r.create_rev, modRevision: r.prev_rev };
        }
      }
      events.push(
        freezeEvent(
          prevKv ? { type: r.type, revision: r.rev, kv, prevKv } : { type: r.type, revision: r.rev, kv },
        ),
      );
    }
    return events;
  }

  private enqueue(op: WriteOp): Promise<KV> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise<KV>((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      this.flushHandle ??= setImmediate(() => this.flush());
    });
  }

  /** Commits every pending write in one transaction, then publishes and settles. */
  private flush(): void {
    if (this.flushHandle) {
      clearImmediate(this.flushHandle);
      this.flushHandle = undefined;
    }
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const outcomes: (KV | StorageError)[] = [];
    const events: StoreEvent[] = [];
    let rev = this.rev;
    try {
      this.db.transaction(() => {
        for (const w of batch) {
          const result = this.apply(w.op, rev + 1);
          if (result instanceof StorageError) {
            outcomes.push(result);
          } else {
            rev++;
            outcomes.push(result.kv);
            events.push(result.event);
          }
        }
      })();
    } catch (err) {
      const error = toError(err);
      for (const w of batch) w.reject(error);
      return;
    }
    this.rev = rev;
    this.hub.publish(events);
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof StorageError) w.reject(outcome);
      else w.resolve(outcome);
    });
  }

  /** Applies one write at revision `rev` inside the open transaction, or returns why it cannot. */
  private apply(op: WriteOp, rev: number): { kv: KV; event: StoreEvent } | StorageError {
    const cur = this.selectCurrent.get(op.key);
    const prevKv: KV | undefined = cur
      ? { key: op.key, value: cur.value, createRevision: cur.create_rev, modRevision: cur.mod_rev }
      : undefined;
    switch (op.kind) {
      case 'create': {
        if (cur) return keyExistsError(op.key);
        this.insertLog.run(rev, op.key, 'PUT', op.value, rev, null);
        this.insertCurrent.run(op.key, op.value, rev, rev);
        const kv: KV = { key: op.key, value: op.value, createRevision: rev, modRevision: rev };
        return { kv, event: freezeEvent({ type: 'PUT', revision: rev, kv: { ...kv } }) };
      }
      case 'update': {
        if (!cur || !prevKv) return keyNotFoundError(op.key);
        if (cur.mod_rev !== op.expected) return conflictError(op.key, op.expected, cur.mod_rev);
        this.insertLog.run(rev, op.key, 'PUT', op.value, cur.create_rev, cur.mod_rev);
        this.updateCurrent.run(op.value, rev, op.key);
        const kv: KV = { key: op.key, value: op.value, createRevision: cur.create_rev, modRevision: rev };
        return { kv, event: freezeEvent({ type: 'PUT', revision: rev, kv: { ...kv }, prevKv }) };
      }
      case 'delete': {
        if (!cur || !prevKv) return keyNotFoundError(op.key);
        if (op.expected !== undefined && cur.mod_rev !== op.expected) {
          return conflictError(op.key, op.expected, cur.mod_rev);
        }
        this.insertLog.run(rev, op.key, 'DELETE', cur.value, cur.create_rev, cur.mod_rev);
        this.deleteCurrent.run(op.key);
        const kv: KV = { key: op.key, value: cur.value, createRevision: cur.create_rev, modRevision: rev };
        return { kv, event: freezeEvent({ type: 'DELETE', revision: rev, kv: { ...kv }, prevKv }) };
      }
    }
  }
}
