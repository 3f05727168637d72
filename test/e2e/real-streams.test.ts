/**
 * kubectl's streaming commands against real containers (`ordinal up --runtime oci`): exec (exit codes,
 * stdin, a TTY), cp both ways, attach, `run -i --rm` (its exit code comes from the pod's terminated
 * state), and port-forward — over WebSocket (kubectl 1.33's default) and the SPDY fallback (forced with
 * KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false / KUBECTL_PORT_FORWARD_WEBSOCKETS=false, and kubectl 1.29,
 * which speaks SPDY for exec). A TTY needs a terminal on kubectl's side: util-linux `script` gives it one.
 *
 * Run under `flock /tmp/oci-e2e.lock` next to other real-container suites.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../src/testing/net.js';
import { cleanup, eventually, kubectlPath, type RunningCluster } from './harness.js';
import { IMAGE_REFS, missingForReal, networkGone, startRealCluster } from './real-harness.js';

const MISSING = [
  ...missingForReal(['busybox']),
  ...(spawnSync('sh', ['-c', 'command -v script']).status === 0 ? [] : ['util-linux (script)']),
];
const SKIP = MISSING.length > 0;
if (SKIP) console.log(`skipping kubectl stream e2e tests on real pods: needs ${MISSING.join(', ')}`);

const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe.skipIf(SKIP)('kubectl exec, cp, attach, run and port-forward on real pods', () => {
  let c: RunningCluster;
  const ns = ['-n', 'streams'];

  /** Runs kubectl with a pseudo-terminal (util-linux script), feeding `input` to it. */
  function kubectlTty(args: string[], input: string): Promise<{ code: number; out: string }> {
    const bin = kubectlPath('1.33')!;
    const cmd = [bin, '--kubeconfig', c.kubeconfig, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`);
    // script's terminal starts as 0x0 when its own stdin is a pipe: give it a size kubectl can send.
    cmd.unshift('stty rows 30 cols 100; exec');
    return new Promise((resolve) => {
      const child = spawn('script', ['-q', '-e', '-c', cmd.join(' '), '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      // Type slowly enough for a shell to be there.
      setTimeout(() => child.stdin.write(input), 1500);
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, out });
      });
    });
  }

  beforeAll(async () => {
    c = await startRealCluster(['busybox']);
    await c.k(['create', 'ns', 'streams']);
    await c.k([
      ...ns,
      'run',
      'box',
      '--image',
      IMAGE_REFS.busybox,
      '--image-pull-policy=Never',
      '--',
      'sh',
      '-c',
      'mkdir -p /www && echo "served by $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www',
    ]);
    await c.k([...ns, 'wait', '--for=condition=Ready', 'pod/box', '--timeout=60s']);
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
    if (c) expect(networkGone()).toEqual({ bridge: true, netns: '' });
    cleanup(c);
  });

  it('exec: output, stderr, exit codes and stdin, over WebSocket and SPDY', async () => {
    for (const opts of [{}, { env: SPDY }, { version: '1.29' }]) {
      expect(await c.k([...ns, 'exec', 'box', '--', 'hostname'], opts)).toBe('box\n');
      const r = await c.kubectl(
        [...ns, 'exec', 'box', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'],
        opts,
      );
      expect(r).toMatchObject({ code: 3, stdout: 'out\n' });
      expect(r.stderr).toContain('err\n');
      expect(r.stderr).toContain('command terminated with exit code 3');
      const input = `${'x'.repeat(100_000)}\nend\n`;
      const cat = await c.kubectl([...ns, 'exec', '-i', 'box', '--', 'sh', '-c', 'cat | wc -c'], {
        ...opts,
        input,
      });
      expect(cat.stdout.trim()).toBe(String(input.length));
    }
    const missing = await c.kubectl([...ns, 'exec', 'box', '--', 'no-such-binary']);
    expect(missing.code).not.toBe(0);
    expect(`${missing.stderr}`).toMatch(/no-such-binary/);
  }, 120_000);

  it('exec -it gives the process a terminal', async () => {
    const r = await kubectlTty([...ns, 'exec', '-it', 'box', '--', 'sh'], 'tty; stty size; exit 5\n');
    expect(r.out).toMatch(/\/dev\/pts\/\d+/);
    expect(r.out).toMatch(/^30 100\r?$/m);
    expect(r.code).toBe(5);
  }, 90_000);

  it('cp copies files into and out of a pod', async () => {
    const dir = join(c.dir, 'cp');
    mkdirSync(dir, { recursive: true });
    const data = `${'line of data\n'.repeat(5000)}`;
    writeFileSync(join(dir, 'in.txt'), data);
    await c.k([...ns, 'cp', join(dir, 'in.txt'), 'box:/tmp/in.txt']);
    expect(await c.k([...ns, 'exec', 'box', '--', 'wc', '-c', '/tmp/in.txt'])).toContain(String(data.length));
    await c.k([...ns, 'cp', 'box:/tmp/in.txt', join(dir, 'out.txt')]);
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe(data);
    // And over SPDY.
    await c.k([...ns, 'cp', 'box:/www/index.html', join(dir, 'index.html')], { env: SPDY });
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toBe('served by box\n');
  }, 90_000);

  it('run -i --rm: stdin reaches the container, the exit code comes back, the pod is deleted', async () => {
    const r = await c.kubectl(
      [
        ...ns,
        'run',
        '-i',
        '--rm',
        'once',
        '--image',
        IMAGE_REFS.busybox,
        '--image-pull-policy=Never',
        '--restart=Never',
        '--',
        'sh',
      ],
      { input: 'echo "from stdin $(hostname)"; exit 4\n' },
    );
    expect(r.stdout).toContain('from stdin once');
    expect(r.code).toBe(4);
    expect(r.stdout + r.stderr).toContain('pod "once" deleted');
    const left = await c.kubectl([...ns, 'get', 'pod', 'once']);
    expect(left.stderr).toContain('NotFound');
  }, 90_000);

  it('run -it --rm with a terminal, and attach to a waiting container', async () => {
    const r = await kubectlTty(
      [
        ...ns,
        'run',
        '-it',
        '--rm',
        'term',
        '--image',
        IMAGE_REFS.busybox,
        '--image-pull-policy=Never',
        '--restart=Never',
        '--',
        'sh',
      ],
      'echo "hi from $(hostname)"; tty; exit 0\n',
    );
    expect(r.out).toContain('hi from term');
    expect(r.out).toMatch(/\/dev\/pts\/\d+/);
    expect(r.code).toBe(0);

    // attach: a container that reads stdin (stdin: true) echoes what kubectl attach -i sends.
    await c.k([...ns, 'apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'reader' },
        spec: {
          containers: [
            {
              name: 'reader',
              image: IMAGE_REFS.busybox,
              imagePullPolicy: 'Never',
              stdin: true,
              command: ['sh', '-c', 'while read line; do echo "got $line"; done'],
            },
          ],
        },
      }),
    });
    await c.k([...ns, 'wait', '--for=condition=Ready', 'pod/reader', '--timeout=60s']);
    // As with containerd, output stops streaming once the client's stdin ends: keep it open until the
    // echo is back.
    const att = spawn(kubectlPath('1.33')!, ['--kubeconfig', c.kubeconfig, ...ns, 'attach', '-i', 'reader'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let seen = '';
    att.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      att.stdin.write('alpha\nbeta\n');
      await eventually(async () => seen.includes('got alpha') && seen.includes('got beta'), 20_000);
    } finally {
      att.stdin.end();
      att.kill();
    }
  }, 120_000);

  it('port-forward reaches a port inside the pod, over WebSocket and SPDY', async () => {
    for (const env of [{}, { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }]) {
      const port = await freeLoopbackPort();
      const pf = spawn(
        kubectlPath('1.33')!,
        ['--kubeconfig', c.kubeconfig, ...ns, 'port-forward', 'pod/box', `${port}:8080`],
        { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      pf.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      try {
        await eventually(async () => out.includes('Forwarding from'), 30_000);
        const bodies = await Promise.all([httpGet(port), httpGet(port), httpGet(port)]);
        expect(bodies).toEqual(['served by box\n', 'served by box\n', 'served by box\n']);
      } finally {
        pf.kill();
      }
    }
    // A port nobody listens on: kubectl reports the error from inside the pod's network namespace.
    const port = await freeLoopbackPort();
    const pf = spawn(
      kubectlPath('1.33')!,
      ['--kubeconfig', c.kubeconfig, ...ns, 'port-forward', 'pod/box', `${port}:9999`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let all = '';
    pf.stdout.on('data', (d: Buffer) => {
      all += d.toString();
    });
    pf.stderr.on('data', (d: Buffer) => {
      all += d.toString();
    });
    try {
      await eventually(async () => all.includes('Forwarding from'), 30_000);
      await httpGet(port).catch(() => '');
      await eventually(async () => all.includes('connection refused'), 15_000);
      expect(all).toContain('an error occurred forwarding');
    } finally {
      pf.kill();
    }
  }, 120_000);
});
