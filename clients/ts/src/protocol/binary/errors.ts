/** Why a binary frame could not be decoded: the same cases as the Rust `DecodeError`. */
export type DecodeErrorKind =
  | "truncated"
  | "trailing_bytes"
  | "bad_padding"
  | "bad_varint"
  | "code_too_long"
  | "unsupported_version"
  | "bad_flags"
  | "bad_tick_delta"
  | "missing_baseline"
  | "wrong_baseline"
  | "baseline_balls"
  | "out_of_range"
  | "unknown_player"
  | "duplicate_player"
  | "unknown_ack"
  | "bad_params";

export class DecodeError extends Error {
  constructor(
    readonly kind: DecodeErrorKind,
    detail?: string,
  ) {
    super(detail === undefined ? kind : `${kind}: ${detail}`);
    this.name = "DecodeError";
  }
}
