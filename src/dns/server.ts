/**
 * The cluster DNS server: UDP and TCP on one port, answers from a
 * ClusterDnsIndex fed by informers (Namespaces, Services, EndpointSlices and,
 * in `pods verified` mode, Pods), everything else forwarded to upstream
 * nameservers (UDP, retried over TCP when the upstream truncates; SERVFAIL
 * when none answers in time).
 *
 * UDP answers larger than 512 bytes (or the client's EDNS0 buffer size) are
 * truncated: Additional records go first, then Answer records, and TC is set
 * when answers were dropped so the client retries over TCP (RFC 1035 4.2.1,
 * RFC 6891 6.2.5, as CoreDNS does).
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, isIP, type Server, type Socket as TcpSocket } from 'node:net';
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet';
import * as dnsPacket from 'dns-packet';
import { type EventHandlers, InformerFactory } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import { type Clock, realClock } from '../client/workqueue.js';
import { ENDPOINTSLICES, NAMESPACES, PODS, SERVICES } from '../controllers/util/resources.js';
import { ClusterDnsIndex, type PodMode } from './records.js';

export interface ClusterDnsOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port for UDP and TCP (default 0: pick a free one). */
  port?: number;
  /** Default cluster.local. */
  clusterDomain?: string;
  /** `host` or `host:port` (`[v6]:port`); default: the nameservers of /etc/resolv.conf minus our own address. */
  upstreams?: string[];
  /** TTL of answers (CoreDNS kubernetes plugin default: 5). */
  ttl?: number;
  /** Pod records: `insecure` (default, as the kubeadm Corefile), `verified` or `disabled`. */
  pods?: PodMode;
  /** How long to wait for each upstream (default 2000 ms). */
  upstreamTimeoutMs?: number;
  clock?: Clock;
}

export interface ClusterDns {
  host: string;
  port: number;
  /** The record index (for tests and diagnostics). */
  index: ClusterDnsIndex;
  stop(): Promise<void>;
}

const FLAG_AA = dnsPacket.AUTHORITATIVE_ANSWER;
const FLAG_TC = dnsPacket.TRUNCATED_RESPONSE;
const FLAG_RD = dnsPacket.RECURSION_DESIRED;
const RCODE_FORMERR = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NOTIMP = 4;
const MAX_EDNS_SIZE = 4096;

interface Upstream {
  host: string;
  port: number;
}

/** Parses `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]:53`. */
export function parseUpstream(s: string): Upstream {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (m) return { host: m[1]!, port: m[2] ? Number(m[2]) : 53 };
  if (isIP(s) === 6) return { host: s, port: 53 };
  const i = s.lastIndexOf(':');
  if (i > 0) return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  return { host: s, port: 53 };
}

/** The `nameserver` lines of a resolv.conf. */
export function resolvConfNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) out.push(m[1]!.replace(/%.*$/, ''));
  }
  return out;
}

function defaultUpstreams(): string[] {
  try {
    return resolvConfNameservers(readFileSync('/etc/resolv.conf', 'utf8'));
  } catch {
    return [];
  }
}

function opt(size: number): OptAnswer {
  return {
    name: '.',
    type: 'OPT',
    udpPayloadSize: size,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

function clientOpt(q: DecodedPacket): OptAnswer | undefined {
  return (q.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
}

/** The largest UDP answer the asker accepts. */
export function udpLimit(q: DecodedPacket): number {
  const o = clientOpt(q);
  return o ? Math.min(Math.max(o.udpPayloadSize, 512), MAX_EDNS_SIZE) : 512;
}

/** Drops Additional then Answer records until the packet fits; sets TC when answers were dropped. */
export function truncate(p: Packet, limit: number): Buffer {
  let buf = dnsPacket.encode(p);
  if (buf.length <= limit) return buf;
  const optRecs = (p.additionals ?? []).filter((a) => a.type === 'OPT');
  const fit: Packet = { ...p, additionals: optRecs, authorities: [] };
  const answers = p.answers ?? [];
  let lo = 0;
  let hi = answers.length;
  // Largest prefix of answers that fits.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (dnsPacket.encodingLength({ ...fit, answers: answers.slice(0, mid) }) <= limit) lo = mid;
    else hi = mid - 1;
  }
  const dropped = lo < answers.length;
  const out: Packet = { ...fit, answers: answers.slice(0, lo) };
  if (!dropped) out.authorities = p.authorities;
  if (dropped) out.flags = (out.flags ?? 0) | FLAG_TC;
  buf = dnsPacket.encode(out);
  if (!dropped && buf.length > limit) {
    buf = dnsPacket.encode({ ...out, authorities: [], flags: (out.flags ?? 0) | FLAG_TC });
  }
  return buf;
}

// ---- upstream exchange ----------------------------------------------------------------

function udpExchange(up: Upstream, query: Buffer, timeoutMs: number, clock: Clock): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(up.host) === 6 ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const done = (err: Error | undefined, buf?: Buffer): void => {
      clock.clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(buf!);
    };
    const timer = clock.setTimeout(() => done(new Error(`timeout from ${up.host}:${up.port}`)), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(undefined, msg);
    });
    sock.send(query, up.port, up.host);
  });
}

