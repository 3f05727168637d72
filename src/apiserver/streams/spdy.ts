/**
 * SPDY/3.1 for the streaming subresources, as kubectl's spdystream client
 * speaks it: the `POST` + `Upgrade: SPDY/3.1` handshake with
 * X-Stream-Protocol-Version negotiation (apimachinery httpstream.Handshake),
 * and a `spdy-transport` connection in server mode over the raw socket (or
 * over a WebSocket tunnel, for port-forward).
 *
 * Two adaptations, both in `serverConnection`, the only place that touches
 * spdy-transport internals:
 * - spdy-transport treats SPDY as HTTP and rejects a SYN_STREAM without
 *   `:method` and `:path`, but Kubernetes streams carry only their own
 *   headers (streamtype, port, requestid). The connection's header parser is
 *   wrapped to fill both in when absent.
 * - Go's spdystream (kubectl's side) implements no flow control: it never
 *   sends WINDOW_UPDATE, so spdy-transport would stop sending after 64 KiB
 *   per stream. Like Go servers, we ignore the send windows: each one is
 *   topped up whenever it runs low.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import spdy, { type KvCallback, type SpdyConnection, type SpdyStream, type WindowSide } from 'spdy-transport';
import { StatusError } from '../../api/errors.js';

export type { SpdyConnection, SpdyStream };

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** exec/attach over SPDY: v5 behaves as v4 there (its close signal is WebSocket-only). */
export const REMOTE_COMMAND_SPDY_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
] as const;

/** `Connection: upgrade` plus `Upgrade: SPDY/3.1` (any case, among other tokens). */
export function isSpdyUpgrade(req: IncomingMessage): boolean {
  const connection = String(req.headers.connection ?? '').toLowerCase();
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  return connection.includes('upgrade') && upgrade.includes('spdy/3.1');
}

/**
 * The protocol version to speak: the client's first offer the server
 * supports. Throws upstream's 400 (none offered) or 403 (no common version).
 */
export function negotiateStreamProtocol(req: IncomingMessage, supported: readonly string[]): string {
  const raw = req.headers['x-stream-protocol-version'];
  const offered = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (offered.length === 0) {
    throw new StatusError(400, 'BadRequest', 'unable to upgrade: X-Stream-Protocol-Version is required');
  }
  const chosen = offered.find((p) => supported.includes(p));
  if (!chosen) {
    throw new StatusError(
      403,
      'Forbidden',
      `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]`,
    );
  }
  return chosen;
}

/** Answers the SPDY upgrade on the raw socket and starts the SPDY server on it. */
export function acceptSpdyUpgrade(socket: Duplex, head: Buffer, protocol: string): SpdyConnection {
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Connection: Upgrade\r\n' +
      'Upgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
  );
  if (head.length > 0) socket.unshift(head);
  return serverConnection(socket);
}

/** A SPDY/3.1 server connection over `duplex`, accepting Kubernetes' header-only SYN_STREAMs. */
export function serverConnection(duplex: Duplex): SpdyConnection {
  const conn = spdy.connection.create(duplex, { protocol: 'spdy', isServer: true });
  ignoreSendWindow(conn._spdyState.window.send);
  conn.on('stream', (stream: SpdyStream) => ignoreSendWindow(stream._spdyState.window.send));
  const parser = conn._spdyState.parser;
  const parseKVs = parser.parseKVs.bind(parser);
  parser.parseKVs = (buffer: unknown, callback: KvCallback) => {
    parseKVs(buffer, (err, headers) => {
      if (!err && headers) {
        headers[':method'] ??= 'POST';
        headers[':path'] ??= '/';
      }
      callback(err, headers);
    });
  };
  conn.start(3.1);
  return conn;
}

/** Refills a send window at its low-water mark, as if the peer had sent WINDOW_UPDATE. */
function ignoreSendWindow(side: WindowSide): void {
  side.on('drain', () => side.update(side.getMax() - side.getCurrent()));
}

/** A stream header as one string ('' when absent); Go sends them lower-cased. */
export function streamHeader(stream: SpdyStream, name: string): string {
  const v = stream.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** Replies to a stream the client opened (its SYN_REPLY); errors are ignored, the stream just dies. */
export function acceptStream(stream: SpdyStream): void {
  stream.on('error', () => undefined);
  stream.respond(200, {});
}
