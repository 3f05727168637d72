/**
 * The protocol-independent half of exec and attach: given the client's
 * already demultiplexed streams (from the WebSocket or SPDY transport), build
 * the RemoteCommandIO, run the node target, and turn the outcome into the
 * Status the transport writes on the error channel. Output is flushed before
 * the Status is returned, so the client sees all of it first.
 */
import { type Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { RemoteCommandIO } from '../pod-streams.js';
import type { ConnectLocation, RemoteCommandOptions } from './request.js';
import { exitCodeStatus, failureStatus, type SessionStatus, successStatus } from './status.js';
import type { ResizeFeed } from './terminal-size.js';

export interface RemoteCommandChannels {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  resize: ResizeFeed;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Runs the session; never throws (failures become the returned Status). */
export async function runRemoteCommand(
  kind: 'exec' | 'attach',
  loc: ConnectLocation,
  opts: RemoteCommandOptions,
  ch: RemoteCommandChannels,
): Promise<SessionStatus> {
  const io: RemoteCommandIO = {
    stdin: ch.stdin,
    stdout: ch.stdout,
    stderr: ch.stderr,
    tty: opts.tty,
    onResize: ch.resize.onResize,
    signal: ch.signal,
  };
  let status: SessionStatus;
  try {
    if (kind === 'exec') {
      const code = await loc.target.exec(loc.pod, loc.container, opts.command, io);
      status = code === 0 ? successStatus() : exitCodeStatus(opts.command, code);
    } else {
      await loc.target.attach(loc.pod, loc.container, io);
      status = successStatus();
    }
  } catch (e) {
    status = failureStatus(kind, e);
  }
  await Promise.all([flush(ch.stdout), flush(ch.stderr)]);
  return status;
}

/** Ends a writable (unless the target did) and waits until its data has gone out. */
async function flush(w: Writable | undefined): Promise<void> {
  if (!w || w.destroyed || w.writableFinished) return;
  if (!w.writableEnded) w.end();
  await finished(w).catch(() => undefined);
}

/**
 * A Writable whose chunks go to `send`; the next chunk waits for the
 * callback, which is how transport backpressure reaches the target. Send
 * errors are dropped: they mean the client went away, which the session's
 * signal reports, and the target must not die of an 'error' event for it.
 */
export function channelWriter(
  send: (chunk: Buffer, done: (err?: Error | null) => void) => void,
  end?: () => void,
): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      send(chunk, () => cb());
    },
    final(cb) {
      end?.();
      cb();
    },
  });
}
