/**
 * Container lifecycle hooks (`lifecycle.postStart` / `lifecycle.preStop`) as the kubelet's handler runner
 * runs them: `exec` in the container (a non-zero exit fails), `httpGet` to the pod IP from the node (only a
 * transport error fails; the status code is not checked, as upstream), `sleep` on the node. Failure
 * messages are upstream's ("Exec lifecycle hook ([cmd]) for Container "c" in Pod "p_ns(uid)" failed - …");
 * the caller turns them into FailedPostStartHook / FailedPreStopHook events.
 */
import { request } from 'node:http';
import { type Json, rec } from '../../api/json.js';
import { isObject } from '../../api/types.js';
import { goQuote } from './downward.js';
import { goDialError, type ProbeTarget, resolvePort } from './probe.js';

export interface HookResult {
  ok: boolean;
  /** Upstream's failure message (empty on success). */
  message: string;
}

export interface HookTarget extends ProbeTarget {
  /** `format.Pod(pod)`: `name_namespace(uid)`. */
  podRef: string;
  /** Aborts a `sleep` hook (the container stopped or the grace period ran out). */
  signal?: AbortSignal;
  /** Bound for exec / httpGet (the remaining grace period of a preStop hook); none for postStart. */
  timeoutMs?: number;
}

/** Runs one lifecycle handler (see the module comment). Never throws. */
export async function runHook(handler: Json, target: HookTarget): Promise<HookResult> {
  const name = String(target.container.name ?? '');
  const where = `for Container ${goQuote(name)} in Pod ${goQuote(target.podRef)}`;
  if (handler.exec !== undefined) {
    const cmd = Array.isArray(rec(handler.exec).command)
      ? (rec(handler.exec).command as unknown[]).map(String)
      : [];
    const r = await target.exec(cmd, target.timeoutMs ?? 0);
    if (r.exitCode === 0 && !r.timedOut) return { ok: true, message: '' };
    const err = r.timedOut
      ? `command timed out: "${cmd.join(' ')}" timed out after ${(target.timeoutMs ?? 0) / 1000}s`
      : `command '${cmd.join(' ')}' exited with ${r.exitCode}: ${r.stderr}`;
    return {
      ok: false,
      message: `Exec lifecycle hook ([${cmd.join(' ')}]) ${where} failed - error: ${err}, message: ${goQuote(r.stdout + r.stderr)}`,
    };
  }
  if (handler.httpGet !== undefined) {
    const h = rec(handler.httpGet);
    const path = typeof h.path === 'string' ? h.path : '';
    const err = await httpHook(h, target);
    return err === undefined
      ? { ok: true, message: '' }
      : { ok: false, message: `HTTP lifecycle hook (${path}) ${where} failed - error: ${err}` };
  }
  if (handler.sleep !== undefined) {
    const seconds = Number(rec(handler.sleep).seconds ?? 0);
    const finished = await new Promise<boolean>((resolve) => {
      if (target.signal?.aborted) {
        resolve(false);
        return;
      }
      const timer = setTimeout(() => resolve(true), Math.max(0, seconds) * 1000);
      target.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    return finished
      ? { ok: true, message: '' }
      : {
          ok: false,
          message: `Sleep lifecycle hook (${seconds}) ${where} failed - error: container terminated before sleep hook finished`,
        };
  }
  return { ok: false, message: 'Cannot run handler: invalid handler' };
}

/** GET to the hook's URL; resolves with Go's error text, or undefined once any HTTP response arrived. */
function httpHook(h: Json, target: HookTarget): Promise<string | undefined> {
  const port = h.port === '' || h.port === undefined ? 80 : resolvePort(h.port, target.container);
  if (port === undefined) return Promise.resolve(`couldn't find port: ${String(h.port)}`);
  const host = typeof h.host === 'string' && h.host ? h.host : target.podIP;
  const path = typeof h.path === 'string' && h.path ? (h.path.startsWith('/') ? h.path : `/${h.path}`) : '/';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  const headers: Record<string, string> = { 'User-Agent': 'kube-lifecycle/1.33', Accept: '*/*' };
  for (const x of Array.isArray(h.httpHeaders) ? h.httpHeaders.filter(isObject) : []) {
    headers[String(x.name)] = String(x.value);
  }
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', headers, timeout: target.timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(`Get "${url}": context deadline exceeded`);
    });
    req.on('error', (e) => resolve(`Get "${url}": ${goDialError(e, host, port)}`));
    req.end();
  });
}
