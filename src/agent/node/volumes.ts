/**
 * Pod volumes on the real node, as the kubelet's volume plugins set them up (before the sandbox exists):
 *
 * - `persistentVolumeClaim` → the bound PV's `hostPath` / `local` path; `hostPath` (with
 *   `DirectoryOrCreate` / `FileOrCreate`); `emptyDir` under the pod dir (`medium: Memory` → tmpfs with
 *   `sizeLimit`); other kinds an empty directory;
 * - `configMap`, `secret`, `downwardAPI` and `projected` (configMap, secret, downwardAPI and
 *   serviceAccountToken sources) as payloads written by the AtomicWriter (`..data` swap), honouring
 *   `items`, `optional`, `defaultMode` and per-item `mode`, with upstream's error messages;
 * - fsGroup ownership (emptyDir, PVC, and the projected kinds read-only), fsGroupChangePolicy;
 * - `refresh()`: the kubelet's periodic resync — projected kinds are rewritten when their sources changed
 *   and service account tokens are renewed at 80% of their lifetime (or after 24 h).
 */
import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { isNotFound } from '../../api/errors.js';
import { type Json, list, rec, str } from '../../api/json.js';
import type { KObject } from '../../api/types.js';
import type { Client } from '../../client/interface.js';
import { quantityNumber } from '../../controllers/scheduler/podinfo.js';
import { CONFIGMAPS, PVCS, PVS } from '../../controllers/util/resources.js';
import { isMountPoint } from '../oci/rootfs.js';
import { type FileProjection, type Payload, setVolumeOwnership, writePayload } from './atomic-writer.js';
import { type Allocatable, podFieldValue, resourceFieldValue } from './downward.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };
export const SERVICEACCOUNTS = { group: '', version: 'v1', resource: 'serviceaccounts' };
const DEFAULT_MODE = 0o644;
const MAX_TOKEN_TTL_MS = 24 * 3600_000;

function modeOf(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o777 ? v : d;
}

/** hostPath `type`s that must already exist, with upstream's check wording. */
const HOST_PATH_TYPES: Record<string, { what: string; test: (st: Stats) => boolean }> = {
  Directory: { what: 'a directory', test: (st) => st.isDirectory() },
  File: { what: 'a file', test: (st) => st.isFile() },
  Socket: { what: 'a socket file', test: (st) => st.isSocket() },
  CharDevice: { what: 'a character device', test: (st) => st.isCharacterDevice() },
  BlockDevice: { what: 'a block device', test: (st) => st.isBlockDevice() },
};

/** A volume that cannot be set up yet; `message` is the kubelet's FailedMount event message. */
export class VolumeSetupError extends Error {}

/** upstream utilerrors.NewAggregate(...).Error(): one message as is, several as `[a, b]`. */
export function aggregate(messages: string[]): string {
  return messages.length === 1 ? (messages[0] ?? '') : `[${messages.join(', ')}]`;
}

/** The volume kinds whose files the kubelet writes (and keeps in sync). */
export function isProjectedKind(v: Json): boolean {
  return (
    v.configMap !== undefined ||
    v.secret !== undefined ||
    v.downwardAPI !== undefined ||
    v.projected !== undefined
  );
}

/**
 * A configMap or secret volume's (or projected source's) files: every key, or just `items` (a missing key
 * fails unless `optional`).
 */
export function keyToPathPayload(
  kind: 'configmap' | 'secret',
  items: Json[],
  data: Record<string, Buffer>,
  defaultMode: number,
  optional: boolean,
): Payload {
  const out: Payload = new Map();
  if (items.length === 0) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: v, mode: defaultMode });
    return out;
  }
  for (const it of items) {
    const key = str(it.key);
    const v = data[key];
    if (v === undefined) {
      if (optional) continue;
      throw new Error(
        kind === 'configmap'
          ? `configmap references non-existent config key: ${key}`
          : `references non-existent secret key: ${key}`,
      );
    }
    out.set(str(it.path), { data: v, mode: modeOf(it.mode, defaultMode) });
  }
  return out;
}

