import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster, waitFor } from '../../../test/integration/harness.js';
import { type Json, rec } from '../../api/json.js';
import type { KObject } from '../../api/types.js';
import type { RemoteCommandIO, TerminalSize } from '../../apiserver/pod-streams.js';
import { PODS } from '../../controllers/util/resources.js';
import { type OciNode, startOciNode } from './agent.js';
import { importTestImage, realAgentSkipReason, TEST_IMAGE } from './testing.js';

const skipReason = realAgentSkipReason('node agent stream tests', [
  [['script', 'nsenter'], 'util-linux (script, nsenter)'],
]);

const IMAGE = TEST_IMAGE;
const BRIDGE = `ordq${process.pid % 100000}`;
const CIDR = `10.254.${process.pid % 200}.0/24`;
const NODE = 'oci-streams';

function io(opts: { stdin?: PassThrough; tty?: boolean; size?: TerminalSize }): {
  io: RemoteCommandIO;
  out: () => string;
} {
  let out = '';
  return {
    io: {
      stdin: opts.stdin,
      stdout: new Writable({
        write(chunk: Buffer, _e, cb) {
          out += chunk.toString();
          cb();
        },
      }),
      tty: opts.tty === true,
      onResize: (l) => {
        if (opts.size) l(opts.size);
      },
      signal: new AbortController().signal,
    },
    out: () => out,
  };
}

describe.skipIf(skipReason !== '')(`node agent streams on runc ${skipReason}`, () => {
  let cluster: TestCluster;
  let node: OciNode;
  let dir: string;
  let ns: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ordinal-node-streams-'));
    await importTestImage(dir, join(dir, 'agent'));
    cluster = await startTestCluster({ nodes: 0, controllers: { dataDir: join(dir, 'controllers') } });
    node = await startOciNode(cluster.client, {
      nodeName: NODE,
      dataDir: join(dir, 'agent'),
      podCidr: CIDR,
      logDir: join(dir, 'logs'),
      bridge: BRIDGE,
      cgroupParent: `ordinal-node-streams-${process.pid}`,
      heartbeatMs: 1_000,
      exitPollMs: 100,
      shutdownGraceMs: 1_000,
      onError: (e: unknown) => console.error('agent:', e),
    });
    ns = await cluster.namespace('streams');
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('run -it: attach to the shell, exit 3, the pod ends Failed with exit code 3; exec by pod name', async () => {
    await cluster.client.create(PODS, ns, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 't' },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        automountServiceAccountToken: false, // nothing here needs the API (and no token volume to set up)
        containers: [{ name: 't', image: IMAGE, command: ['sh'], stdin: true, stdinOnce: true, tty: true }],
      },
    });
    let lastSeen: KObject | undefined;
    const running = await waitFor(
      async () => {
        const p = await cluster.client.get(PODS, ns, 't');
        lastSeen = p;
        return rec(p.status).phase === 'Running' ? p : undefined;
      },
      30_000,
      'pod t Running',
      () => JSON.stringify(lastSeen?.status),
    );
    const target = node.streamTarget();

    const ex = io({});
    expect(await target.exec(running, 't', ['sh', '-c', 'echo "in $(hostname)"; exit 2'], ex.io)).toBe(2);
    expect(ex.out()).toBe('in t\n');

    const stdin = new PassThrough();
    const at = io({ stdin, tty: true, size: { width: 80, height: 24 } });
    const session = target.attach(running, 't', at.io);
    stdin.write('stty size\n');
    await waitFor(async () => (/24 80\r+\n/.test(at.out()) ? true : undefined), 10_000, 'stty output');
    stdin.write('exit 3\n');
    await session;

    // kubectl run -it then waits for the pod to finish and exits with the container's exit code.
    const done: KObject = await waitFor(
      async () => {
        const p = await cluster.client.get(PODS, ns, 't');
        return ['Succeeded', 'Failed'].includes(String(rec(p.status).phase)) ? p : undefined;
      },
      20_000,
      'pod t finished',
    );
    expect(rec(done.status).phase).toBe('Failed');
    const cs = (rec(done.status).containerStatuses as Json[])[0];
    expect(rec(rec(cs?.state).terminated)).toMatchObject({ exitCode: 3, reason: 'Error' });
    await cluster.client.delete(PODS, ns, 't');
  }, 60_000);
});