function tcpExchange(up: Upstream, query: Buffer, timeoutMs: number, clock: Clock): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const conn = createConnection({ host: up.host, port: up.port });
    let data = Buffer.alloc(0);
    let finished = false;
    const done = (err: Error | undefined, buf?: Buffer): void => {
      if (finished) return;
      finished = true;
      clock.clearTimeout(timer);
      conn.destroy();
      if (err) reject(err);
      else resolve(buf!);
    };
    const timer = clock.setTimeout(
      () => done(new Error(`tcp timeout from ${up.host}:${up.port}`)),
      timeoutMs,
    );
    conn.on('error', (e) => done(e));
    conn.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      conn.write(Buffer.concat([len, query]));
    });
    conn.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        done(undefined, data.subarray(2, 2 + data.readUInt16BE(0)));
      }
    });
    conn.on('end', () => done(new Error('tcp connection closed')));
  });
}

/** Sends `query` to each upstream in turn; the first answer wins (UDP, then TCP if truncated). */
export async function forwardQuery(
  upstreams: Upstream[],
  query: Buffer,
  timeoutMs: number,
  clock: Clock = realClock,
): Promise<Buffer | undefined> {
  for (const up of upstreams) {
    try {
      const res = await udpExchange(up, query, timeoutMs, clock);
      if (res.readUInt16BE(2) & FLAG_TC) return await tcpExchange(up, query, timeoutMs, clock);
      return res;
    } catch {
      // try the next upstream
    }
  }
  return undefined;
}

// ---- the server -----------------------------------------------------------------------

