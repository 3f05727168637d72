/**
 * The framed protocol spoken on a container supervisor's attach socket (`<containerDir>/attach.sock`, see
 * supervisor.ts). Every message is one frame: 1 byte type, 4 bytes big-endian payload length, payload.
 *
 * client → supervisor:
 *   OPEN         JSON {stdin, stdout, stderr}: which streams this client attaches (sent first)
 *   STDIN        bytes for the container's stdin
 *   CLOSE_STDIN  the client's stdin ended (kubectl closed it)
 *   RESIZE       JSON {width, height}: terminal size for a tty container
 * supervisor → client:
 *   HELLO        JSON {stdin, stdinOnce, tty}: how the container was started (sent on connect)
 *   STDOUT       container output (all of it for a tty container)
 *   STDERR       container error output
 *   EXIT         JSON {exitCode}: the container exited; the supervisor then ends the connection
 *
 * encodeFrame and frameDecoder are also pasted verbatim (Function.prototype.toString) into the supervisor
 * script, so they must stay self-contained: no imports, no references to anything outside their bodies.
 */

export const FrameType = {
  OPEN: 1,
  STDIN: 2,
  CLOSE_STDIN: 3,
  RESIZE: 4,
  HELLO: 5,
  STDOUT: 6,
  STDERR: 7,
  EXIT: 8,
} as const;

/** What the supervisor says about the container in HELLO. */
export interface AttachHello {
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
}

/** One frame: type byte, u32 big-endian length, payload. */
export function encodeFrame(type: number, payload?: Buffer | string): Buffer {
  const body = payload === undefined ? Buffer.alloc(0) : Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/**
 * A push parser: feed it chunks as they arrive, it calls onFrame for every complete frame. Throws on a
 * frame larger than maxPayload (default 16 MiB), which means the peer does not speak this protocol.
 */
export function frameDecoder(
  onFrame: (type: number, payload: Buffer) => void,
  maxPayload = 16 * 1024 * 1024,
): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (len > maxPayload) throw new Error(`attach frame of ${len} bytes exceeds ${maxPayload}`);
      if (buf.length < 5 + len) break;
      const type = buf.readUInt8(0);
      const payload = buf.subarray(5, 5 + len);
      buf = buf.subarray(5 + len);
      onFrame(type, payload);
    }
  };
}
