import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTar, type TarEntry } from './testing.js';
import { applyLayer } from './unpack.js';

const isRoot = process.getuid?.() === 0;

describe('applyLayer', () => {
  let dir: string;
  let dest: string;
  let outside: string;
  let n = 0;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ordinal-unpack-'));
    dest = join(dir, 'rootfs');
    outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim'), 'keep me');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const layer = async (entries: TarEntry[], gzip = false) => {
    const file = join(dir, `layer-${n++}.tar`);
    const tar = makeTar(entries);
    writeFileSync(file, gzip ? gzipSync(tar) : tar);
    await applyLayer(file, dest);
  };
  const read = (p: string) => readFileSync(join(dest, p), 'utf8');

  it('applies layers in order: files, dirs, symlinks, hard links, whiteouts, opaque dirs', async () => {
    await layer([
      { path: 'bin/', type: 'dir' },
      { path: 'bin/busybox', data: 'BB', mode: 0o755 },
      { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { path: 'etc/', type: 'dir' },
      { path: 'etc/passwd', data: 'root:x:0:0' },
      { path: 'data/', type: 'dir' },
      { path: 'data/a', data: 'a' },
      { path: 'data/sub/', type: 'dir' },
      { path: 'data/sub/deep', data: 'deep' },
      { path: 'keep/', type: 'dir' },
      { path: 'keep/x', data: 'x' },
      { path: 'remove-me', data: 'bye' },
      { path: 'gone/', type: 'dir' },
      { path: 'gone/file', data: 'f' },
      { path: 'ro/', type: 'dir', mode: 0o555 },
      { path: 'ro/file', data: 'r' },
    ]);
    await layer(
      [
        { path: './.wh.remove-me' },
        { path: './.wh.gone' },
        { path: 'data/', type: 'dir' },
        { path: 'data/.wh..wh..opq' },
        { path: 'data/c', data: 'c' },
        { path: 'keep/y', data: 'y' },
        { path: 'etc/passwd', data: 'root:x:0:0:new' },
        { path: 'etc/passwd-link', type: 'link', linkname: 'etc/passwd' },
        { path: 'ro/other', data: 'o' },
        { path: 'bin/sh', data: 'now a file' },
      ],
      true,
    );

    expect(read('bin/busybox')).toBe('BB');
    expect(lstatSync(join(dest, 'bin/busybox')).mode & 0o777).toBe(0o755);
    expect(read('bin/sh')).toBe('now a file');
    expect(existsSync(join(dest, 'remove-me'))).toBe(false);
    expect(existsSync(join(dest, 'gone'))).toBe(false);
    expect(existsSync(join(dest, 'data/a'))).toBe(false);
    expect(existsSync(join(dest, 'data/sub'))).toBe(false);
    expect(read('data/c')).toBe('c');
    expect(existsSync(join(dest, 'data/.wh..wh..opq'))).toBe(false);
    expect(read('keep/x')).toBe('x');
    expect(read('keep/y')).toBe('y');
    expect(read('etc/passwd-link')).toBe('root:x:0:0:new');
    expect(lstatSync(join(dest, 'etc/passwd-link')).ino).toBe(lstatSync(join(dest, 'etc/passwd')).ino);
    expect(read('ro/other')).toBe('o');
    if (isRoot) expect(lstatSync(join(dest, 'ro')).mode & 0o777).toBe(0o555);
  });

  it('keeps symlinks as links and an opaque marker does not remove entries of its own layer', async () => {
    await layer([
      { path: 'usr/lib/old', data: 'old' },
      { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
    ]);
    await layer([
      { path: 'usr/lib/', type: 'dir' },
      { path: 'usr/lib/new', data: 'new' },
      { path: 'usr/lib/.wh..wh..opq' },
    ]);
    expect(readlinkSync(join(dest, 'lib'))).toBe('usr/lib');
    expect(read('lib/new')).toBe('new');
    expect(existsSync(join(dest, 'usr/lib/old'))).toBe(false);
  });

  it('rejects entries that climb out with ..', async () => {
    await expect(layer([{ path: '../escaped', data: 'x' }])).rejects.toThrow(/escapes the root/);
    await expect(layer([{ path: 'a/../../escaped', data: 'x' }])).rejects.toThrow(/escapes the root/);
    await expect(layer([{ path: 'x', type: 'link', linkname: '../outside/victim' }])).rejects.toThrow(
      /escapes the root/,
    );
    expect(existsSync(join(dir, 'escaped'))).toBe(false);
  });

  it('roots absolute paths and symlinks inside the destination', async () => {
    await layer([
      { path: '/abs/file', data: 'abs' },
      { path: 'escape', type: 'symlink', linkname: outside },
      { path: 'up', type: 'symlink', linkname: '../../../..' },
      { path: 'escape/pwned', data: 'no' },
      { path: 'up/pwned2', data: 'no' },
      { path: 'escape/.wh.victim' },
      { path: 'hl', type: 'link', linkname: 'escape/victim' },
    ]).catch((e: Error) => expect(e.message).toMatch(/hard link "hl" to missing/));
    expect(read('abs/file')).toBe('abs');
    expect(existsSync(join(outside, 'pwned'))).toBe(false);
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('keep me');
    expect(read(`${outside.slice(1)}/pwned`)).toBe('no');
    expect(read('pwned2')).toBe('no');
    expect(existsSync(join(dir, 'pwned2'))).toBe(false);
  });

  it('does not write through a pre-existing symlink at the final component', async () => {
    await layer([{ path: 'link', type: 'symlink', linkname: join(outside, 'victim') }]);
    await layer([{ path: 'link', data: 'replaced' }]);
    expect(read('link')).toBe('replaced');
    expect(lstatSync(join(dest, 'link')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('keep me');
  });

  it('creates FIFOs, and device nodes only as root', async () => {
    await layer([
      { path: 'dev/', type: 'dir' },
      { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { path: 'run/fifo', type: 'fifo', mode: 0o600 },
    ]);
    expect(lstatSync(join(dest, 'run/fifo')).isFIFO()).toBe(true);
    if (isRoot) {
      const st = lstatSync(join(dest, 'dev/null'));
      expect(st.isCharacterDevice()).toBe(true);
      expect(st.rdev).toBe((1 << 8) | 3);
    } else {
      expect(existsSync(join(dest, 'dev/null'))).toBe(false);
    }
  });

  it.skipIf(!isRoot)('applies ownership and setuid modes (needs root)', async () => {
    await layer([
      { path: 'home/app/', type: 'dir', uid: 1000, gid: 1000, mode: 0o750 },
      { path: 'usr/bin/su', data: 'su', mode: 0o4755, uid: 0, gid: 0 },
      { path: 'home/app/f', data: 'f', uid: 1000, gid: 1001, mode: 0o640 },
    ]);
    const f = lstatSync(join(dest, 'home/app/f'));
    expect([f.uid, f.gid, f.mode & 0o7777]).toEqual([1000, 1001, 0o640]);
    const d = lstatSync(join(dest, 'home/app'));
    expect([d.uid, d.mode & 0o7777]).toEqual([1000, 0o750]);
    expect(lstatSync(join(dest, 'usr/bin/su')).mode & 0o7777).toBe(0o4755);
  });
});
