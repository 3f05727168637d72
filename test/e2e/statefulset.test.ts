/**
 * The walkthrough, with real kubectl 1.33 against `ordinal up --runtime sim`:
 * Jenkins as a StatefulSet, the go-demo-3 database as a Deployment sharing one
 * claim, then as a StatefulSet (ordered creation, one claim per pod, reverse
 * ordinal rolling update, rollout status/undo/history/restart, scale, claims
 * outliving the set), and a Parallel StatefulSet.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  eventually,
  HAVE_KUBECTL,
  kubectlPath,
  ROOT,
  type RunningCluster,
  SKIP_REASON,
  startOrdinal,
} from './harness.js';

const EX = join(ROOT, 'examples', 'sts');

interface WatchLine {
  type: string;
  name: string;
  uid: string;
  phase: string;
  ready: string;
  deleting: boolean;
  image: string;
}

/** Runs `kubectl get pods -w` and collects one parsed line per watch event. */
function watchPods(c: RunningCluster, ns: string, selector: string): { lines: WatchLine[]; stop(): void } {
  const bin = kubectlPath('1.33');
  if (!bin) throw new Error(SKIP_REASON);
  const tpl =
    '{.type}|{.object.metadata.name}|{.object.metadata.uid}|{.object.status.phase}|' +
    '{.object.status.conditions[?(@.type=="Ready")].status}|{.object.metadata.deletionTimestamp}|' +
    '{.object.spec.containers[0].image}{"\\n"}';
  const child: ChildProcess = spawn(
    bin,
    [
      '--kubeconfig',
      c.kubeconfig,
      '-n',
      ns,
      'get',
      'pods',
      '-l',
      selector,
      '-w',
      '--output-watch-events',
      '-o',
      `jsonpath=${tpl}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: WatchLine[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const [type = '', name = '', uid = '', phase = '', ready = '', deleting = '', image = ''] =
        line.split('|');
      if (type) lines.push({ type, name, uid, phase, ready, deleting: deleting !== '', image });
      i = buf.indexOf('\n');
    }
  });
  return { lines, stop: () => child.kill() };
}

/** The order in which pods of these names first appeared. */
function creationOrder(lines: WatchLine[]): string[] {
  const seen: string[] = [];
  const uids = new Set<string>();
  for (const l of lines) {
    if (l.type === 'ADDED' && !uids.has(l.uid)) {
      uids.add(l.uid);
      seen.push(l.name);
    }
  }
  return seen;
}

/** Names in the order their pods were first marked for deletion (or vanished). */
function deletionOrder(lines: WatchLine[]): string[] {
  const out: string[] = [];
  const done = new Set<string>();
  for (const l of lines) {
    if ((l.deleting || l.type === 'DELETED') && !done.has(l.uid)) {
      done.add(l.uid);
      out.push(l.name);
    }
  }
  return out;
}

/** At most one live (not deleted) pod per name at every point of the watch. */
function assertAtMostOnePerIdentity(lines: WatchLine[]): void {
  const live = new Map<string, string>();
  for (const l of lines) {
    if (l.type === 'DELETED') {
      if (live.get(l.name) === l.uid) live.delete(l.name);
      continue;
    }
    const cur = live.get(l.name);
    if (cur && cur !== l.uid) throw new Error(`two pods named ${l.name} at once: ${cur} and ${l.uid}`);
    live.set(l.name, l.uid);
  }
}

function table(out: string): string[][] {
  return out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}|\t/));
}

describe.skipIf(!HAVE_KUBECTL)('the StatefulSet walkthrough with real kubectl (sim nodes)', () => {
  let c: RunningCluster;

  beforeAll(async () => {
    c = await startOrdinal([
      '--store',
      'memory',
      '--runtime',
      'sim',
      '--nodes',
      '2',
      '--sim-ready-delay',
      '300',
    ]);
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
    cleanup(c);
  });

  it('lists the simulated nodes as Ready', async () => {
    const out = await eventually(async () => {
      const o = await c.k(['get', 'nodes']);
      return (o.match(/\bReady\b/g) ?? []).length === 2 ? o : false;
    });
    expect(table(out)[0]).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    expect(out).toMatch(/sim-0\s+Ready\s+<none>/);
  });

  it('runs Jenkins as a StatefulSet with its own claim (sts/jenkins.yml)', async () => {
    const created = await c.k(['create', '-f', join(EX, 'jenkins.yml'), '--record', '--save-config']);
    expect(created).toContain('statefulset.apps/jenkins created');
    const status = await c.k(['-n', 'jenkins', 'rollout', 'status', 'sts', 'jenkins', '--timeout=60s']);
    expect(status).toContain('partitioned roll out complete: 1 new pods have been updated...');
    const pvc = await eventually(async () => {
      const o = await c.k(['-n', 'jenkins', 'get', 'pvc']);
      return /jenkins-home-jenkins-0\s+Bound\s+pvc-/.test(o) ? o : false;
    });
    expect(table(pvc)[0]).toEqual([
      'NAME',
      'STATUS',
      'VOLUME',
      'CAPACITY',
      'ACCESS MODES',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'AGE',
    ]);
    expect(pvc).toMatch(/jenkins-home-jenkins-0\s+Bound\s+pvc-[0-9a-f-]+\s+2Gi\s+RWO\s+standard\s+<unset>/);
    const pv = await c.k(['get', 'pv']);
    expect(pv).toMatch(
      /pvc-[0-9a-f-]+\s+2Gi\s+RWO\s+Delete\s+Bound\s+jenkins\/jenkins-home-jenkins-0\s+standard/,
    );
    await c.k(['delete', 'ns', 'jenkins', '--timeout=60s']);
  }, 120_000);

  it('a 3-replica database Deployment sharing one claim gets one volume (sts/go-demo-3-deploy.yml)', async () => {
    await c.k(['create', '-f', join(EX, 'go-demo-3-deploy.yml'), '--record', '--save-config']);
    const status = await c.k(['-n', 'go-demo-3', 'rollout', 'status', 'deployment', 'api', '--timeout=60s']);
    expect(status).toContain('deployment "api" successfully rolled out');
    await eventually(async () => {
      const o = await c.k(['-n', 'go-demo-3', 'get', 'pods', '-l', 'app=db', '-o', 'name']);
      return o.trim().split('\n').length === 3;
    });
    const pvs = await eventually(async () => {
      const o = await c.k([
        'get',
        'pv',
        '-o',
        'jsonpath={range .items[*]}{.spec.claimRef.namespace}/{.spec.claimRef.name}{"\\n"}{end}',
      ]);
      return o.includes('go-demo-3/mongo') ? o : false;
    });
    expect(
      pvs
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('go-demo-3/')),
    ).toEqual(['go-demo-3/mongo']);
    const pvcs = await c.k(['-n', 'go-demo-3', 'get', 'pvc', '-o', 'name']);
    expect(pvcs.trim().split('\n')).toEqual(['persistentvolumeclaim/mongo']);
    await c.k(['delete', 'ns', 'go-demo-3', '--timeout=60s']);
  }, 120_000);

  it('creates db-0, db-1, db-2 one after another with one claim each, rolls updates in reverse order, undoes, keeps claims', async () => {
    await c.k(['create', 'ns', 'go-demo-3']);
    /** `kubectl -n go-demo-3 …`. */
    const k = (...args: string[]) => c.k(['-n', 'go-demo-3', ...args]);
    /** `kubectl -n go-demo-3 get pods -l app=db …`. */
    const dbPods = (...args: string[]) => k('get', 'pods', '-l', 'app=db', ...args);
    const dbImages = () => dbPods('-o', 'jsonpath={.items[*].spec.containers[0].image}');
    const dbUids = () => dbPods('-o', 'jsonpath={.items[*].metadata.uid}');
    /** `kubectl rollout status sts/db`, which waits for the rollout to finish. */
    const dbRolledOut = () => k('rollout', 'status', 'sts', 'db', '--timeout=60s');
    const w = watchPods(c, 'go-demo-3', 'app=db');
    try {
      await c.k(['apply', '-f', join(EX, 'go-demo-3-sts.yml'), '--record']);
      await dbRolledOut();
      expect(creationOrder(w.lines)).toEqual(['db-0', 'db-1', 'db-2']);
      // Each pod was created only after its predecessor was Running and Ready.
      for (const [prev, next] of [
        ['db-0', 'db-1'],
        ['db-1', 'db-2'],
      ] as const) {
        const created = w.lines.findIndex((l) => l.name === next && l.type === 'ADDED');
        const readyBefore = w.lines
          .slice(0, created)
          .some((l) => l.name === prev && l.phase === 'Running' && l.ready === 'True');
        expect(readyBefore, `${prev} Ready before ${next} was created`).toBe(true);
      }
      const pods = await dbPods();
      expect(pods).toMatch(/db-0\s+1\/1\s+Running\s+0/);
      expect(pods).toMatch(/db-2\s+1\/1\s+Running\s+0/);
      const claims = await c.k([
        'get',
        'pv',
        '-o',
        'jsonpath={range .items[*]}{.spec.claimRef.name}{" "}{end}',
      ]);
      expect(
        claims
          .trim()
          .split(' ')
          .filter((n) => n.startsWith('mongo-data-'))
          .sort(),
      ).toEqual(['mongo-data-db-0', 'mongo-data-db-1', 'mongo-data-db-2']);
      const hostnames = await dbPods(
        '-o',
        'jsonpath={range .items[*]}{.spec.hostname}.{.spec.subdomain}{" "}{end}',
      );
      expect(hostnames.trim().split(' ').sort()).toEqual(['db-0.db', 'db-1.db', 'db-2.db']);
      const ep = await k('get', 'endpoints', 'db', '-o', 'jsonpath={.subsets[0].addresses[*].hostname}');
      expect(ep.split(' ').sort()).toEqual(['db-0', 'db-1', 'db-2']);

      // A new image rolls db-2, then db-1, then db-0.
      w.lines.length = 0;
      await c.k(['apply', '-f', join(EX, 'go-demo-3-sts-upd.yml'), '--record']);
      await dbRolledOut();
      await eventually(async () => {
        const o = await k(
          'get',
          'sts',
          'db',
          '-o',
          'jsonpath={.status.currentRevision}={.status.updateRevision}',
        );
        const [cur, upd] = o.split('=');
        return cur === upd;
      });
      expect(deletionOrder(w.lines)).toEqual(['db-2', 'db-1', 'db-0']);
      const images = await dbImages();
      expect(images.split(' ')).toEqual(['mongo:3.5', 'mongo:3.5', 'mongo:3.5']);

      const history = await k('rollout', 'history', 'sts', 'db');
      expect(history).toMatch(/REVISION\s+CHANGE-CAUSE/);
      expect(history).toMatch(/^1\s+/m);
      expect(history).toMatch(/^2\s+kubectl\S* apply .*--filename=\S*go-demo-3-sts-upd\.yml --record=true/m);
      const rev1 = await k('rollout', 'history', 'sts', 'db', '--revision=1');
      expect(rev1).toContain('mongo:3.3');

      // Undo: back to the first revision's template, same revision object reused.
      const revisionsBefore = await k('get', 'controllerrevisions', '-o', 'name');
      w.lines.length = 0;
      expect(await k('rollout', 'undo', 'sts', 'db')).toContain('statefulset.apps/db rolled back');
      await dbRolledOut();
      await eventually(async () => (await dbImages()) === 'mongo:3.3 mongo:3.3 mongo:3.3');
      expect(deletionOrder(w.lines)).toEqual(['db-2', 'db-1', 'db-0']);
      expect(await k('get', 'controllerrevisions', '-o', 'name')).toBe(revisionsBefore);

      // kubectl set image and rollout restart both roll the set.
      await k('set', 'image', 'sts/db', 'db=mongo:3.6');
      await dbRolledOut();
      await eventually(async () => (await dbImages()) === 'mongo:3.6 mongo:3.6 mongo:3.6');
      const uidsBefore = await dbUids();
      expect(await k('rollout', 'restart', 'sts', 'db')).toContain('statefulset.apps/db restarted');
      await dbRolledOut();
      await eventually(async () => {
        const now = (await dbUids()).split(' ');
        return now.length === 3 && now.every((u) => !uidsBefore.includes(u));
      });

      // Scale down removes the highest ordinals first; the claims stay.
      w.lines.length = 0;
      expect(await k('scale', 'sts', 'db', '--replicas=1')).toContain('statefulset.apps/db scaled');
      await eventually(async () => {
        const o = await dbPods('-o', 'name');
        return o.trim() === 'pod/db-0';
      });
      expect(deletionOrder(w.lines)).toEqual(['db-2', 'db-1']);
      assertAtMostOnePerIdentity(w.lines);

      // Deleting the StatefulSet leaves the claims.
      await k('delete', 'sts', 'db');
      await eventually(async () => {
        const o = await dbPods('-o', 'name');
        return o.trim() === '';
      });
      const left = await k('get', 'pvc');
      for (const n of ['mongo-data-db-0', 'mongo-data-db-1', 'mongo-data-db-2'])
        expect(left).toMatch(new RegExp(`${n}\\s+Bound`));
    } finally {
      w.stop();
    }
    await c.k(['delete', 'ns', 'go-demo-3', '--timeout=60s']);
  }, 240_000);

  it('podManagementPolicy Parallel creates all pods at once', async () => {
    await c.k(['create', 'ns', 'par']);
    const w = watchPods(c, 'par', 'app=web');
    try {
      const manifest = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: par}
spec:
  serviceName: web
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sim.ordinal.dev/ready-delay-ms: "2000"}
    spec:
      containers: [{name: web, image: nginx}]
`;
      await c.k(['apply', '-f', '-'], { input: manifest });
      await c.k(['-n', 'par', 'rollout', 'status', 'sts', 'web', '--timeout=60s']);
      expect(creationOrder(w.lines).sort()).toEqual(['web-0', 'web-1', 'web-2']);
      // All three existed before the first one became Ready.
      const firstReady = w.lines.findIndex((l) => l.ready === 'True');
      expect(creationOrder(w.lines.slice(0, firstReady)).sort()).toEqual(['web-0', 'web-1', 'web-2']);
    } finally {
      w.stop();
    }
    await c.k(['delete', 'ns', 'par', '--timeout=60s']);
  }, 120_000);
});
