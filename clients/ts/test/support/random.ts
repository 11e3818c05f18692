/** xorshift32, a small deterministic generator: a seed repeats a test's kicks, delays and
 * corruptions, so failures reproduce. Values in [0, 1). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}
