/**
 * The WebSocket side of the streaming subresources, on the `ws` package in
 * noServer mode:
 *
 * - exec/attach over the channel protocols (channels.ts): stdin arrives on
 *   channel 0 (with backpressure: the socket pauses while the target lags),
 *   output leaves on 1/2, sizes on 4, v5's `[255, 0]` ends stdin, and the
 *   Status goes on channel 3 before a 1000 close. As the kubelet does, an
 *   empty frame on the lowest output channel tells the client it is
 *   connected.
 * - port-forward's tunnel, `SPDY/3.1+portforward.k8s.io`: the messages carry
 *   raw SPDY bytes, served by port-forward.ts. `ws` refuses that name while
 *   parsing the header ('/' is not a token character), so the header is
 *   removed before the handshake and the chosen protocol is added to the 101
 *   in the 'headers' event.
 */
import type { IncomingMessage } from 'node:http';
import { type Duplex, PassThrough } from 'node:stream';
import { createWebSocketStream, type RawData, type WebSocket, WebSocketServer } from 'ws';
import {
  type ChannelProtocol,
  CLOSE,
  decodeChannelFrame,
  ERROR,
  encodeChannelFrame,
  RESIZE,
  STDERR,
  STDIN,
  STDOUT,
} from './channels.js';
import type { ConnectLocation, RemoteCommandOptions } from './request.js';
import { channelWriter, runRemoteCommand } from './session.js';
import { encodeStatus } from './status.js';
import { ResizeFeed, TerminalSizeDecoder } from './terminal-size.js';

export const PORT_FORWARD_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

/** `Upgrade: websocket` with `Connection: ... upgrade ...` (upstream's IsWebSocketRequest). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return false;
  return /(^|,)\s*upgrade\s*($|,)/i.test(String(req.headers.connection ?? ''));
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Completes WebSocket handshakes with a subprotocol chosen by the caller. */
export class WebSocketUpgrader {
  private readonly wss: WebSocketServer;
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private readonly pushed = new WeakMap<IncomingMessage, string>();
  private readonly failed = new WeakMap<IncomingMessage, () => void>();

  constructor() {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      handleProtocols: (_offered, req) => this.chosen.get(req) ?? false,
    });
    this.wss.on('headers', (headers: string[], req: IncomingMessage) => {
      const p = this.pushed.get(req);
      if (p) headers.push(`Sec-WebSocket-Protocol: ${p}`);
    });
    // A malformed handshake: answer it as ws would, and let the caller know.
    this.wss.on('wsClientError', (err: Error, socket: Duplex, req: IncomingMessage) => {
      const body = err.message;
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      this.failed.get(req)?.();
    });
  }

  /** The WebSocket, or undefined when the handshake was malformed (already answered with a 400). */
  upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    protocol: string,
  ): Promise<WebSocket | undefined> {
    if (protocol && !TOKEN.test(protocol)) {
      this.pushed.set(req, protocol);
      delete req.headers['sec-websocket-protocol'];
    } else if (protocol) {
      this.chosen.set(req, protocol);
    }
    return new Promise((resolve) => {
      this.failed.set(req, () => resolve(undefined));
      this.wss.handleUpgrade(req, socket, head, (ws) => resolve(ws));
    });
  }
}

/** Runs exec/attach over an open WebSocket; resolves once the socket has closed. */
export function serveWebSocketRemoteCommand(
  ws: WebSocket,
  protocol: ChannelProtocol,
  kind: 'exec' | 'attach',
  loc: ConnectLocation,
  opts: RemoteCommandOptions,
): Promise<void> {
  const abort = new AbortController();
  const closed = new Promise<void>((resolve) => {
    ws.once('close', () => {
      abort.abort();
      resolve();
    });
  });
  ws.on('error', () => undefined);
  const open = (): boolean => ws.readyState === ws.OPEN;
  const send = (channel: number, data: Uint8Array, done?: (err?: Error) => void): void => {
    if (!open()) {
      done?.();
      return;
    }
    ws.send(encodeChannelFrame(protocol, channel, data), { binary: !protocol.base64 }, done);
  };

  const stdin = opts.stdin ? new PassThrough() : undefined;
  let paused = false;
  const resize = new ResizeFeed();
  const decoder = new TerminalSizeDecoder();
  ws.on('message', (message: RawData) => {
    const frame = decodeChannelFrame(protocol, toBuffer(message));
    if (!frame) return;
    if (frame.channel === STDIN && stdin && !stdin.writableEnded) {
      if (!stdin.write(frame.data) && !paused) {
        paused = true;
        ws.pause();
        stdin.once('drain', () => {
          paused = false;
          ws.resume();
        });
      }
    } else if (frame.channel === RESIZE && opts.tty) {
      for (const size of decoder.push(frame.data)) resize.push(size);
    } else if (frame.channel === CLOSE && protocol.closeSignal && frame.data[0] === STDIN) {
      stdin?.end();
    }
  });
  abort.signal.addEventListener('abort', () => stdin?.end());

  const writer = (channel: number, wanted: boolean) =>
    wanted ? channelWriter((chunk, done) => send(channel, chunk, done)) : undefined;
  const stdout = writer(STDOUT, opts.stdout);
  const stderr = writer(STDERR, opts.stderr);
  send(opts.stdout ? STDOUT : opts.stderr ? STDERR : ERROR, Buffer.alloc(0));

  return (async () => {
    const status = await runRemoteCommand(kind, loc, opts, {
      stdin,
      stdout,
      stderr,
      resize,
      signal: abort.signal,
    });
    // Nobody reads stdin any more: let the socket flow so the close handshake can complete.
    stdin?.resume();
    if (paused) ws.resume();
    if (open()) {
      const text = encodeStatus(status, protocol.statusJson);
      if (text.length > 0 || protocol.statusJson) send(ERROR, text);
      ws.close(1000);
    }
    await closed;
  })();
}

/** Carries port-forward's SPDY bytes over the WebSocket as a duplex stream. */
export function tunnelStream(ws: WebSocket): Duplex {
  const duplex = createWebSocketStream(ws);
  duplex.on('error', () => undefined);
  return duplex;
}

function toBuffer(message: RawData): Buffer {
  if (Buffer.isBuffer(message)) return message;
  if (Array.isArray(message)) return Buffer.concat(message);
  return Buffer.from(message);
}
