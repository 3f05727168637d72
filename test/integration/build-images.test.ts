import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImages, type HostInputs, planImage } from '../../scripts/build-images.js';
import {
  EXIT_MISSING_PACKAGE,
  ensurePackages,
  MissingPackageError,
  packageVersion,
} from '../../scripts/images/host.js';
import {
  ANNOTATION_REF_NAME,
  buildImage,
  buildLayer,
  checkLayerTar,
  MEDIA_TYPE_LAYER_GZIP,
  ociPlatform,
  readLayoutTar,
  sha256Digest,
  writeLayoutTar,
} from '../../scripts/images/oci.js';
import { parseAppletList, parseLdd, relativeLink, VISITS_CGI } from '../../scripts/images/rootfs.js';
import { normalizeEntries, REPRODUCIBLE_MTIME, readTar, writeTar } from '../../scripts/images/tar.js';

const execFileP = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmpDirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ordinal-images-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

/** Synthetic host inputs: no Debian packages needed. */
function fakeHost(busybox = 'fake busybox binary'): HostInputs {
  const lib = (p: string, s: string) => ({ path: p, content: Buffer.from(s), mode: 0o100755 });
  return {
    platform: ociPlatform('amd64'),
    packageVersions: {
      'busybox-static': '1:1.35.0-test',
      'etcd-server': '3.4.23-test',
      'util-linux': '2.38',
    },
    busybox: Buffer.from(busybox),
    applets: 'bin/busybox\nbin/sh\nbin/ls\nusr/sbin/httpd\nusr/bin/awk\nsbin/ifconfig\nbin/hostname\n',
    etcd: [lib('/usr/bin/etcd', 'etcd'), lib('/lib/x86_64-linux-gnu/libc.so.6', 'libc')],
    flock: [lib('/usr/bin/flock', 'flock'), lib('/lib/x86_64-linux-gnu/libc.so.6', 'libc')],
  };
}

describe('tar writer', () => {
  it('sorts entries, adds parents, and round-trips through the reader', () => {
    const tar = writeTar([
      { path: 'usr/bin/b', type: 'file', mode: 0o755, content: Buffer.from('bbb') },
      { path: '/etc/passwd', type: 'file', content: Buffer.from('root:x:0:0::/root:/bin/sh\n') },
      { path: './tmp', type: 'dir', mode: 0o1777 },
      { path: 'bin/sh', type: 'symlink', linkpath: 'busybox' },
    ]);
    expect(tar.length % 512).toBe(0);
    const entries = readTar(tar);
    expect(entries.map((e) => e.path)).toEqual([
      'bin/',
      'bin/sh',
      'etc/',
      'etc/passwd',
      'tmp/',
      'usr/',
      'usr/bin/',
      'usr/bin/b',
    ]);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get('bin/sh')).toMatchObject({ type: 'SymbolicLink', linkpath: 'busybox' });
    expect(byPath.get('tmp/')).toMatchObject({ type: 'Directory', mode: 0o1777 });
    expect(byPath.get('usr/bin/b')?.content.toString()).toBe('bbb');
    expect(byPath.get('usr/bin/b')?.mode).toBe(0o755);
    for (const e of entries) {
      expect(e.uid).toBe(0);
      expect(e.mtime?.getTime()).toBe(REPRODUCIBLE_MTIME.getTime());
    }
    expect(checkLayerTar(tar)).toEqual([]);
  });

  it('uses PAX headers for long paths', () => {
    const long = `${'d'.repeat(80)}/${'e'.repeat(80)}/file`;
    const entries = readTar(writeTar([{ path: long, type: 'file', content: Buffer.from('x') }]));
    expect(entries.map((e) => e.path)).toContain(long);
  });

  it('rejects conflicting duplicates and paths escaping the root', () => {
    expect(() =>
      normalizeEntries([
        { path: 'a', type: 'file', content: Buffer.from('1') },
        { path: 'a', type: 'file', content: Buffer.from('2') },
      ]),
    ).toThrow(/conflicting/);
    expect(() => normalizeEntries([{ path: '../x', type: 'dir' }])).toThrow(/\.\./);
    expect(() =>
      normalizeEntries([
        { path: 'a', type: 'file' },
        { path: 'a/b', type: 'file' },
      ]),
    ).toThrow(/below it/);
  });

  it('the layer checker detects unsorted entries and whiteouts', () => {
    // Hand-made archive in the wrong order, via two single-entry archives concatenated.
    const one = writeTar([{ path: 'z', type: 'file' }]);
    const two = writeTar([{ path: 'a/.wh.b', type: 'file' }]);
    const bad = Buffer.concat([one.subarray(0, one.length - 1024), two]);
    const problems = checkLayerTar(bad);
    expect(problems.some((p) => p.includes('not sorted'))).toBe(true);
    expect(problems.some((p) => p.includes('whiteout'))).toBe(true);
    expect(() => buildLayer({ createdBy: 'x', entries: [{ path: 'a/.wh.b', type: 'file' }] })).toThrow(
      /whiteout/,
    );
  });
});

