/**
 * `pods/exec`, `pods/attach` and `pods/portforward` end to end: an in-process
 * API server on HTTPS (built as src/cluster.ts builds it, with the upgrade
 * listener) and a fake node stream target for node `node-a` that runs
 * commands on this host in a scratch directory and forwards ports to a
 * loopback echo server. The real kubectl binaries drive it over WebSocket
 * (1.33) and SPDY (1.29, and 1.33 with the WebSocket switches off); raw
 * HTTPS and `ws` clients cover refusals and the TTY resize path.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request, type Server } from 'node:https';
import {
  type AddressInfo,
  connect,
  createServer as createTcpServer,
  type Server as TcpServer,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { KObject } from '../../src/api/types.js';
import { createAuthenticator, isPublicPath, type UserInfo } from '../../src/apiserver/auth/authn.js';
import type { Authorizer } from '../../src/apiserver/auth/authz.js';
import { ensurePki, type Pki } from '../../src/apiserver/auth/pki.js';
import { ServiceAccountTokens } from '../../src/apiserver/auth/sa-token.js';
import { PodStreams, type PodStreamTarget, type TerminalSize } from '../../src/apiserver/pod-streams.js';
import type { Rest } from '../../src/apiserver/rest.js';
import { ApiServer } from '../../src/apiserver/server.js';
import { VirtualResources } from '../../src/apiserver/virtual.js';
import { writeKubeconfig } from '../../src/cli/kubeconfig.js';
import { startInProcessApi, waitFor } from '../../src/testing/in-process.js';
import { kubectlPath } from '../e2e/harness.js';

const KUBECTL = kubectlPath('1.33');
const KUBECTL_SPDY = kubectlPath('1.29');
const SKIP = KUBECTL === undefined || KUBECTL_SPDY === undefined;
const VIEWER_TOKEN = 'viewer-token-for-pod-streams';
const SCRIPT = '/usr/bin/script';

/** The fake node agent: commands run on this host in `workdir`; port 8080 is the echo server. */
interface Seen {
  sizes: TerminalSize[];
  /** Sessions whose signal aborted (the client went away). */
  aborted: number;
}

