import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EventCollector } from './conformance.js';
import { SqliteStore } from './sqlite.js';

const here = dirname(fileURLToPath(import.meta.url));
const writerScript = join(here, 'testing', 'crash-writer.ts');
const dir = mkdtempSync(join(tmpdir(), 'ordinal-crash-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until it has written for `writeMs`, kills it with SIGKILL, returns the acknowledged keys. */
function runAndKill(
  path: string,
  run: number,
  writeMs: number,
): Promise<{ acked: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, path, String(run)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (!timer && stdout.startsWith('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), writeMs);
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer exited on its own (code ${code}, signal ${signal}): ${stderr}`));
        return;
      }
      // A line cut short by the kill has no trailing newline and was never fully printed.
      const lines = stdout.split('\n');
      lines.pop();
      resolve({ acked: lines.filter((l) => l !== 'ready'), stderr });
    });
  });
}

describe('SqliteStore durability', () => {
  it('keeps every acknowledged write across kill -9', { timeout: 20_000 }, async () => {
    const path = join(dir, 'crash.db');
    const acked: string[] = [];
    for (let run = 0; run < 4; run++) {
      const writeMs = 200 + Math.floor(Math.random() * 600);
      const result = await runAndKill(path, run, writeMs);
      expect(result.stderr).toBe('');
      expect(result.acked.length).toBeGreaterThan(0);
      acked.push(...result.acked);
    }

    const store = SqliteStore.open(path);
    try {
      const lost: string[] = [];
      for (const key of acked) {
        const [, , run, n] = key.split('/');
        const kv = await store.get(key);
        if (kv?.value !== `value-${run}-${n}` || kv.createRevision !== kv.modRevision) lost.push(key);
      }
      expect(lost).toEqual([]);
      // Only creates happened, so revisions 1..N are exactly the stored keys (acknowledged
      // or committed just before the kill), each once, and the log agrees with the current state.
      const all = await store.list('/crash/');
      const revision = await store.currentRevision();
      expect(all.revision).toBe(revision);
      expect(all.items.length).toBe(revision);
      expect(all.items.map((kv) => kv.modRevision).sort((a, b) => a - b)).toEqual(
        Array.from({ length: revision }, (_, i) => i + 1),
      );
      for (const kv of all.items) {
        const [, , run, n] = kv.key.split('/');
        expect(kv.value).toBe(`value-${run}-${n}`);
      }
      const history = new EventCollector();
      const watcher = await store.watch('/crash/', 0, history);
      await history.untilCount(revision);
      watcher.stop();
      expect(history.events.map((e) => e.revision)).toEqual(
        Array.from({ length: revision }, (_, i) => i + 1),
      );
      // Each run's keys got later revisions than every key of the runs before it.
      const minRev = new Map<number, number>();
      const maxRev = new Map<number, number>();
      for (const kv of all.items) {
        const run = Number(kv.key.split('/')[2]);
        minRev.set(run, Math.min(minRev.get(run) ?? Number.POSITIVE_INFINITY, kv.modRevision));
        maxRev.set(run, Math.max(maxRev.get(run) ?? 0, kv.modRevision));
      }
      for (let run = 1; run < 4; run++) expect(minRev.get(run)!).toBeGreaterThan(maxRev.get(run - 1)!);
      expect((await store.create('/crash/after', 'x')).modRevision).toBe(revision + 1);
    } finally {
      await store.close();
    }
  });
});
