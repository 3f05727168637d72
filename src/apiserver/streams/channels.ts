/**
 * The WebSocket "channel" subprotocols of exec and attach
 * (apimachinery util/httpstream/wsstream, util/remotecommand): every message
 * starts with its channel — 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize —
 * as a byte (binary protocols) or as an ASCII digit followed by base64 data
 * (base64 protocols). v5 adds channel 255: `[255, n]` closes stream n (stdin
 * EOF). v4 and later carry a JSON metav1.Status on the error channel; older
 * protocols carry the plain error message.
 */

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
/** v5: `[CLOSE, channel]` half-closes that channel. */
export const CLOSE = 255;

export interface ChannelProtocol {
  /** Subprotocol name ('' when the client offered none). */
  name: string;
  /** Text frames: channel digit + base64 payload. */
  base64: boolean;
  /** The error channel carries a JSON Status (v4+) rather than the message text. */
  statusJson: boolean;
  /** Channel 255 close frames are understood (v5). */
  closeSignal: boolean;
}

/** What we accept, best first. */
export const CHANNEL_PROTOCOLS: readonly ChannelProtocol[] = [
  { name: 'v5.channel.k8s.io', base64: false, statusJson: true, closeSignal: true },
  { name: 'v4.channel.k8s.io', base64: false, statusJson: true, closeSignal: false },
  { name: 'v4.base64.channel.k8s.io', base64: true, statusJson: true, closeSignal: false },
  { name: 'channel.k8s.io', base64: false, statusJson: false, closeSignal: false },
  { name: 'base64.channel.k8s.io', base64: true, statusJson: false, closeSignal: false },
];

/** The subprotocols offered in a Sec-WebSocket-Protocol header, in the client's order. */
export function offeredProtocols(header: string | string[] | undefined): string[] {
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/**
 * The protocol to speak: the client's first offer we know (upstream's wsstream
 * handshake); with no offer at all, plain channel.k8s.io. Undefined when
 * nothing offered is supported.
 */
export function negotiateChannelProtocol(offered: readonly string[]): ChannelProtocol | undefined {
  if (offered.length === 0)
    return { ...CHANNEL_PROTOCOLS.find((p) => p.name === 'channel.k8s.io')!, name: '' };
  for (const name of offered) {
    const p = CHANNEL_PROTOCOLS.find((c) => c.name === name);
    if (p) return p;
  }
  return undefined;
}

/** One message for `channel`: a Buffer for binary protocols, a string for base64 ones. */
export function encodeChannelFrame(p: ChannelProtocol, channel: number, data: Uint8Array): Buffer | string {
  if (p.base64) return String.fromCharCode(48 + channel) + Buffer.from(data).toString('base64');
  const frame = Buffer.allocUnsafe(data.length + 1);
  frame[0] = channel;
  frame.set(data, 1);
  return frame;
}

export interface ChannelFrame {
  channel: number;
  data: Buffer;
}

/**
 * Splits a received message into channel and payload. Undefined for empty
 * messages (ignored upstream) and undecodable base64 payloads.
 */
export function decodeChannelFrame(p: ChannelProtocol, message: Buffer): ChannelFrame | undefined {
  if (message.length === 0) return undefined;
  if (!p.base64) return { channel: message[0]!, data: message.subarray(1) };
  const channel = message[0]! - 48;
  const text = message.subarray(1).toString('latin1');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return { channel, data: Buffer.from(text, 'base64') };
}
