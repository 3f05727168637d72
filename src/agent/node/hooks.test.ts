import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHook } from './hooks.js';

const base = {
  podIP: '127.0.0.1',
  container: { name: 'main', ports: [{ name: 'http', containerPort: 0 }] },
  podRef: 'web-0_shop(u-1)',
  exec: async (argv: string[]) => ({
    exitCode: argv[0] === 'ok' ? 0 : 3,
    stdout: 'out\n',
    stderr: argv[0] === 'ok' ? '' : 'boom',
    timedOut: false,
  }),
};

describe('lifecycle hooks', () => {
  let http: Server;
  let port = 0;
  const seen: { url?: string; ua?: string }[] = [];
  beforeAll(async () => {
    http = createServer((req, res) => {
      seen.push({ url: req.url, ua: req.headers['user-agent'] });
      res.statusCode = 500;
      res.end('no');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  it('exec: exit 0 passes; otherwise the kubelet message with the output', async () => {
    expect(await runHook({ exec: { command: ['ok'] } }, base)).toEqual({ ok: true, message: '' });
    expect(await runHook({ exec: { command: ['sh', '-c', 'exit 3'] } }, base)).toEqual({
      ok: false,
      message:
        'Exec lifecycle hook ([sh -c exit 3]) for Container "main" in Pod "web-0_shop(u-1)" failed - error: ' +
        'command \'sh -c exit 3\' exited with 3: boom, message: "out\\nboom"',
    });
  });

  it('httpGet: any HTTP response passes (status not checked), a refused connection fails', async () => {
    const container = { name: 'main', ports: [{ name: 'http', containerPort: port }] };
    expect(await runHook({ httpGet: { path: '/hook', port: 'http' } }, { ...base, container })).toEqual({
      ok: true,
      message: '',
    });
    expect(seen.at(-1)).toEqual({ url: '/hook', ua: 'kube-lifecycle/1.33' });
    await new Promise<void>((r) => http.close(() => r()));
    const r = await runHook({ httpGet: { path: '/hook', port } }, { ...base, container });
    expect(r).toEqual({
      ok: false,
      message: `HTTP lifecycle hook (/hook) for Container "main" in Pod "web-0_shop(u-1)" failed - error: Get "http://127.0.0.1:${port}/hook": dial tcp 127.0.0.1:${port}: connect: connection refused`,
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  });

  it('sleep: waits, and fails when aborted first', async () => {
    expect(await runHook({ sleep: { seconds: 0 } }, base)).toEqual({ ok: true, message: '' });
    const ac = new AbortController();
    const p = runHook({ sleep: { seconds: 30 } }, { ...base, signal: ac.signal });
    ac.abort();
    expect(await p).toEqual({
      ok: false,
      message:
        'Sleep lifecycle hook (30) for Container "main" in Pod "web-0_shop(u-1)" failed - error: container terminated before sleep hook finished',
    });
  });
});
