import { describe, expect, it } from 'vitest';
import { execStartError, runtimeLogErrors } from './exec.js';
import { goDialError, portForwardDialError } from './port-forward.js';
import { scriptArgs, shellJoin, shellQuote } from './terminal.js';
import { run } from './util.js';

describe('shell quoting for script -c', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('/usr/sbin/runc')).toBe('/usr/sbin/runc');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('round-trips any argv through sh', async () => {
    const argv = ['a b', "it's", '$HOME', '`id`', '"q"', 'x\ny', '*', '-n', '\\', 'ü', ';', '&&', '', '!'];
    const r = await run('/bin/sh', ['-c', `printf '%s\\0' ${shellJoin(argv)}`]);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(argv);
  });

  it('builds quiet script arguments that exec the command and return its code', () => {
    expect(scriptArgs(['runc', 'exec', 'id', 'sh', '-c', 'echo hi'])).toEqual([
      '-q',
      '-e',
      '-c',
      "exec runc exec id sh -c 'echo hi'",
      '/dev/null',
    ]);
  });
});

describe('runtime errors as containerd reports them', () => {
  it('reads error lines of a runc JSON log', () => {
    const log = [
      '{"level":"info","msg":"starting"}',
      '{"level":"error","msg":"exec failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH","time":"x"}',
      '',
    ].join('\n');
    expect(runtimeLogErrors(log)).toEqual([
      'exec failed: unable to start container process: exec: "nope": executable file not found in $PATH',
    ]);
  });

  it('wraps a refused exec like containerd', () => {
    expect(execStartError('abc', 'exec failed: unable to start container process: exec: "nope": nope')).toBe(
      'failed to exec in container: failed to start exec "abc": OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": nope: unknown',
    );
  });

  it('formats a refused port-forward like containerd, with Go dial errors', () => {
    expect(goDialError('tcp6', 80, { code: 'EADDRNOTAVAIL', message: 'x' })).toBe(
      'dial tcp6 [::1]:80: connect: cannot assign requested address',
    );
    expect(
      portForwardDialError(
        8080,
        'ordinal-abcd1234',
        { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:8080' },
        { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED ::1:8080' },
      ),
    ).toBe(
      'failed to connect to localhost:8080 inside namespace "ordinal-abcd1234", IPv4: dial tcp4 127.0.0.1:8080: connect: connection refused IPv6 dial tcp6 [::1]:8080: connect: connection refused ',
    );
  });
});
