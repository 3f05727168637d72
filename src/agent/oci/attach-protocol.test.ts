import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameType, frameDecoder } from './attach-protocol.js';
import { SUPERVISOR_SOURCE } from './supervisor.js';

describe('attach frames', () => {
  it('encodes type, big-endian length and payload', () => {
    expect([...encodeFrame(FrameType.STDIN, 'hi')]).toEqual([FrameType.STDIN, 0, 0, 0, 2, 104, 105]);
    expect([...encodeFrame(FrameType.CLOSE_STDIN)]).toEqual([FrameType.CLOSE_STDIN, 0, 0, 0, 0]);
  });

  it('decodes frames split and merged across chunks', () => {
    const got: [number, string][] = [];
    const push = frameDecoder((t, p) => got.push([t, p.toString()]));
    const bytes = Buffer.concat([
      encodeFrame(FrameType.STDOUT, 'hello'),
      encodeFrame(FrameType.EXIT, '{"exitCode":3}'),
      encodeFrame(FrameType.STDERR, ''),
    ]);
    for (const b of bytes) push(Buffer.from([b]));
    push(
      Buffer.concat([encodeFrame(FrameType.STDOUT, 'a'), encodeFrame(FrameType.STDOUT, 'b').subarray(0, 3)]),
    );
    push(encodeFrame(FrameType.STDOUT, 'b').subarray(3));
    expect(got).toEqual([
      [FrameType.STDOUT, 'hello'],
      [FrameType.EXIT, '{"exitCode":3}'],
      [FrameType.STDERR, ''],
      [FrameType.STDOUT, 'a'],
      [FrameType.STDOUT, 'b'],
    ]);
  });

  it('rejects a frame longer than the limit (a peer that does not speak the protocol)', () => {
    const push = frameDecoder(() => undefined, 10);
    expect(() => push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/exceeds 10/);
  });

  it('the supervisor script embeds working copies of the encoder and decoder', () => {
    // The functions are pasted into the supervisor by source text: run that text and use them.
    const start = SUPERVISOR_SOURCE.indexOf('const T = ');
    const end = SUPERVISOR_SOURCE.indexOf('const tty = ');
    const ctx: Record<string, unknown> = { Buffer };
    runInNewContext(
      `${SUPERVISOR_SOURCE.slice(start, end)}; this.T = T; this.enc = encodeFrame; this.dec = frameDecoder;`,
      ctx,
    );
    expect(ctx.T).toEqual(FrameType);
    const enc = ctx.enc as typeof encodeFrame;
    const got: string[] = [];
    frameDecoder((_t, p) => got.push(p.toString()))(enc(FrameType.STDOUT, 'from supervisor'));
    (ctx.dec as typeof frameDecoder)((_t, p) => got.push(p.toString()))(
      encodeFrame(FrameType.STDIN, 'to it'),
    );
    expect(got).toEqual(['from supervisor', 'to it']);
  });
});
