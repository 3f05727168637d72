/**
 * Child process for sqlite-crash.test.ts: opens the store at argv[2] and
 * creates keys `/crash/<run>/<n>` (value `value-<run>-<n>`) as fast as it can
 * with several writes in flight, printing each key only after its create()
 * resolved. The parent kills it with SIGKILL at a random moment.
 */

import { SqliteStore } from '../sqlite.js';

const [path, run] = process.argv.slice(2);
if (!path || !run) {
  process.stderr.write('usage: crash-writer <db-path> <run-id>\n');
  process.exit(2);
}

const store = SqliteStore.open(path);
let next = 0;

async function writer(): Promise<void> {
  for (;;) {
    const n = next++;
    const key = `/crash/${run}/${n}`;
    await store.create(key, `value-${run}-${n}`);
    // Writes to a pipe are synchronous on Linux, so a printed key is one the parent sees.
    process.stdout.write(`${key}\n`);
  }
}

process.stdout.write('ready\n');
for (let i = 0; i < 16; i++) {
  writer().catch((err: unknown) => {
    process.stderr.write(`write failed: ${String(err)}\n`);
    process.exit(1);
  });
}
