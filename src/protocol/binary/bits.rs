//! Bit packing: MSB-first bit writer and reader, Exp-Golomb codes, zigzag, LEB128.
//!
//! Bits are packed most significant first: the first bit written is bit 7 of the first
//! byte. The last byte is padded with zero bits.

use super::DecodeError;

/// Appends bits to a byte vector, most significant bit first.
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    /// Pending bits, right-aligned; `used` of them are valid.
    acc: u64,
    used: u32,
}

impl BitWriter {
    pub fn new(bytes: Vec<u8>) -> BitWriter {
        BitWriter {
            bytes,
            acc: 0,
            used: 0,
        }
    }

    /// Write the low `n` bits of `value` (`n` ≤ 32).
    #[inline]
    pub fn bits(&mut self, value: u32, n: u32) {
        debug_assert!(n <= 32);
        // `acc` holds fewer than 32 pending bits, so 32 more always fit.
        let value = u64::from(value) & ((1u64 << n) - 1);
        self.acc = (self.acc << n) | value;
        self.used += n;
        if self.used >= 32 {
            self.used -= 32;
            let word = (self.acc >> self.used) as u32;
            self.bytes.extend_from_slice(&word.to_be_bytes());
            self.acc &= (1u64 << self.used) - 1;
        }
    }

    #[inline]
    pub fn bit(&mut self, b: bool) {
        self.bits(u32::from(b), 1);
    }

    /// Exp-Golomb code of order `k` for `value`: with `m = value + 2^k`, `L` = bit length
    /// of `m`, write `L - k - 1` zero bits and then the `L` bits of `m`.
    #[inline]
    pub fn exp_golomb(&mut self, value: u64, k: u32) {
        if value < 1 << 15 && k < 15 {
            // The common case in u32: at most 31 bits.
            let m = value as u32 + (1 << k);
            let len = 32 - m.leading_zeros();
            self.bits(m, 2 * len - k - 1);
            return;
        }
        self.exp_golomb_long(value, k);
    }

    /// [`BitWriter::exp_golomb`] of a value too large for the 32-bit path.
    #[cold]
    #[inline(never)]
    fn exp_golomb_long(&mut self, value: u64, k: u32) {
        let m = u128::from(value) + (1u128 << k);
        let len = 128 - m.leading_zeros();
        // The zero prefix is the leading zeros of `m` written in `total` bits.
        let total = 2 * len - k - 1;
        if total <= 32 {
            self.bits(m as u32, total);
            return;
        }
        let mut zeros = len - k - 1;
        while zeros > 0 {
            let n = zeros.min(32);
            self.bits(0, n);
            zeros -= n;
        }
        let mut left = len;
        while left > 0 {
            let n = left.min(32);
            left -= n;
            self.bits((m >> left) as u32, n);
        }
    }

    /// A signed value as zigzag then Exp-Golomb of order `k`.
    #[inline]
    pub fn signed(&mut self, value: i64, k: u32) {
        self.exp_golomb(zigzag(value), k);
    }

    /// Pad to a byte boundary with zero bits and return the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let pad = (8 - self.used % 8) % 8;
        self.bits(0, pad);
        while self.used > 0 {
            self.used -= 8;
            self.bytes.push((self.acc >> self.used) as u8);
        }
        self.bytes
    }
}

