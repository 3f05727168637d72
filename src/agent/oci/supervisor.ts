/**
 * Source of the per-container supervisor: a tiny detached Node.js script (written to `<stateDir>/supervisor.cjs`)
 * that runs `<runtime> run` in the foreground, writes the container's stdout/stderr to its log file in the
 * kubelet CRI format (`<RFC3339Nano> <stream> <P|F> <text>`, lines split at 16 KiB like containerd) and
 * records the exit status in `exit.json`. It outlives the agent, so a restarted agent finds exit codes.
 *
 * It also serves attach: it runs with the container dir as its working directory and listens on
 * `attach.sock` there (mode 0600), speaking the framed protocol of attach-protocol.ts. Every attached
 * client gets the output produced after it attached (the log still gets everything); clients that attach
 * stdin feed the container's stdin, which is a pipe kept open for containers with `stdin: true`. When a
 * client's stdin ends (or it goes away), containerd's rule applies: with `stdinOnce` and no tty the
 * container's stdin is closed (EOF) and the client keeps receiving output until the container exits;
 * otherwise only that client is detached and the stdin stays open for the next one. A tty container runs
 * under `script` (terminal.ts), so its output is one stream, logged as stdout like upstream, and RESIZE
 * sets the size of the pty. When the container exits every client gets EXIT and is disconnected.
 *
 * argv: runtime root bundle id logPath exitPath runtimeLogPath [optionsJson]
 * options: {stdin, stdinOnce, tty, command?: argv to run instead of `<runtime> run`, stty?: argv prefix of
 * an stty that accepts `-F <tty> rows R cols C`}
 */
import { encodeFrame, FrameType, frameDecoder } from './attach-protocol.js';

/** Name of the attach socket inside the container dir. */
export const ATTACH_SOCKET = 'attach.sock';

/** The options argument of the supervisor (JSON, last argv entry). */
export interface SupervisorOptions {
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  command?: string[];
  stty?: string[];
}

