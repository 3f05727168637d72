/**
 * Checks a `pods/exec|attach|portforward` request before any upgrade, as
 * upstream's pod REST (streamLocation: container, host) and the kubelet's
 * remotecommand options do, and finds the node agent that will serve it.
 * Every refusal is a StatusError the caller sends as an ordinary HTTP reply.
 */
import { badRequest } from '../../api/errors.js';
import { isObject, type KObject } from '../../api/types.js';
import type { PodStreams, PodStreamTarget } from '../pod-streams.js';

export type ConnectKind = 'exec' | 'attach' | 'portforward';

export function isConnectSubresource(sub: string | undefined): sub is ConnectKind {
  return sub === 'exec' || sub === 'attach' || sub === 'portforward';
}

/** Where a connect request goes: the container (exec/attach) and the node's stream target. */
export interface ConnectLocation {
  pod: KObject;
  container: string;
  target: PodStreamTarget;
}

function containerNames(pod: KObject, field: string): string[] {
  const list = (pod.spec as Record<string, unknown> | undefined)?.[field];
  return Array.isArray(list) ? list.filter(isObject).map((c) => String(c.name ?? '')) : [];
}

/** Every container name: init, regular, ephemeral (upstream's VisitContainers order). */
function allContainerNames(pod: KObject): string[] {
  return [
    ...containerNames(pod, 'initContainers'),
    ...containerNames(pod, 'containers'),
    ...containerNames(pod, 'ephemeralContainers'),
  ];
}

/**
 * The container a request addresses (upstream validateContainer): the one
 * asked for, which must exist, or the pod's only container.
 */
export function resolveContainer(pod: KObject, requested: string | null): string {
  const name = pod.metadata.name ?? '';
  if (requested) {
    if (!allContainerNames(pod).includes(requested)) {
      throw badRequest(`container ${requested} is not valid for pod ${name}`);
    }
    return requested;
  }
  const containers = containerNames(pod, 'containers');
  if (containers.length === 1) return containers[0]!;
  if (containers.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
  throw badRequest(
    `a container name must be specified for pod ${name}, choose one of: [${allContainerNames(pod).join(' ')}]`,
  );
}

/**
 * Resolves container and node target, in upstream's order: container, then
 * host assignment, then the node's connection (here: its registered target).
 */
export function locate(
  kind: ConnectKind,
  pod: KObject,
  q: URLSearchParams,
  streams: PodStreams,
): ConnectLocation {
  const name = pod.metadata.name ?? '';
  const container = kind === 'portforward' ? '' : resolveContainer(pod, q.get('container'));
  const nodeName = String((pod.spec as { nodeName?: unknown } | undefined)?.nodeName ?? '');
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const target = streams.targetFor(nodeName);
  if (!target) {
    throw badRequest(
      `pod ${name} runs on node ${nodeName}, which runs no processes (a simulated node): ${kind} needs real pods (ordinal up --runtime oci)`,
    );
  }
  return { pod, container, target };
}

export interface RemoteCommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** exec only; empty for attach. */
  command: string[];
}

/**
 * A query boolean as upstream's parameter conversion reads it: absent, "0" or
 * "false" (any case) are false; anything else, even empty, is true.
 */
function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/**
 * The exec/attach options (PodExecOptions/PodAttachOptions) with the
 * kubelet's checks: stderr is dropped with a TTY, at least one stream, and
 * exec needs a command. Completed pods are refused with kubectl's wording.
 */
export function remoteCommandOptions(
  kind: 'exec' | 'attach',
  pod: KObject,
  q: URLSearchParams,
): RemoteCommandOptions {
  const phase = String((pod.status as { phase?: unknown } | undefined)?.phase ?? '');
  if (phase === 'Succeeded' || phase === 'Failed') {
    throw badRequest(
      kind === 'exec'
        ? `cannot exec into a container in a completed pod; current phase is ${phase}`
        : `cannot attach a container in a completed pod; current phase is ${phase}`,
    );
  }
  const tty = queryBool(q, 'tty');
  const opts: RemoteCommandOptions = {
    stdin: queryBool(q, 'stdin'),
    stdout: queryBool(q, 'stdout'),
    stderr: queryBool(q, 'stderr') && !tty,
    tty,
    command: kind === 'exec' ? q.getAll('command') : [],
  };
  if (!opts.stdin && !opts.stdout && !opts.stderr) {
    throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  }
  if (kind === 'exec' && opts.command.length === 0) throw badRequest('you must specify at least 1 command');
  return opts;
}

/** Port-forward refuses completed pods (nothing listens in them any more). */
export function checkPortForward(pod: KObject): void {
  const phase = String((pod.status as { phase?: unknown } | undefined)?.phase ?? '');
  if (phase === 'Succeeded' || phase === 'Failed') {
    throw badRequest(`unable to forward port because pod is not running. Current status=${phase}`);
  }
}
