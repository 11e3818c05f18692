//! A tiny PRNG (SplitMix64); no extra crate needed.

pub struct Rng(pub u64);

impl Rng {
    /// The generator of the `n`-th task of one population of the run (`salt` tells the
    /// populations apart).
    pub fn for_task(seed: u64, salt: u64, n: usize) -> Rng {
        Rng(seed ^ salt ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
