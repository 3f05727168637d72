/**
 * Test helpers: a tiny ustar writer (so tests can build layers with
 * whiteouts, links, devices and hostile paths exactly) and builders for OCI
 * layout and `docker save` archives.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { freeLoopbackPort } from '../../testing/net.js';
import { sha256Digest } from './store.js';
import {
  type Descriptor,
  type ImageConfigFile,
  MEDIA_OCI_CONFIG,
  MEDIA_OCI_LAYER,
  MEDIA_OCI_LAYER_GZIP,
  MEDIA_OCI_MANIFEST,
} from './types.js';

export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';
  data?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  mtime?: number;
}

const TYPEFLAG = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function octal(buf: Buffer, off: number, len: number, value: number): void {
  buf.write(`${value.toString(8).padStart(len - 1, '0')}\0`, off, len, 'ascii');
}

function header(e: TarEntry, size: number): Buffer {
  const b = Buffer.alloc(512);
  let name = e.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  const type = e.type ?? 'file';
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, e.mode ?? (type === 'dir' ? 0o755 : 0o644));
  octal(b, 108, 8, e.uid ?? 0);
  octal(b, 116, 8, e.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, e.mtime ?? 1_700_000_000);
  b.fill(' ', 148, 156);
  b.write(TYPEFLAG[type], 156, 1, 'ascii');
  b.write(e.linkname ?? '', 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'ascii');
  b.write('00', 263, 2, 'ascii');
  b.write('root', 265, 32, 'ascii');
  b.write('root', 297, 32, 'ascii');
  octal(b, 329, 8, e.devmajor ?? 0);
  octal(b, 337, 8, e.devminor ?? 0);
  b.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return b;
}

/** An uncompressed tar archive of `entries`, in order. */
export function makeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = (e.type ?? 'file') === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    parts.push(header(e, data.length), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export interface TestImage {
  /** Layer blobs as stored (gzip or plain). */
  layers: { data: Buffer; desc: Descriptor }[];
  config: { data: Buffer; desc: Descriptor };
  manifest: { data: Buffer; desc: Descriptor };
}

/** Builds an image (config + OCI manifest) from layer entry lists. */
export function buildImage(
  layerEntries: TarEntry[][],
  opts: { gzip?: boolean[]; config?: ImageConfigFile['config']; architecture?: string } = {},
): TestImage {
  const layers = layerEntries.map((entries, i) => {
    const tar = makeTar(entries);
    const gz = opts.gzip?.[i] ?? false;
    const data = gz ? gzipSync(tar) : tar;
    return {
      data,
      diffId: sha256Digest(tar),
      desc: {
        mediaType: gz ? MEDIA_OCI_LAYER_GZIP : MEDIA_OCI_LAYER,
        digest: sha256Digest(data),
        size: data.length,
      },
    };
  });
  const configFile: ImageConfigFile = {
    architecture: opts.architecture ?? 'amd64',
    os: 'linux',
    config: opts.config ?? { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configData = Buffer.from(JSON.stringify(configFile));
  const config = {
    data: configData,
    desc: { mediaType: MEDIA_OCI_CONFIG, digest: sha256Digest(configData), size: configData.length },
  };
  const manifestData = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_OCI_MANIFEST,
      config: config.desc,
      layers: layers.map((l) => l.desc),
    }),
  );
  return {
    layers: layers.map(({ data, desc }) => ({ data, desc })),
    config,
    manifest: {
      data: manifestData,
      desc: { mediaType: MEDIA_OCI_MANIFEST, digest: sha256Digest(manifestData), size: manifestData.length },
    },
  };
}

export function blobEntry(data: Buffer): TarEntry {
  return { path: `blobs/sha256/${sha256Digest(data).slice(7)}`, data };
}

/** Debian's docker-registry, for tests that pull from a real registry on loopback. */
export const DOCKER_REGISTRY_BINARY = '/usr/bin/docker-registry';

/** A docker-registry process serving on loopback, with the distribution push API used by tests. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>`: what image references start with. */
  host: string;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Uploads one blob unless the registry has it already; returns its digest. */
  pushBlob(repo: string, data: Buffer): Promise<string>;
  /** PUT /v2/<repo>/manifests/<ref>; returns the digest the registry reports. */
  pushManifest(repo: string, ref: string, data: Buffer, mediaType: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts docker-registry with filesystem storage under `dir` on a free loopback port. */
export async function startDockerRegistry(dir: string): Promise<LocalRegistry> {
  const port = await freeLoopbackPort();
  const host = `127.0.0.1:${port}`;
  const base = `http://${host}`;
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'registry.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(DOCKER_REGISTRY_BINARY, ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  for (let i = 0; ; i++) {
    const up = await fetch(`${base}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (i > 300 || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const pushBlob = async (repo: string, data: Buffer): Promise<string> => {
    const digest = sha256Digest(data);
    const head = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    if (head.status === 200) return digest;
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    await start.body?.cancel();
    if (start.status !== 202) throw new Error(`POST blob upload to ${repo}: ${start.status}`);
    const location = new URL(start.headers.get('location') ?? '', base);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
      body: data,
    });
    const text = await put.text();
    if (put.status !== 201) throw new Error(`PUT blob ${digest} to ${repo}: ${put.status} ${text}`);
    return digest;
  };

  const pushManifest = async (repo: string, ref: string, data: Buffer, mediaType: string) => {
    const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body: data,
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`PUT manifest ${repo}:${ref}: ${res.status} ${text}`);
    return res.headers.get('docker-content-digest') ?? sha256Digest(data);
  };

  return {
    host,
    base,
    pushBlob,
    pushManifest,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}
