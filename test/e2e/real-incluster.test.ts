/**
 * Pods reach the API server as in-cluster clients do (`ordinal up --runtime oci`, real kubectl 1.33).
 * Needs root, runc, busybox-static, iproute2 and nftables (elsewhere skipped, saying why).
 *
 * - Service environment variables as the kubelet sets them: KUBERNETES_SERVICE_HOST/_PORT/_PORT_HTTPS and
 *   the Docker-link KUBERNETES_PORT* for every pod; `<NAME>_SERVICE_*` / `<NAME>_PORT*` for the ClusterIP
 *   Services of the pod's namespace (not headless ones, not other namespaces'), the container's own
 *   variables winning; `enableServiceLinks: false` keeps only the KUBERNETES_* ones.
 * - From a busybox pod, with only what every pod gets (those variables and the projected
 *   /var/run/secrets/kubernetes.io/serviceaccount token, ca.crt, namespace), the real kubectl binary,
 *   mounted from the host, runs with client-go's in-cluster config — which verifies the serving
 *   certificate against ca.crt for 10.96.0.1 — and through https://kubernetes.default.svc by DNS name.
 *   (busybox's own wget cannot do TLS with this server: its TLS sends no signature_algorithms, so it
 *   needs SHA-1 handshake signatures, which OpenSSL 3 refuses at its default security level.)
 * - On the host, the token from the pod is a JWT for system:serviceaccount:<ns>:default, which a
 *   TokenReview and `kubectl auth whoami --token` confirm, and the serving certificate verifies against
 *   the cluster CA for every in-cluster name (kubernetes, kubernetes.default, kubernetes.default.svc,
 *   kubernetes.default.svc.cluster.local) and for 10.96.0.1, reached through the Service's cluster IP.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, eventually, kubectlPath, type RunningCluster, readKubeconfig } from './harness.js';
import { IMAGE_REFS, missingForReal, networkGone, startRealCluster } from './real-harness.js';

const HAVE_NFT = spawnSync('sh', ['-c', 'command -v nft']).status === 0;
const MISSING = [...missingForReal(['busybox']), ...(HAVE_NFT ? [] : ['nftables'])];
const SKIP = MISSING.length > 0;
if (SKIP) console.log(`skipping in-cluster API access e2e tests: needs ${MISSING.join(', ')}`);

const NS = 'incluster';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const SERVICES = `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: Namespace
metadata: {name: elsewhere}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: metrics-port, port: 9100, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: hl, namespace: ${NS}}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: far, namespace: elsewhere}
spec:
  selector: {app: far}
  ports: [{port: 80}]
`;

/** Prints the service-related variables, sorted, and two the container sets itself. */
const PRINT_ENV = `env | grep -E '^(KUBERNETES|WEB|HL|FAR)_' | sort; echo "API=$API"`;

