import { describe, expect, it } from 'vitest';
import type { TerminalSize } from '../pod-streams.js';
import { ResizeFeed, TerminalSizeDecoder } from './terminal-size.js';

describe('TerminalSizeDecoder', () => {
  it('decodes sizes written back to back, split anywhere', () => {
    const d = new TerminalSizeDecoder();
    expect(d.push('{"Width":80,"Height":24}\n{"Wid')).toEqual([{ width: 80, height: 24 }]);
    expect(d.push('th":100,')).toEqual([]);
    expect(d.push('"Height":30}{"Width":1,"Height":2}\n')).toEqual([
      { width: 100, height: 30 },
      { width: 1, height: 2 },
    ]);
  });

  it('matches field names case-insensitively and defaults missing ones to 0, as Go does', () => {
    expect(new TerminalSizeDecoder().push(Buffer.from(' {"width":7}'))).toEqual([{ width: 7, height: 0 }]);
  });

  it('stops at the first value that is not a size', () => {
    const d = new TerminalSizeDecoder();
    expect(d.push('{"Width":1,"Height":1} [1] {"Width":2,"Height":2}')).toEqual([{ width: 1, height: 1 }]);
    expect(d.push('{"Width":3,"Height":3}')).toEqual([]);
    expect(new TerminalSizeDecoder().push('{"Width":-1}')).toEqual([]);
  });
});

describe('ResizeFeed', () => {
  it('replays only the latest size to a late listener, then delivers new ones', () => {
    const feed = new ResizeFeed();
    feed.push({ width: 1, height: 1 });
    feed.push({ width: 2, height: 2 });
    const got: TerminalSize[] = [];
    feed.onResize((s) => got.push(s));
    feed.push({ width: 3, height: 3 });
    expect(got).toEqual([
      { width: 2, height: 2 },
      { width: 3, height: 3 },
    ]);
  });
});
