/**
 * port-forward over a SPDY connection (direct, or tunnelled through a
 * WebSocket), as the kubelet's portforward httpStreamHandler serves it: for
 * every local connection the client opens an `error` and a `data` stream
 * with the same `requestid` and the remote `port`. Once both are there the
 * node target opens the port in the pod and bytes are copied both ways; a
 * failure is written as text on the error stream (kubectl prints "an error
 * occurred forwarding L -> R: <text>"). The error stream is closed when the
 * forwarded connection is over, which is what the client waits for.
 */
import type { Duplex } from 'node:stream';
import type { ConnectLocation } from './request.js';
import { type SpdyConnection, type SpdyStream, streamHeader } from './spdy.js';

export interface PortForwardOptions {
  /** How long a pair may wait for its second stream (upstream: 30 s). */
  streamCreationTimeoutMs: number;
}

interface StreamPair {
  requestId: string;
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Why a new stream is refused (it is reset), or undefined when its headers are fine. */
export function checkPortForwardStream(headers: { port: string; streamtype: string }): string | undefined {
  if (!headers.port) return '"port" header is required';
  if (!/^\d+$/.test(headers.port) || Number(headers.port) > 65535) {
    return `unable to parse "${headers.port}" as a port`;
  }
  if (Number(headers.port) < 1) return `port "${headers.port}" must be > 0`;
  if (!headers.streamtype) return '"streamType" header is required';
  if (headers.streamtype !== 'error' && headers.streamtype !== 'data') {
    return `invalid stream type "${headers.streamtype}"`;
  }
  return undefined;
}

/** Serves port-forward streams until `socket` closes. */
export function servePortForward(
  conn: SpdyConnection,
  socket: Duplex,
  loc: ConnectLocation,
  opts: PortForwardOptions,
): Promise<void> {
  const pairs = new Map<string, StreamPair>();
  const open = new Set<Duplex>();
  conn.on('error', () => socket.destroy());

  const printError = (pair: StreamPair, message: string): void => {
    if (pair.error?.writable) pair.error.write(message);
  };

  const forward = async (pair: StreamPair): Promise<void> => {
    const data = pair.data!;
    const error = pair.error!;
    const port = Number(streamHeader(data, 'port'));
    let remote: Duplex;
    try {
      remote = await loc.target.portForward(loc.pod, port);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      printError(
        pair,
        `error forwarding port ${port} to pod ${loc.pod.metadata.name ?? ''}, uid ${loc.pod.metadata.uid ?? ''}: ${why}`,
      );
      error.end();
      data.end();
      data.resume();
      return;
    }
    open.add(remote);
    let failed = false;
    remote.on('error', (e: Error) => {
      if (!failed) printError(pair, `error forwarding port ${port}: ${e.message}`);
      failed = true;
      remote.destroy();
    });
    data.on('error', () => remote.destroy());
    remote.on('close', () => {
      open.delete(remote);
      if (data.writable) data.end();
      error.end();
    });
    // Client → pod: the client's FIN half-closes the pod connection (pipe ends it).
    data.pipe(remote);
    // Pod → client: the pod's FIN ends the data stream.
    remote.pipe(data);
  };

  conn.on('stream', (stream: SpdyStream) => {
    stream.on('error', () => undefined);
    const port = streamHeader(stream, 'port');
    const streamtype = streamHeader(stream, 'streamtype');
    const refused = checkPortForwardStream({ port, streamtype });
    if (refused) {
      stream.abort();
      return;
    }
    stream.respond(200, {});
    // Old clients send no requestid: pair consecutive stream ids, as upstream does.
    const requestId =
      streamHeader(stream, 'requestid') || String(streamtype === 'error' ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const created: StreamPair = {
        requestId,
        timer: setTimeout(() => {
          printError(created, `timed out waiting for streams for request ${requestId}`);
          created.error?.end();
          pairs.delete(requestId);
        }, opts.streamCreationTimeoutMs),
      };
      pair = created;
      pairs.set(requestId, pair);
    }
    const slot = streamtype === 'error' ? 'error' : 'data';
    if (pair[slot]) {
      printError(pair, `error processing stream for request ${requestId}: ${slot} stream already assigned`);
      stream.abort();
      return;
    }
    pair[slot] = stream;
    // The client half-closes the error stream; read it so its end is seen.
    if (slot === 'error') stream.resume();
    if (pair.error && pair.data) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void forward(pair);
    }
  });

  return new Promise<void>((resolve) => {
    socket.once('close', () => {
      for (const p of pairs.values()) clearTimeout(p.timer);
      pairs.clear();
      for (const r of open) r.destroy();
      resolve();
    });
  });
}