describe.skipIf(SKIP)('in-cluster clients reach the API server (real containers)', () => {
  let c: RunningCluster;

  beforeAll(async () => {
    c = await startRealCluster(['busybox']);
    await c.k(['apply', '-f', '-'], { input: SERVICES });
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
    if (c) expect(networkGone()).toEqual({ bridge: true, netns: '' });
    cleanup(c);
  });

  /**
   * Creates a busybox pod (restartPolicy Never) running `sh -c script` with the extra pod spec fields
   * and container fields given, waits until it ends, and returns its phase and log (the pod is deleted).
   */
  async function run(
    name: string,
    script: string,
    extra: { pod?: Record<string, unknown>; container?: Record<string, unknown> } = {},
  ): Promise<{ phase: string; logs: string }> {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        ...extra.pod,
        containers: [
          {
            name: 'main',
            image: IMAGE_REFS.busybox,
            imagePullPolicy: 'Never',
            command: ['sh', '-c', script],
            ...extra.container,
          },
        ],
      },
    };
    await c.k(['create', '-f', '-'], { input: JSON.stringify(pod) });
    const phase = await eventually(async () => {
      const p = await c.k(['-n', NS, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}']);
      return p === 'Succeeded' || p === 'Failed' ? p : false;
    }, 90_000);
    const logs = await c.k(['-n', NS, 'logs', name]);
    await c.k(['-n', NS, 'delete', 'pod', name, '--wait=false']);
    return { phase, logs };
  }

  const clusterIp = (ns: string, name: string): Promise<string> =>
    c.k(['-n', ns, 'get', 'svc', name, '-o', 'jsonpath={.spec.clusterIP}']);

  it("sets the kubernetes Service's and the namespace's Service variables; the container's own win", async () => {
    const webIp = await clusterIp(NS, 'web');
    expect(await clusterIp('default', 'kubernetes')).toBe('10.96.0.1');
    const r = await run('env-links', PRINT_ENV, {
      container: {
        env: [
          { name: 'WEB_SERVICE_PORT', value: 'mine' },
          { name: 'API', value: 'https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)' },
        ],
      },
    });
    expect(r.phase).toBe('Succeeded');
    expect(r.logs.trim().split('\n')).toEqual([
      'KUBERNETES_PORT=tcp://10.96.0.1:443',
      'KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443',
      'KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1',
      'KUBERNETES_PORT_443_TCP_PORT=443',
      'KUBERNETES_PORT_443_TCP_PROTO=tcp',
      'KUBERNETES_SERVICE_HOST=10.96.0.1',
      'KUBERNETES_SERVICE_PORT=443',
      'KUBERNETES_SERVICE_PORT_HTTPS=443',
      `WEB_PORT=tcp://${webIp}:80`,
      `WEB_PORT_80_TCP=tcp://${webIp}:80`,
      `WEB_PORT_80_TCP_ADDR=${webIp}`,
      'WEB_PORT_80_TCP_PORT=80',
      'WEB_PORT_80_TCP_PROTO=tcp',
      `WEB_PORT_9100_UDP=udp://${webIp}:9100`,
      `WEB_PORT_9100_UDP_ADDR=${webIp}`,
      'WEB_PORT_9100_UDP_PORT=9100',
      'WEB_PORT_9100_UDP_PROTO=udp',
      `WEB_SERVICE_HOST=${webIp}`,
      'WEB_SERVICE_PORT=mine',
      'WEB_SERVICE_PORT_HTTP=80',
      'WEB_SERVICE_PORT_METRICS_PORT=9100',
      'API=https://10.96.0.1:443',
    ]);
  }, 120_000);

  it('enableServiceLinks: false drops the namespace Services but keeps KUBERNETES_*', async () => {
    const r = await run('env-nolinks', PRINT_ENV, { pod: { enableServiceLinks: false } });
    expect(r.phase).toBe('Succeeded');
    const names = r.logs
      .trim()
      .split('\n')
      .map((l) => l.split('=')[0]);
    expect(names).toEqual([
      'KUBERNETES_PORT',
      'KUBERNETES_PORT_443_TCP',
      'KUBERNETES_PORT_443_TCP_ADDR',
      'KUBERNETES_PORT_443_TCP_PORT',
      'KUBERNETES_PORT_443_TCP_PROTO',
      'KUBERNETES_SERVICE_HOST',
      'KUBERNETES_SERVICE_PORT',
      'KUBERNETES_SERVICE_PORT_HTTPS',
      'API',
    ]);
  }, 120_000);

  /** The `key=value` lines a pod printed. */
  const printed = (logs: string): Map<string, string> =>
    new Map(
      logs
        .split('\n')
        .filter((l) => /^[a-z]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );

  it('kubectl in a pod works with the in-cluster config; its token is the namespace default ServiceAccount', async () => {
    const kubectl = kubectlPath('1.33');
    if (!kubectl) throw new Error('kubectl 1.33 is missing');
    const script = [
      `SA=${SA_DIR}`,
      'echo "token=$(cat $SA/token)"',
      'echo "namespace=$(cat $SA/namespace)"',
      // client-go InClusterConfig: KUBERNETES_SERVICE_HOST/PORT, the token and ca.crt, TLS verified for 10.96.0.1.
      "echo \"kget=$(timeout 30 kubectl get pods -o name 2>&1 | tr '\\n' ' ')\"",
      'echo "whoami=$(timeout 30 kubectl auth whoami -o jsonpath={.status.userInfo.username} 2>&1)"',
      // By DNS name through the cluster DNS, verified against ca.crt.
      'echo "byname=$(timeout 30 kubectl --server https://kubernetes.default.svc --certificate-authority $SA/ca.crt --token "$(cat $SA/token)" get ns default -o name 2>&1)"',
    ].join('\n');
    const r = await run('kubectl-client', script, {
      pod: { volumes: [{ name: 'kubectl', hostPath: { path: kubectl, type: 'File' } }] },
      container: {
        env: [{ name: 'HOME', value: '/tmp' }],
        volumeMounts: [{ name: 'kubectl', mountPath: '/bin/kubectl', readOnly: true }],
      },
    });
    const out = printed(r.logs);
    expect(r.phase, r.logs).toBe('Succeeded');
    expect(out.get('namespace')).toBe(NS);
    expect(out.get('kget')?.trim().split(' '), r.logs).toContain('pod/kubectl-client');
    expect(out.get('whoami'), r.logs).toBe(`system:serviceaccount:${NS}:default`);
    expect(out.get('byname'), r.logs).toBe('namespace/default');

    // On the host: the token is a service account JWT, and the API server says whose it is.
    const token = out.get('token') ?? '';
    const [, payload = ''] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    expect(claims.sub).toBe(`system:serviceaccount:${NS}:default`);
    expect(claims['kubernetes.io']).toMatchObject({ namespace: NS, serviceaccount: { name: 'default' } });
    const review = await c.k(
      // Client-side schema validation of TokenReview fails on Ordinal ("failed to check CRD"): skip it.
      [
        'create',
        '--validate=false',
        '-f',
        '-',
        '-o',
        'jsonpath={.status.authenticated} {.status.user.username}',
      ],
      {
        input: JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token },
        }),
      },
    );
    expect(review).toBe(`true system:serviceaccount:${NS}:default`);
    // kubectl with only that token (no client certificate from the admin kubeconfig).
    const empty = join(c.dir, 'empty-kubeconfig');
    writeFileSync(empty, '');
    const whoami = execFileSync(
      kubectl,
      [
        '--server',
        c.url,
        '--certificate-authority',
        caFile(),
        '--token',
        token,
        'auth',
        'whoami',
        '-o',
        'jsonpath={.status.userInfo.username}',
      ],
      { env: { ...process.env, KUBECONFIG: empty, HOME: c.dir } },
    ).toString();
    expect(whoami).toBe(`system:serviceaccount:${NS}:default`);
  }, 180_000);

  /** The cluster CA from the admin kubeconfig, written to a file (for kubectl --certificate-authority). */
  function caFile(): string {
    const m = /certificate-authority-data:\s*(\S+)/.exec(readKubeconfig(c));
    const path = join(c.dir, 'ca.crt');
    writeFileSync(path, Buffer.from(m?.[1] ?? '', 'base64'));
    return path;
  }

  /** Connects with TLS verification against the cluster CA (SNI/hostname `servername`) and returns the peer certificate. */
  function verifiedPeer(host: string, port: number, servername?: string): Promise<PeerCertificate> {
    return new Promise((resolve, reject) => {
      const sock = connect(
        {
          host,
          port,
          ca: readFileSync(caFile()),
          ...(servername ? { servername } : {}),
          rejectUnauthorized: true,
        },
        () => {
          const cert = sock.getPeerCertificate();
          sock.end();
          resolve(cert);
        },
      );
      sock.on('error', reject);
    });
  }

  it('the serving certificate verifies for every in-cluster name and for the cluster IP', async () => {
    const { hostname, port } = new URL(c.url);
    for (const name of [
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ]) {
      const cert = await verifiedPeer(hostname, Number(port), name);
      expect(cert.subjectaltname).toContain(`DNS:${name}`);
    }
    // Through the kubernetes Service's cluster IP (routed on the host by the service proxy).
    const viaVip = await verifiedPeer('10.96.0.1', 443);
    expect(viaVip.subjectaltname).toContain('IP Address:10.96.0.1');
    await expect(verifiedPeer(hostname, Number(port), 'not-kubernetes.example')).rejects.toThrow(
      /does not match certificate's altnames|Hostname\/IP does not match/,
    );
  });
});
