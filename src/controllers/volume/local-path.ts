/**
 * rancher/local-path-provisioner, in process (provisioner name
 * `rancher.io/local-path`). Instead of helper pods running the `setup` and
 * `teardown` scripts on the node, the directory is created (`mkdir -m 0777 -p`)
 * and removed (`rm -rf`) directly: every Ordinal node shares this host's
 * filesystem.
 *
 * - Directory: `<base>/<pvName>_<namespace>_<pvcName>`; base is
 *   `<dataDir>/local-path-provisioner` (upstream: /opt/local-path-provisioner)
 *   or the StorageClass `nodePath` parameter (upstream additionally requires it
 *   to be listed in its config map; Ordinal has no config map and takes any
 *   absolute path). The `pathPattern` parameter is a Go template over `.PVName`
 *   and `.PVC` (`.PVC.Namespace`, `.PVC.Name`, `.PVC.UID`, `.PVC.Labels.<k>`,
 *   `.PVC.Annotations.<k>`, `index .PVC.Labels "<k>"`); its result must start
 *   with `<namespace>/<name>/` and stay below the base unless
 *   `allowUnsafePathPattern` is "true".
 * - PV: `hostPath {path, type: DirectoryOrCreate}` (or `local {path}` when the
 *   class annotation `defaultVolumeType` or the claim annotation `volumeType`
 *   says `local`), volumeMode Filesystem, capacity = request (not enforced),
 *   reclaimPolicy from the class, required node affinity on
 *   `kubernetes.io/hostname` (or the `nodeAffinityKey` parameter) = the node's
 *   label value (its name when unlabelled), annotation
 *   `local.path.provisioner/selected-node`.
 * - Needs the scheduler's selected node (WaitForFirstConsumer), RWO/RWOP only,
 *   no claim selectors — with upstream's error messages — unless a shared
 *   filesystem path is configured (`sharedFileSystemPath`: no node affinity,
 *   any access mode, Immediate binding works).
 * - Delete: `rm -rf` the directory unless the PV says Retain; skipped when the
 *   node the volume lives on no longer exists (as upstream).
 */
import { chmod, mkdir } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import type { KObject } from '../../api/types.js';
import { type DeleteContext, type Provisioner, type ProvisionOptions, removeTree } from './provisioner.js';
import {
  accessModesOf,
  annotationsOf,
  classParameters,
  LABEL_HOSTNAME,
  rec,
  requestText,
  specOf,
  str,
} from './util.js';

export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
export const ANN_LOCAL_PATH_SELECTED_NODE = 'local.path.provisioner/selected-node';

export interface LocalPathProvisionerOptions {
  /** The cluster data directory; volumes go to `<dataDir>/local-path-provisioner`. */
  dataDir: string;
  /** upstream's `sharedFileSystemPath`: one directory visible from every node. */
  sharedFileSystemPath?: string;
  /** Provisioner name (default rancher.io/local-path). */
  name?: string;
}

/** Go's strconv.ParseBool. */
export function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Go's filepath.IsLocal (Unix): relative, non-empty, and not escaping through "..". */
export function isLocalPath(p: string): boolean {
  if (p === '' || isAbsolute(p)) return false;
  const clean = posix.normalize(p);
  return clean !== '..' && !clean.startsWith('../');
}

interface PatternData {
  PVName: string;
  PVC: KObject;
}

function lookup(data: PatternData, path: string[]): string {
  const meta = data.PVC.metadata;
  const [root, field, key, ...rest] = path;
  if (root === 'PVName' && path.length === 1) return data.PVName;
  if (root !== 'PVC') throw new Error(`can't evaluate field ${root ?? ''}`);
  if (rest.length > 0) throw new Error(`can't evaluate field ${rest[0]}`);
  switch (field) {
    case 'Name':
    case 'Namespace':
    case 'UID':
    case 'GenerateName':
      if (key !== undefined) throw new Error(`can't evaluate field ${key} in type string`);
      return field === 'Name'
        ? (meta.name ?? '')
        : field === 'Namespace'
          ? (meta.namespace ?? '')
          : field === 'UID'
            ? (meta.uid ?? '')
            : (meta.generateName ?? '');
    case 'Labels':
    case 'Annotations': {
      const m = (field === 'Labels' ? meta.labels : meta.annotations) ?? {};
      if (key === undefined) throw new Error(`can't print map[string]string`);
      // A missing key of a map prints "<no value>" in Go templates.
      return m[key] ?? '<no value>';
    }
    default:
      throw new Error(`can't evaluate field ${field ?? ''} in type v1.ObjectMeta`);
  }
}

