import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Payload, setVolumeOwnership, validatePayloadPath, writePayload } from './atomic-writer.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ordinal-aw-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function payload(files: Record<string, string>, mode = 0o644): Payload {
  return new Map(Object.entries(files).map(([k, v]) => [k, { data: Buffer.from(v), mode }]));
}

describe('atomic writer', () => {
  it('writes a timestamped dir behind ..data with one user-visible symlink per top-level path', async () => {
    const d = tmp();
    expect(
      await writePayload(d, payload({ a: 'A', 'conf/b.yaml': 'B' }), new Date(Date.UTC(2026, 0, 2, 3, 4, 5))),
    ).toBe(true);
    const ts = readlinkSync(join(d, '..data'));
    expect(ts).toMatch(/^\.\.2026_01_02_03_04_05\./);
    expect(readlinkSync(join(d, 'a'))).toBe('..data/a');
    expect(readlinkSync(join(d, 'conf'))).toBe('..data/conf');
    expect(readFileSync(join(d, 'conf/b.yaml'), 'utf8')).toBe('B');
    expect(statSync(join(d, ts)).mode & 0o777).toBe(0o755);
    expect(statSync(join(d, 'a')).mode & 0o777).toBe(0o644);
  });

  it('leaves an unchanged payload alone and swaps a changed one, dropping removed paths and the old dir', async () => {
    const d = tmp();
    await writePayload(d, payload({ a: 'A', b: 'B' }));
    const first = readlinkSync(join(d, '..data'));
    expect(await writePayload(d, payload({ a: 'A', b: 'B' }))).toBe(false);
    expect(readlinkSync(join(d, '..data'))).toBe(first);
    expect(await writePayload(d, payload({ a: 'A2', c: 'C' }, 0o400))).toBe(true);
    const second = readlinkSync(join(d, '..data'));
    expect(second).not.toBe(first);
    expect(readFileSync(join(d, 'a'), 'utf8')).toBe('A2');
    expect(statSync(join(d, 'c')).mode & 0o777).toBe(0o400);
    expect(readdirSync(d).sort()).toEqual(['..data', second, 'a', 'c'].sort());
  });

  it('an empty payload still gets ..data; bad paths are refused', async () => {
    const d = tmp();
    expect(await writePayload(d, new Map())).toBe(true);
    expect(lstatSync(join(d, '..data')).isSymbolicLink()).toBe(true);
    expect(validatePayloadPath('../x')).toBe("invalid path: must not contain '..': ../x");
    expect(validatePayloadPath('/etc/x')).toBe('invalid path: must be relative path: /etc/x');
    expect(validatePayloadPath('..x')).toBe("invalid path: must not start with '..': ..x");
    await expect(writePayload(d, payload({ 'a/../../b': 'x' }))).rejects.toThrow("must not contain '..'");
  });

  it.skipIf(process.getuid?.() !== 0)(
    'fsGroup: group ownership, g+rw (g+r read-only), setgid dirs',
    async () => {
      const d = tmp();
      await writePayload(join(d, 'ro'), payload({ f: 'x' }, 0o600));
      await setVolumeOwnership(join(d, 'ro'), 4321, { readOnly: true });
      const f = statSync(join(d, 'ro', 'f'));
      expect(f.gid).toBe(4321);
      expect(f.mode & 0o777).toBe(0o640);
      const dir = statSync(join(d, 'ro'));
      expect(dir.gid).toBe(4321);
      expect(dir.mode & 0o2000).toBe(0o2000);
      await setVolumeOwnership(d, 4322);
      expect(statSync(join(d, 'ro', 'f')).mode & 0o777).toBe(0o660);
      // OnRootMismatch: a root that already matches is not walked again.
      await setVolumeOwnership(join(d, 'ro'), 4321, { readOnly: true });
      await setVolumeOwnership(d, 4322, { onRootMismatch: true });
      expect(statSync(join(d, 'ro', 'f')).gid).toBe(4321);
    },
  );
});
