/**
 * exec and attach over SPDY (the kubelet's createHTTPStreamStreams): the
 * client opens one stream per channel, tagged by a `streamtype` header
 * (error, stdin, stdout, stderr, resize). Each gets its reply at once; when
 * every expected stream is there the session runs. Stdin ends with the
 * client's FIN; the resize stream carries JSON sizes; at the end the Status
 * goes on the error stream (JSON from v4, text before) and every stream is
 * closed; the client then hangs up.
 */
import { type Duplex, PassThrough } from 'node:stream';
import type { ConnectLocation, RemoteCommandOptions } from './request.js';
import { channelWriter, runRemoteCommand } from './session.js';
import { acceptStream, type SpdyConnection, type SpdyStream, streamHeader } from './spdy.js';
import { encodeStatus } from './status.js';
import { ResizeFeed, TerminalSizeDecoder } from './terminal-size.js';

export interface SpdyRemoteCommandOptions {
  /** How long the client has to open every stream (upstream: 30 s). */
  streamCreationTimeoutMs: number;
  /** After the Status, how long the client has to hang up before the socket is destroyed. */
  lingerMs: number;
}

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** Resolves when the session is over and the socket is closed or closing. */
export function serveSpdyRemoteCommand(
  conn: SpdyConnection,
  socket: Duplex,
  protocol: string,
  kind: 'exec' | 'attach',
  loc: ConnectLocation,
  opts: RemoteCommandOptions,
  timing: SpdyRemoteCommandOptions,
): Promise<void> {
  const resizable = protocol !== 'v2.channel.k8s.io';
  const wanted = new Set<StreamType>(['error']);
  if (opts.stdin) wanted.add('stdin');
  if (opts.stdout) wanted.add('stdout');
  if (opts.stderr) wanted.add('stderr');
  if (opts.tty && resizable) wanted.add('resize');

  const abort = new AbortController();
  const gone = new Promise<void>((resolve) => {
    socket.once('close', () => {
      abort.abort();
      resolve();
    });
  });
  conn.on('error', () => socket.destroy());

  const streams = new Map<StreamType, SpdyStream>();
  const ready = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timing.streamCreationTimeoutMs);
    abort.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(false);
    });
    conn.on('stream', (stream: SpdyStream) => {
      acceptStream(stream);
      const type = streamHeader(stream, 'streamtype') as StreamType;
      if (!wanted.has(type) || streams.has(type)) {
        stream.resume();
        return;
      }
      streams.set(type, stream);
      if (streams.size === wanted.size) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });

  return (async () => {
    if (!(await ready)) {
      // Upstream logs "timed out waiting for client to create streams" and hangs up.
      socket.destroy();
      return;
    }
    const errorStream = streams.get('error')!;
    errorStream.resume();
    const stdinStream = streams.get('stdin');
    let stdin: PassThrough | undefined;
    if (stdinStream) {
      stdin = new PassThrough();
      stdinStream.pipe(stdin);
      abort.signal.addEventListener('abort', () => stdin?.end());
    }
    const resize = new ResizeFeed();
    const resizeStream = streams.get('resize');
    if (resizeStream) {
      const decoder = new TerminalSizeDecoder();
      resizeStream.on('data', (chunk: Buffer) => {
        for (const size of decoder.push(chunk)) resize.push(size);
      });
    }
    const writer = (s: SpdyStream | undefined) =>
      s &&
      channelWriter(
        (chunk, done) => s.write(chunk, done),
        () => s.end(),
      );
    const stdout = writer(streams.get('stdout'));
    const stderr = writer(streams.get('stderr'));
    const status = await runRemoteCommand(kind, loc, opts, {
      stdin,
      stdout,
      stderr,
      resize,
      signal: abort.signal,
    });
    stdin?.resume();
    if (!abort.signal.aborted) {
      // Status and FINs, then wait for the client to hang up (it does once it has read them all).
      // No GOAWAY: it could overtake the queued data frames, which the client would then drop.
      const text = encodeStatus(status, protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io');
      if (text.length > 0) errorStream.write(text);
      for (const s of streams.values()) s.end();
      const linger = setTimeout(() => socket.destroy(), timing.lingerMs);
      socket.once('close', () => clearTimeout(linger));
    }
    await gone;
  })();
}
