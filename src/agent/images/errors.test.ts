import { describe, expect, it } from 'vitest';
import { criErrorMessage, ImageError, ImagePullError } from './errors.js';

describe('criErrorMessage', () => {
  it('wraps a pull failure in the gRPC status text the kubelet prints', () => {
    const ref = '127.0.0.1:5000/library/busybox:nope';
    const err = new ImagePullError(
      'NotFound',
      ref,
      `failed to resolve reference "${ref}": ${ref}: not found`,
    );
    expect(criErrorMessage(err)).toBe(
      `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`,
    );
  });

  it('maps invalid references to InvalidArgument and everything else to Unknown', () => {
    expect(criErrorMessage(new ImagePullError('InvalidReference', 'A', 'bad'))).toMatch(
      /^rpc error: code = InvalidArgument desc = /,
    );
    expect(criErrorMessage(new ImagePullError('Network', 'x', 'refused'))).toMatch(
      /^rpc error: code = Unknown desc = failed to pull and unpack image "x": refused$/,
    );
    expect(criErrorMessage(new ImageError('NotFound', 'content digest sha256:1: not found'))).toBe(
      'rpc error: code = NotFound desc = content digest sha256:1: not found',
    );
    expect(criErrorMessage(new Error('boom'))).toBe('rpc error: code = Unknown desc = boom');
  });
});
