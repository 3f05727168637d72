import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { PodStreams, type PodStreamTarget } from '../pod-streams.js';
import { checkPortForwardStream } from './port-forward.js';
import {
  checkPortForward,
  isConnectSubresource,
  locate,
  remoteCommandOptions,
  resolveContainer,
} from './request.js';

function pod(spec: Record<string, unknown>, phase = 'Running'): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'ns' },
    spec,
    status: { phase },
  };
}
const one = pod({ nodeName: 'n1', containers: [{ name: 'main' }] });
const many = pod({
  nodeName: 'n1',
  initContainers: [{ name: 'init' }],
  containers: [{ name: 'a' }, { name: 'b' }],
  ephemeralContainers: [{ name: 'debug' }],
});
const target: PodStreamTarget = {
  exec: async () => 0,
  attach: async () => undefined,
  portForward: async () => {
    throw new Error('unused');
  },
};

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
}

describe('connect request checks', () => {
  it('know the connect subresources', () => {
    expect(['exec', 'attach', 'portforward', 'log', undefined].map(isConnectSubresource)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('resolve the container as upstream validateContainer does', () => {
    expect(resolveContainer(one, null)).toBe('main');
    expect(resolveContainer(many, 'init')).toBe('init');
    expect(resolveContainer(many, 'debug')).toBe('debug');
    expect(message(() => resolveContainer(one, 'nope'))).toBe('container nope is not valid for pod web');
    expect(message(() => resolveContainer(many, ''))).toBe(
      'a container name must be specified for pod web, choose one of: [init a b debug]',
    );
    expect(message(() => resolveContainer(pod({ containers: [] }), null))).toBe(
      'a container name must be specified for pod web',
    );
  });

  it('need a host and a node with a stream target', () => {
    const streams = new PodStreams();
    streams.register('n1', target);
    const q = new URLSearchParams();
    expect(locate('exec', one, q, streams)).toMatchObject({ container: 'main', target });
    expect(message(() => locate('exec', pod({ containers: [{ name: 'c' }] }), q, streams))).toBe(
      'pod web does not have a host assigned',
    );
    expect(
      message(() => locate('attach', pod({ nodeName: 'sim-0', containers: [{ name: 'c' }] }), q, streams)),
    ).toBe(
      'pod web runs on node sim-0, which runs no processes (a simulated node): attach needs real pods (ordinal up --runtime oci)',
    );
    // Container errors come first, as upstream.
    expect(
      message(() =>
        locate('exec', pod({ containers: [{ name: 'c' }] }), new URLSearchParams('container=x'), streams),
      ),
    ).toBe('container x is not valid for pod web');
  });

  it('read stream options like upstream parameter conversion and the kubelet', () => {
    const q = (s: string) => new URLSearchParams(s);
    expect(
      remoteCommandOptions('exec', one, q('command=ls&command=-l&stdin=&stdout=1&stderr=FALSE')),
    ).toEqual({
      stdin: true,
      stdout: true,
      stderr: false,
      tty: false,
      command: ['ls', '-l'],
    });
    expect(remoteCommandOptions('attach', one, q('stdout=true&stderr=true&tty=true&command=x'))).toEqual({
      stdin: false,
      stdout: true,
      stderr: false,
      tty: true,
      command: [],
    });
    expect(message(() => remoteCommandOptions('exec', one, q('command=ls&stdout=0')))).toBe(
      'you must specify at least 1 of stdin, stdout, stderr',
    );
    expect(message(() => remoteCommandOptions('exec', one, q('stdout=true')))).toBe(
      'you must specify at least 1 command',
    );
    expect(message(() => remoteCommandOptions('exec', pod({}, 'Failed'), q('stdout=true')))).toBe(
      'cannot exec into a container in a completed pod; current phase is Failed',
    );
    expect(message(() => remoteCommandOptions('attach', pod({}, 'Succeeded'), q('stdout=true')))).toBe(
      'cannot attach a container in a completed pod; current phase is Succeeded',
    );
    expect(message(() => checkPortForward(pod({}, 'Succeeded')))).toBe(
      'unable to forward port because pod is not running. Current status=Succeeded',
    );
  });

  it('check port-forward stream headers as the kubelet does', () => {
    expect(checkPortForwardStream({ port: '80', streamtype: 'data' })).toBeUndefined();
    expect(checkPortForwardStream({ port: '', streamtype: 'data' })).toBe('"port" header is required');
    expect(checkPortForwardStream({ port: 'x', streamtype: 'data' })).toBe('unable to parse "x" as a port');
    expect(checkPortForwardStream({ port: '70000', streamtype: 'data' })).toBe(
      'unable to parse "70000" as a port',
    );
    expect(checkPortForwardStream({ port: '0', streamtype: 'data' })).toBe('port "0" must be > 0');
    expect(checkPortForwardStream({ port: '80', streamtype: '' })).toBe('"streamType" header is required');
    expect(checkPortForwardStream({ port: '80', streamtype: 'stdin' })).toBe('invalid stream type "stdin"');
  });
});
