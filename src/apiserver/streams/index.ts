/**
 * The API server's streaming subresources: `pods/exec`, `pods/attach` and
 * `pods/portforward`. A request is checked (request.ts), then served over
 * the transport the client asked for — WebSocket (websocket.ts) or SPDY/3.1
 * (spdy.ts) — by the node agent's PodStreamTarget. Refusals are thrown as
 * StatusErrors for the caller to answer before any upgrade; after the
 * upgrade the session runs on its own and only shutdown (closeAll) ends it
 * early.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { badRequest } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { PodStreams } from '../pod-streams.js';
import { CHANNEL_PROTOCOLS, negotiateChannelProtocol, offeredProtocols } from './channels.js';
import { servePortForward } from './port-forward.js';
import { type ConnectKind, checkPortForward, locate, remoteCommandOptions } from './request.js';
import {
  acceptSpdyUpgrade,
  isSpdyUpgrade,
  negotiateStreamProtocol,
  PORT_FORWARD_PROTOCOL,
  REMOTE_COMMAND_SPDY_PROTOCOLS,
  serverConnection,
} from './spdy.js';
import { serveSpdyRemoteCommand } from './spdy-remote-command.js';
import {
  isWebSocketUpgrade,
  PORT_FORWARD_TUNNEL_PROTOCOL,
  serveWebSocketRemoteCommand,
  tunnelStream,
  WebSocketUpgrader,
} from './websocket.js';

export { type ConnectKind, isConnectSubresource } from './request.js';

/** An HTTP Upgrade request whose socket the stream server may take over. */
export interface UpgradeContext {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  /** Called once, just before the socket is taken over (no HTTP reply will be written after it). */
  takeOver(): void;
}

export interface PodStreamServerOptions {
  /** How long a SPDY client has to open the streams of a session (default 30 s, as upstream). */
  streamCreationTimeoutMs?: number;
  /** After an exec/attach Status, how long the SPDY client has to hang up (default 5 s). */
  lingerMs?: number;
}

export class PodStreamServer {
  private readonly upgrader = new WebSocketUpgrader();
  private readonly sockets = new Set<Duplex>();
  private readonly streamCreationTimeoutMs: number;
  private readonly lingerMs: number;

  constructor(
    private readonly streams: PodStreams,
    opts: PodStreamServerOptions = {},
  ) {
    this.streamCreationTimeoutMs = opts.streamCreationTimeoutMs ?? 30_000;
    this.lingerMs = opts.lingerMs ?? 5_000;
  }

  /**
   * Serves a connect request for `pod`. Throws a StatusError when it is
   * refused, including "Upgrade request required" for plain requests, before
   * touching the socket. Otherwise takes the socket over and resolves once
   * the upgrade is answered; the session goes on in the background.
   */
  async connect(
    kind: ConnectKind,
    pod: KObject,
    q: URLSearchParams,
    upgrade: UpgradeContext | undefined,
  ): Promise<void> {
    const loc = locate(kind, pod, q, this.streams);
    const websocket = upgrade !== undefined && isWebSocketUpgrade(upgrade.req);
    if (!upgrade || (!websocket && !isSpdyUpgrade(upgrade.req))) throw badRequest('Upgrade request required');
    const { req, socket, head } = upgrade;
    const timing = { streamCreationTimeoutMs: this.streamCreationTimeoutMs, lingerMs: this.lingerMs };

    if (kind === 'portforward') {
      checkPortForward(pod);
      if (websocket) {
        const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
        if (!offered.includes(PORT_FORWARD_TUNNEL_PROTOCOL)) {
          throw unsupportedProtocols(offered, [PORT_FORWARD_TUNNEL_PROTOCOL]);
        }
        this.track(upgrade);
        const ws = await this.upgrader.upgrade(req, socket, head, PORT_FORWARD_TUNNEL_PROTOCOL);
        if (!ws) return;
        const tunnel = tunnelStream(ws);
        void servePortForward(serverConnection(tunnel), tunnel, loc, timing);
        return;
      }
      const protocol = negotiateStreamProtocol(req, [PORT_FORWARD_PROTOCOL]);
      this.track(upgrade);
      void servePortForward(acceptSpdyUpgrade(socket, head, protocol), socket, loc, timing);
      return;
    }

    const opts = remoteCommandOptions(kind, pod, q);
    if (websocket) {
      const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
      const protocol = negotiateChannelProtocol(offered);
      if (!protocol) {
        throw unsupportedProtocols(
          offered,
          CHANNEL_PROTOCOLS.map((p) => p.name),
        );
      }
      this.track(upgrade);
      const ws = await this.upgrader.upgrade(req, socket, head, protocol.name);
      if (ws) void serveWebSocketRemoteCommand(ws, protocol, kind, loc, opts);
      return;
    }
    const protocol = negotiateStreamProtocol(req, REMOTE_COMMAND_SPDY_PROTOCOLS);
    this.track(upgrade);
    const conn = acceptSpdyUpgrade(socket, head, protocol);
    void serveSpdyRemoteCommand(conn, socket, protocol, kind, loc, opts, timing);
  }

  /** Ends every session (used on shutdown). */
  closeAll(): void {
    for (const s of [...this.sockets]) s.destroy();
  }

  private track(upgrade: UpgradeContext): void {
    upgrade.takeOver();
    const { socket } = upgrade;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}

/** The WebSocket handshake refusal (non-101, so kubectl falls back to SPDY). */
function unsupportedProtocols(offered: string[], supported: string[]) {
  return badRequest(
    `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${supported.join(' ')}]`,
  );
}
