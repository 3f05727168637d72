/**
 * Owner references and adoption (upstream controller_ref_manager.go):
 * a controller adopts orphans its selector matches and releases the objects it
 * owns that no longer match. Writes are strategic-merge patches on
 * `metadata.ownerReferences` carrying the object's uid as a precondition, as
 * upstream sends them.
 */
import { isConflict, isNotFound } from '../../api/errors.js';
import type { KObject, OwnerReference } from '../../api/types.js';
import type { Client, ResourceRef } from '../../client/interface.js';
import type { LabelMatcher } from '../../machinery/selectors.js';

/** The ownerReference with controller=true, if any. */
export function getControllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** A controller reference to `owner` (controller and blockOwnerDeletion true). */
export function newControllerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** True when `obj` is controlled by the object with this uid. */
export function isControlledBy(obj: KObject, ownerUid: string | undefined): boolean {
  return !!ownerUid && getControllerOf(obj)?.uid === ownerUid;
}

export interface ClaimOptions {
  client: Client;
  resource: ResourceRef;
  owner: KObject;
  selector: LabelMatcher;
  /** Extra membership test (StatefulSet: the parent name parsed from the pod name). */
  filter?: (obj: KObject) => boolean;
  /**
   * Called once before the first adoption: re-reads the owner from the API
   * and throws if it is gone, has another uid, or is being deleted
   * (upstream's RecheckDeletionTimestamp). Default: adopt without a recheck.
   */
  canAdopt?: () => Promise<void>;
}

/**
 * Returns the objects the owner controls after adopting matching orphans and
 * releasing owned non-matching ones. Objects that vanish (404) or change
 * under us (409) during adoption/release are skipped. Inputs are not mutated;
 * adopted/released objects in the result are the API's returned copies.
 */
export async function claimObjects(objs: readonly KObject[], opts: ClaimOptions): Promise<KObject[]> {
  const { owner, selector } = opts;
  const uid = owner.metadata.uid ?? '';
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  const claimed: KObject[] = [];
  let adoptChecked: Promise<void> | undefined;
  for (const obj of objs) {
    const ref = getControllerOf(obj);
    const matches = selector.matches(obj.metadata.labels) && (opts.filter?.(obj) ?? true);
    if (ref) {
      if (ref.uid !== uid) continue;
      if (matches) {
        claimed.push(obj);
        continue;
      }
      // Owned but no longer matching: release, unless the owner is going away.
      if (ownerDeleting) continue;
      await quiet(() => releaseObject(opts.client, opts.resource, obj, uid));
      continue;
    }
    // Orphan.
    if (!matches || ownerDeleting || obj.metadata.deletionTimestamp) continue;
    if (opts.canAdopt) {
      adoptChecked ??= opts.canAdopt();
      await adoptChecked;
    }
    const adopted = await quiet(() => adoptObject(opts.client, opts.resource, obj, owner));
    if (adopted) claimed.push(adopted);
  }
  return claimed;
}

export function adoptObject(
  client: Client,
  res: ResourceRef,
  obj: KObject,
  owner: KObject,
): Promise<KObject> {
  const patch = {
    metadata: { ownerReferences: [newControllerRef(owner)], uid: obj.metadata.uid },
  };
  return client.patch(res, obj.metadata.namespace, obj.metadata.name ?? '', 'strategic', patch);
}

export function releaseObject(
  client: Client,
  res: ResourceRef,
  obj: KObject,
  ownerUid: string,
): Promise<KObject> {
  const patch = {
    metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: obj.metadata.uid },
  };
  return client.patch(res, obj.metadata.namespace, obj.metadata.name ?? '', 'strategic', patch);
}

async function quiet<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (isNotFound(e) || isConflict(e)) return undefined;
    throw e;
  }
}
