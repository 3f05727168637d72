/**
 * Writing kubeconfig files for `ordinal up`. Either a standalone file at an
 * explicit path, or a merge into the user's kubeconfig (first file of
 * $KUBECONFIG, else ~/.kube/config) the way kind does it: the cluster, user and
 * context named `ordinal` are replaced, current-context is set, and every
 * other entry is left as it was.
 */
import { chmod, mkdir, readFile, realpath, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import YAML from 'yaml';

export interface KubeconfigParams {
  /** Standalone file to (over)write; when absent, merge into the default kubeconfig. */
  path?: string;
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  token?: string;
  /** Name of the cluster, user and context entries. */
  name?: 'ordinal';
}

type Entry = { name?: unknown; [k: string]: unknown };
type KubeconfigDoc = {
  apiVersion?: unknown;
  kind?: unknown;
  clusters?: unknown;
  users?: unknown;
  contexts?: unknown;
  'current-context'?: unknown;
  preferences?: unknown;
  [k: string]: unknown;
};

/** The file `kubectl` reads by default: first entry of $KUBECONFIG, else ~/.kube/config. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(delimiter).find((p) => p.length > 0);
  return resolve(first ?? join(homedir(), '.kube', 'config'));
}

/**
 * Writes the kubeconfig and returns the path written. Throws if an existing
 * file to merge into is not a YAML mapping (it is never clobbered).
 */
export async function writeKubeconfig(p: KubeconfigParams): Promise<string> {
  const name = p.name ?? 'ordinal';
  const cluster: Entry = {
    name,
    cluster: { server: p.server, 'certificate-authority-data': b64(p.caPem) },
  };
  const userSpec: Record<string, string> = {
    'client-certificate-data': b64(p.certPem),
    'client-key-data': b64(p.keyPem),
  };
  if (p.token) userSpec.token = p.token;
  const user: Entry = { name, user: userSpec };
  const context: Entry = { name, context: { cluster: name, user: name } };

  if (p.path) {
    const target = resolve(p.path);
    const doc: KubeconfigDoc = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [user],
      contexts: [context],
      'current-context': name,
      preferences: {},
    };
    await writeSecure(target, YAML.stringify(doc));
    return target;
  }

  const target = defaultKubeconfigPath();
  const existing = await readExisting(target);
  const doc: KubeconfigDoc = existing ?? { apiVersion: 'v1', kind: 'Config', preferences: {} };
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  doc.clusters = upsert(doc.clusters, cluster, target, 'clusters');
  doc.users = upsert(doc.users, user, target, 'users');
  doc.contexts = upsert(doc.contexts, context, target, 'contexts');
  doc['current-context'] = name;
  await writeSecure(target, YAML.stringify(doc));
  return target;
}

async function readExisting(path: string): Promise<KubeconfigDoc | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (text.trim() === '') return undefined;
  const parsed: unknown = YAML.parse(text);
  if (parsed === null || parsed === undefined) return undefined;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${path} is not a kubeconfig (expected a YAML mapping); not touching it`);
  }
  return parsed as KubeconfigDoc;
}

/** Replaces the entry with the same name in place, or appends it. */
function upsert(list: unknown, entry: Entry, path: string, key: string): Entry[] {
  if (list === undefined || list === null) return [entry];
  if (!Array.isArray(list)) throw new Error(`${path}: "${key}" is not a list; not touching it`);
  const out = [...(list as Entry[])];
  const i = out.findIndex((e) => e && typeof e === 'object' && e.name === entry.name);
  if (i >= 0) out[i] = entry;
  else out.push(entry);
  return out;
}

/** Writes via temp file + rename, mode 0600, following a symlinked kubeconfig to its target. */
async function writeSecure(path: string, content: string): Promise<void> {
  let target = path;
  try {
    target = await realpath(path);
  } catch {
    // does not exist yet
  }
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.ordinal-${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, target);
}

function b64(pem: string): string {
  return Buffer.from(pem).toString('base64');
}
