import { coreResources } from './core/index.js';
import { groupResources } from './groups.js';
import type { ResourceDef } from './types.js';

/** Every resource kind the API server serves, core group first (discovery order). */
export const resources: ResourceDef[] = [...coreResources, ...groupResources];
