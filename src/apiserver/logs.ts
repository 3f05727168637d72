/**
 * `GET /api/v1/namespaces/NS/pods/NAME/log`: the API server checks the
 * request as upstream's pod log REST does, then streams from the log source
 * of the node the pod runs on (a node agent registers one). Simulated nodes
 * run no processes and have empty logs.
 */
import { badRequest, invalid, StatusError } from '../api/errors.js';
import { isObject, type KObject } from '../api/types.js';
import { NodeRegistry } from './node-registry.js';

export interface PodLogOptions {
  container: string;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: string;
  limitBytes?: number;
}

/** Where a node's container logs come from. */
export interface PodLogSource {
  /**
   * Yields the log bytes; with `follow`, keeps yielding until the container
   * stops or `signal` aborts. Throws StatusError for kubelet-side refusals.
   */
  stream(pod: KObject, opts: PodLogOptions, signal: AbortSignal): AsyncIterable<Buffer | string>;
}

/** Log sources by node name; nodes without one (simulated nodes) have empty logs. */
export class PodLogs extends NodeRegistry<PodLogSource> {
  sourceFor(nodeName: string): PodLogSource | undefined {
    return this.lookup(nodeName);
  }
}

function names(list: unknown): string[] {
  return Array.isArray(list) ? list.filter(isObject).map((c) => String(c.name ?? '')) : [];
}

/** Parses and validates the query (upstream PodLogOptions validation). */
export function parseLogQuery(q: URLSearchParams): Omit<PodLogOptions, 'container'> & { container?: string } {
  const errs: { type: 'FieldValueInvalid'; field: string; value: unknown; detail: string }[] = [];
  const int = (key: string): number | undefined => {
    const v = q.get(key);
    if (v === null || v === '') return undefined;
    if (!/^-?\d+$/.test(v)) throw badRequest(`${key}: Invalid value: "${v}": must be an integer`);
    return Number(v);
  };
  const bool = (key: string): boolean => {
    const v = q.get(key);
    return v === 'true' || v === '1';
  };
  const tailLines = int('tailLines');
  const sinceSeconds = int('sinceSeconds');
  const limitBytes = int('limitBytes');
  if (tailLines !== undefined && tailLines < 0) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'tailLines',
      value: tailLines,
      detail: 'must be greater than or equal to 0',
    });
  }
  if (sinceSeconds !== undefined && sinceSeconds < 1) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'sinceSeconds',
      value: sinceSeconds,
      detail: 'must be greater than 0',
    });
  }
  if (limitBytes !== undefined && limitBytes < 1) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'limitBytes',
      value: limitBytes,
      detail: 'must be greater than 0',
    });
  }
  const sinceTime = q.get('sinceTime') ?? undefined;
  if (sinceTime !== undefined && sinceSeconds !== undefined) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'sinceSeconds',
      value: sinceSeconds,
      detail: 'at most one of `sinceTime` or `sinceSeconds` may be specified',
    });
  }
  if (errs.length > 0) throw invalid('PodLogOptions', '', '', errs);
  const container = q.get('container') ?? undefined;
  return {
    ...(container ? { container } : {}),
    follow: bool('follow'),
    previous: bool('previous'),
    timestamps: bool('timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTime !== undefined ? { sinceTime } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

/**
 * The container to read, with upstream's refusals: no container named for a
 * multi-container pod, an unknown container, a pod with no node yet.
 */
export function logContainer(pod: KObject, requested: string | undefined): string {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const podName = pod.metadata.name ?? '';
  const main = names(spec.containers);
  const init = names(spec.initContainers);
  const eph = names(spec.ephemeralContainers);
  let container = requested;
  if (!container) {
    if (main.length === 1) container = main[0]!;
    else {
      let msg = `a container name must be specified for pod ${podName}, choose one of: [${main.join(' ')}]`;
      if (init.length > 0) msg += ` or one of the init containers: [${init.join(' ')}]`;
      if (eph.length > 0) msg += ` or one of the ephemeral containers: [${eph.join(' ')}]`;
      throw badRequest(msg);
    }
  }
  if (![...main, ...init, ...eph].includes(container)) {
    throw badRequest(`container ${container} is not valid for pod ${podName}`);
  }
  if (!spec.nodeName) throw badRequest(`pod ${podName} does not have a host assigned`);
  // A container that has not started yet has no log (the kubelet's message).
  const status = isObject(pod.status) ? pod.status : {};
  const all = [
    ...(Array.isArray(status.containerStatuses) ? status.containerStatuses : []),
    ...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []),
  ].filter(isObject);
  const cs = all.find((c) => c.name === container);
  const state = cs && isObject(cs.state) ? cs.state : undefined;
  const waiting = state && isObject(state.waiting) ? state.waiting : undefined;
  if (!cs || (waiting && !(isObject(cs.lastState) && isObject(cs.lastState.terminated)))) {
    const reason = waiting && typeof waiting.reason === 'string' ? waiting.reason : 'ContainerCreating';
    throw new StatusError(
      400,
      'BadRequest',
      `container "${container}" in pod "${podName}" is waiting to start: ${reason}`,
      {},
    );
  }
  return container;
}