export async function startClusterDns(client: Client, opts: ClusterDnsOptions = {}): Promise<ClusterDns> {
  const host = opts.host ?? '127.0.0.1';
  const clock = opts.clock ?? realClock;
  const timeoutMs = opts.upstreamTimeoutMs ?? 2000;
  const index = new ClusterDnsIndex({
    clusterDomain: opts.clusterDomain,
    ttl: opts.ttl,
    pods: opts.pods,
    now: () => Math.floor(clock.now() / 1000),
  });

  const factory = new InformerFactory(client, { clock });
  const feed = (
    res: typeof SERVICES,
    up: (o: Parameters<ClusterDnsIndex['upsertService']>[0]) => void,
    del: typeof up,
  ): void => {
    const h: EventHandlers = { onAdd: up, onUpdate: (_o, n) => up(n), onDelete: del };
    factory.forResource(res).addEventHandler(h);
  };
  feed(
    NAMESPACES,
    (o) => index.upsertNamespace(o),
    (o) => index.deleteNamespace(o),
  );
  feed(
    SERVICES,
    (o) => index.upsertService(o),
    (o) => index.deleteService(o),
  );
  feed(
    ENDPOINTSLICES,
    (o) => index.upsertSlice(o),
    (o) => index.deleteSlice(o),
  );
  if (index.podMode === 'verified') {
    feed(
      PODS,
      (o) => index.upsertPod(o),
      (o) => index.deletePod(o),
    );
  }
  factory.start();

  const family = isIP(host) === 6 ? 'udp6' : 'udp4';
  let udp: Socket | undefined;
  let tcp: Server | undefined;
  const conns = new Set<TcpSocket>();
  let port = opts.port ?? 0;
  let upstreams: Upstream[] = [];
  let synced = false;

  const answer = async (raw: Buffer, overUdp: boolean): Promise<Buffer | undefined> => {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(raw);
    } catch {
      if (raw.length < 12) return undefined;
      const h = Buffer.from(raw.subarray(0, 12));
      h.writeUInt16BE(0x8000 | (h.readUInt16BE(2) & 0x7900) | RCODE_FORMERR, 2);
      h.fill(0, 4);
      return h;
    }
    if (q.type === 'response') return undefined;
    const copt = clientOpt(q);
    const base: Packet = {
      type: 'response',
      id: q.id,
      flags: (q.flags ?? 0) & FLAG_RD,
      questions: q.questions,
      answers: [],
      authorities: [],
      additionals: copt ? [opt(MAX_EDNS_SIZE)] : [],
    };
    const limit = overUdp ? udpLimit(q) : 65535;
    const opcode = ((q.flags ?? 0) >> 11) & 0xf;
    if (opcode !== 0) return truncate({ ...base, flags: (base.flags ?? 0) | RCODE_NOTIMP }, limit);
    const question = q.questions?.[0];
    if (!question || (q.questions?.length ?? 0) !== 1) {
      return truncate({ ...base, flags: (base.flags ?? 0) | RCODE_FORMERR }, limit);
    }
    const res =
      synced || !index.inZone(question.name) ? index.resolve(question.name, question.type) : undefined;
    if (res === undefined) {
      // Not synced yet: CoreDNS answers SERVFAIL rather than a wrong NXDOMAIN.
      return truncate({ ...base, flags: (base.flags ?? 0) | RCODE_SERVFAIL }, limit);
    }
    if (res.kind === 'forward') {
      const up = await forwardQuery(upstreams, raw, timeoutMs, clock);
      if (!up) return truncate({ ...base, flags: (base.flags ?? 0) | RCODE_SERVFAIL }, limit);
      if (up.length <= limit) return up;
      try {
        const decoded = dnsPacket.decode(up);
        return truncate({ ...decoded, type: 'response', flags: decoded.flags ?? 0 }, limit);
      } catch {
        return truncate({ ...base, flags: (base.flags ?? 0) | RCODE_SERVFAIL }, limit);
      }
    }
    const answers: Answer[] = [...res.answers];
    if (res.chase) {
      const sub = dnsPacket.encode({
        type: 'query',
        id: Math.floor(Math.random() * 65536),
        flags: FLAG_RD,
        questions: [{ name: res.chase.name, type: res.chase.type, class: 'IN' }],
      });
      const up = await forwardQuery(upstreams, sub, timeoutMs, clock);
      if (up) {
        try {
          answers.push(...(dnsPacket.decode(up).answers ?? []));
        } catch {
          // keep the CNAME alone
        }
      }
    }
    return truncate(
      {
        ...base,
        flags: (base.flags ?? 0) | FLAG_AA | res.rcode,
        answers,
        authorities: res.authorities,
        additionals: [...res.additionals, ...(base.additionals ?? [])],
      },
      limit,
    );
  };

  // Bind UDP and TCP to the same port (retrying when port 0 gave a UDP port TCP cannot have).
  // A failure stops the informers started above, so nothing outlives the error.
  try {
    await bindBoth();
  } catch (e) {
    await factory.stop();
    throw e;
  }

  async function bindBoth(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const u = createSocket(family);
      await new Promise<void>((resolve, reject) => {
        const failed = (err: Error): void => {
          u.close();
          reject(err);
        };
        u.once('error', failed);
        u.bind(port, host, () => {
          u.off('error', failed);
          resolve();
        });
      });
      const udpPort = u.address().port;
      const t = createServer((c) => serveTcp(c));
      try {
        await new Promise<void>((resolve, reject) => {
          t.once('error', reject);
          t.listen(udpPort, host, () => {
            t.off('error', reject);
            resolve();
          });
        });
        udp = u;
        tcp = t;
        port = udpPort;
        break;
      } catch (e) {
        u.close();
        if ((opts.port ?? 0) !== 0 || attempt >= 10) throw e;
      }
    }
  }

  const own = (up: Upstream): boolean => up.port === port && (up.host === host || up.host === '0.0.0.0');
  upstreams = (opts.upstreams ?? defaultUpstreams()).map(parseUpstream).filter((u) => !own(u));

  const udpSock = udp!;
  udpSock.on('message', (msg, rinfo) => {
    void answer(msg, true).then(
      (out) => {
        if (out) udpSock.send(out, rinfo.port, rinfo.address);
      },
      (err: unknown) => console.error('cluster dns:', err),
    );
  });
  udpSock.on('error', (err) => console.error('cluster dns udp:', err));

  function serveTcp(c: TcpSocket): void {
    conns.add(c);
    let buf = Buffer.alloc(0);
    c.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void answer(Buffer.from(msg), false).then(
          (out) => {
            if (!out || c.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            c.write(Buffer.concat([len, out]));
          },
          (err: unknown) => console.error('cluster dns:', err),
        );
      }
    });
    c.on('error', () => c.destroy());
    c.on('close', () => conns.delete(c));
  }

  await factory.waitForSync();
  synced = true;

  return {
    host,
    port,
    index,
    async stop() {
      for (const c of conns) c.destroy();
      await Promise.all([
        new Promise<void>((r) => udpSock.close(() => r())),
        new Promise<void>((r) => tcp!.close(() => r())),
        factory.stop(),
      ]);
    },
  };
}
