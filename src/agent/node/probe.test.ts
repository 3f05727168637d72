import { createServer as createHttp, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyProbeResult, dueProbes, initialProbes, probeTiming, resolvePort, runProbe } from './probe.js';

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
  it('a startupProbe gates readiness and liveness until it succeeds once', () => {
    const spec = {
      startupProbe: { exec: { command: ['x'] }, periodSeconds: 1, failureThreshold: 3 },
      readinessProbe: { exec: { command: ['x'] }, initialDelaySeconds: 5 },
      livenessProbe: { exec: { command: ['x'] } },
    };
    const c = initialProbes(spec, 0);
    expect(c).toMatchObject({ started: false, ready: false });
    expect(dueProbes(c, 0)).toEqual(['startup']);
    expect(dueProbes(c, 100_000)).toEqual(['startup']);
    expect(applyProbeResult(c, 'startup', spec.startupProbe, false, 0)).toBeUndefined();
    expect(dueProbes(c, 500)).toEqual([]);
    expect(applyProbeResult(c, 'startup', spec.startupProbe, true, 1_000)).toBe('started');
    expect(c).toMatchObject({ started: true, ready: false });
    // initialDelaySeconds counts from the container's start, so liveness is due at once, readiness at 5 s.
    expect(dueProbes(c, 2_000)).toEqual(['liveness']);
    expect(dueProbes(c, 5_000)).toEqual(['readiness', 'liveness']);
    expect(applyProbeResult(c, 'readiness', spec.readinessProbe, true, 5_000)).toBe('ready');
    expect(c.ready).toBe(true);
  });

  it('startup failing failureThreshold times in a row asks for a restart', () => {
    const probe = { exec: { command: ['x'] }, failureThreshold: 2 };
    const c = initialProbes({ startupProbe: probe }, 0);
    expect(applyProbeResult(c, 'startup', probe, false, 0)).toBeUndefined();
    expect(applyProbeResult(c, 'startup', probe, false, 10_000)).toBe('kill');
    expect(c.started).toBe(false);
  });

  it('without probes a container is started and ready; readiness flips on thresholds', () => {
    expect(initialProbes({}, 0)).toEqual({ started: true, ready: true, probes: {} });
    expect(initialProbes({ readinessProbe: {} }, 0, true)).toEqual({
      started: true,
      ready: true,
      probes: {},
    });
    const probe = { exec: { command: ['x'] }, successThreshold: 2, failureThreshold: 2 };
    const c = initialProbes({ readinessProbe: probe, livenessProbe: probe }, 0);
    expect(c.ready).toBe(false);
    expect(applyProbeResult(c, 'readiness', probe, true, 0)).toBeUndefined();
    expect(applyProbeResult(c, 'readiness', probe, true, 0)).toBe('ready');
    expect(applyProbeResult(c, 'readiness', probe, false, 0)).toBeUndefined();
    expect(applyProbeResult(c, 'readiness', probe, false, 0)).toBe('unready');
    expect(applyProbeResult(c, 'liveness', probe, false, 0)).toBeUndefined();
    expect(applyProbeResult(c, 'liveness', probe, false, 0)).toBe('kill');
    expect(c.probes.liveness?.next).toBe(10_000);
  });
});
