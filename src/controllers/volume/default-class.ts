/**
 * The cluster's default StorageClass, as kind ships it: `standard`, marked
 * default, provisioned by local-path with reclaimPolicy Delete and
 * WaitForFirstConsumer binding.
 */
import { isAlreadyExists } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { Client } from '../../client/interface.js';
import { STORAGECLASSES } from '../util/resources.js';
import { LOCAL_PATH_PROVISIONER } from './local-path.js';
import { ANN_DEFAULT_CLASS } from './util.js';

export const DEFAULT_STORAGE_CLASS = 'standard';

export function defaultStorageClassObject(): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { [ANN_DEFAULT_CLASS]: 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

/** Creates the `standard` StorageClass unless a class of that name exists (an existing one is left as is). */
export async function ensureDefaultStorageClass(client: Client): Promise<void> {
  try {
    await client.create(STORAGECLASSES, undefined, defaultStorageClassObject(), { fieldManager: 'ordinal' });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}