describe('rootfs helpers', () => {
  it('parses ldd output', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffd5b1f2000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f98d61f3000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f98d63e8000)',
    ].join('\n');
    expect(parseLdd(out)).toEqual(['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
    expect(parseLdd('\tnot a dynamic executable\n')).toEqual([]);
    expect(() => parseLdd('\tlibfoo.so.1 => not found\n')).toThrow(/libfoo/);
  });

  it('makes relative applet links and parses applet lists', () => {
    expect(relativeLink('bin/sh', 'bin/busybox')).toBe('busybox');
    expect(relativeLink('usr/sbin/httpd', 'bin/busybox')).toBe('../../bin/busybox');
    expect(relativeLink('linuxrc', 'bin/busybox')).toBe('bin/busybox');
    expect(parseAppletList('bin/sh\n/usr/bin/awk\n\nbin/sh\n')).toEqual(['bin/sh', 'usr/bin/awk']);
  });

  it('plans each image with the documented config', () => {
    const host = fakeHost();
    expect(planImage('busybox', host).config).toMatchObject({ Cmd: ['sh'], WorkingDir: '/' });
    const etcd = planImage('etcd', host);
    expect(etcd.config.Entrypoint).toEqual(['/usr/bin/etcd']);
    expect(Object.keys(etcd.config.ExposedPorts ?? {})).toEqual(['2379/tcp', '2380/tcp']);
    const visits = planImage('visits', host);
    expect(visits.config.Cmd).toEqual(['/usr/sbin/httpd', '-f', '-v', '-p', '8080', '-h', '/www']);
    expect(visits.config.Env).toContain('VISITS_FILE=/data/visits');
    expect(visits.config.ExposedPorts).toEqual({ '8080/tcp': {} });
  });
});