/** A downwardAPI volume's (or projected source's) files (upstream CollectData); errors are aggregated. */
export function downwardApiPayload(
  pod: KObject,
  items: Json[],
  defaultMode: number,
  allocatable: Allocatable | undefined,
): Payload {
  const out: Payload = new Map();
  const errors: string[] = [];
  const spec = rec(pod.spec);
  for (const it of items) {
    let value: string | undefined;
    try {
      if (it.fieldRef !== undefined) value = podFieldValue(pod, str(rec(it.fieldRef).fieldPath));
      else if (it.resourceFieldRef !== undefined) {
        const sel = rec(it.resourceFieldRef);
        const name = str(sel.containerName);
        const c = [...list(spec.containers), ...list(spec.initContainers)].find((x) => x.name === name);
        if (!c) throw new Error(`container ${name} not found`);
        value = resourceFieldValue(sel, c, allocatable);
      }
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
      continue;
    }
    if (value !== undefined)
      out.set(str(it.path), { data: Buffer.from(value), mode: modeOf(it.mode, defaultMode) });
  }
  if (errors.length > 0) throw new Error(aggregate(errors));
  return out;
}

/**
 * upstream FsUserFrom: the uid every container runs as when they all set the same runAsUser (container
 * or pod securityContext), else undefined.
 */
export function fsUserOf(pod: KObject): number | undefined {
  const spec = rec(pod.spec);
  const podSc = rec(spec.securityContext);
  let user: number | undefined;
  for (const c of [...list(spec.initContainers), ...list(spec.containers)]) {
    const u = rec(c.securityContext).runAsUser ?? podSc.runAsUser;
    if (typeof u !== 'number') return undefined;
    if (user !== undefined && user !== u) return undefined;
    user = u;
  }
  return user;
}

/** A service account token as the kubelet's token manager caches it. */
interface CachedToken {
  token: string;
  /** ms since epoch. */
  expiresAt: number;
  ttlMs: number;
}

/** What the volume code needs from the node. */
export interface VolumeHost {
  client: Client;
  /** The node's allocatable resources (resourceFieldRef of unset limits). */
  allocatable: Allocatable;
  /**
   * POST serviceaccounts/<name>/token in the pod's namespace; answers the TokenRequest with
   * `status.token` and `status.expirationTimestamp`.
   */
  requestToken(namespace: string, serviceAccount: string, request: KObject): Promise<KObject>;
  now(): number;
}

