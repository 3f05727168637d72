/**
 * exec, attach and port-forward of the real node (streams.ts) against busybox containers on runc, driven
 * through the PodStreamTarget contract with in-memory client streams. Needs root, runc, busybox-static,
 * iproute2 and util-linux (`script`, `nsenter`); skipped elsewhere.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { PodStreamTarget, RemoteCommandIO, TerminalSize } from '../../apiserver/pod-streams.js';
import { busyboxRootfs } from '../oci/rootfs.js';
import { OciRuntime, removeCgroup } from '../oci/runtime.js';
import { removeBridge } from '../oci/sandbox.js';
import { findBusybox, pidAlive, run, sleep, which } from '../oci/util.js';
import { createPodStreamTarget } from './streams.js';

const missing = [
  process.getuid?.() !== 0 ? 'root' : '',
  which('runc') ? '' : 'runc (apt-get install -y runc)',
  findBusybox() ? '' : 'busybox-static',
  which('ip') ? '' : 'iproute2',
  which('script') && which('nsenter') ? '' : 'util-linux (script, nsenter)',
].filter(Boolean);
const skipReason = missing.length > 0 ? `needs ${missing.join(', ')}` : '';
if (skipReason) console.log(`skipping node stream tests: ${skipReason}`);

const BR = `ords${process.pid % 100000}`;
const CIDR = `10.253.${process.pid % 200}.0/24`;
const NET = CIDR.split('.').slice(0, 3).join('.');
const UID = `c${String(process.pid % 1000000).padStart(7, '0')}-0000-4000-8000-000000000003`;
const NS = 'default';
const POD = 'streams';

const sessions: Client[] = [];

/** A client side of a session: stdin to write to, collected output, resizes, and the abort. */
class Client {
  readonly stdin = new PassThrough();
  stdout = '';
  stderr = '';
  readonly abort = new AbortController();
  private resizeListeners: ((s: TerminalSize) => void)[] = [];
  private lastSize?: TerminalSize;
  private waiters: (() => void)[] = [];

  constructor(private readonly opts: { stdin?: boolean; stderr?: boolean; tty?: boolean } = {}) {
    sessions.push(this);
  }

  io(): RemoteCommandIO {
    const sink = (which: 'stdout' | 'stderr') =>
      new Writable({
        write: (chunk: Buffer, _enc, cb) => {
          this[which] += chunk.toString();
          for (const w of this.waiters.splice(0)) w();
          cb();
        },
      });
    return {
      stdin: this.opts.stdin ? this.stdin : undefined,
      stdout: sink('stdout'),
      stderr: this.opts.stderr === false || this.opts.tty ? undefined : sink('stderr'),
      tty: this.opts.tty === true,
      onResize: (l) => {
        this.resizeListeners.push(l);
        if (this.lastSize) l(this.lastSize);
      },
      signal: this.abort.signal,
    };
  }

  resize(size: TerminalSize): void {
    this.lastSize = size;
    for (const l of this.resizeListeners) l(size);
  }

