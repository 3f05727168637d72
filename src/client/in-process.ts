/**
 * The Client interface served straight from the REST layer, for controllers in
 * the same process: same validation, defaults, concurrency and watch semantics
 * as HTTP, without serialisation round trips.
 */
import { badRequest, notFound, StatusError } from '../api/errors.js';
import { isObject, type KList, type KObject, type WatchEvent } from '../api/types.js';
import { assignPod } from '../apiserver/binding.js';
import type { Rest } from '../apiserver/rest.js';
import type { VirtualResources } from '../apiserver/virtual.js';
import type { ResourceDef } from '../registry/types.js';
import type {
  Client,
  DeleteOpts,
  ListOpts,
  PatchType,
  ResourceRef,
  WatchHandle,
  WatchOpts,
  WriteOpts,
} from './interface.js';

/**
 * Lets timers and I/O run before each call. The REST layer over the memory
 * store completes without ever leaving the microtask queue, so a controller
 * busy with thousands of writes would otherwise starve HTTP clients and
 * timers; a call over HTTP would have yielded here too.
 */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class InProcessClient implements Client {
  /**
   * @param virtual the API server's non-stored endpoints (e.g. `serviceaccounts/token`, which the node
   *   agent uses for projected tokens); other subresources of create are 404 without it.
   */
  constructor(
    private readonly rest: Rest,
    private readonly manager = 'ordinal-controller-manager',
    private readonly virtualResources?: VirtualResources,
  ) {}

  private def(res: ResourceRef): ResourceDef {
    const d = this.rest.resource(res.group, res.version, res.resource);
    if (!d) throw notFound({ group: res.group, resource: res.resource }, '');
    return d;
  }

  private ns(def: ResourceDef, namespace: string | undefined): string | undefined {
    return def.namespaced ? namespace || undefined : undefined;
  }

  async get(
    res: ResourceRef,
    namespace: string | undefined,
    name: string,
    subresource?: string,
  ): Promise<KObject> {
    await turn();
    const def = this.def(res);
    if (subresource === 'scale') return this.rest.getScale(def, this.ns(def, namespace), name);
    return this.rest.get(def, this.ns(def, namespace), name);
  }

  async list(res: ResourceRef, namespace: string | undefined, opts: ListOpts = {}): Promise<KList> {
    await turn();
    const def = this.def(res);
    return this.rest.list(def, this.ns(def, namespace), opts);
  }

  async create(
    res: ResourceRef,
    namespace: string | undefined,
    obj: KObject,
    opts: WriteOpts = {},
  ): Promise<KObject> {
    await turn();
    const def = this.def(res);
    if (def.group === '' && def.plural === 'pods' && opts.subresource === 'binding') {
      const target = isObject(obj.target) ? obj.target : {};
      const node = typeof target.name === 'string' ? target.name : '';
      if (!node) throw badRequest('Binding target.name is required');
      await assignPod(this.rest, this.ns(def, namespace), obj.metadata.name ?? '', node, {
        fieldManager: opts.fieldManager ?? this.manager,
        dryRun: opts.dryRun,
      });
      return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Success', code: 201 };
    }
    if (def.group === '' && def.plural === 'pods' && opts.subresource === 'eviction') {
      const d = isObject(obj.deleteOptions) ? obj.deleteOptions : {};
      await this.rest.delete(def, this.ns(def, namespace), obj.metadata.name ?? '', {
        gracePeriodSeconds: typeof d.gracePeriodSeconds === 'number' ? d.gracePeriodSeconds : undefined,
      });
      return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Success', code: 201 };
    }
    const virt = opts.subresource ? this.virtualResources?.lookup(def, opts.subresource) : undefined;
    if (virt?.methods.includes('POST')) {
      const out = await virt.handle({
        def,
        namespace: this.ns(def, namespace),
        name: obj.metadata.name,
        body: structuredClone(obj),
        user: { username: `system:${this.manager}`, groups: ['system:masters', 'system:authenticated'] },
        ctx: { user: `system:${this.manager}`, fieldManager: opts.fieldManager ?? this.manager },
        method: 'POST',
      });
      return out.body as KObject;
    }
    if (opts.subresource) {
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    return this.rest.create(def, this.ns(def, namespace), structuredClone(obj), {
      fieldManager: opts.fieldManager ?? this.manager,
      dryRun: opts.dryRun,
      fieldValidation: 'Ignore',
    });
  }

  async update(
    res: ResourceRef,
    namespace: string | undefined,
    obj: KObject,
    opts: WriteOpts = {},
  ): Promise<KObject> {
    await turn();
    const def = this.def(res);
    const name = obj.metadata.name;
    if (!name) throw new StatusError(400, 'BadRequest', 'name is required for update');
    return this.rest.update(
      def,
      this.ns(def, namespace),
      name,
      structuredClone(obj),
      { fieldManager: opts.fieldManager ?? this.manager, dryRun: opts.dryRun, fieldValidation: 'Ignore' },
      opts.subresource,
    );
  }

  async patch(
    res: ResourceRef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOpts & { force?: boolean } = {},
  ): Promise<KObject> {
    await turn();
    const def = this.def(res);
    return this.rest.patch(
      def,
      this.ns(def, namespace),
      name,
      type,
      structuredClone(patch),
      {
        fieldManager: opts.fieldManager ?? this.manager,
        dryRun: opts.dryRun,
        fieldValidation: 'Ignore',
        force: opts.force,
      },
      opts.subresource,
    );
  }

  async delete(
    res: ResourceRef,
    namespace: string | undefined,
    name: string,
    opts: DeleteOpts = {},
  ): Promise<KObject | undefined> {
    await turn();
    const def = this.def(res);
    const r = await this.rest.delete(def, this.ns(def, namespace), name, opts, { dryRun: opts.dryRun });
    return r.object;
  }

  async watch(
    res: ResourceRef,
    namespace: string | undefined,
    opts: WatchOpts,
    onEvent: (e: WatchEvent) => void,
  ): Promise<WatchHandle> {
    const def = this.def(res);
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const w = await this.rest.watch(
      def,
      this.ns(def, namespace),
      {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: opts.allowWatchBookmarks,
      },
      (e) => {
        if (!stopped) onEvent(e);
      },
      (err) => {
        if (stopped) return;
        onEvent({
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: err.message,
            reason: 'InternalError',
            code: 500,
          } as unknown as KObject,
        });
        stop();
      },
    );
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      w.stop();
      resolveDone();
    };
    if (opts.timeoutSeconds) timer = setTimeout(stop, opts.timeoutSeconds * 1000);
    return { stop, done };
  }
}
