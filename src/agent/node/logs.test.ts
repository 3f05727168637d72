import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerLogPath,
  followContainerLog,
  formatLogLines,
  parseCriLog,
  readContainerLog,
} from './logs.js';

describe('container logs (CRI format)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ordinal-logs-'));
    const p0 = containerLogPath(dir, 'ns', 'web', 'uid-1', 'main', 0);
    const p1 = containerLogPath(dir, 'ns', 'web', 'uid-1', 'main', 1);
    await mkdir(join(p0, '..'), { recursive: true });
    await writeFile(p0, '2026-11-21T10:00:00.000000000Z stdout F first run\n');
    await writeFile(
      p1,
      '2026-11-21T10:00:01.000000000Z stdout F one\n' +
        '2026-11-21T10:00:02.000000000Z stderr P par\n' +
        '2026-11-21T10:00:02.100000000Z stderr F tial\n' +
        '2026-11-21T10:00:03.000000000Z stdout F three\n',
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('joins partial chunks and keeps streams apart', () => {
    const lines = parseCriLog(
      '2026-11-21T10:00:00.000000000Z stdout P a\n2026-11-21T10:00:00.1Z stderr F x\n2026-11-21T10:00:00.2Z stdout F b\n',
    );
    expect(lines.map((l) => `${l.stream}:${l.content}`)).toEqual(['stderr:x', 'stdout:ab']);
    expect(lines[1]?.time).toBe('2026-11-21T10:00:00.000000000Z');
  });

  it('reads the current and previous instance with tailLines, timestamps, sinceSeconds, limitBytes', async () => {
    expect(await readContainerLog(dir, 'ns', 'web', 'main')).toBe('one\npartial\nthree\n');
    expect(await readContainerLog(dir, 'ns', 'web', 'main', { previous: true })).toBe('first run\n');
    expect(await readContainerLog(dir, 'ns', 'web', 'main', { tailLines: 1, timestamps: true })).toBe(
      '2026-11-21T10:00:03.000000000Z three\n',
    );
    const now = Date.parse('2026-11-21T10:00:04Z');
    expect(await readContainerLog(dir, 'ns', 'web', 'main', { sinceSeconds: 2, now })).toBe(
      'partial\nthree\n',
    );
    expect(await readContainerLog(dir, 'ns', 'web', 'main', { limitBytes: 5 })).toBe('one\np');
    await expect(readContainerLog(dir, 'ns', 'web', 'other')).rejects.toThrow('has no logs');
    await expect(readContainerLog(dir, 'ns', 'nope', 'main', { previous: true })).rejects.toThrow(
      'previous terminated',
    );
    expect(formatLogLines([], { tailLines: 3 })).toBe('');
  });

  it('follow yields what is there, then new lines, until done', async () => {
    const file = containerLogPath(dir, 'ns', 'f', 'uid-2', 'main', 0);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, '2026-11-21T10:00:00.000000000Z stdout F a\n');
    let done = false;
    const got: string[] = [];
    const it = followContainerLog(dir, 'ns', 'f', 'main', { pollMs: 10, done: () => done });
    for await (const chunk of it) {
      got.push(chunk);
      if (got.length === 1) {
        await writeFile(file, '2026-11-21T10:00:01.000000000Z stdout F b\n', { flag: 'a' });
        done = true;
      }
    }
    expect(got.join('')).toBe('a\nb\n');
  });
});
