/**
 * The part of `spdy-transport` (3.x, CommonJS, no bundled types) that
 * src/apiserver/streams/spdy.ts uses: a SPDY/3.1 connection in server mode
 * over any duplex stream, and its streams. The streams are `readable-stream`
 * duplexes, compatible with Node's for piping and events.
 */
declare module 'spdy-transport' {
  import type { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';

  /** One direction of a flow-control window. */
  export interface WindowSide {
    getCurrent(): number;
    getMax(): number;
    /** Adds `delta` (negative: bytes used) to the window. */
    update(delta: number): void;
    /** Emitted when the window falls to its low-water mark. */
    on(event: 'drain', listener: () => void): this;
  }

  /** One SPDY stream opened by the peer. Emits 'error' on RST (other than CANCEL). */
  export interface SpdyStream extends Duplex {
    readonly id: number;
    readonly _spdyState: { window: { send: WindowSide } };
    /** The SYN_STREAM headers, names lower-cased. */
    readonly headers: Record<string, string | string[] | undefined>;
    /** Sends the SYN_REPLY. */
    respond(status: number, headers: Record<string, string>, callback?: (err?: Error | null) => void): void;
    /** Sends RST_STREAM (default code CANCEL). */
    abort(code?: string, callback?: () => void): void;
  }

  /** What the parser hands to its header callback: `(err, headers)`. */
  export type KvCallback = (err: Error | null, headers?: Record<string, unknown>) => void;

  export interface SpdyParser {
    parseKVs(buffer: unknown, callback: KvCallback): void;
  }

  export interface SpdyConnection extends EventEmitter {
    /** Internal state; only `parser` and the send window are touched (see spdy.ts for why). */
    readonly _spdyState: { parser: SpdyParser; window: { send: WindowSide } };
    /** Sets the protocol version before the first frame arrives (3.1 for Kubernetes clients). */
    start(version: number): void;
    /** Sends GOAWAY and closes once every stream has closed. */
    end(callback?: () => void): void;
    destroyStreams(err?: Error): void;
    on(event: 'stream', listener: (stream: SpdyStream) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'close', listener: (err?: Error) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export interface ConnectionOptions {
    protocol: 'spdy' | 'http2';
    isServer: boolean;
    /** Receive window (default 1 MiB). */
    windowSize?: number;
    maxStreams?: number;
  }

  const transport: {
    connection: { create(socket: Duplex, options: ConnectionOptions): SpdyConnection };
  };
  export default transport;
}