/** Renders the subset of Go templates pathPattern uses ({{ .PVName }}, {{ .PVC.Namespace }}, index). */
export function renderPathPattern(pattern: string, data: PatternData): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const open = pattern.indexOf('{{', i);
    if (open < 0) {
      out += pattern.slice(i);
      break;
    }
    out += pattern.slice(i, open);
    const close = pattern.indexOf('}}', open + 2);
    if (close < 0) throw new Error('template: pathPattern:1: unclosed action');
    const action = pattern
      .slice(open + 2, close)
      .replace(/^-?\s*/, '')
      .replace(/\s*-?$/, '');
    const field = /^\.([A-Za-z_][\w]*(?:\.[A-Za-z0-9_./-]*)?)$/.exec(action);
    const index = /^index\s+\.PVC\.(Labels|Annotations)\s+"([^"]*)"$/.exec(action);
    try {
      if (field) {
        const parts = (field[1] ?? '').split('.');
        // Map keys may contain dots only through `index`; split keeps the first three parts.
        const path = parts.length > 3 ? [...parts.slice(0, 2), parts.slice(2).join('.')] : parts;
        out += lookup(data, path);
      } else if (index) {
        const m = (index[1] === 'Labels' ? data.PVC.metadata.labels : data.PVC.metadata.annotations) ?? {};
        out += m[index[2] ?? ''] ?? '';
      } else {
        throw new Error(`function "${action.split(/\s+/)[0] ?? ''}" not defined`);
      }
    } catch (e) {
      throw new Error(`template: pathPattern:1: ${(e as Error).message}`);
    }
    i = close + 2;
  }
  return out;
}

export class LocalPathProvisioner implements Provisioner {
  readonly name: string;
  readonly supportsBlock = false;
  readonly basePath: string;
  private readonly sharedPath: string | undefined;

  constructor(opts: LocalPathProvisionerOptions) {
    this.name = opts.name ?? LOCAL_PATH_PROVISIONER;
    this.basePath = join(opts.dataDir, 'local-path-provisioner');
    this.sharedPath = opts.sharedFileSystemPath;
  }

