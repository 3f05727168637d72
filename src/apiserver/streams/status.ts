/**
 * The Status an exec or attach session ends with, as the kubelet's
 * remotecommand server writes it on the error channel/stream: Success;
 * NonZeroExitCode with the exit code as an `ExitCode` cause (kubectl exits
 * with it and prints "command terminated with exit code N"); or the failure.
 * v4+ protocols carry it as JSON, older ones as the message text.
 */
import { internalError, isStatusError } from '../../api/errors.js';
import type { StatusCause, StatusDetails } from '../../api/types.js';

/** metav1.Status as json.Marshal writes it for the error channel (no kind/apiVersion). */
export interface SessionStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails & { causes?: StatusCause[] };
  code?: number;
}

export function successStatus(): SessionStatus {
  return { metadata: {}, status: 'Success' };
}

/** Go's %v of a []string: `[sh -c exit 3]`. */
function goList(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

/** A command that ran and exited with a non-zero code (the CRI runtime's CodeExitError text). */
export function exitCodeStatus(command: readonly string[], code: number): SessionStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command ${goList(command)}, exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/**
 * A session the target could not run: its StatusError as is, anything else as
 * an InternalError wrapped like the kubelet does ("error executing command in
 * container: ..." / "error attaching to container: ...").
 */
export function failureStatus(kind: 'exec' | 'attach', e: unknown): SessionStatus {
  const err = isStatusError(e)
    ? e
    : internalError(
        `${kind === 'exec' ? 'error executing command in container' : 'error attaching to container'}: ${
          e instanceof Error ? e.message : String(e)
        }`,
      );
  const { kind: _k, apiVersion: _v, metadata: _m, ...rest } = err.status;
  return { metadata: {}, ...rest };
}

/** What goes on the error channel: JSON for v4+, the bare message (nothing on success) before. */
export function encodeStatus(status: SessionStatus, json: boolean): Buffer {
  if (json) return Buffer.from(JSON.stringify(status));
  return Buffer.from(status.status === 'Success' ? '' : (status.message ?? ''));
}