/// Reads what [`BitWriter`] wrote; every read is bounds-checked.
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// Position in bits.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() * 8 - self.pos
    }

    /// Read `n` bits (`n` ≤ 32).
    pub fn bits(&mut self, n: u32) -> Result<u32, DecodeError> {
        debug_assert!(n <= 32);
        if (n as usize) > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let mut v = 0u32;
        for _ in 0..n {
            let byte = self.bytes[self.pos / 8];
            let bit = (byte >> (7 - self.pos % 8)) & 1;
            v = (v << 1) | u32::from(bit);
            self.pos += 1;
        }
        Ok(v)
    }

    pub fn bit(&mut self) -> Result<bool, DecodeError> {
        Ok(self.bits(1)? == 1)
    }

    /// Inverse of [`BitWriter::exp_golomb`]. Values above `u64::MAX` are refused.
    pub fn exp_golomb(&mut self, k: u32) -> Result<u64, DecodeError> {
        let mut zeros = 0u32;
        while !self.bit()? {
            zeros += 1;
            if zeros + k > 64 {
                return Err(DecodeError::CodeTooLong);
            }
        }
        // The leading 1 was read; `zeros + k` more bits follow.
        let mut left = zeros + k;
        let mut m: u128 = 1;
        while left > 0 {
            let n = left.min(32);
            left -= n;
            m = (m << n) | u128::from(self.bits(n)?);
        }
        let value = m - (1u128 << k);
        u64::try_from(value).map_err(|_| DecodeError::CodeTooLong)
    }

    pub fn signed(&mut self, k: u32) -> Result<i64, DecodeError> {
        Ok(unzigzag(self.exp_golomb(k)?))
    }

    /// After the last field: the rest of the current byte must be zero padding and no
    /// bytes may follow.
    pub fn finish(self) -> Result<(), DecodeError> {
        let rest = self.remaining();
        if rest >= 8 {
            return Err(DecodeError::TrailingBytes);
        }
        let mut me = self;
        if me.bits(rest as u32)? != 0 {
            return Err(DecodeError::BadPadding);
        }
        Ok(())
    }
}

/// 0, -1, 1, -2, 2, … → 0, 1, 2, 3, 4, …
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Unsigned LEB128: 7 bits a byte, least significant group first, high bit = more.
pub(crate) fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Read a LEB128 varint at `*pos`; at most 10 bytes, no overflow, no redundant
/// trailing zero groups.
pub(crate) fn read_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *bytes.get(*pos).ok_or(DecodeError::Truncated)?;
        *pos += 1;
        let group = u64::from(byte & 0x7f);
        if i == 9 && group > 1 {
            return Err(DecodeError::BadVarint);
        }
        v |= group << (7 * i);
        if byte & 0x80 == 0 {
            if i > 0 && group == 0 {
                return Err(DecodeError::BadVarint);
            }
            return Ok(v);
        }
    }
    Err(DecodeError::BadVarint)
}

/// Bits needed to write every integer in `0..=max`.
pub(crate) fn bits_for(max: u64) -> u32 {
    64 - max.leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_round_trips_and_has_the_documented_lengths() {
        for k in 0..6 {
            let values = [0u64, 1, 2, 3, 7, 100, 1 << 40, u64::MAX - 1, u64::MAX];
            let mut w = BitWriter::new(Vec::new());
            for &v in &values {
                w.exp_golomb(v, k);
                w.signed(v as i64, k);
            }
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            for &v in &values {
                assert_eq!(r.exp_golomb(k).unwrap(), v);
                assert_eq!(r.signed(k).unwrap(), v as i64);
            }
            r.finish().unwrap();
        }
        // Order 0: 0 → "1", 1 → "010", 2 → "011", 3 → "00100".
        let mut w = BitWriter::new(Vec::new());
        for v in [0, 1, 2, 3] {
            w.exp_golomb(v, 0);
        }
        assert_eq!(w.finish(), [0b1010_0110, 0b0100_0000]);
    }

    #[test]
    fn zigzag_and_varints() {
        for (v, z) in [(0i64, 0u64), (-1, 1), (1, 2), (-2, 3), (i64::MIN, u64::MAX)] {
            assert_eq!(zigzag(v), z);
            assert_eq!(unzigzag(z), v);
        }
        for v in [0u64, 127, 128, 300, u64::MAX] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            let mut pos = 0;
            assert_eq!(read_varint(&out, &mut pos).unwrap(), v);
            assert_eq!(pos, out.len());
        }
        assert_eq!(
            read_varint(&[0x80, 0x00], &mut 0),
            Err(DecodeError::BadVarint)
        );
        assert_eq!(read_varint(&[0x80], &mut 0), Err(DecodeError::Truncated));
        assert_eq!(bits_for(0), 0);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(4095), 12);
        assert_eq!(bits_for(4096), 13);
    }
}
