/**
 * The contract between the API server's streaming subresources
 * (`pods/exec`, `pods/attach`, `pods/portforward`) and the node agents that
 * run the pods. The API server speaks the wire protocols to kubectl
 * (WebSocket channel.k8s.io and SPDY/3.1, see src/apiserver/streams/) and
 * hands plain Node.js streams to the target of the pod's node; a node agent
 * registers its target here, as it registers its log source in PodLogs.
 * Simulated nodes run no processes and register none.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import type { KObject } from '../api/types.js';
import { NodeRegistry } from './node-registry.js';

/** A terminal size, as kubectl sends it on the resize channel ({"Width":..,"Height":..}). */
export interface TerminalSize {
  width: number;
  height: number;
}

/** The client's side of an exec or attach session, already demultiplexed. */
export interface RemoteCommandIO {
  /** Present when the request asked for stdin; ends when the client closes stdin (or goes away). */
  stdin?: Readable;
  /** Present when the request asked for stdout. */
  stdout?: Writable;
  /** Present when the request asked for stderr (never with a TTY: kubectl merges it into stdout). */
  stderr?: Writable;
  tty: boolean;
  /**
   * Registers a listener for terminal size changes (TTY sessions). Sizes the client sent before the
   * listener was registered are replayed to it (the last one), so the first size is never lost.
   */
  onResize(listener: (size: TerminalSize) => void): void;
  /** Aborted when the client goes away; the target must then stop the session's process (exec). */
  signal: AbortSignal;
}

/** What a node agent offers for the streaming subresources of the pods it runs. */
export interface PodStreamTarget {
  /**
   * Runs `command` in the container and resolves with its exit code once it has exited and its output
   * has been written to io.stdout/io.stderr. Throws a StatusError (src/api/errors.ts) for refusals
   * (container not running, ...); other errors become "Internal error occurred: ..." for the client.
   */
  exec(pod: KObject, container: string, command: string[], io: RemoteCommandIO): Promise<number>;
  /**
   * Attaches to the container's main process: its output goes to io.stdout/io.stderr, io.stdin goes to
   * its stdin (when the container has `stdin: true`). Resolves when the client detaches (io.signal or
   * io.stdin ending) or the container exits.
   */
  attach(pod: KObject, container: string, io: RemoteCommandIO): Promise<void>;
  /** Opens a TCP connection to `port` on localhost in the pod's network namespace. */
  portForward(pod: KObject, port: number): Promise<Duplex>;
}

/** Stream targets by node name. */
export class PodStreams extends NodeRegistry<PodStreamTarget> {
  targetFor(nodeName: string): PodStreamTarget | undefined {
    return this.lookup(nodeName);
  }
}