  async provision(opts: ProvisionOptions): Promise<KObject> {
    const { pvc, storageClass, pvName, selectedNode } = opts;
    const shared = this.sharedPath !== undefined;
    const spec = specOf(pvc);
    if (!shared) {
      if (spec.selector !== undefined && spec.selector !== null) {
        throw new Error('claim.Spec.Selector is not supported');
      }
      for (const m of accessModesOf(pvc)) {
        if (m !== 'ReadWriteOnce' && m !== 'ReadWriteOncePod') {
          throw new Error('NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes');
        }
      }
      if (!selectedNode) throw new Error('configuration error, no node was specified');
    }
    const nodeName = selectedNode?.name ?? '';
    const params = classParameters(storageClass);
    let base = this.sharedPath ?? this.basePath;
    if (!shared && params.nodePath !== undefined) {
      if (!isAbsolute(params.nodePath)) {
        throw new Error(`path must start with / for path ${params.nodePath} on node ${nodeName}`);
      }
      base = params.nodePath;
    }

    const ns = pvc.metadata.namespace ?? '';
    const claimName = pvc.metadata.name ?? '';
    let folder = [pvName, ns, claimName].join('_');
    const pattern = params.pathPattern;
    if (pattern !== undefined) {
      const unsafeText =
        params.allowUnsafePathPattern ?? annotationsOf(storageClass).allowUnsafePathPattern ?? 'false';
      const allowUnsafe = parseGoBool(unsafeText) ?? false;
      try {
        folder = renderPathPattern(pattern, { PVName: pvName, PVC: pvc });
        const prefix = `${posix.join(ns, claimName)}/`;
        if (!allowUnsafe && !folder.startsWith(prefix)) {
          throw new Error(`pathPattern must start with {{ .PVC.Namespace }}/{{ .PVC.Name }}/: ${folder}`);
        }
      } catch (e) {
        throw new Error(`failed to create path from pattern ${pattern}: ${(e as Error).message}`);
      }
      if (!allowUnsafe && !isLocalPath(folder)) {
        throw new Error(`folder path contains invalid references: ${folder}`);
      }
    }
    const path = join(base, folder);

    let volumeType = annotationsOf(storageClass).defaultVolumeType ?? 'hostPath';
    volumeType = annotationsOf(pvc).volumeType ?? volumeType;
    let source: Record<string, unknown>;
    switch (volumeType.toLowerCase()) {
      case 'local':
        source = { local: { path } };
        break;
      case 'hostpath':
        source = { hostPath: { path, type: 'DirectoryOrCreate' } };
        break;
      default:
        throw new Error(
          `failed to create persistent volume source: "${volumeType}" is not a recognised volume type`,
        );
    }

    // The setup script: mkdir -m 0777 -p "$VOL_DIR".
    try {
      await mkdir(path, { recursive: true, mode: 0o777 });
      await chmod(path, 0o777);
    } catch (e) {
      throw new Error(`failed to create volume ${pvName}: ${(e as Error).message}`);
    }

    const pvSpec: Record<string, unknown> = {
      persistentVolumeReclaimPolicy: str(storageClass.reclaimPolicy) || 'Delete',
      accessModes: accessModesOf(pvc),
      volumeMode: 'Filesystem',
      capacity: { storage: requestText(pvc) },
      ...source,
    };
    if (!shared && selectedNode) {
      const key = params.nodeAffinityKey || LABEL_HOSTNAME;
      const value = selectedNode.labels[key] ?? nodeName;
      pvSpec.nodeAffinity = {
        required: {
          nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values: [value] }] }],
        },
      };
    }
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [ANN_LOCAL_PATH_SELECTED_NODE]: nodeName } },
      spec: pvSpec,
    };
  }

  async delete(pv: KObject, ctx: DeleteContext = {}): Promise<void> {
    const name = pv.metadata.name ?? '';
    const fail = (msg: string): Error => new Error(`failed to delete volume ${name}: ${msg}`);
    const spec = specOf(pv);
    const hostPath = rec(spec.hostPath);
    const local = rec(spec.local);
    let path: string;
    if (spec.hostPath && !spec.local) path = str(hostPath.path);
    else if (spec.local && !spec.hostPath) path = str(local.path);
    else throw fail('no path set');

    let node = '';
    if (this.sharedPath === undefined) {
      const required = rec(spec.nodeAffinity).required;
      if (spec.nodeAffinity === undefined || spec.nodeAffinity === null) throw fail('no NodeAffinity set');
      if (required === undefined || required === null) throw fail('no NodeAffinity.Required set');
      node = affinityNode(required, ctx.storageClass);
      if (node === '') throw fail('cannot find affinited node');
    }
    if (str(spec.persistentVolumeReclaimPolicy) === 'Retain') return; // "Retained volume"
    if (node !== '' && ctx.nodeExists && !(await ctx.nodeExists(node))) return; // node gone: cleanup skipped
    try {
      await removeTree(path);
    } catch (e) {
      throw fail((e as Error).message);
    }
  }
}

/** The node a local-path PV is pinned to: the single value of its `In` requirement on the affinity key. */
function affinityNode(required: unknown, storageClass: KObject | undefined): string {
  const key = (storageClass && classParameters(storageClass).nodeAffinityKey) || LABEL_HOSTNAME;
  const terms = rec(required).nodeSelectorTerms;
  if (!Array.isArray(terms)) return '';
  for (const t of terms) {
    const exprs = rec(t).matchExpressions;
    if (!Array.isArray(exprs)) continue;
    for (const e of exprs) {
      const r = rec(e);
      if (r.key === key && r.operator === 'In' && Array.isArray(r.values)) {
        if (r.values.length !== 1) return '';
        return str(r.values[0]);
      }
    }
  }
  return '';
}
