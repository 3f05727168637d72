import { describe, expect, it } from 'vitest';
import {
  CLOSE,
  decodeChannelFrame,
  encodeChannelFrame,
  negotiateChannelProtocol,
  offeredProtocols,
  STDIN,
  STDOUT,
} from './channels.js';

const v5 = negotiateChannelProtocol(['v5.channel.k8s.io'])!;
const b64 = negotiateChannelProtocol(['v4.base64.channel.k8s.io'])!;

describe('channel subprotocol negotiation', () => {
  it("takes the client's first offer the server knows", () => {
    expect(
      negotiateChannelProtocol(['v9.channel.k8s.io', 'v4.channel.k8s.io', 'v5.channel.k8s.io']),
    ).toMatchObject({ name: 'v4.channel.k8s.io', statusJson: true, closeSignal: false, base64: false });
    expect(v5).toMatchObject({ statusJson: true, closeSignal: true });
    expect(negotiateChannelProtocol(['base64.channel.k8s.io'])).toMatchObject({
      base64: true,
      statusJson: false,
    });
  });

  it('speaks plain channel.k8s.io when nothing is offered, and refuses unknown offers', () => {
    expect(negotiateChannelProtocol([])).toMatchObject({ name: '', base64: false, statusJson: false });
    expect(negotiateChannelProtocol(['SPDY/3.1+portforward.k8s.io'])).toBeUndefined();
  });

  it('splits Sec-WebSocket-Protocol headers, repeated or comma-separated', () => {
    expect(offeredProtocols('v5.channel.k8s.io, v4.channel.k8s.io')).toEqual([
      'v5.channel.k8s.io',
      'v4.channel.k8s.io',
    ]);
    expect(offeredProtocols(['a', 'b,c'])).toEqual(['a', 'b', 'c']);
    expect(offeredProtocols(undefined)).toEqual([]);
  });
});

describe('channel frames', () => {
  it('prefixes binary frames with the channel byte', () => {
    const frame = encodeChannelFrame(v5, STDOUT, Buffer.from('hi'));
    expect(frame).toEqual(Buffer.from([1, 0x68, 0x69]));
    expect(decodeChannelFrame(v5, frame as Buffer)).toEqual({ channel: 1, data: Buffer.from('hi') });
    expect(decodeChannelFrame(v5, Buffer.from([CLOSE, STDIN]))).toEqual({
      channel: CLOSE,
      data: Buffer.from([STDIN]),
    });
  });

  it('writes base64 frames as a channel digit and base64 text', () => {
    expect(encodeChannelFrame(b64, STDOUT, Buffer.from('foo\n'))).toBe('1Zm9vCg==');
    expect(decodeChannelFrame(b64, Buffer.from('0Zm9vCg=='))).toEqual({
      channel: 0,
      data: Buffer.from('foo\n'),
    });
  });

  it('ignores empty messages and undecodable base64', () => {
    expect(decodeChannelFrame(v5, Buffer.alloc(0))).toBeUndefined();
    expect(decodeChannelFrame(b64, Buffer.from('0not base64!'))).toBeUndefined();
    expect(decodeChannelFrame(v5, Buffer.from([STDIN]))).toEqual({ channel: STDIN, data: Buffer.alloc(0) });
  });
});
