/**
 * Shared pieces of the tests that run the real node agent on runc (agent.test.ts, kubelet.test.ts,
 * streams-agent.test.ts): what the machine must have, the offline busybox image imported into an agent
 * data dir, and small pod/container builders and status accessors.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type Json, list, rec } from '../../api/json.js';
import type { KObject } from '../../api/types.js';
import { ImageService } from '../images/index.js';
import { findBusybox, which } from '../oci/util.js';

export const TEST_IMAGE = 'ordinal.local/busybox:1.35';

/** A container that exits at once on SIGTERM (sh as pid 1 ignores it otherwise). */
export const SLEEPER = "trap 'exit 0' TERM; while true; do sleep 0.1; done";

/** Why real-agent tests cannot run here ('' when they can); `extra` adds [command, package] needs. */
export function realAgentSkipReason(what: string, extra: [string[], string][] = []): string {
  const missing = [
    process.getuid?.() !== 0 ? 'root' : '',
    which('runc') ? '' : 'runc (apt-get install -y runc)',
    findBusybox() ? '' : 'busybox-static (apt-get install -y busybox-static)',
    which('ip') ? '' : 'iproute2',
    ...extra.map(([cmds, pkg]) => (cmds.every((c) => which(c)) ? '' : pkg)),
  ].filter(Boolean);
  const reason = missing.length > 0 ? `needs ${missing.join(', ')}` : '';
  if (reason) console.log(`skipping ${what}: ${reason}`);
  return reason;
}

/** Builds the busybox image offline (scripts/build-images.ts) into `dir/images` and imports it for an agent at `agentDir`. */
export async function importTestImage(dir: string, agentDir: string): Promise<void> {
  const out = join(dir, 'images');
  execFileSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/build-images.ts', '--out', out, '--only', 'busybox'],
    { stdio: 'ignore' },
  );
  await ImageService.forDataDir(agentDir).importArchive(join(out, 'busybox.tar'));
}

export function testPod(name: string, spec: Json, labels?: Record<string, string>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { terminationGracePeriodSeconds: 2, ...spec },
  };
}

export function busyboxContainer(name: string, script: string, extra: Json = {}): Json {
  return { name, image: TEST_IMAGE, command: ['sh', '-c', script], ...extra };
}

export const podStatus = (p: KObject | undefined): Json => rec(p?.status);
export const containerStatus = (p: KObject | undefined, i = 0): Json =>
  list(podStatus(p).containerStatuses)[i] ?? {};
