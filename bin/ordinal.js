#!/usr/bin/env node
// Launcher: installs dependencies and builds on first use (or when the sources
// changed), then runs the compiled CLI. Stays quick when nothing needs doing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cli', 'main.js');

function run(args, what) {
  process.stderr.write(`ordinal: ${what}...\n`);
  const r = spawnSync('npm', args, {
    cwd: root,
    stdio: ['ignore', process.stderr, process.stderr],
    shell: process.platform === 'win32',
  });
  if (r.status !== 0) {
    process.stderr.write(
      `ordinal: \`npm ${args.join(' ')}\` failed${r.error ? `: ${r.error.message}` : ''}\n`,
    );
    process.exit(1);
  }
}

/** Newest modification time (ms) of the build inputs below `dir`, skipping tests. */
function newestInput(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'testdata') newest = Math.max(newest, newestInput(p));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(p).mtimeMs);
    }
  }
  return newest;
}

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

if (!existsSync(join(root, 'node_modules'))) {
  // `npm install`, not `npm ci`: the lockfile lists only this platform's optional packages (the
  // registry here serves no others), which `npm ci` refuses; install still follows the lockfile.
  run(['install'], 'installing dependencies');
}

const hasSources = existsSync(join(root, 'src'));
if (hasSources) {
  const built = mtime(entry);
  const inputs = Math.max(
    newestInput(join(root, 'src')),
    newestInput(join(root, 'scripts')),
    mtime(join(root, 'package.json')),
    mtime(join(root, 'tsconfig.json')),
    mtime(join(root, 'tsconfig.build.json')),
  );
  if (!built || inputs > built) run(['run', 'build', '--silent'], built ? 'rebuilding' : 'building');
}

// `up` as root on Debian: the packages real pods need (runc, iproute2, ...), installed when missing.
const args = process.argv.slice(2);
if (
  args[0] === 'up' &&
  !args.includes('--runtime=sim') &&
  args[args.indexOf('--runtime') + 1] !== 'sim' &&
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  existsSync(join(root, 'scripts', 'system-packages.sh'))
) {
  spawnSync('sh', [join(root, 'scripts', 'system-packages.sh'), 'runtime'], {
    stdio: ['ignore', process.stderr, process.stderr],
  });
}

if (!existsSync(entry)) {
  process.stderr.write(`ordinal: ${entry} is missing; run \`npm run build\` in ${root}\n`);
  process.exit(1);
}

const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
if (process.argv[2] === 'up') process.exit(process.exitCode);
