/** Test helpers: ask a DNS server over real UDP or TCP with dns-packet. */
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import type { DecodedPacket, Packet, RecordType } from 'dns-packet';
import * as dnsPacket from 'dns-packet';

export interface QueryOptions {
  tcp?: boolean;
  /** Advertise this EDNS0 UDP size (no OPT record when undefined). */
  edns?: number;
  timeoutMs?: number;
}

/** A decoded reply with the raw bytes and the rcode name (NOERROR, NXDOMAIN, SERVFAIL, ...). */
export type Reply = DecodedPacket & { raw: Buffer; rcode: string };

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

let nextId = 1;

export function queryPacket(name: string, type: RecordType, edns?: number): Packet {
  const p: Packet = {
    type: 'query',
    id: nextId++ & 0xffff,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
  };
  if (edns !== undefined) {
    p.additionals = [
      {
        name: '.',
        type: 'OPT',
        udpPayloadSize: edns,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ];
  }
  return p;
}

/** Sends one query and returns the raw reply. */
export function exchange(host: string, port: number, msg: Buffer, opts: QueryOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    if (!opts.tcp) {
      const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        sock.close();
        reject(new Error(`no UDP answer from ${host}:${port}`));
      }, timeoutMs);
      sock.on('message', (buf) => {
        clearTimeout(timer);
        sock.close();
        resolve(buf);
      });
      sock.send(msg, port, host);
      return;
    }
    const c = createConnection({ host, port });
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no TCP answer from ${host}:${port}`));
    }, timeoutMs);
    c.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      c.write(Buffer.concat([len, msg]));
    });
    c.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        clearTimeout(timer);
        c.destroy();
        resolve(data.subarray(2, 2 + data.readUInt16BE(0)));
      }
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function query(
  host: string,
  port: number,
  name: string,
  type: RecordType,
  opts: QueryOptions = {},
): Promise<Reply> {
  const raw = await exchange(host, port, dnsPacket.encode(queryPacket(name, type, opts.edns)), opts);
  const d = dnsPacket.decode(raw);
  // dns-packet decodes the rcode but its types omit it.
  const rcode = RCODES[(d.flags ?? 0) & 0xf] ?? `RCODE_${(d.flags ?? 0) & 0xf}`;
  return { ...d, raw, rcode };
}
