/**
 * The walkthrough's contrast, with a real database in real containers (`ordinal up --runtime oci`,
 * real kubectl 1.33, the etcd 3.4 image built offline from Debian's etcd-server by
 * scripts/build-images.ts). Manifests: examples/real/etcd-shared-deployment.yaml and
 * examples/real/etcd-statefulset.yaml, applied unchanged.
 *
 * a) A 3-replica Deployment whose pods share ONE PersistentVolumeClaim as etcd's data dir. This uses
 *    etcd's real lock, not a wrapper that fakes one: the first pod takes bbolt's flock on
 *    member/snap/db and serves; the others block on that lock with their client port bound but
 *    silent. etcd 3.4 never gives up on a held lock (there is no flag to make it fail fast); after
 *    10 s it logs that `another etcd process is using ".../member/snap/db" and holds the file lock`.
 *    The manifest's livenessProbe (GET /health on the client port, first check after 15 s, three failures) makes the
 *    kubelet restart the blocked members, which is what a real cluster shows too: one pod 1/1
 *    Running, two in CrashLoopBackOff, and `kubectl logs --previous` names the lock.
 *    Time: the first restart is immediate, the second waits the agent's first back-off (10 s), so
 *    CrashLoopBackOff appears about 40 s after the apply.
 * b) The same database as a 3-member StatefulSet (headless Service `db`, volumeClaimTemplates,
 *    podManagementPolicy Parallel: the readinessProbe GET /health needs a leader, i.e. a quorum, so
 *    OrderedReady would deadlock with db-0 waiting alone for peers that are only created once it is
 *    Ready). The members form one cluster whose peer URLs are db-N.db.etcd.svc.cluster.local.
 *    Membership, writes and reads go through etcd's v3 HTTP gateway with busybox wget from throwaway
 *    pods (no etcdctl in the image, no kubectl exec needed). Deleting db-1 brings back db-1 with the
 *    same claim: it restarts as the same member (same ID, from its data dir), rejoins, and serves the
 *    key from its own copy (a serializable read).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, eventually, ROOT, type RunningCluster } from './harness.js';
import {
  deleteAndAwaitReplacement,
  missingForReal,
  networkGone,
  parsePodRows,
  runPod,
  startRealCluster,
  stsReady,
} from './real-harness.js';

const MISSING = missingForReal(['busybox', 'etcd']);
const SKIP = MISSING.length > 0;
if (SKIP) console.log(`skipping real etcd contrast e2e tests: needs ${MISSING.join(', ')}`);

const manifest = (name: string): string => readFileSync(join(ROOT, 'examples/real', name), 'utf8');

interface Member {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

/** The parts of etcd's v3 gateway and /health answers the test reads. */
interface EtcdReply {
  header?: { member_id: string };
  members?: Member[];
  kvs?: { key: string; value: string }[];
  health?: string;
}

/** The JSON documents a helper pod printed, one per line (etcd's gateway answers in one line). */
function jsonLines(logs: string): EtcdReply[] {
  return logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as EtcdReply);
}

