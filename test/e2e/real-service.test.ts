/**
 * Service virtual IPs for real pods (`ordinal up --runtime oci`, real kubectl 1.33): the service
 * proxy (src/agent/proxy) programs `table ip ordinal` with nftables so cluster IPs route to ready
 * endpoints. Needs root, runc, busybox-static, iproute2 and nftables (elsewhere skipped, saying why).
 *
 * A 3-replica Deployment of busybox httpd answering with its hostname behind a ClusterIP Service
 * with a named target port: a busybox pod fetching http://web.<ns>.svc.cluster.local repeatedly
 * reaches several pods, and only pods of the Deployment; the host reaches the cluster IP too; a pod
 * reaches itself through its own Service (hairpin); a Service with no ready endpoints is refused at
 * once (connection refused, not a hang); UDP (DNS through a cluster IP), a NodePort and the
 * `kubernetes` Service (whose endpoint listens on the host's loopback) work from pods; scaling the
 * Deployment down changes where requests go. After the cluster stops, the table is gone and the
 * host's ip_forward is as it was.
 *
 * busybox 1.35's `wget -T` crashes (segfault), so waits in pods are bounded with `timeout` instead.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, eventually, type RunningCluster } from './harness.js';
import { missingForReal, networkGone, runPod, startRealCluster } from './real-harness.js';

const HAVE_NFT = spawnSync('sh', ['-c', 'command -v nft']).status === 0;
const MISSING = [...missingForReal(['busybox']), ...(HAVE_NFT ? [] : ['nftables'])];
const SKIP = MISSING.length > 0;
if (SKIP) console.log(`skipping real Service e2e tests: needs ${MISSING.join(', ')}`);

const NS = 'svc';
const IMAGE = 'ordinal.local/busybox:1.35';

/** busybox httpd on :8080 answering with the pod's hostname; ready once it serves. */
const httpd = (labels: string): string => `
      containers:
      - name: web
        image: ${IMAGE}
        imagePullPolicy: Never
        command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /index.html, port: http}, periodSeconds: 1}
      terminationGracePeriodSeconds: 1
  ${labels}`;

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:${httpd('')}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody, namespace: ${NS}}
spec:
  selector: {app: nobody}
  ports: [{port: 80, targetPort: 8080}]
