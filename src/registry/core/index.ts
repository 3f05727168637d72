import type { ResourceDef } from '../types.js';
import { configmaps } from './configmaps.js';
import { endpoints } from './endpoints.js';
import { events } from './events.js';
import { namespaces } from './namespaces.js';
import { nodes } from './nodes.js';
import { persistentvolumeclaims } from './persistentvolumeclaims.js';
import { persistentvolumes } from './persistentvolumes.js';
import { pods } from './pods.js';
import { secrets } from './secrets.js';
import { serviceaccounts } from './serviceaccounts.js';
import { services } from './services.js';

/** The core ("" group, v1) kinds. */
export const coreResources: ResourceDef[] = [
  namespaces,
  pods,
  services,
  endpoints,
  configmaps,
  secrets,
  serviceaccounts,
  events,
  nodes,
  persistentvolumes,
  persistentvolumeclaims,
];

export {
  configmaps,
  endpoints,
  events,
  namespaces,
  nodes,
  persistentvolumeclaims,
  persistentvolumes,
  pods,
  secrets,
  serviceaccounts,
  services,
};