describe('OCI image layout', () => {
  it('writes a valid layout: index → manifest → config and layers, digests and sizes match', () => {
    const out = tmp();
    const [result] = buildImages({ out, images: ['visits'], host: fakeHost() });
    const layout = readLayoutTar(readFileSync(path.join(out, 'visits.tar')));
    expect(layout.problems).toEqual([]);
    expect(layout.images).toHaveLength(1);
    const img = layout.images[0]!;
    expect(img.ref).toBe('ordinal.local/visits:1');
    expect(img.descriptor.digest).toBe(result?.digest);
    expect(img.descriptor.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(img.manifest.layers.map((l) => l.mediaType)).toEqual([
      MEDIA_TYPE_LAYER_GZIP,
      MEDIA_TYPE_LAYER_GZIP,
    ]);
    expect(img.config.rootfs.diff_ids).toEqual(img.layers.map((l) => sha256Digest(l)));
    const app = new Map(readTar(img.layers[1]!).map((e) => [e.path, e]));
    expect(app.get('www/cgi-bin/index')?.content.toString()).toBe(VISITS_CGI);
    expect(app.get('www/cgi-bin/index')?.mode).toBe(0o755);
    expect(app.get('usr/bin/flock')?.content.toString()).toBe('flock');
    const base = new Map(readTar(img.layers[0]!).map((e) => [e.path, e]));
    expect(base.get('usr/sbin/httpd')?.linkpath).toBe('../../bin/busybox');
    expect(base.get('tmp/')?.mode).toBe(0o1777);
    expect(base.get('etc/passwd')?.content.toString()).toMatch(/^root:x:0:0:.*\nnobody:x:65534:65534:/);
    expect(base.get('etc/group')?.content.toString()).toMatch(/^root:x:0:\n(.*\n)*nobody:x:65534:\n/);
    expect(base.get('etc/hosts')?.type).toBe('File');
  });

  it('detects a corrupted blob and a missing reference annotation', () => {
    const layer = buildLayer({
      createdBy: 't',
      entries: [{ path: 'a', type: 'file', content: Buffer.from('hello') }],
    });
    const image = buildImage({ ref: 'x/y:1', platform: ociPlatform('amd64'), layers: [layer], config: {} });
    expect(readLayoutTar(writeLayoutTar([image])).problems).toEqual([]);
    // Swap the layer blob's bytes for other bytes of the same size.
    const corrupted = { ...image, blobs: new Map(image.blobs) };
    corrupted.blobs.set(layer.descriptor.digest, Buffer.alloc(layer.gz.length, 1));
    const problems = readLayoutTar(writeLayoutTar([corrupted])).problems;
    expect(problems.some((p) => p.includes('different digest'))).toBe(true);
    const unnamed = { ...image, descriptor: { ...image.descriptor, annotations: {} } };
    expect(readLayoutTar(writeLayoutTar([unnamed])).problems.join()).toContain(ANNOTATION_REF_NAME);
  });

  it('is reproducible: two builds give identical bytes and digests', () => {
    const a = tmp();
    const b = tmp();
    const ra = buildImages({ out: a, host: fakeHost() });
    const rb = buildImages({ out: b, host: fakeHost() });
    expect(ra.map((r) => r.digest)).toEqual(rb.map((r) => r.digest));
    for (const name of ['busybox', 'etcd', 'visits']) {
      expect(
        readFileSync(path.join(a, `${name}.tar`)).equals(readFileSync(path.join(b, `${name}.tar`))),
      ).toBe(true);
    }
    // The busybox layer is shared by all three images.
    const firstLayers = ra.map(
      (r) => readLayoutTar(readFileSync(r.file)).images[0]!.manifest.layers[0]!.digest,
    );
    expect(new Set(firstLayers).size).toBe(1);
  });

  it('skips rebuilding when inputs are unchanged and rebuilds when they change', () => {
    const out = tmp();
    const [first] = buildImages({ out, images: ['busybox'], host: fakeHost() });
    expect(first?.skipped).toBe(false);
    const [second] = buildImages({ out, images: ['busybox'], host: fakeHost() });
    expect(second).toMatchObject({ skipped: true, digest: first?.digest });
    const [changed] = buildImages({ out, images: ['busybox'], host: fakeHost('another busybox') });
    expect(changed?.skipped).toBe(false);
    expect(changed?.digest).not.toBe(first?.digest);
    const layout = readLayoutTar(readFileSync(path.join(out, 'busybox.tar')));
    expect(layout.images[0]?.descriptor.digest).toBe(changed?.digest);
  });
});

describe('package checks', () => {
  it('exits with code 3 naming the package when not root', () => {
    const ops = { isRoot: false, version: () => undefined, install: () => {} };
    let err: unknown;
    try {
      ensurePackages(['busybox-static'], ops);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingPackageError);
    expect((err as MissingPackageError).exitCode).toBe(EXIT_MISSING_PACKAGE);
    expect((err as Error).message).toContain('busybox-static');
  });

  it('installs missing packages with apt-get when root', () => {
    const installed = new Set<string>(['util-linux']);
    const calls: string[][] = [];
    const ops = {
      isRoot: true,
      version: (p: string) => (installed.has(p) ? '1.0' : undefined),
      install: (pkgs: string[]) => {
        calls.push(pkgs);
        for (const p of pkgs) installed.add(p);
      },
    };
    expect([...ensurePackages(['busybox-static', 'util-linux'], ops).keys()]).toEqual([
      'busybox-static',
      'util-linux',
    ]);
    expect(calls).toEqual([['busybox-static']]);
  });
});

const hostBusybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
const haveBusybox = packageVersion('busybox-static') !== undefined && hostBusybox !== undefined;
const hostFlock = ['/usr/bin/flock', '/bin/flock'].find((p) => existsSync(p));

describe.skipIf(!haveBusybox)('real build from Debian packages (needs busybox-static installed)', () => {
  it('builds ordinal.local/busybox:1.35 with bin/sh → busybox via the CLI, then skips the rebuild', async () => {
    const out = tmp();
    const script = path.join(repo, 'scripts/build-images.ts');
    const args = ['--import', 'tsx', script, '--out', out, '--only', 'busybox'];
    const first = await execFileP(process.execPath, args, { cwd: repo });
    expect(first.stdout).toMatch(/^ordinal\.local\/busybox:1\.35\t.*busybox\.tar\tsha256:[0-9a-f]{64}\n$/);
    const layout = readLayoutTar(readFileSync(path.join(out, 'busybox.tar')));
    expect(layout.problems).toEqual([]);
    const img = layout.images[0]!;
    expect(img.ref).toBe('ordinal.local/busybox:1.35');
    expect(img.config.config.Cmd).toEqual(['sh']);
    const entries = new Map(readTar(img.layers[0]!).map((e) => [e.path, e]));
    expect(entries.get('bin/sh')).toMatchObject({ type: 'SymbolicLink', linkpath: 'busybox' });
    expect(entries.get('bin/busybox')?.content.equals(readFileSync(hostBusybox!))).toBe(true);
    const applets = execFileSync(hostBusybox!, ['--list-full'], { encoding: 'utf8' }).trim().split('\n');
    for (const a of applets) expect(entries.has(a), a).toBe(true);

    const second = await execFileP(process.execPath, args, { cwd: repo });
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toContain('up to date');
  });

  it.skipIf(!hostFlock)(
    'the visits CGI counts concurrent requests without losing any (host busybox sh)',
    async () => {
      const dir = tmp();
      const script = path.join(dir, 'index');
      writeFileSync(script, VISITS_CGI, { mode: 0o755 });
      // Like the image: busybox applets first on PATH, plus util-linux flock.
      const bin = path.join(dir, 'bin');
      mkdirSync(bin);
      for (const applet of ['sh', 'cat', 'mkdir', 'dirname', 'mv', 'hostname', 'printf']) {
        symlinkSync(hostBusybox!, path.join(bin, applet));
      }
      symlinkSync(hostFlock!, path.join(bin, 'flock'));
      const env = { PATH: bin, VISITS_FILE: path.join(dir, 'data/visits') };
      const runs = await Promise.all(
        Array.from({ length: 20 }, () => execFileP(hostBusybox!, ['sh', script], { env, encoding: 'utf8' })),
      );
      const counts = runs.map((r) => Number(/visit (\d+)\n$/.exec(r.stdout)?.[1])).sort((x, y) => x - y);
      expect(counts).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(runs[0]?.stdout).toMatch(/^Content-Type: text\/plain\r\n\r\nHello from \S+, visit \d+\n$/);
      expect(readFileSync(env.VISITS_FILE, 'utf8')).toBe('20\n');
    },
  );
});

if (!haveBusybox) {
  process.stderr.write(
    'build-images.test: skipping the real build: Debian package busybox-static is not installed ' +
      '(apt-get install -y busybox-static)\n',
  );
}
