export * from './interface.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
export { SqliteStore } from './sqlite.js';

import type { Store } from './interface.js';
import { MemoryStore } from './memory.js';
import { SqliteStore } from './sqlite.js';

/** Opens a backend by name; `path` (the database file) is required for sqlite. */
export async function openStore(kind: 'memory' | 'sqlite', path?: string): Promise<Store> {
  switch (kind) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      if (!path) throw new Error('the sqlite store needs a database file path');
      return SqliteStore.open(path);
  }
}