function hostTarget(workdir: string, echoPort: () => number, seen: Seen): PodStreamTarget {
  return {
    exec(pod, container, command, io) {
      if (command[0] === '__sizes') return reportSizes(io);
      return new Promise((resolve, reject) => {
        const child = spawn(command[0]!, command.slice(1), {
          cwd: workdir,
          env: { ...process.env, POD_NAME: pod.metadata.name ?? '', CONTAINER: container },
        });
        child.once('error', reject);
        child.stdin.on('error', () => undefined);
        if (io.stdin) io.stdin.pipe(child.stdin);
        else child.stdin.end();
        if (io.stdout) child.stdout.pipe(io.stdout, { end: false });
        else child.stdout.resume();
        if (io.stderr) child.stderr.pipe(io.stderr, { end: false });
        else child.stderr.resume();
        io.signal.addEventListener('abort', () => {
          seen.aborted++;
          child.kill('SIGKILL');
        });
        child.once('close', (code) => resolve(code ?? 137));
      });
    },
    async attach(_pod, container, io) {
      io.stdout?.write(`attached to ${container}\n`);
      await new Promise<void>((resolve) => {
        io.signal.addEventListener('abort', () => resolve());
        if (!io.stdin) return;
        io.stdin.on('data', (d: Buffer) => io.stdout?.write(d.toString().toUpperCase()));
        io.stdin.once('end', () => resolve());
      });
    },
    portForward(pod, port) {
      const to = port === 8080 ? echoPort() : port;
      return new Promise<Duplex>((resolve, reject) => {
        const s = connect(to, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', () =>
          reject(
            new Error(
              `failed to connect to localhost:${port} inside namespace "${pod.metadata.uid}": connection refused`,
            ),
          ),
        );
      });
    },
  };

  /**
   * `__sizes`: waits for the first stdin data before asking for sizes (so the
   * replay of an earlier size is exercised), then prints each size until stdin
   * ends or brings a `q` (a TTY client cannot end stdin).
   */
  function reportSizes(io: Parameters<PodStreamTarget['exec']>[3]): Promise<number> {
    return new Promise((resolve) => {
      let listening = false;
      io.stdin!.on('data', (d: Buffer) => {
        if (d.includes('q')) resolve(0);
        if (listening) return;
        listening = true;
        io.onResize((s) => {
          seen.sizes.push(s);
          io.stdout?.write(`size ${s.width}x${s.height}\n`);
        });
      });
      io.stdin!.once('end', () => resolve(0));
    });
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(SKIP)('pod streams (exec, attach, cp, port-forward)', () => {
  let dir: string;
  let workdir: string;
  let pki: Pki;
  let rest: Rest;
  let server: Server;
  let api: ApiServer;
  let echo: TcpServer;
  const echoConns = new Set<Duplex>();
  let url: string;
  let kubeconfig: string;
  let viewerKubeconfig: string;
  const seen: Seen = { sizes: [], aborted: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ordinal-streams-'));
    workdir = join(dir, 'pod-root');
    mkdirSync(workdir);
    pki = await ensurePki(join(dir, 'pki'));
    echo = createTcpServer((s) => {
      echoConns.add(s);
      s.once('close', () => echoConns.delete(s));
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));

    ({ rest } = await startInProcessApi());
    const streams = new PodStreams();
    streams.register(
      'node-a',
      hostTarget(workdir, () => (echo.address() as AddressInfo).port, seen),
    );
    const authenticateToken = async (t: string): Promise<UserInfo | undefined> =>
      t === VIEWER_TOKEN ? { username: 'viewer', groups: [] } : undefined;
    const authenticate = createAuthenticator({ pki, tokenAuthenticators: [{ authenticateToken }] });
    // The viewer may do anything but create (so: no exec, attach or port-forward).
    const authorizer: Authorizer = {
      authorize: async (a) => ({ allowed: !(a.user.username === 'viewer' && a.verb === 'create') }),
    };
    const virtual = new VirtualResources(
      rest,
      authorizer,
      new ServiceAccountTokens(pki.serverKeyPem),
      authenticateToken,
    );
    api = new ApiServer({
      rest,
      authenticate,
      authorizer,
      isPublicPath,
      virtual,
      streams,
      serverAddress: '127.0.0.1:0',
    });
    server = createHttpsServer(
      {
        key: pki.serverKeyPem,
        cert: pki.serverCertPem,
        ca: pki.caCertPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      api.handle,
    );
    server.on('upgrade', api.handleUpgrade);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    kubeconfig = join(dir, 'kubeconfig');
    await writeKubeconfig({
      path: kubeconfig,
      server: url,
      caPem: pki.caCertPem,
      certPem: pki.adminCertPem,
      keyPem: pki.adminKeyPem,
    });
    viewerKubeconfig = join(dir, 'viewer.kubeconfig');
    writeFileSync(
      viewerKubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: {
              server: url,
              'certificate-authority-data': Buffer.from(pki.caCertPem).toString('base64'),
            },
          },
        ],
        users: [{ name: 'viewer', user: { token: VIEWER_TOKEN } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'viewer' } }],
        'current-context': 'c',
      }),
    );

    await createPod('web', { nodeName: 'node-a', phase: 'Running' });
    await createPod('duo', { nodeName: 'node-a', phase: 'Running', containers: ['a', 'b'] });
    await createPod('done', { nodeName: 'node-a', phase: 'Succeeded' });
    await createPod('unscheduled', { phase: 'Pending' });
    await createPod('simulated', { nodeName: 'sim-0', phase: 'Running' });
  }, 60_000);

  afterAll(async () => {
    api?.closeWatches();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server?.closeAllConnections();
    await new Promise<void>((r) => (echo ? echo.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function createPod(
    name: string,
    o: { nodeName?: string; phase: string; containers?: string[] },
  ): Promise<void> {
    const def = rest.resource('', 'v1', 'pods')!;
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        ...(o.nodeName ? { nodeName: o.nodeName } : {}),
        containers: (o.containers ?? ['main']).map((c) => ({ name: c, image: 'busybox', stdin: true })),
      },
    };
    const created = await rest.create(def, 'default', pod, { fieldManager: 'test' });
    await rest.update(
      def,
      'default',
      name,
      { ...created, status: { phase: o.phase } },
      { fieldManager: 'test' },
      'status',
    );
  }

  function kubectl(
    args: string[],
    o: { version?: '1.33' | '1.29'; input?: string; env?: Record<string, string>; config?: string } = {},
  ): Promise<Run> {
    const bin = o.version === '1.29' ? KUBECTL_SPDY! : KUBECTL!;
    return new Promise((resolve) => {
      const child = execFile(
        bin,
        ['--kubeconfig', o.config ?? kubeconfig, '--cache-dir', join(dir, 'kcache'), ...args],
        { env: { ...process.env, ...o.env }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      child.stdin?.end(o.input ?? '');
    });
  }

  const SPDY_1_33 = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };
  const transports = [
    { name: 'websocket (1.33)', version: '1.33' as const, env: {} },
    { name: 'spdy (1.29)', version: '1.29' as const, env: {} },
    { name: 'spdy (1.33, websockets off)', version: '1.33' as const, env: SPDY_1_33 },
  ];

  describe.each(transports)('kubectl exec over $name', ({ version, env }) => {
    it('runs a command and prints its output', async () => {
      const r = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo hi; echo "in $CONTAINER" >&2'], {
        version,
        env,
      });
      expect(r).toMatchObject({ code: 0, stdout: 'hi\n', stderr: 'in main\n' });
    });

    it('pipes stdin and ends it at EOF', async () => {
      const input = `${'line of input\n'.repeat(5000)}last\n`;
      const r = await kubectl(['exec', '-i', 'web', '--', 'cat'], { version, env, input });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(input);
    });

    it('exits with the command exit code', async () => {
      const r = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo partial; exit 3'], { version, env });
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('partial\n');
      expect(r.stderr).toContain('command terminated with exit code 3');
    });

    it('addresses the container given with -c and refuses an unknown one', async () => {
      const ok = await kubectl(['exec', 'duo', '-c', 'b', '--', 'sh', '-c', 'echo $CONTAINER'], {
        version,
        env,
      });
      expect(ok).toMatchObject({ code: 0, stdout: 'b\n' });
      const bad = await kubectl(['exec', 'web', '-c', 'nope', '--', 'true'], { version, env });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('container nope is not valid for pod web');
    });

    it('attaches to the main process with stdin', async () => {
      const r = await kubectl(['attach', '-i', 'web'], { version, env, input: 'hello attach\n' });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('attached to main\nHELLO ATTACH\n');
    });
  });

  it.each(transports)('aborts the session when the client goes away ($name)', async ({ version, env }) => {
    const before = seen.aborted;
    const bin = version === '1.29' ? KUBECTL_SPDY! : KUBECTL!;
    const child = spawn(
      bin,
      ['--kubeconfig', kubeconfig, 'exec', 'web', '--', 'sh', '-c', 'echo started; exec sleep 60'],
      { env: { ...process.env, ...env } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes('started'), { what: 'the command to start' });
    child.kill('SIGKILL');
    await waitFor(() => seen.aborted > before, { what: 'the session to be aborted' });
  });

  it.skipIf(!existsSync(SCRIPT)).each(transports.slice(0, 2))(
    'kubectl exec -t sends the terminal size ($name)',
    async ({ version, env }) => {
      const bin = version === '1.29' ? KUBECTL_SPDY! : KUBECTL!;
      // util-linux `script` gives kubectl a terminal of 100x30.
      const child = spawn(
        SCRIPT,
        [
          '-qfec',
          `stty cols 100 rows 30; ${bin} --kubeconfig ${kubeconfig} exec -it web -- __sizes`,
          '/dev/null',
        ],
        { env: { ...process.env, ...env } },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.stdin.write('go\n');
      await waitFor(() => out.includes('size 100x30'), {
        what: 'the terminal size',
        detail: () => `\n${out}`,
      });
      child.stdin.end('q');
      expect(await exited).toBe(0);
    },
  );

  it('reports a failed command start as an error (Internal error)', async () => {
    const r = await kubectl(['exec', 'web', '--', 'no-such-command-anywhere']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error executing command in container');
  });

  it('explains pods it cannot reach: no host, simulated node', async () => {
    const pending = await kubectl(['exec', 'unscheduled', '--', 'true']);
    expect(pending.code).not.toBe(0);
    expect(pending.stderr).toContain('pod unscheduled does not have a host assigned');
    const sim = await kubectl(['exec', 'simulated', '--', 'true']);
    expect(sim.code).not.toBe(0);
    expect(sim.stderr).toContain('pod simulated runs on node sim-0, which runs no processes');
  });

  it('refuses exec to a user without create on pods/exec, on both transports', async () => {
    for (const o of [{}, { version: '1.29' as const }]) {
      const r = await kubectl(['exec', 'web', '--', 'true'], { ...o, config: viewerKubeconfig });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        'pods "web" is forbidden: User "viewer" cannot create resource "pods/exec" in API group "" in the namespace "default"',
      );
    }
  });

  describe.each(transports.slice(0, 2))('kubectl cp over $name', ({ version, env }) => {
    it('copies a file into the pod and back out', async () => {
      const sub = `cp-${version}`;
      mkdirSync(join(workdir, sub), { recursive: true });
      const local = join(dir, `local-${version}.txt`);
      const content = `copied ${version}\n${'x'.repeat(100_000)}\n`;
      writeFileSync(local, content);
      const up = await kubectl(['cp', local, `web:${join(workdir, sub, 'in-pod.txt')}`], { version, env });
      expect(up.code, up.stderr).toBe(0);
      expect(readFileSync(join(workdir, sub, 'in-pod.txt'), 'utf8')).toBe(content);
      const back = join(dir, `back-${version}.txt`);
      const down = await kubectl(['cp', `web:${join(workdir, sub, 'in-pod.txt')}`, back], { version, env });
      expect(down.code, down.stderr).toBe(0);
      expect(readFileSync(back, 'utf8')).toBe(content);
    });
  });

  describe.each([
    { name: 'websocket tunnel (1.33)', version: '1.33' as const, env: {} },
    { name: 'spdy (1.29)', version: '1.29' as const, env: {} },
    { name: 'spdy (1.33, websockets off)', version: '1.33' as const, env: SPDY_1_33 },
  ])('kubectl port-forward over $name', ({ version, env }) => {
    it('forwards concurrent connections to the pod port', async () => {
      const pf = startPortForward(version, env, 'pod/web', '8080');
      try {
        const local = await pf.localPort;
        const [a, b] = await Promise.all([
          roundTrip(local, 'first connection\n'.repeat(60_000)),
          roundTrip(local, 'second connection\n'),
        ]);
        expect(a).toBe('first connection\n'.repeat(60_000));
        expect(b).toBe('second connection\n');
        // A later connection still works.
        expect(await roundTrip(local, 'third\n')).toBe('third\n');
      } finally {
        pf.stop();
      }
    });

    it('closes the pod connections when kubectl goes away', async () => {
      const pf = startPortForward(version, env, 'web', '8080');
      const local = await pf.localPort;
      const s = connect(local, '127.0.0.1');
      s.on('error', () => undefined);
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
      });
      s.write('still open\n');
      await waitFor(() => got === 'still open\n', { what: 'the echo' });
      expect(echoConns.size).toBe(1);
      pf.stop();
      await waitFor(() => echoConns.size === 0, { what: 'the pod connection to close' });
      s.destroy();
    });

    it('reports a refused port on the error stream', async () => {
      const closed = await closedPort();
      const pf = startPortForward(version, env, 'web', String(closed));
      try {
        const local = await pf.localPort;
        await roundTrip(local, 'anyone?\n').catch(() => '');
        await waitFor(() => pf.stderr().includes('an error occurred forwarding'), {
          timeoutMs: 20_000,
          what: 'the forwarding error',
          detail: () => `\nstderr: ${pf.stderr()}`,
        });
        expect(pf.stderr()).toContain(`-> ${closed}: error forwarding port ${closed} to pod web, uid `);
        expect(pf.stderr()).toContain(`failed to connect to localhost:${closed} inside namespace`);
      } finally {
        pf.stop();
      }
    });
  });

  function startPortForward(
    version: '1.33' | '1.29',
    env: Record<string, string>,
    pod: string,
    port: string,
  ): { localPort: Promise<number>; stderr(): string; stop(): void } {
    const bin = version === '1.29' ? KUBECTL_SPDY! : KUBECTL!;
    const child: ChildProcess = spawn(
      bin,
      [
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        join(dir, 'kcache'),
        'port-forward',
        '--address',
        '127.0.0.1',
        pod,
        `:${port}`,
      ],
      { env: { ...process.env, ...env } },
    );
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const localPort = new Promise<number>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`port-forward exited with ${code}: ${err}`)));
    });
    return { localPort, stderr: () => err, stop: () => child.kill('SIGKILL') };
  }

  describe('refusals over plain HTTPS', () => {
    const cases: Array<[string, string, Record<string, string>, number, string]> = [
      ['GET without upgrade', '/exec?command=true&stdout=true', {}, 400, 'Upgrade request required'],
      [
        'unknown container before the upgrade check',
        '/exec?command=true&stdout=true&container=nope',
        {},
        400,
        'container nope is not valid for pod web',
      ],
      ['no command', '/exec?stdout=true', SPDY_HEADERS(), 400, 'you must specify at least 1 command'],
      [
        'no stream',
        '/exec?command=true',
        SPDY_HEADERS(),
        400,
        'you must specify at least 1 of stdin, stdout, stderr',
      ],
      [
        'no common protocol',
        '/exec?command=true&stdout=true',
        SPDY_HEADERS('v9.channel.k8s.io'),
        403,
        'unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts [v5.channel.k8s.io v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io]',
      ],
      [
        'no container named in a pod with two',
        '/exec?command=true&stdout=true',
        {},
        400,
        'a container name must be specified for pod duo, choose one of: [a b]',
      ],
    ];
    it.each(cases)('%s', async (_name, suffix, headers, code, message) => {
      const pod = message.includes('duo') ? 'duo' : 'web';
      const r = await raw('POST', `/api/v1/namespaces/default/pods/${pod}${suffix}`, headers);
      expect(r.code).toBe(code);
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', status: 'Failure', code, message });
    });

    it('refuses a completed pod, a missing pod and other methods', async () => {
      const done = await raw(
        'POST',
        '/api/v1/namespaces/default/pods/done/exec?command=true&stdout=1',
        SPDY_HEADERS(),
      );
      expect(done.code).toBe(400);
      expect(JSON.parse(done.body).message).toBe(
        'cannot exec into a container in a completed pod; current phase is Succeeded',
      );
      const attach = await raw(
        'POST',
        '/api/v1/namespaces/default/pods/done/attach?stdout=1',
        SPDY_HEADERS(),
      );
      expect(JSON.parse(attach.body).message).toBe(
        'cannot attach a container in a completed pod; current phase is Succeeded',
      );
      const missing = await raw('GET', '/api/v1/namespaces/default/pods/ghost/exec?command=true');
      expect(missing.code).toBe(404);
      expect(JSON.parse(missing.body).message).toBe('pods "ghost" not found');
      const put = await raw('PUT', '/api/v1/namespaces/default/pods/web/exec?command=true');
      expect(put.code).toBe(405);
      const pf = await raw('GET', '/api/v1/namespaces/default/pods/web/portforward');
      expect(pf.code).toBe(400);
      expect(JSON.parse(pf.body).message).toBe('Upgrade request required');
    });

    it('refuses the viewer with 403 before looking at the pod', async () => {
      const r = await raw('GET', '/api/v1/namespaces/default/pods/ghost/exec?command=true', WS_HEADERS(), {
        token: VIEWER_TOKEN,
      });
      expect(r.code).toBe(403);
      expect(JSON.parse(r.body).message).toBe(
        'pods "ghost" is forbidden: User "viewer" cannot create resource "pods/exec" in API group "" in the namespace "default"',
      );
      const anon = await raw('GET', '/api/v1/namespaces/default/pods/web/exec?command=true', WS_HEADERS(), {
        anonymous: true,
      });
      expect(anon.code).toBe(401);
    });

    it('answers a WebSocket offering no known protocol with a non-101 (kubectl then falls back)', async () => {
      const r = await raw(
        'GET',
        '/api/v1/namespaces/default/pods/web/exec?command=true&stdout=1',
        WS_HEADERS('v9.channel.k8s.io'),
      );
      expect(r.code).toBe(400);
      expect(JSON.parse(r.body).message).toContain('requested protocol(s) are not supported');
    });

    it('serves other paths normally when they ask for an upgrade', async () => {
      const r = await raw('GET', '/api/v1/namespaces/default/pods/web', WS_HEADERS());
      expect(r.code).toBe(200);
      expect(JSON.parse(r.body).metadata.name).toBe('web');
    });

    it('stays healthy after every refusal: /healthz answers and exec still runs', async () => {
      const health = await raw('GET', '/healthz', {});
      expect(health).toMatchObject({ code: 200, body: 'ok' });
      const r = await kubectl(['exec', 'web', '--', 'echo', 'still-here']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('still-here\n');
    });
  });

  describe('the WebSocket channel protocol', () => {
    it('v5 with a TTY: resizes (the latest replayed), stdin close, Success status', async () => {
      seen.sizes = [];
      const s = await openExec('v5.channel.k8s.io', 'command=__sizes&stdin=true&stdout=true&tty=true');
      s.send(4, '{"Width":80,"Height":24}\n');
      s.send(4, '{"Width":100,"Height":30}\n');
      // The target listens for sizes only after the first stdin data.
      s.send(0, 'go\n');
      await waitFor(() => s.output(1).includes('size 100x30\n'), { what: 'the replayed size' });
      s.send(4, '{"Width":120,');
      s.send(4, '"Height":40}');
      await waitFor(() => s.output(1).includes('size 120x40\n'), { what: 'the later size' });
      s.closeStdin();
      const end = await s.closed;
      expect(end.code).toBe(1000);
      expect(s.output(1)).toBe('size 100x30\nsize 120x40\n');
      expect(JSON.parse(s.output(3))).toEqual({ metadata: {}, status: 'Success' });
      expect(seen.sizes).toEqual([
        { width: 100, height: 30 },
        { width: 120, height: 40 },
      ]);
      expect(s.channels[0]).toBe(1); // the empty "connected" frame came on stdout first
    });

    it('v4: a non-zero exit is a NonZeroExitCode Status with the code as cause', async () => {
      const s = await openExec(
        'v4.channel.k8s.io',
        'command=sh&command=-c&command=echo%20out%3B%20echo%20err%20%3E%262%3B%20exit%207&stdout=true&stderr=true',
      );
      await s.closed;
      expect(s.output(1)).toBe('out\n');
      expect(s.output(2)).toBe('err\n');
      expect(JSON.parse(s.output(3))).toEqual({
        metadata: {},
        status: 'Failure',
        message:
          'command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 7], exit code 7',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '7' }] },
      });
    });

    it('v4.base64: frames are text, base64 after the channel digit', async () => {
      const s = await openExec('v4.base64.channel.k8s.io', 'command=cat&stdin=true&stdout=true');
      s.send(0, 'base64 in\n');
      await waitFor(() => s.output(1) === 'base64 in\n', { what: 'the echoed input' });
      s.ws.close(1000);
      await s.closed;
    });
  });

  interface ExecSocket {
    ws: WebSocket;
    channels: number[];
    send(channel: number, data: string): void;
    closeStdin(): void;
    output(channel: number): string;
    closed: Promise<{ code: number }>;
  }

  async function openExec(protocol: string, query: string): Promise<ExecSocket> {
    const base64 = protocol.includes('base64');
    const ws = new WebSocket(
      `${url.replace('https', 'wss')}/api/v1/namespaces/default/pods/web/exec?${query}`,
      [protocol],
      {
        ca: pki.caCertPem,
        cert: pki.adminCertPem,
        key: pki.adminKeyPem,
      },
    );
    const out = new Map<number, Buffer[]>();
    const channels: number[] = [];
    ws.on('message', (m: Buffer, isBinary: boolean) => {
      const channel = base64 ? m[0]! - 48 : m[0]!;
      const data = base64 ? Buffer.from(m.subarray(1).toString(), 'base64') : m.subarray(1);
      expect(isBinary).toBe(!base64);
      channels.push(channel);
      out.set(channel, [...(out.get(channel) ?? []), data]);
    });
    const closed = new Promise<{ code: number }>((r) => ws.once('close', (code) => r({ code })));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe(protocol);
    return {
      ws,
      channels,
      send(channel, data) {
        if (base64) ws.send(String(channel) + Buffer.from(data).toString('base64'));
        else ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
      },
      closeStdin() {
        ws.send(Buffer.from([255, 0]));
      },
      output: (channel) => Buffer.concat(out.get(channel) ?? []).toString(),
      closed,
    };
  }

  function raw(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    who: { token?: string; anonymous?: boolean } = {},
  ): Promise<{ code: number; body: string }> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const creds = who.token
        ? { headers: { ...headers, Authorization: `Bearer ${who.token}` } }
        : who.anonymous
          ? { headers }
          : { headers, cert: pki.adminCertPem, key: pki.adminKeyPem };
      const req = request(
        { host: u.hostname, port: u.port, method, path, ca: pki.caCertPem, ...creds },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        },
      );
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve({ code: res.statusCode ?? 101, body: '' });
      });
      req.on('error', reject);
      req.end();
    });
  }
});

function SPDY_HEADERS(protocol = 'v4.channel.k8s.io'): Record<string, string> {
  return { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocol };
}

function WS_HEADERS(protocol = 'v5.channel.k8s.io'): Record<string, string> {
  return {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
    'Sec-WebSocket-Protocol': protocol,
  };
}

/** Sends `text`, half-closes, and returns everything the peer sent back before closing. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
    });
    s.once('error', reject);
    s.once('close', () => resolve(got));
    s.once('connect', () => s.end(text));
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
