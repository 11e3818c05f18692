/**
 * Bit packing, as `src/protocol/binary/bits.rs` reads it: MSB-first bit reader,
 * Exp-Golomb codes, zigzag, LEB128 varints. Every read is bounds-checked.
 */
import { DecodeError } from "./errors.js";

export const U64_MAX = (1n << 64n) - 1n;

/** Reads bits most significant first; the first bit is bit 7 of the first byte. */
export class BitReader {
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  remaining(): number {
    return this.bytes.length * 8 - this.pos;
  }

  /** Read `n` bits (`n` ≤ 32) as an unsigned integer. */
  bits(n: number): number {
    if (n > this.remaining()) throw new DecodeError("truncated");
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.pos >> 3] ?? 0;
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }

  bit(): boolean {
    return this.bits(1) === 1;
  }

  /** The zero prefix of an Exp-Golomb code of order `k`, and its leading 1. */
  private prefix(k: number): number {
    let zeros = 0;
    while (!this.bit()) {
      zeros++;
      if (zeros + k > 64) throw new DecodeError("code_too_long");
    }
    return zeros;
  }

  private suffixBig(zeros: number, k: number): bigint {
    let left = zeros + k;
    let m = 1n;
    while (left > 0) {
      const n = Math.min(left, 32);
      left -= n;
      m = (m << BigInt(n)) | BigInt(this.bits(n));
    }
    const value = m - (1n << BigInt(k));
    if (value > U64_MAX) throw new DecodeError("code_too_long");
    return value;
  }

  /** Exp-Golomb of order `k`, any 64-bit value. */
  expGolombBig(k: number): bigint {
    return this.suffixBig(this.prefix(k), k);
  }

  /**
   * Exp-Golomb of order `k` as a number: exact below 2^53; larger values (only garbage or
   * ids carry them) come back rounded, which range checks then refuse.
   */
  expGolomb(k: number): number {
    const zeros = this.prefix(k);
    const n = zeros + k;
    if (n <= 32) {
      return 2 ** n + this.bits(n) - 2 ** k;
    }
    return Number(this.suffixBig(zeros, k));
  }

  /** A zigzag-coded signed value (0, -1, 1, -2, … ← 0, 1, 2, 3, …). */
  signed(k: number): number {
    const zeros = this.prefix(k);
    const n = zeros + k;
    if (n <= 32) {
      const u = 2 ** n + this.bits(n) - 2 ** k;
      return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    return Number(unzigzag(this.suffixBig(zeros, k)));
  }

  /** After the last field: only zero padding to the end of the byte may remain. */
  finish(): void {
    const rest = this.remaining();
    if (rest >= 8) throw new DecodeError("trailing_bytes");
    if (this.bits(rest) !== 0) throw new DecodeError("bad_padding");
  }
}

export function unzigzag(u: bigint): bigint {
  return (u & 1n) === 0n ? u >> 1n : -((u + 1n) >> 1n);
}

/** Unsigned LEB128 at `pos`: at most 10 bytes, no overflow, no redundant zero group. */
export function readVarint(bytes: Uint8Array, pos: number): { value: bigint; next: number } {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[pos];
    if (byte === undefined) throw new DecodeError("truncated");
    pos++;
    const group = BigInt(byte & 0x7f);
    if (i === 9 && group > 1n) throw new DecodeError("bad_varint");
    v |= group << BigInt(7 * i);
    if ((byte & 0x80) === 0) {
      if (i > 0 && group === 0n) throw new DecodeError("bad_varint");
      return { value: v, next: pos };
    }
  }
  throw new DecodeError("bad_varint");
}

/** Bits needed to write every integer in `0..=max` (`max` < 2^32). */
export function bitsFor(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}
