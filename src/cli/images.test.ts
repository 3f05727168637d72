import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildImage, makeTar } from '../agent/images/testing.js';
import { formatTable, humanSize, runImagesCommand } from './images.js';

describe('ordinal images', () => {
  let dir: string;
  let out: string;
  let err: string;
  const io = {
    out: (s: string) => {
      out += s;
    },
    err: (s: string) => {
      err += s;
    },
  };
  const run = (...argv: string[]) => {
    out = '';
    err = '';
    return runImagesCommand(argv, join(dir, 'data'), io);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ordinal-cli-images-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a docker save archive, lists it like crictl and removes it', async () => {
    const img = buildImage([[{ path: 'hello', data: 'x'.repeat(2000) }]]);
    const file = join(dir, 'img.tar');
    writeFileSync(
      file,
      makeTar([
        {
          path: 'manifest.json',
          data: JSON.stringify([{ Config: 'config.json', RepoTags: ['hello:1'], Layers: ['l/layer.tar'] }]),
        },
        { path: 'config.json', data: img.config.data },
        { path: 'l/layer.tar', data: img.layers[0]?.data },
      ]),
    );
    expect(await run('import', file)).toBe(0);
    expect(out).toContain('docker.io/library/hello:1');

    expect(await run('ls')).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
    const id = img.config.desc.digest.slice(7, 20);
    expect(lines[1]).toMatch(new RegExp(`^docker\\.io/library/hello\\s+1\\s+${id}\\s+\\d+(\\.\\d+)?kB$`));

    expect(await run('rm', 'hello:1')).toBe(0);
    expect(out).toBe('Deleted: docker.io/library/hello:1\n');
    expect(await run('ls')).toBe(0);
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    expect(await run('rm', 'hello:1')).toBe(1);
    expect(err).toContain('not found');
  });

  it('reports usage errors and pull failures with exit codes', async () => {
    expect(await run('bogus')).toBe(2);
    expect(await run('import')).toBe(2);
    expect(await run('pull', '127.0.0.1:1/x/y:1')).toBe(1);
    expect(err).toMatch(/failed to pull and unpack image "127\.0\.0\.1:1\/x\/y:1"/);
  });

  it('formats sizes like go-units and aligns columns', () => {
    expect(humanSize(512)).toBe('512B');
    expect(humanSize(4_261_234)).toBe('4.261MB');
    expect(humanSize(1_000_000)).toBe('1MB');
    expect(
      formatTable([
        ['A', 'B'],
        ['long-value-here-xxxxxxxx', 'c'],
      ]),
    ).toBe(`${'A'.padEnd(27)}B\n${'long-value-here-xxxxxxxx'.padEnd(27)}c\n`);
  });
});
