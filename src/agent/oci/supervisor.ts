/**
 * Source of the per-container supervisor: a tiny detached Node.js script (written to `<stateDir>/supervisor.cjs`)
 * that runs `<runtime> run` in the foreground, writes the container's stdout/stderr to its log file in the
 * kubelet CRI format (`<RFC3339Nano> <stream> <P|F> <text>`, lines split at 16 KiB like containerd) and
 * records the exit status in `exit.json`. It outlives the agent, so a restarted agent finds exit codes.
 *
 * argv: runtime root bundle id logPath exitPath runtimeLogPath
 */
export const SUPERVISOR_SOURCE = String.raw`'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const [runtime, root, bundle, id, logPath, exitPath, runtimeLog] = process.argv.slice(2);
for (const s of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(s, () => {});
const log = fs.openSync(logPath, 'a');
const MAX = 16 * 1024;
function ts() {
  return new Date().toISOString().slice(0, 23) + '000000Z';
}
function write(stream, tag, bytes) {
  fs.writeSync(log, Buffer.concat([Buffer.from(ts() + ' ' + stream + ' ' + tag + ' '), bytes, Buffer.from('\n')]));
}
function splitter(stream) {
  let buf = Buffer.alloc(0);
  return {
    data(chunk) {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const i = buf.indexOf(10);
        if (i < 0) break;
        let line = buf.subarray(0, i);
        buf = buf.subarray(i + 1);
        while (line.length > MAX) {
          write(stream, 'P', line.subarray(0, MAX));
          line = line.subarray(MAX);
        }
        write(stream, 'F', line);
      }
      while (buf.length > MAX) {
        write(stream, 'P', buf.subarray(0, MAX));
        buf = buf.subarray(MAX);
      }
    },
    end() {
      if (buf.length > 0) write(stream, 'F', buf);
      buf = Buffer.alloc(0);
    },
  };
}
function finish(exitCode, message) {
  const rec = { exitCode, finishedAt: new Date().toISOString() };
  try {
    const errs = fs.readFileSync(runtimeLog, 'utf8').split('\n').filter((l) => l.includes('"level":"error"'));
    if (errs.length > 0) rec.runtimeError = errs.map((l) => { try { return JSON.parse(l).msg; } catch { return l; } }).join('; ');
  } catch {}
  if (message) rec.runtimeError = message;
  fs.writeFileSync(exitPath + '.tmp', JSON.stringify(rec));
  fs.renameSync(exitPath + '.tmp', exitPath);
  process.exit(0);
}
const child = spawn(runtime, ['--root', root, '--log', runtimeLog, '--log-format', 'json', 'run', '--bundle', bundle, id], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const out = splitter('stdout');
const err = splitter('stderr');
child.stdout.on('data', (d) => out.data(d));
child.stderr.on('data', (d) => err.data(d));
child.on('error', (e) => finish(128, String(e && e.message)));
child.on('close', (code, signal) => {
  out.end();
  err.end();
  const sig = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };
  finish(code !== null ? code : 128 + (sig[signal] || 0));
});
`;
