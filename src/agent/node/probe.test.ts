import { createServer as createHttp, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeTiming, resolvePort, runProbe } from './probe.js';

const noExec = async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false });

describe('probes', () => {
  let http: Server;
  let port = 0;
  beforeAll(async () => {
    http = createHttp((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 503;
      res.end('x');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  it('defaults and named ports', () => {
    expect(probeTiming({})).toEqual({
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1_000,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(resolvePort('web', { ports: [{ name: 'web', containerPort: 8080 }] })).toBe(8080);
    expect(resolvePort('81', {})).toBe(81);
    expect(resolvePort('nope', {})).toBeUndefined();
  });

  it('httpGet: 2xx/3xx pass, others fail with the kubelet message', async () => {
    const target = {
      podIP: '127.0.0.1',
      container: { ports: [{ name: 'http', containerPort: port }] },
      exec: noExec,
    };
    expect(await runProbe({ httpGet: { path: '/healthz', port: 'http' } }, target)).toEqual({
      ok: true,
      output: '',
    });
    expect(await runProbe({ httpGet: { path: '/other', port } }, target)).toEqual({
      ok: false,
      output: 'HTTP probe failed with statuscode: 503',
    });
  });

  it('tcpSocket: connect succeeds or is refused', async () => {
    const srv = createTcp((s) => s.end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const p = (srv.address() as AddressInfo).port;
    const target = { podIP: '127.0.0.1', container: {}, exec: noExec };
    expect((await runProbe({ tcpSocket: { port: p } }, target)).ok).toBe(true);
    await new Promise<void>((r) => srv.close(() => r()));
    const r = await runProbe({ tcpSocket: { port: p } }, target);
    expect(r.ok).toBe(false);
    expect(r.output).toContain(`dial tcp 127.0.0.1:${p}: connect:`);
  });

  it('exec: exit code decides, output is reported', async () => {
    const target = {
      podIP: '',
      container: {},
      exec: async (argv: string[]) => ({
        exitCode: argv[0] === 'ok' ? 0 : 1,
        stdout: 'out',
        stderr: '',
        timedOut: false,
      }),
    };
    expect(await runProbe({ exec: { command: ['ok'] } }, target)).toEqual({ ok: true, output: 'out' });
    expect(await runProbe({ exec: { command: ['bad'] } }, target)).toEqual({ ok: false, output: 'out' });
  });
});