/** The decoded values of a range answer. */
const values = (r: EtcdReply | undefined): string[] =>
  (r?.kvs ?? []).map((kv) => Buffer.from(kv.value, 'base64').toString());

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe.skipIf(SKIP)(
  'a database on a Deployment with a shared claim vs on a StatefulSet (real etcd)',
  () => {
    let c: RunningCluster;

    beforeAll(async () => {
      c = await startRealCluster(['busybox', 'etcd']);
    }, 120_000);

    afterAll(async () => {
      await c?.stop();
      if (c) expect(networkGone()).toEqual({ bridge: true, netns: '' });
      cleanup(c);
    });

    it('Deployment, one shared claim: one member serves, the others crash-loop on the data-dir lock', async () => {
      const ns = ['-n', 'etcd-shared'];
      await c.k(['apply', '-f', '-'], { input: manifest('etcd-shared-deployment.yaml') });

      // As `kubectl get pods` shows it: exactly one 1/1 Running, the other two 0/1 CrashLoopBackOff.
      const rows = await eventually(
        async () => {
          const r = parsePodRows(await c.k([...ns, 'get', 'pods', '--no-headers']));
          const running = r.filter((p) => p.ready === '1/1' && p.status === 'Running');
          const looping = r.filter((p) => p.ready === '0/1' && p.status === 'CrashLoopBackOff');
          return r.length === 3 && running.length === 1 && looping.length === 2 ? r : false;
        },
        120_000,
        500,
      );

      // All three use the same claim, bound to one volume.
      const claims = await c.k([
        ...ns,
        'get',
        'pods',
        '-o',
        'jsonpath={range .items[*]}{.spec.volumes[0].persistentVolumeClaim.claimName}{"\\n"}{end}',
      ]);
      expect(claims.trim().split('\n')).toEqual(['db-data', 'db-data', 'db-data']);
      expect(await c.k([...ns, 'get', 'pvc', 'db-data', '-o', 'jsonpath={.status.phase}'])).toBe('Bound');

      const serving = rows.find((p) => p.status === 'Running')!;
      const servingLog = await c.k([...ns, 'logs', serving.name]);
      expect(servingLog).toContain('ready to serve client requests');
      expect(servingLog).not.toContain('holds the file lock');

      for (const p of rows.filter((r) => r.status === 'CrashLoopBackOff')) {
        expect(p.restarts).toBeGreaterThanOrEqual(1);
        // The member that was killed blocked on the lock and never served. (A member's very first run
        // may instead lose the race to create the data dir; its later runs block on the lock.)
        const previous = await eventually(
          async () => {
            const log = await c.k([...ns, 'logs', p.name, '--previous']);
            return /another etcd process is using "\/var\/lib\/etcd\/data\/member\/snap\/db" and holds the file lock/.test(
              log,
            )
              ? log
              : false;
          },
          90_000,
          1000,
        );
        expect(previous).not.toContain('ready to serve client requests');
        const last = await eventually(async () => {
          const s = JSON.parse(
            await c.k([...ns, 'get', 'pod', p.name, '-o', 'jsonpath={.status.containerStatuses[0]}']),
          ) as {
            state: { waiting?: { reason: string; message: string } };
            lastState: { terminated?: unknown };
          };
          return s.state.waiting?.reason === 'CrashLoopBackOff' ? s : false;
        }, 90_000);
        expect(last.state.waiting?.message).toMatch(
          /^back-off \d+s restarting failed container=etcd pod=db-/,
        );
        expect(last.lastState.terminated).toBeDefined();
      }
      const events = await c.k([
        ...ns,
        'get',
        'events',
        '-o',
        'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
      ]);
      expect(events).toMatch(/Unhealthy: Liveness probe failed/);
      expect(events).toContain('Killing: Container etcd failed liveness probe, will be restarted');

      // Free the CPU for the next scenario.
      await c.k(['delete', 'ns', 'etcd-shared', '--wait=false']);
    }, 360_000);

    it('StatefulSet: one etcd cluster over stable names; a deleted member comes back with its data and rejoins', async () => {
      const ns = ['-n', 'etcd'];
      await c.k(['apply', '-f', '-'], { input: manifest('etcd-statefulset.yaml') });
      await stsReady(c, 'etcd', 'db', 3);

      // Every member has its own claim.
      const claims = await c.k([
        ...ns,
        'get',
        'pods',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}{"\\n"}{end}',
      ]);
      expect(claims.trim().split('\n').sort()).toEqual([
        'db-0=data-db-0',
        'db-1=data-db-1',
        'db-2=data-db-2',
      ]);
      const claimUid = await c.k([...ns, 'get', 'pvc', 'data-db-1', '-o', 'jsonpath={.metadata.uid}']);

      // Membership (through db-0), a write through db-1, a read through db-2.
      const fqdn = (i: number): string => `db-${i}.db.etcd.svc.cluster.local`;
      const put = JSON.stringify({ key: b64('walkthrough'), value: b64('stateful') });
      const range = JSON.stringify({ key: b64('walkthrough') });
      const first = await runPod(
        c,
        'etcd',
        'client-1',
        [
          `wget -qO- --post-data='{}' http://${fqdn(0)}:2379/v3/cluster/member/list && echo`,
          `wget -qO- --post-data='${put}' http://${fqdn(1)}:2379/v3/kv/put && echo`,
          `wget -qO- --post-data='${range}' http://${fqdn(2)}:2379/v3/kv/range && echo`,
        ].join(' && '),
      );
      expect(first.phase).toBe('Succeeded');
      const [list, , read] = jsonLines(first.logs);
      const members = [...(list?.members ?? [])].sort((a, b) => a.name.localeCompare(b.name));
      expect(members.map((m) => [m.name, m.peerURLs, m.clientURLs])).toEqual(
        [0, 1, 2].map((i) => [`db-${i}`, [`http://${fqdn(i)}:2380`], [`http://${fqdn(i)}:2379`]]),
      );
      expect(values(read)).toEqual(['stateful']);
      const db1Id = members[1]!.ID;

      // db-1 goes; the StatefulSet brings back db-1 (new pod, new IP) on the same claim.
      const { before, after } = await deleteAndAwaitReplacement(c, 'etcd', 'db-1');
      expect(after.uid).not.toBe(before.uid);
      expect(after.ip).not.toBe(before.ip);
      expect(await c.k([...ns, 'get', 'pvc', 'data-db-1', '-o', 'jsonpath={.metadata.uid}'])).toBe(claimUid);
      // It found its data dir: the same member (etcd logs member IDs in hex), not a new one.
      const logs = await c.k([...ns, 'logs', 'db-1']);
      expect(logs).toContain('the server is already initialized as member before, starting as etcd member');
      expect(logs).toContain(`restarting member ${BigInt(db1Id).toString(16)}`);
      await stsReady(c, 'etcd', 'db', 3);

      // Its own copy has the key (serializable: answered locally), and the cluster is whole again.
      const local = JSON.stringify({ key: b64('walkthrough'), serializable: true });
      const second = await runPod(
        c,
        'etcd',
        'client-2',
        [
          `wget -qO- --post-data='${local}' http://${fqdn(1)}:2379/v3/kv/range && echo`,
          `wget -qO- --post-data='{}' http://${fqdn(1)}:2379/v3/cluster/member/list && echo`,
          ...[0, 1, 2].map((i) => `wget -qO- http://${fqdn(i)}:2379/health && echo`),
        ].join(' && '),
      );
      expect(second.phase).toBe('Succeeded');
      const [localRead, list2, ...health] = jsonLines(second.logs);
      expect(localRead?.header?.member_id).toBe(db1Id);
      expect(values(localRead)).toEqual(['stateful']);
      expect((list2?.members ?? []).map((m) => m.ID).sort()).toEqual(members.map((m) => m.ID).sort());
      expect(health).toEqual([{ health: 'true' }, { health: 'true' }, { health: 'true' }]);
    }, 240_000);
  },
);
