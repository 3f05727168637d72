import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kmsgNamesCgroup, oomKilled, terminationMessage } from './termination.js';

const dir = mkdtempSync(join(tmpdir(), 'ordinal-term-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('termination details', () => {
  it('message: the file (at most 4096 bytes), else the log tail with FallbackToLogsOnError on failure', async () => {
    const file = join(dir, 'msg');
    const log = join(dir, 'log');
    writeFileSync(file, 'x'.repeat(5000));
    expect((await terminationMessage({ file, exitCode: 0 }))?.length).toBe(4096);
    writeFileSync(file, '');
    const lines = Array.from({ length: 100 }, (_, i) => `2026-01-01T00:00:00.000000000Z stdout F line ${i}`);
    writeFileSync(log, `${lines.join('\n')}\n`);
    expect(await terminationMessage({ file, exitCode: 1, logPath: log })).toBeUndefined();
    expect(
      await terminationMessage({ file, exitCode: 0, policy: 'FallbackToLogsOnError', logPath: log }),
    ).toBe(undefined);
    const tail = await terminationMessage({
      file,
      exitCode: 2,
      policy: 'FallbackToLogsOnError',
      logPath: log,
    });
    expect(tail?.startsWith('line 20\n')).toBe(true);
    expect(tail?.endsWith('line 99\n')).toBe(true);
    writeFileSync(log, '2026-01-01T00:00:00.000000000Z stderr F boom\n');
    expect(await terminationMessage({ exitCode: 2, policy: 'FallbackToLogsOnError', logPath: log })).toBe(
      'boom\n',
    );
  });

  it('OOMKilled: memory.events / memory.oom_control counters, else an oom-kill record naming the cgroup', async () => {
    const root = join(dir, 'cg');
    mkdirSync(join(root, 'ordinal/podu/c_0'), { recursive: true });
    writeFileSync(join(root, 'ordinal/podu/c_0/memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    const kmsg = join(dir, 'kmsg');
    writeFileSync(kmsg, '');
    expect(await oomKilled('/ordinal/podu/c_0', { cgroupRoot: root, kmsg })).toBe(true);
    mkdirSync(join(root, 'memory/ordinal/podu/c_1'), { recursive: true });
    writeFileSync(
      join(root, 'memory/ordinal/podu/c_1/memory.oom_control'),
      'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    );
    expect(await oomKilled('/ordinal/podu/c_1', { cgroupRoot: root, kmsg })).toBe(false);
    writeFileSync(
      kmsg,
      '6,5475,13521393084,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/ordinal/podu/c_1,task_memcg=/ordinal/podu/c_1,task=sh,pid=9,uid=0\n',
    );
    expect(await oomKilled('/ordinal/podu/c_1', { cgroupRoot: root, kmsg })).toBe(true);
    expect(kmsgNamesCgroup('/ordinal/podu/c_10', kmsg)).toBe(false);
    expect(kmsgNamesCgroup('/x', join(dir, 'missing'))).toBe(false);
  });
});