export const SUPERVISOR_SOURCE = String.raw`'use strict';
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const [runtime, root, bundle, id, logPath, exitPath, runtimeLog, optionsJson] = process.argv.slice(2);
const opts = optionsJson ? JSON.parse(optionsJson) : {};
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
function record(exitCode, message) {
  const rec = { exitCode, finishedAt: new Date().toISOString() };
  try {
    const errs = fs.readFileSync(runtimeLog, 'utf8').split('\n').filter((l) => l.includes('"level":"error"'));
    if (errs.length > 0) rec.runtimeError = errs.map((l) => { try { return JSON.parse(l).msg; } catch { return l; } }).join('; ');
  } catch {}
  if (message) rec.runtimeError = message;
  fs.writeFileSync(exitPath + '.tmp', JSON.stringify(rec));
  fs.renameSync(exitPath + '.tmp', exitPath);
}

// ---- attach protocol (attach-protocol.ts) ----
const T = ${JSON.stringify(FrameType)};
${encodeFrame.toString()}
${frameDecoder.toString()}

const tty = opts.tty === true;
const hasStdin = opts.stdin === true;
const command = opts.command || [runtime, '--root', root, '--log', runtimeLog, '--log-format', 'json', 'run', '--bundle', bundle, id];
const child = spawn(command[0], command.slice(1), {
  // A tty container's script always gets a pipe: EOF on its stdin would end the container's terminal.
  stdio: [hasStdin || tty ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  env: Object.assign({}, process.env, { SHELL: '/bin/sh' }),
});
let stdinOpen = hasStdin && !!child.stdin;
if (child.stdin) child.stdin.on('error', () => { stdinOpen = false; });

const clients = new Set();
const HIGH_WATER = 1024 * 1024;
let outputPaused = false;
let exitCode;

function send(c, type, payload) {
  if (!c.sock.destroyed && !c.sock.writableEnded) c.sock.write(encodeFrame(type, payload));
}
function resumeOutput() {
  for (const c of clients) {
    if (c.sock.writableLength > HIGH_WATER && !c.sock.destroyed) {
      c.sock.once('drain', resumeOutput);
      return;
    }
  }
  if (outputPaused) {
    outputPaused = false;
    child.stdout.resume();
    child.stderr.resume();
  }
}
function broadcast(type, data) {
  let frame;
  for (const c of clients) {
    if (!c.open || c.detached || !(type === T.STDOUT ? c.stdout : c.stderr)) continue;
    if (c.sock.destroyed || c.sock.writableEnded) continue;
    frame = frame || encodeFrame(type, data);
    c.sock.write(frame);
    if (c.sock.writableLength > HIGH_WATER && !outputPaused) {
      // Backpressure as containerd: a slow attached client slows the container down, it loses nothing.
      outputPaused = true;
      child.stdout.pause();
      child.stderr.pause();
      c.sock.once('drain', resumeOutput);
    }
  }
}
function toStdin(c, data) {
  if (!c.stdin || c.stdinDone || !stdinOpen) return;
  if (!child.stdin.write(data)) {
    for (const x of clients) x.sock.pause();
    child.stdin.once('drain', () => { for (const x of clients) x.sock.resume(); });
  }
}
function stdinEnded(c, gone) {
  if (!c.stdin || c.stdinDone) return;
  c.stdinDone = true;
  if (opts.stdinOnce === true && !tty) {
    if (stdinOpen) {
      stdinOpen = false;
      child.stdin.end();
    }
  } else if (!gone) {
    c.detached = true;
    c.sock.end();
  }
}

// Resizes are applied one at a time, the latest wins.
let pendingSize;
let resizing = false;
function resize(size) {
  if (!tty || !opts.stty || !opts.command) return;
  pendingSize = size;
  if (resizing) return;
  resizing = true;
  const next = () => {
    const s = pendingSize;
    pendingSize = undefined;
    if (!s || exitCode !== undefined) { resizing = false; return; }
    // runc is the only child of script; its stdin is the host pty whose size runc copies into the container.
    let kid;
    try {
      kid = Number(fs.readFileSync('/proc/' + child.pid + '/task/' + child.pid + '/children', 'utf8').trim().split(/\s+/)[0]);
    } catch {}
    if (!kid) { resizing = false; return; }
    const rows = String(Math.max(0, Math.min(65535, Math.floor(Number(s.height) || 0))));
    const cols = String(Math.max(0, Math.min(65535, Math.floor(Number(s.width) || 0))));
    execFile(opts.stty[0], opts.stty.slice(1).concat(['-F', '/proc/' + kid + '/fd/0', 'rows', rows, 'cols', cols]), next);
  };
  next();
}

const server = net.createServer((sock) => {
  const c = { sock, open: false, stdin: false, stdout: false, stderr: false, stdinDone: false, detached: false };
  clients.add(c);
  sock.on('error', () => {});
  sock.on('close', () => {
    clients.delete(c);
    stdinEnded(c, true);
    if (outputPaused) resumeOutput();
    if (exitCode !== undefined && clients.size === 0) process.exit(0);
  });
  const decode = frameDecoder((type, payload) => {
    if (type === T.OPEN) {
      const o = JSON.parse(payload.toString());
      c.open = true;
      c.stdin = o.stdin === true && hasStdin;
      c.stdout = o.stdout === true;
      c.stderr = o.stderr === true && !tty;
    } else if (type === T.STDIN) toStdin(c, payload);
    else if (type === T.CLOSE_STDIN) stdinEnded(c, false);
    else if (type === T.RESIZE) resize(JSON.parse(payload.toString()));
  });
  sock.on('data', (d) => {
    try {
      decode(d);
    } catch {
      sock.destroy();
    }
  });
  send(c, T.HELLO, JSON.stringify({ stdin: hasStdin, stdinOnce: opts.stdinOnce === true, tty }));
  if (exitCode !== undefined) {
    send(c, T.EXIT, JSON.stringify({ exitCode }));
    sock.end();
  }
});
server.on('error', () => {});
try { fs.unlinkSync('${ATTACH_SOCKET}'); } catch {}
const umask = process.umask(0o077);
server.listen('${ATTACH_SOCKET}');
process.umask(umask);

const out = splitter('stdout');
const err = splitter('stderr');
child.stdout.on('data', (d) => {
  out.data(d);
  broadcast(T.STDOUT, d);
});
child.stderr.on('data', (d) => {
  err.data(d);
  broadcast(T.STDERR, d);
});
function finish(code, message) {
  if (exitCode !== undefined) return;
  exitCode = code;
  record(code, message);
  for (const c of clients) {
    send(c, T.EXIT, JSON.stringify({ exitCode: code }));
    c.sock.end();
  }
  server.close();
  try { fs.unlinkSync('${ATTACH_SOCKET}'); } catch {}
  if (clients.size === 0) process.exit(0);
  // Give attached clients a moment to read the last output, then go regardless.
  setTimeout(() => process.exit(0), 2000);
}
child.on('error', (e) => finish(128, String(e && e.message)));
child.on('close', (code, signal) => {
  out.end();
  err.end();
  const sig = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };
  finish(code !== null ? code : 128 + (sig[signal] || 0));
});
`;
