/**
 * Test support shared by the unit and integration tests: an API server over a
 * memory store, bootstrapped like a real cluster (system namespaces and the
 * `kubernetes` Service), with an InProcessClient in front of it (no HTTP, no
 * TLS), and a polling `waitFor`. It imports no test framework, so harness
 * modules compiled with the sources can use it too.
 */
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { Rest, type RestOptions } from '../apiserver/rest.js';
import { InProcessClient } from '../client/in-process.js';
import type { Client, ResourceRef } from '../client/interface.js';
import { bootstrap } from '../cluster.js';
import { NAMESPACES } from '../controllers/util/resources.js';
import { resources } from '../registry/index.js';
import { MemoryStore } from '../storage/memory.js';

/** What `waitFor` polls: done when it returns anything but undefined or false. */
export type Poll<T> = () => Promise<T | undefined | false> | T | undefined | false;

export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between polls (default 5 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout error (default "condition"). */
  what?: string;
  /** Appended to the timeout error's message (e.g. the last state seen), computed when it is thrown. */
  detail?: () => string | Promise<string>;
  /**
   * An error thrown by `fn` counts as "not yet" and the last one is named in
   * the timeout error (default true); false rethrows it at once.
   */
  retryErrors?: boolean;
}

/**
 * Polls `fn` (in real time) until it returns something other than undefined
 * or false and returns that; throws "timed out waiting for <what>" after
 * `timeoutMs`.
 */
export async function waitFor<T>(fn: Poll<T>, opts: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 5, what = 'condition', detail, retryErrors = true } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      if (!retryErrors) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      const cause = last ? `: ${String(last)}` : '';
      throw new Error(`timed out waiting for ${what}${cause}${detail ? await detail() : ''}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A test's teardown steps, run last-registered first (call `run` from afterEach). */
export class Teardown {
  private readonly steps: Array<() => Promise<void> | void> = [];

  add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step();
  }
}

export interface InProcessApiOptions extends RestOptions {
  /** The store to serve (default a fresh MemoryStore); pass an earlier one to restart on its data. */
  store?: MemoryStore;
  /** Namespaces to create besides the bootstrap ones (default, kube-system, kube-public, kube-node-lease). */
  namespaces?: string[];
}

export interface InProcessApi {
  rest: Rest;
  store: MemoryStore;
  client: InProcessClient;
}

/** MemoryStore → Rest (with `opts`) → bootstrap → InProcessClient. */
export async function startInProcessApi(opts: InProcessApiOptions = {}): Promise<InProcessApi> {
  const { store = new MemoryStore(), namespaces = [], ...restOptions } = opts;
  const rest = new Rest(store, resources, restOptions);
  await bootstrap(rest);
  const client = new InProcessClient(rest);
  for (const name of namespaces) await createNamespace(client, name);
  return { rest, store, client };
}

/** Creates a namespace unless it exists. */
export async function createNamespace(client: Client, name: string): Promise<void> {
  try {
    await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/** The object, or undefined when it does not exist. */
export async function tryGet(
  client: Client,
  res: ResourceRef,
  namespace: string | undefined,
  name: string,
): Promise<KObject | undefined> {
  try {
    return await client.get(res, namespace, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
