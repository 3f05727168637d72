/**
 * Terminal sizes on the resize channel/stream: kubectl writes JSON objects
 * `{"Width":80,"Height":24}` back to back (Go's json.Encoder, one per line,
 * but a stream may split or join them anywhere). TerminalSizeDecoder turns
 * those bytes into sizes; ResizeFeed hands them to the node agent, replaying
 * the latest size to a listener registered late.
 */
import type { TerminalSize } from '../pod-streams.js';

/**
 * Incremental decoder. Like upstream's json.Decoder loop it stops at the
 * first value that is not a size object and ignores everything after it.
 */
export class TerminalSizeDecoder {
  private pending = '';
  private broken = false;

  /** Feeds bytes; returns the sizes completed by them. */
  push(chunk: Uint8Array | string): TerminalSize[] {
    if (this.broken) return [];
    this.pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const sizes: TerminalSize[] = [];
    for (;;) {
      const start = this.pending.search(/\S/);
      if (start < 0) {
        this.pending = '';
        return sizes;
      }
      if (this.pending[start] !== '{') return this.fail(sizes);
      const end = objectEnd(this.pending, start);
      if (end < 0) {
        this.pending = this.pending.slice(start);
        return sizes;
      }
      const size = parseSize(this.pending.slice(start, end + 1));
      if (!size) return this.fail(sizes);
      sizes.push(size);
      this.pending = this.pending.slice(end + 1);
    }
  }

  private fail(sizes: TerminalSize[]): TerminalSize[] {
    this.broken = true;
    this.pending = '';
    return sizes;
  }
}

/** Index of the `}` closing the object that opens at `start`, or -1 if it is incomplete. */
function objectEnd(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** A TerminalSize from one JSON object; field names match case-insensitively, as Go's decoder does. */
function parseSize(text: string): TerminalSize | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const size: TerminalSize = { width: 0, height: 0 };
  for (const [k, n] of Object.entries(v)) {
    const key = k.toLowerCase();
    if (key !== 'width' && key !== 'height') continue;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff) return undefined;
    size[key] = n;
  }
  return size;
}

/** Delivers sizes to the registered listeners; a new listener first gets the latest size. */
export class ResizeFeed {
  private last: TerminalSize | undefined;
  private readonly listeners: Array<(size: TerminalSize) => void> = [];

  push(size: TerminalSize): void {
    this.last = size;
    for (const l of this.listeners) l(size);
  }

  onResize = (listener: (size: TerminalSize) => void): void => {
    this.listeners.push(listener);
    if (this.last) listener(this.last);
  };
}