  /** Waits until stdout matches. */
  async output(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    while (!re.test(this.stdout)) {
      if (Date.now() > until)
        throw new Error(`timed out waiting for ${re} in ${JSON.stringify(this.stdout)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return this.stdout;
  }
}

describe.skipIf(skipReason !== '')(`node streams on runc ${skipReason}`, () => {
  let dir: string;
  let image: string;
  let rt: OciRuntime;
  let target: PodStreamTarget;
  const ids = new Map<string, string>();
  const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: NS, name: POD, uid: UID } };

  const start = async (
    name: string,
    command: string[],
    extra: Record<string, unknown> = {},
    running = true,
  ) => {
    const st = await rt.startContainer({
      podUid: UID,
      name,
      container: { name, command, ...extra },
      image: { Env: ['PATH=/bin'] },
      imageRootfs: image,
      logPath: join(dir, 'logs', name, '0.log'),
    });
    ids.set(name, st.id);
    if (running) expect(st.status).toBe('running');
    return st;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ordinal-streams-'));
    image = join(dir, 'image');
    await busyboxRootfs(image, findBusybox()!);
    await writeFile(join(image, 'var/www/index.html'), 'hello through port-forward\n');
    rt = new OciRuntime({
      stateDir: join(dir, 'state'),
      runtimePath: which('runc')!,
      cgroupParent: `ordinal-streams-${process.pid}`,
    });
    await rt.createSandbox({ podUid: UID, hostname: POD, ip: `${NET}.10`, podCidr: CIDR, bridge: BR });
    target = createPodStreamTarget({
      runtime: rt,
      containerId: (ns, p, c) => (ns === NS && p === POD ? ids.get(c) : undefined),
    });
    await start('main', ['sleep', '3000']);
  }, 60_000);

  // A failed test must not leave its session's process behind for the next ones.
  afterEach(() => {
    for (const c of sessions.splice(0)) c.abort.abort();
  });

  afterAll(async () => {
    if (!rt) return;
    await rt.cleanupPod(UID).catch(() => undefined);
    await removeBridge(BR);
    await removeCgroup(`/ordinal-streams-${process.pid}`);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('exec: stdout, stderr and the exit code', async () => {
    const c = new Client();
    const code = await target.exec(pod, 'main', ['sh', '-c', 'echo out; echo err >&2; exit 3'], c.io());
    expect(code).toBe(3);
    expect(c.stdout).toBe('out\n');
    expect(c.stderr).toBe('err\n');
  });

  it('exec: stdin reaches the process and its end is EOF; large output keeps every byte', async () => {
    const c = new Client({ stdin: true });
    const done = target.exec(pod, 'main', ['sh', '-c', 'cat; echo "[eof]"'], c.io());
    c.stdin.write('hello\n');
    await c.output(/hello\n/);
    c.stdin.end('bye\n');
    expect(await done).toBe(0);
    expect(c.stdout).toBe('hello\nbye\n[eof]\n');

    const big = new Client({ stdin: true });
    const data = Buffer.alloc(3 * 1024 * 1024, 'abcdefghij\n');
    const bigDone = target.exec(pod, 'main', ['cat'], big.io());
    big.stdin.end(data);
    expect(await bigDone).toBe(0);
    expect(createHash('sha256').update(big.stdout).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
  });

  it('exec: a missing executable fails like containerd, a stopped container is refused like the kubelet', async () => {
    const c = new Client();
    await expect(target.exec(pod, 'main', ['nope'], c.io())).rejects.toThrow(
      /^failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in \$PATH: unknown$/,
    );
    // runc's own complaint on its stderr is not the process's output: the client sees none of it.
    expect(c.stdout + c.stderr).toBe('');
    const t = new Client({ stdin: true, tty: true });
    await expect(target.exec(pod, 'main', ['nope'], t.io())).rejects.toThrow(
      /exec: "nope": executable file not found/,
    );
    expect(t.stdout).toBe('');
    const err = await target.exec(pod, 'ghost', ['true'], c.io()).catch((e: unknown) => e);
    expect(isStatusError(err) && err.status.message).toBe('container not found ("ghost")');
    const exited = await start('done', ['true'], {}, false);
    await rt.waitExit(exited.id, 10_000);
    const err2 = await target.exec(pod, 'done', ['true'], c.io()).catch((e: unknown) => e);
    expect(isStatusError(err2) && err2.status.message).toBe('container not found ("done")');
  });

  it('exec: the process is killed when the client goes away', async () => {
    const c = new Client({ stdin: true });
    const done = target.exec(pod, 'main', ['sh', '-c', 'echo started; exec sleep 999'], c.io());
    await c.output(/started/);
    c.abort.abort();
    expect(await done).toBe(137);
    const ps = new Client();
    await target.exec(pod, 'main', ['ps'], ps.io());
    expect(ps.stdout).toContain('sleep 3000');
    expect(ps.stdout).not.toContain('sleep 999');
  });

  it('exec -t: a terminal from the container devpts, its size from resize, exit code', async () => {
    const c = new Client({ stdin: true, tty: true });
    c.resize({ width: 100, height: 40 });
    const done = target.exec(pod, 'main', ['sh'], c.io());
    await c.output(/\/ # /); // the interactive shell's prompt
    c.stdin.write('tty; stty size; echo "TERM=$TERM"\n');
    const out = await c.output(/TERM=xterm/);
    // A terminal translates newlines. (Sometimes twice: runc clears ONLCR on the container pty only after
    // the process started, and a shell restoring the termios it saw at startup turns it on again.)
    expect(out, out).toMatch(/\r+\n\/dev\/pts\/\d+\r+\n40 100\r+\n/);
    // The terminal echoes what is typed, as a real one.
    expect(c.stdout).toMatch(/tty; stty size; echo "TERM=\$TERM"\r+\n/);
    c.resize({ width: 120, height: 50 });
    await sleep(200);
    c.stdin.write('stty size; exit 4\n');
    expect(await done).toBe(4);
    expect(c.stdout).toMatch(/50 120\r+\n/);
    expect(c.stderr).toBe('');
  });

  it('exec -t without util-linux script: says so and runs without a terminal', async () => {
    const noScript = createPodStreamTarget({
      runtime: new OciRuntime({
        stateDir: rt.stateDir,
        runtimePath: rt.runtimePath,
        cgroupParent: rt.cgroupParent,
        scriptPath: null,
      }),
      containerId: () => ids.get('main'),
    });
    const c = new Client({ stdin: true, tty: true });
    const done = noScript.exec(pod, 'main', ['tty'], c.io());
    c.stdin.end();
    expect(await done).toBe(1); // busybox tty: "not a tty"
    expect(c.stdout).toBe(
      'Unable to use a TTY on this node (util-linux `script` is not installed); running without one.\r\nnot a tty\n',
    );
  });

  it('attach: stdin of a stdin container, output of the session, detach on stdin end, again', async () => {
    const st = await start('cat', ['cat'], { stdin: true });
    const a = new Client({ stdin: true });
    const done = target.attach(pod, 'cat', a.io());
    a.stdin.write('hello\n');
    await a.output(/hello\n/);
    a.stdin.end();
    await done; // without stdinOnce the client is detached and the container keeps its stdin
    expect((await rt.state(st.id)).status).toBe('running');

    // The supervisor outlives the agent: a fresh runtime object on the same state dir attaches again.
    const again = createPodStreamTarget({
      runtime: new OciRuntime({
        stateDir: rt.stateDir,
        runtimePath: rt.runtimePath,
        cgroupParent: rt.cgroupParent,
      }),
      containerId: () => st.id,
    });
    const b = new Client({ stdin: true });
    const done2 = again.attach(pod, 'cat', b.io());
    b.stdin.write('again\n');
    await b.output(/again\n/);
    expect(b.stdout).toBe('again\n');
    b.abort.abort();
    await done2;
    expect((await rt.state(st.id)).status).toBe('running');
    const log = await readFile(st.logPath, 'utf8');
    expect(log).toMatch(/ stdout F hello\n.* stdout F again\n$/s);
  });

  it('attach: stdinOnce closes the container stdin after the first client, output until it exits', async () => {
    const st = await start('once', ['sh', '-c', 'cat; echo "[stdin closed]"; exit 5'], {
      stdin: true,
      stdinOnce: true,
    });
    const a = new Client({ stdin: true });
    const done = target.attach(pod, 'once', a.io());
    a.stdin.end('only once\n');
    await done;
    expect(a.stdout).toBe('only once\n[stdin closed]\n');
    expect((await rt.waitExit(st.id, 10_000))?.exitCode).toBe(5);
    // Attaching to an exited container is refused like the kubelet does.
    const err = await target.attach(pod, 'once', new Client().io()).catch((e: unknown) => e);
    expect(isStatusError(err) && err.status.message).toBe(`container once not found in pod ${POD}_${NS}`);
  });

  it('attach -it to a tty container (kubectl run -it): prompt, size, exit code', async () => {
    const st = await start('shell', ['sh'], { stdin: true, stdinOnce: true, tty: true });
    const a = new Client({ stdin: true, tty: true });
    a.resize({ width: 90, height: 30 });
    const done = target.attach(pod, 'shell', a.io());
    a.stdin.write('stty size; tty; echo "T=$TERM"\n');
    await a.output(/T=xterm/);
    expect(a.stdout).toMatch(/30 90\r+\n/);
    expect(a.stdout).toMatch(/\/dev\/pts\/0\r+\n/);
    a.stdin.write('exit 3\n');
    await done;
    expect((await rt.waitExit(st.id, 10_000))?.exitCode).toBe(3);
    // A tty container logs one stream, as stdout.
    const log = await readFile(st.logPath, 'utf8');
    expect(log).toMatch(/ stdout F .*30 90\r+\n/);
    expect(log).not.toMatch(/ stderr /);
  });

  it('attach without stdin: only output produced after attaching', async () => {
    await start('ticker', ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done']);
    await sleep(500);
    const a = new Client();
    const done = target.attach(pod, 'ticker', a.io());
    await a.output(/tick \d+\n.*tick \d+\n/s);
    a.abort.abort();
    await done;
    expect(a.stdout).not.toMatch(/^tick 0\n/);
  });

  it('port-forward: a socket to localhost in the pod, containerd message when refused, no helper left', async () => {
    await start('web', ['httpd', '-f', '-p', '8080', '-h', '/var/www']);
    let body = '';
    for (let i = 0; i < 50 && !body.includes('hello'); i++) {
      const sock = await target.portForward(pod, 8080).catch(() => undefined);
      if (!sock) {
        await sleep(100);
        continue;
      }
      body = await new Promise<string>((resolve) => {
        let got = '';
        sock.on('data', (d: Buffer) => {
          got += d.toString();
        });
        sock.on('end', () => resolve(got));
        sock.on('error', () => resolve(got));
        sock.write('GET /index.html HTTP/1.0\r\n\r\n');
      });
    }
    expect(body).toMatch(/^HTTP\/1\.[01] 200 OK/);
    expect(body).toContain('hello through port-forward\n');

    const err = await target.portForward(pod, 9999).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(
      /^failed to connect to localhost:9999 inside namespace "ordinal-[0-9a-f]{8}", IPv4: dial tcp4 127\.0\.0\.1:9999: connect: connection refused IPv6 dial tcp6 \[::1\]:9999: connect: (connection refused|cannot assign requested address) $/,
    );
    const helpers = (await run('pgrep', ['-f', `nsenter --net=/run/netns/ordinal-${UID.slice(0, 8)}`]))
      .stdout;
    expect(helpers.trim()).toBe('');

    const gone: KObject = {
      ...pod,
      metadata: { ...pod.metadata, uid: 'ffffffff-0000-4000-8000-000000000000' },
    };
    const err2 = await target.portForward(gone, 80).catch((e: unknown) => e);
    expect(isStatusError(err2) && err2.status.message).toBe(`pod not found ("${POD}_${NS}")`);
  });

  it('leaves no runtime, script or stty processes behind', async () => {
    await sleep(200);
    const ps = (await run('ps', ['-eo', 'pid,args'])).stdout
      .split('\n')
      .filter((l) => l.includes(rt.runtimeRoot) && / exec /.test(l));
    expect(ps).toEqual([]);
    const info = await rt.containerInfo(ids.get('main')!);
    expect(info && pidAlive(info.supervisorPid)).toBe(true);
  });
});
