import { describe, expect, it } from 'vitest';
import { badRequest } from '../../api/errors.js';
import { encodeStatus, exitCodeStatus, failureStatus, successStatus } from './status.js';

describe('session statuses', () => {
  it('serialise exactly as the kubelet writes them', () => {
    expect(JSON.stringify(successStatus())).toBe('{"metadata":{},"status":"Success"}');
    expect(JSON.stringify(exitCodeStatus(['sh', '-c', 'exit 3'], 3))).toBe(
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
  });

  it('keep StatusErrors and wrap other failures as InternalError', () => {
    expect(failureStatus('exec', badRequest('container web is not running'))).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'container web is not running',
      reason: 'BadRequest',
      code: 400,
    });
    expect(failureStatus('attach', new Error('boom'))).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: error attaching to container: boom',
      reason: 'InternalError',
      details: { causes: [{ message: 'error attaching to container: boom' }] },
      code: 500,
    });
    expect(failureStatus('exec', new Error('boom')).message).toBe(
      'Internal error occurred: error executing command in container: boom',
    );
  });

  it('are JSON for v4+ and the bare message (nothing on success) before', () => {
    const exit = exitCodeStatus(['false'], 1);
    expect(JSON.parse(encodeStatus(exit, true).toString())).toEqual(exit);
    expect(encodeStatus(exit, false).toString()).toBe(
      'command terminated with non-zero exit code: error executing command [false], exit code 1',
    );
    expect(encodeStatus(successStatus(), false)).toHaveLength(0);
  });
});
