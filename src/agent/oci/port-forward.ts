/**
 * TCP connections to localhost inside a pod's network namespace (kubectl port-forward). Node cannot enter
 * another netns, so a short-lived helper does the connect: `nsenter --net=<netns> node -e <DIALER>` dials
 * 127.0.0.1 (then ::1, as containerd) and hands the connected socket back over the Node IPC channel
 * (SCM_RIGHTS under the hood), then exits. The caller gets a plain net.Socket: no process stays behind for
 * the lifetime of the connection and bytes flow kernel to kernel.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { which } from './util.js';

/** The helper's source (CommonJS, run with `node -e`): argv[1] is the port. */
const DIALER = `'use strict';
const net = require('node:net');
const port = Number(process.argv[1]);
process.on('disconnect', () => process.exit(0));
function dial(host, next) {
  const s = net.connect({ host, port });
  s.once('connect', () => {
    s.pause();
    process.send({ ok: true }, s);
  });
  s.once('error', (e) => next({ code: e.code || '', message: e.message }));
}
dial('127.0.0.1', (v4) => dial('::1', (v6) => process.send({ ok: false, v4, v6 })));
`;

interface DialError {
  code: string;
  message: string;
}

type DialerMessage = { ok: true } | { ok: false; v4: DialError; v6: DialError };

/** Go's syscall error texts for the errnos a connect to localhost can fail with. */
const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EADDRNOTAVAIL: 'cannot assign requested address',
  ENETUNREACH: 'network is unreachable',
  EHOSTUNREACH: 'no route to host',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset by peer',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EAFNOSUPPORT: 'address family not supported by protocol',
};

/** One address's failure as Go's net.Dial prints it, e.g. `dial tcp4 127.0.0.1:80: connect: connection refused`. */
export function goDialError(network: 'tcp4' | 'tcp6', port: number, e: DialError): string {
  const addr = network === 'tcp4' ? `127.0.0.1:${port}` : `[::1]:${port}`;
  return `dial ${network} ${addr}: connect: ${ERRNO_TEXT[e.code] ?? e.message}`;
}

/** containerd's error when neither address accepted the connection (trailing space included, as upstream). */
export function portForwardDialError(port: number, namespace: string, v4: DialError, v6: DialError): string {
  return `failed to connect to localhost:${port} inside namespace "${namespace}", IPv4: ${goDialError('tcp4', port, v4)} IPv6 ${goDialError('tcp6', port, v6)} `;
}

export interface DialOptions {
  /** Name used for the namespace in error messages (containerd uses the sandbox id). */
  namespaceName?: string;
  /** Give up (and kill the helper) after this long (default 10 s). */
  timeoutMs?: number;
}

/** Connects to localhost:`port` inside the network namespace at `netnsPath`; rejects with containerd's message. */
export function dialInNetns(netnsPath: string, port: number, opts: DialOptions = {}): Promise<Socket> {
  const nsenter = which('nsenter');
  if (!nsenter) return Promise.reject(new Error('nsenter (util-linux) is required for port forwarding'));
  const name = opts.namespaceName ?? netnsPath;
  return new Promise((resolve, reject) => {
    const child = spawn(nsenter, [`--net=${netnsPath}`, process.execPath, '-e', DIALER, String(port)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.connected) child.disconnect();
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new Error(`timed out connecting to localhost:${port} inside namespace "${name}"`)));
    }, opts.timeoutMs ?? 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    child.on('message', (m: DialerMessage, handle: unknown) => {
      if (m.ok && handle) settle(() => resolve(handle as Socket));
      else if (!m.ok) settle(() => reject(new Error(portForwardDialError(port, name, m.v4, m.v6))));
    });
    child.on('error', (e) => settle(() => reject(e)));
    child.on('exit', (code) => {
      settle(() =>
        reject(
          new Error(
            `failed to enter network namespace "${name}": ${stderr.trim() || `helper exited with code ${code}`}`,
          ),
        ),
      );
    });
  });
}