/** One pod's volumes (see the module comment). Not safe for concurrent calls on the same pod. */
export class PodVolumes {
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly host: VolumeHost,
    /** `<podDir>/volumes/kubernetes.io~<kind>/<name>` holds the volumes made on this node. */
    private readonly podDir: string,
    /** The pod as the downward API shows it (kubeletPodView). */
    private readonly view: (pod: KObject) => KObject,
  ) {}

  /**
   * Sets up every volume (idempotent: emptyDir content stays, projected files are only rewritten when they
   * changed) and returns volume name → host path. Throws VolumeSetupError with the FailedMount message.
   */
  async setUp(pod: KObject): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const ns = pod.metadata.namespace ?? 'default';
    const spec = rec(pod.spec);
    const sc = rec(spec.securityContext);
    const fsGroup = typeof sc.fsGroup === 'number' ? sc.fsGroup : undefined;
    const onRootMismatch = sc.fsGroupChangePolicy === 'OnRootMismatch';
    for (const v of list(spec.volumes)) {
      const name = str(v.name);
      if (v.persistentVolumeClaim !== undefined) {
        const path = await this.claimPath(ns, str(rec(v.persistentVolumeClaim).claimName));
        if (fsGroup !== undefined && rec(v.persistentVolumeClaim).readOnly !== true) {
          await setVolumeOwnership(path, fsGroup, { onRootMismatch });
        }
        out.set(name, path);
      } else if (v.hostPath !== undefined) {
        out.set(name, await this.hostPath(name, rec(v.hostPath)));
      } else if (isProjectedKind(v)) {
        const dir = this.dir(v, name);
        try {
          await this.writeProjected(pod, v, dir);
        } catch (e) {
          if (e instanceof VolumeSetupError) throw e;
          const msg = e instanceof Error ? e.message : String(e);
          throw new VolumeSetupError(`MountVolume.SetUp failed for volume "${name}" : ${msg}`);
        }
        out.set(name, dir);
      } else {
        const dir = this.dir(v, name);
        await mkdir(dir, { recursive: true });
        const ed = rec(v.emptyDir);
        if (ed.medium === 'Memory' && !(await isMountPoint(dir))) {
          const size = quantityNumber(ed.sizeLimit, false);
          const opts = size > 0 ? `size=${size},mode=0777` : 'mode=0777';
          await promisify(execFile)('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]);
        }
        // The kubelet makes emptyDir world-writable (0777), then applies fsGroup.
        if (v.emptyDir !== undefined) await chmod(dir, 0o777);
        if (fsGroup !== undefined) await setVolumeOwnership(dir, fsGroup, { onRootMismatch });
        out.set(name, dir);
      }
    }
    return out;
  }

  /** Rewrites the projected kinds whose content changed; errors are returned (one message per volume). */
  async refresh(pod: KObject): Promise<string[]> {
    const errors: string[] = [];
    for (const v of list(rec(pod.spec).volumes)) {
      if (!isProjectedKind(v)) continue;
      const name = str(v.name);
      try {
        await this.writeProjected(pod, v, this.dir(v, name));
      } catch (e) {
        errors.push(
          `MountVolume.SetUp failed for volume "${name}" : ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    return errors;
  }

  private dir(v: Json, name: string): string {
    const kind =
      v.configMap !== undefined
        ? 'configmap'
        : v.secret !== undefined
          ? 'secret'
          : v.downwardAPI !== undefined
            ? 'downward-api'
            : v.projected !== undefined
              ? 'projected'
              : 'empty-dir';
    return join(this.podDir, 'volumes', `kubernetes.io~${kind}`, name);
  }

  private async claimPath(ns: string, claim: string): Promise<string> {
    let pvc: KObject;
    try {
      pvc = await this.host.client.get(PVCS, ns, claim);
    } catch (e) {
      if (isNotFound(e)) {
        throw new VolumeSetupError(
          `Unable to attach or mount volumes: persistentvolumeclaim "${claim}" not found`,
        );
      }
      throw e;
    }
    const pvName = str(rec(pvc.spec).volumeName);
    if (!pvName || str(rec(pvc.status).phase) !== 'Bound') {
      throw new VolumeSetupError(
        `Unable to attach or mount volumes: unbound immediate PersistentVolumeClaims: ${claim}`,
      );
    }
    const pv = await this.host.client.get(PVS, undefined, pvName);
    const ps = rec(pv.spec);
    const path = str(rec(ps.hostPath).path) || str(rec(ps.local).path) || str(rec(ps.nfs).path);
    if (!path) {
      throw new VolumeSetupError(
        `Unable to attach or mount volumes: persistentvolume "${pvName}" has no hostPath or local path this node can mount`,
      );
    }
    await mkdir(path, { recursive: true });
    return path;
  }

  /** A hostPath volume: created for the *OrCreate types, else checked against `type` as upstream. */
  private async hostPath(name: string, hp: Json): Promise<string> {
    const path = str(hp.path);
    const type = str(hp.type);
    if (type === 'DirectoryOrCreate') await mkdir(path, { recursive: true, mode: 0o755 });
    else if (type === 'FileOrCreate') {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, '', { flag: 'a', mode: 0o644 });
    }
    const want = HOST_PATH_TYPES[type];
    if (want) {
      const st = await stat(path).catch(() => undefined);
      if (!st || !want.test(st)) {
        throw new VolumeSetupError(
          `MountVolume.SetUp failed for volume "${name}" : hostPath type check failed: ${path} is not ${want.what}`,
        );
      }
    }
    return path;
  }

  private async writeProjected(pod: KObject, v: Json, dir: string): Promise<void> {
    const payload = await this.payload(pod, v);
    const changed = await writePayload(dir, payload, new Date(this.host.now()));
    const fsGroup = rec(rec(pod.spec).securityContext).fsGroup;
    if (changed && typeof fsGroup === 'number') await setVolumeOwnership(dir, fsGroup, { readOnly: true });
  }

  /** The files of a configMap / secret / downwardAPI / projected volume. */
  async payload(pod: KObject, v: Json): Promise<Payload> {
    const ns = pod.metadata.namespace ?? 'default';
    if (v.configMap !== undefined || v.secret !== undefined) {
      const kind = v.configMap !== undefined ? 'configmap' : 'secret';
      const src = rec(v.configMap ?? v.secret);
      const optional = src.optional === true;
      const data = await this.readData(kind, ns, str(kind === 'configmap' ? src.name : src.secretName));
      if (!data && !optional) {
        throw new Error(`${kind} "${str(kind === 'configmap' ? src.name : src.secretName)}" not found`);
      }
      return keyToPathPayload(
        kind,
        list(src.items),
        data ?? {},
        modeOf(src.defaultMode, DEFAULT_MODE),
        optional,
      );
    }
    if (v.downwardAPI !== undefined) {
      const src = rec(v.downwardAPI);
      return downwardApiPayload(
        this.view(pod),
        list(src.items),
        modeOf(src.defaultMode, DEFAULT_MODE),
        this.host.allocatable,
      );
    }
    // projected
    const src = rec(v.projected);
    const defaultMode = modeOf(src.defaultMode, DEFAULT_MODE);
    const out: Payload = new Map();
    const errors: string[] = [];
    const add = (p: Payload): void => {
      for (const [k, f] of p) out.set(k, f);
    };
    for (const s of list(src.sources)) {
      try {
        if (s.configMap !== undefined || s.secret !== undefined) {
          const kind = s.configMap !== undefined ? 'configmap' : 'secret';
          const ref = rec(s.configMap ?? s.secret);
          const optional = ref.optional === true;
          const data = await this.readData(kind, ns, str(ref.name));
          if (!data) {
            if (optional) continue;
            throw new Error(`${kind} "${str(ref.name)}" not found`);
          }
          add(keyToPathPayload(kind, list(ref.items), data, defaultMode, optional));
        } else if (s.downwardAPI !== undefined) {
          add(
            downwardApiPayload(
              this.view(pod),
              list(rec(s.downwardAPI).items),
              defaultMode,
              this.host.allocatable,
            ),
          );
        } else if (s.serviceAccountToken !== undefined) {
          const t = rec(s.serviceAccountToken);
          const fsGroup = rec(rec(pod.spec).securityContext).fsGroup;
          const fsUser = fsUserOf(pod);
          const f: FileProjection = {
            data: Buffer.from(await this.token(pod, t)),
            mode: fsUser !== undefined || typeof fsGroup === 'number' ? 0o600 : defaultMode,
          };
          if (fsUser !== undefined) f.uid = fsUser;
          out.set(str(t.path), f);
        }
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    if (errors.length > 0) throw new Error(aggregate(errors));
    return out;
  }

  /** A bound token for the pod's service account (cached; renewed at 80% of its lifetime or after 24 h). */
  private async token(pod: KObject, t: Json): Promise<string> {
    const ns = pod.metadata.namespace ?? 'default';
    const sa = str(rec(pod.spec).serviceAccountName) || 'default';
    const audience = str(t.audience);
    const exp = typeof t.expirationSeconds === 'number' ? t.expirationSeconds : 3600;
    const key = `${sa}|${audience}|${exp}`;
    const now = this.host.now();
    const hit = this.tokens.get(key);
    if (hit) {
      const issuedAt = hit.expiresAt - hit.ttlMs;
      if (now < hit.expiresAt - hit.ttlMs * 0.2 && now < issuedAt + MAX_TOKEN_TTL_MS) return hit.token;
    }
    const spec: Json = {
      expirationSeconds: exp,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
    };
    if (audience) spec.audiences = [audience];
    const res = await this.host.requestToken(ns, sa, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: sa, namespace: ns },
      spec,
    });
    const status = rec(res.status);
    const token = str(status.token);
    if (!token)
      throw new Error(`failed to fetch token: the TokenRequest for serviceaccount "${sa}" returned no token`);
    const expiresAt = Date.parse(str(status.expirationTimestamp)) || now + exp * 1000;
    this.tokens.set(key, { token, expiresAt, ttlMs: exp * 1000 });
    return token;
  }

  private async readData(
    kind: 'configmap' | 'secret',
    ns: string,
    name: string,
  ): Promise<Record<string, Buffer> | undefined> {
    let obj: KObject;
    try {
      obj = await this.host.client.get(kind === 'configmap' ? CONFIGMAPS : SECRETS, ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const out: Record<string, Buffer> = {};
    if (kind === 'configmap') {
      for (const [k, v] of Object.entries(rec(obj.data))) if (typeof v === 'string') out[k] = Buffer.from(v);
      for (const [k, v] of Object.entries(rec(obj.binaryData))) {
        if (typeof v === 'string') out[k] = Buffer.from(v, 'base64');
      }
    } else {
      for (const [k, v] of Object.entries(rec(obj.data)))
        if (typeof v === 'string') out[k] = Buffer.from(v, 'base64');
      for (const [k, v] of Object.entries(rec(obj.stringData)))
        if (typeof v === 'string') out[k] = Buffer.from(v);
    }
    return out;
  }
}
