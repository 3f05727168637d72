/**
 * Typed image errors. The agent maps ImagePullError to the `ErrImagePull`
 * waiting reason; `message` already reads like containerd's text, and
 * `criErrorMessage` adds the gRPC status wrapping the kubelet prints
 * (`rpc error: code = NotFound desc = failed to pull and unpack image …`).
 */

export type ImageErrorKind =
  | 'InvalidReference'
  | 'NotFound'
  | 'Unauthorized'
  | 'Network'
  | 'Registry'
  | 'DigestMismatch'
  | 'Platform'
  | 'Invalid';

export class ImageError extends Error {
  constructor(
    readonly kind: ImageErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

/** A failed pull. `code` is the gRPC status the CRI would report. */
export class ImagePullError extends ImageError {
  readonly reason = 'ErrImagePull';
  constructor(
    kind: ImageErrorKind,
    readonly image: string,
    detail: string,
  ) {
    super(kind, `failed to pull and unpack image "${image}": ${detail}`);
    this.name = 'ImagePullError';
  }

  get code(): 'NotFound' | 'InvalidArgument' | 'Unknown' {
    if (this.kind === 'NotFound') return 'NotFound';
    if (this.kind === 'InvalidReference') return 'InvalidArgument';
    return 'Unknown';
  }
}

/** The image is not in the local store (what IfNotPresent/Never policies check). */
export class ImageNotFoundError extends ImageError {
  constructor(readonly image: string) {
    super('NotFound', `image "${image}" not found`);
    this.name = 'ImageNotFoundError';
  }
}

/** A layer tried to write outside the root, or is otherwise unusable. */
export class UnpackError extends ImageError {
  constructor(message: string) {
    super('Invalid', message);
    this.name = 'UnpackError';
  }
}

/**
 * An error as a CRI runtime returns it over gRPC, the text the kubelet puts in
 * `Failed to pull image "<image>": <text>` events and the ErrImagePull waiting
 * message: `rpc error: code = <code> desc = <message>`.
 */
export function criErrorMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code =
    e instanceof ImagePullError
      ? e.code
      : e instanceof ImageError && e.kind === 'NotFound'
        ? 'NotFound'
        : 'Unknown';
  return `rpc error: code = ${code} desc = ${message}`;
}
