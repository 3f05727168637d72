/**
 * The real node's PodStreamTarget (src/apiserver/pod-streams.ts): kubectl exec, attach and port-forward for
 * pods running on runc.
 *
 * - exec: `<runtime> exec` of the container (ExecProcess, src/agent/oci/exec.ts), stdio piped with
 *   backpressure, a terminal through `script` for `-t`, the process killed when the client goes away.
 * - attach: a client of the container supervisor's attach socket (src/agent/oci/supervisor.ts), which
 *   applies containerd's stdin/stdinOnce rules; the session ends when the supervisor detaches this client
 *   (stdin ended), the container exits, or the client goes away.
 * - portForward: a socket connected inside the pod's network namespace (src/agent/oci/port-forward.ts).
 *
 * Refusals use the kubelet's texts: `container not found ("c")` for exec into a container that is not
 * running, `container c not found in pod p_ns` for attach, `pod not found ("p_ns")` for port-forward.
 */
import type { Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { StatusError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { PodStreamTarget, RemoteCommandIO, TerminalSize } from '../../apiserver/pod-streams.js';
import { type AttachHello, encodeFrame, FrameType, frameDecoder } from '../oci/attach-protocol.js';
import { dialInNetns } from '../oci/port-forward.js';
import type { OciRuntime } from '../oci/runtime.js';

/** What the target needs from the node agent. */
export interface StreamHost {
  readonly runtime: OciRuntime;
  /** The runtime id of the pod's container (latest attempt), if it has one. */
  containerId(namespace: string, pod: string, container: string): string | undefined;
}

function podName(pod: KObject): { namespace: string; name: string; uid: string } {
  return {
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name ?? '',
    uid: pod.metadata.uid ?? '',
  };
}

/** kubelet: the error body when the container has no running instance (HTTP 500, like the kubelet's). */
function notRunning(message: string): StatusError {
  return new StatusError(500, 'InternalError', message);
}

export function createPodStreamTarget(host: StreamHost): PodStreamTarget {
  /** The runtime id of a running container of this pod, or undefined. */
  const running = async (pod: KObject, container: string): Promise<string | undefined> => {
    const p = podName(pod);
    const id = host.containerId(p.namespace, p.name, container);
    if (!id || (p.uid && !id.startsWith(`${p.uid}_`))) return undefined;
    const st = await host.runtime.state(id);
    return st.status === 'running' ? id : undefined;
  };

  return {
    async exec(pod, container, command, io) {
      const id = await running(pod, container);
      if (!id) throw notRunning(`container not found (${JSON.stringify(container)})`);
      const proc = await host.runtime.startExec(id, command, {
        tty: io.tty,
        stdin: io.stdin !== undefined,
        stdout: io.stdout,
        stderr: io.tty ? undefined : io.stderr,
      });
      if (io.tty && !proc.tty) {
        io.stdout?.write(
          'Unable to use a TTY on this node (util-linux `script` is not installed); running without one.\r\n',
        );
      }
      const onAbort = (): void => void proc.kill();
      if (io.signal.aborted) onAbort();
      else io.signal.addEventListener('abort', onAbort, { once: true });
      if (io.stdin && proc.stdin) io.stdin.pipe(proc.stdin);
      if (proc.tty) io.onResize((size) => proc.resize(size));
      try {
        const outcome = await proc.wait();
        if ('startError' in outcome) throw new Error(outcome.startError);
        return outcome.exitCode;
      } finally {
        io.signal.removeEventListener('abort', onAbort);
        if (io.stdin && proc.stdin) io.stdin.unpipe(proc.stdin);
      }
    },

    async attach(pod, container, io) {
      const p = podName(pod);
      const id = await running(pod, container);
      if (!id) throw notRunning(`container ${container} not found in pod ${p.name}_${p.namespace}`);
      const sock = await host.runtime.connectAttach(id);
      if (!sock) {
        throw new Error(
          `container ${container} cannot be attached to: its supervisor has no attach socket (started by an older ordinal; restart the pod)`,
        );
      }
      await attachSession(sock, io);
    },

    async portForward(pod, port): Promise<Duplex> {
      const p = podName(pod);
      const sandbox = p.uid ? await host.runtime.loadSandbox(p.uid) : undefined;
      if (!sandbox) throw notRunning(`pod not found (${JSON.stringify(`${p.name}_${p.namespace}`)})`);
      return dialInNetns(sandbox.netnsPath, port, { namespaceName: sandbox.netnsName });
    },
  };
}

/** Runs one attach client on a connected supervisor socket until it is detached (see the module comment). */
function attachSession(sock: Socket, io: RemoteCommandIO): Promise<void> {
  return new Promise((resolve) => {
    let hello: AttachHello | undefined;
    const send = (type: number, payload?: Buffer | string): boolean =>
      !sock.destroyed && !sock.writableEnded ? sock.write(encodeFrame(type, payload)) : true;
    const deliver = (to: Writable | undefined, data: Buffer): void => {
      if (to && !to.write(data)) {
        sock.pause();
        to.once('drain', () => sock.resume());
      }
    };
    const decode = frameDecoder((type, payload) => {
      if (type === FrameType.HELLO) hello = JSON.parse(payload.toString()) as AttachHello;
      else if (type === FrameType.STDOUT) deliver(io.stdout, payload);
      else if (type === FrameType.STDERR) deliver(io.stderr, payload);
    });
    const onStdin = (chunk: Buffer): void => {
      if (!send(FrameType.STDIN, chunk)) {
        io.stdin?.pause();
        sock.once('drain', () => io.stdin?.resume());
      }
    };
    const onStdinEnd = (): void => void send(FrameType.CLOSE_STDIN);
    const onResize = (size: TerminalSize): void =>
      void send(FrameType.RESIZE, JSON.stringify({ width: size.width, height: size.height }));
    const onAbort = (): void => void sock.destroy();
    const done = (): void => {
      io.signal.removeEventListener('abort', onAbort);
      io.stdin?.off('data', onStdin);
      io.stdin?.off('end', onStdinEnd);
      resolve();
    };
    sock.on('data', (d: Buffer) => {
      try {
        decode(d);
      } catch {
        sock.destroy();
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', done);
    send(
      FrameType.OPEN,
      JSON.stringify({
        stdin: io.stdin !== undefined,
        stdout: io.stdout !== undefined,
        stderr: io.stderr !== undefined,
      }),
    );
    if (io.signal.aborted) return onAbort();
    io.signal.addEventListener('abort', onAbort, { once: true });
    if (io.stdin?.readableEnded) onStdinEnd();
    else if (io.stdin) {
      io.stdin.on('data', onStdin);
      io.stdin.on('end', onStdinEnd);
    }
    io.onResize((size) => {
      if (!hello || hello.tty) onResize(size);
    });
  });
}