`;

/** A pod serving on :8080 that fetches its own Service until it answers, then says what it got. */
const SELF = `apiVersion: v1
kind: Service
metadata: {name: self, namespace: ${NS}}
spec:
  selector: {app: self}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: self, namespace: ${NS}, labels: {app: self}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ${IMAGE}
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - |
      mkdir -p /www && hostname > /www/index.html && httpd -p 8080 -h /www
      for i in $(seq 1 120); do
        if out=$(timeout 5 wget -qO- http://self.${NS}.svc.cluster.local/); then echo "hairpin: $out"; break; fi
        sleep 0.5
      done
      exec sleep 3600
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
`;

/** The pod bridge's address, where the cluster DNS for pods listens (a node address too). */
const GATEWAY = '10.244.0.1';

const EXTRA = `apiVersion: v1
kind: Service
metadata: {name: dns, namespace: ${NS}}
spec:
  ports: [{name: dns, port: 53, protocol: UDP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-1, namespace: ${NS}, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
ports: [{name: dns, port: 53, protocol: UDP}]
endpoints: [{addresses: [${GATEWAY}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np, namespace: ${NS}}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`;

/** GET http://ip:port/ from this host; the body, or the error's message. */
function hostGet(ip: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve(`error: ${e.message}`));
    req.end();
  });
}

const fetches = (n: number, url: string): string =>
  `for i in $(seq 1 ${n}); do timeout 10 wget -qO- ${url} || echo "wget failed"; done`;

describe.skipIf(SKIP)('Service virtual IPs (real containers, nftables)', () => {
  let c: RunningCluster;
  const ns = ['-n', NS];
  const ipForward = SKIP ? '' : readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const webPods = async (): Promise<string[]> =>
    (await c.k([...ns, 'get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}']))
      .split(' ')
      .filter(Boolean);
  /** Names of the pods behind the Service's endpoints (ready ones, or all of them). */
  const endpointPods = async (svc: string, readyOnly: boolean): Promise<string[]> => {
    const filter = readyOnly ? '[?(@.conditions.ready==true)]' : '[*]';
    const out = await c.k([
      ...ns,
      'get',
      'endpointslices',
      '-l',
      `kubernetes.io/service-name=${svc}`,
      '-o',
      `jsonpath={range .items[*].endpoints${filter}}{.targetRef.name} {end}`,
    ]);
    return out.split(' ').filter(Boolean);
  };
  /** Waits until the Service has exactly `n` endpoints (ready ones, or any). */
  const endpointsAre = (svc: string, n: number, readyOnly = true) =>
    eventually(async () => {
      const pods = await endpointPods(svc, readyOnly);
      return pods.length === n ? pods : false;
    }, 90_000);

  beforeAll(async () => {
    c = await startRealCluster(['busybox']);
    await c.k(['create', 'ns', NS]);
    await c.k(['apply', '-f', '-'], { input: WEB });
    await c.k([...ns, 'rollout', 'status', 'deploy', 'web', '--timeout=90s']);
    await endpointsAre('web', 3);
  }, 180_000);

  afterAll(async () => {
    await c?.stop();
    if (c) {
      // The proxy's table is gone with the cluster, and the host's forwarding is untouched.
      expect(spawnSync('nft', ['list', 'table', 'ip', 'ordinal']).status).not.toBe(0);
      expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(ipForward);
      expect(networkGone()).toEqual({ bridge: true, netns: '' });
    }
    cleanup(c);
  });

  it('spreads requests to the cluster IP over the ready pods, from a pod and from the host', async () => {
    const pods = await webPods();
    expect(pods).toHaveLength(3);
    const run = await runPod(c, NS, 'client', fetches(15, `http://web.${NS}.svc.cluster.local`));
    expect(run.phase).toBe('Succeeded');
    const answers = run.logs.split('\n').filter(Boolean);
    expect(answers).toHaveLength(15);
    // Every answer comes from a pod of the Deployment (its hostname), and more than one pod answers.
    for (const a of answers) expect(pods).toContain(a);
    expect(new Set(answers).size).toBeGreaterThan(1);

    const ip = await c.k([...ns, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const fromHost = new Set<string>();
    for (let i = 0; i < 10; i++) fromHost.add(await hostGet(ip, 80));
    for (const a of fromHost) expect(pods).toContain(a);
  });

  it('lets a pod reach itself through its own Service (hairpin)', async () => {
    await c.k(['apply', '-f', '-'], { input: SELF });
    const logs = await eventually(async () => {
      const r = await c.kubectl([...ns, 'logs', 'self']);
      return r.code === 0 && r.stdout.includes('hairpin:') ? r.stdout : false;
    }, 90_000);
    expect(logs).toContain('hairpin: self');
  });

  it('refuses connections to a Service without ready endpoints at once, instead of hanging', async () => {
    const run = await runPod(
      c,
      NS,
      'refused',
      `timeout 30 wget -qO- http://nobody.${NS}.svc.cluster.local/ 2>&1; echo "exit=$?"`,
    );
    expect(run.logs).toContain('Connection refused');
    expect(run.logs).toContain('exit=1');
    const ip = await c.k([...ns, 'get', 'svc', 'nobody', '-o', 'jsonpath={.spec.clusterIP}']);
    expect(await hostGet(ip, 80)).toMatch(/^error: connect ECONNREFUSED/);
    // A port the cluster IP does not serve is refused too.
    const webIp = await c.k([...ns, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    expect(await hostGet(webIp, 81)).toMatch(/^error: connect ECONNREFUSED/);
  });

  it('routes UDP, NodePorts and the kubernetes Service (endpoint on the API host) from pods and the host', async () => {
    // A selector-less UDP Service whose EndpointSlice names the cluster DNS on the bridge.
    await c.k(['apply', '-f', '-'], { input: EXTRA });
    const dnsIp = await c.k([...ns, 'get', 'svc', 'dns', '-o', 'jsonpath={.spec.clusterIP}']);
    const nodePort = Number(
      await c.k([...ns, 'get', 'svc', 'web-np', '-o', 'jsonpath={.spec.ports[0].nodePort}']),
    );
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    const pods = await webPods();
    const run = await runPod(
      c,
      NS,
      'extras',
      [
        `nslookup kubernetes.default.svc.cluster.local ${dnsIp} && echo udp-ok`,
        `timeout 10 wget -qO- http://${GATEWAY}:${nodePort}/ && echo nodeport-ok`,
        'nc 10.96.0.1 443 </dev/null && echo api-ok',
      ].join('; '),
    );
    expect(run.logs).toContain('udp-ok');
    expect(run.logs).toContain('Address: 10.96.0.1');
    expect(run.logs).toContain('nodeport-ok');
    expect(run.logs).toContain('api-ok');
    expect(pods).toContain(await hostGet(GATEWAY, nodePort));
  });

  it('follows scaling: one replica takes every request, none refuses them', async () => {
    await c.k([...ns, 'scale', 'deploy', 'web', '--replicas=1']);
    const [left] = await endpointsAre('web', 1);
    const run = await runPod(c, NS, 'one', fetches(6, `http://web.${NS}.svc.cluster.local`));
    expect(run.logs.split('\n').filter(Boolean)).toEqual(Array(6).fill(left));

    await c.k([...ns, 'scale', 'deploy', 'web', '--replicas=0']);
    // Terminating pods that still serve get traffic while nothing is ready (as upstream): wait for none.
    await endpointsAre('web', 0, false);
    const none = await runPod(
      c,
      NS,
      'none',
      `timeout 30 wget -qO- http://web.${NS}.svc.cluster.local/ 2>&1; true`,
    );
    expect(none.logs).toContain('Connection refused');
  });
});
