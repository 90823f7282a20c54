//! The Internet checksum (RFC 1071).

/// One's-complement partial sum of `data` as big-endian 16-bit words (odd length padded
/// with a zero byte). Not folded: add partial sums, then call [`fold`].
#[inline]
pub fn partial(data: &[u8]) -> u64 {
    if data.is_empty() {
        return 0;
    }
    // 64-bit big-endian words added with end-around carry: a u64 word is four 16-bit
    // words, and 2^16 = 1 in one's complement arithmetic, so the folded result is the same
    // with a quarter of the additions.
    let mut sum = 0u64;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        sum = add_word(sum, c.try_into().expect("8 bytes"));
    }
    // Fold to 33 bits so that the tail adds below cannot overflow.
    let mut sum = (sum >> 32) + (sum & 0xffff_ffff);
    let mut rest = chunks.remainder();
    if rest.len() >= 4 {
        sum += u32::from_be_bytes(rest[..4].try_into().expect("4 bytes")) as u64;
        rest = &rest[4..];
    }
    if rest.len() >= 2 {
        sum += u16::from_be_bytes([rest[0], rest[1]]) as u64;
    }
    if rest.len() & 1 == 1 {
        sum += (rest[rest.len() - 1] as u64) << 8;
    }
    sum
}

/// Adds a big-endian 64-bit word to a sum of them, with end-around carry.
#[inline(always)]
fn add_word(sum: u64, word: [u8; 8]) -> u64 {
    let (s, carry) = sum.overflowing_add(u64::from_be_bytes(word));
    s + carry as u64
}

/// Copies `src` into `dst` (of the same length) and returns [`partial`] of it, in one pass:
/// the sum comes from the words as they are loaded, not from the bytes just stored.
#[inline]
pub fn copy_summed(dst: &mut [u8], src: &[u8]) -> u64 {
    let mut sum = 0u64;
    let mut to = dst.chunks_exact_mut(8);
    let mut from = src.chunks_exact(8);
    for (t, f) in (&mut to).zip(&mut from) {
        let word: [u8; 8] = f.try_into().expect("8 bytes");
        t.copy_from_slice(&word);
        sum = add_word(sum, word);
    }
    to.into_remainder().copy_from_slice(from.remainder());
    // The tail starts at a multiple of 8: its sum adds as it is.
    (sum >> 32) + (sum & 0xffff_ffff) + partial(from.remainder())
}

/// Folds a partial sum and complements it: the value to put in a checksum field.
#[inline]
pub fn fold(sum: u64) -> u16 {
    // End-around carries: 64 -> 32 -> 16 bits, each an add plus its carry.
    let (s, c) = (sum as u32).overflowing_add((sum >> 32) as u32);
    let s = s + c as u32;
    let (s, c) = (s as u16).overflowing_add((s >> 16) as u16);
    !(s + c as u16)
}

/// Checksum of `data` alone.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    fold(partial(data))
}

/// Partial sum of some bytes (an address), folded to fit a u32 with room for more.
#[inline]
pub fn addr_sum(b: &[u8]) -> u32 {
    let mut s = partial(b);
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u32
}

/// Partial sum of a 64-bit value (four 16-bit words). Headers built as big-endian words
/// are summed whole: 2^16 = 1 in one's complement arithmetic, so the halves of a word
/// add up to the same folded sum as its 16-bit words.
#[inline]
pub fn word64(v: u64) -> u64 {
    (v >> 32) + (v & 0xffff_ffff)
}

/// A partial sum of bytes that sit one byte later in the checksummed data (after a header
/// of odd length): each 16-bit word's bytes change places, which in one's complement
/// arithmetic is a multiplication by 2^8 (RFC 1071, byte order independence).
#[inline]
pub fn at_odd_offset(sum: u64) -> u64 {
    // Folded to 33 bits first, so that the shift cannot overflow.
    ((sum >> 32) + (sum & 0xffff_ffff)) << 8
}

/// Partial sum of a 32-bit value as two 16-bit words.
#[inline]
pub fn word32(v: u32) -> u64 {
    (v >> 16) as u64 + (v & 0xffff) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_summed_copies_and_sums() {
        let src: Vec<u8> = (0..77u32).map(|i| (i * 89 + 3) as u8).collect();
        for len in 0..src.len() {
            let mut dst = vec![0xa5; len];
            let sum = copy_summed(&mut dst, &src[..len]);
            assert_eq!(dst, src[..len]);
            assert_eq!(fold(sum), fold(partial(&src[..len])), "len {len}");
        }
    }

    #[test]
    fn at_odd_offset_sums_bytes_one_later() {
        let data: Vec<u8> = (0..41u32).map(|i| (i * 151 + 7) as u8).collect();
        for split in [1, 3, 9, 39] {
            let (head, tail) = data.split_at(split);
            let joined = partial(head) + at_odd_offset(partial(tail));
            assert_eq!(fold(joined), fold(partial(&data)), "split at {split}");
        }
        // No overflow at the largest sum (which is 0 in one's complement).
        assert_eq!(fold(at_odd_offset(u64::MAX)), fold(u64::MAX));
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the sum of these words is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(partial(&data)), !0xddf2);
    }

    /// The 64-bit words give the folded sum of plain 16-bit words, for every length and
    /// for words that carry out of 64 bits.
    #[test]
    fn partial_matches_16_bit_words() {
        let slow = |d: &[u8]| {
            let mut s: u64 = d.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u64).sum();
            while s > 0xffff {
                s = (s & 0xffff) + (s >> 16);
            }
            !(s as u16)
        };
        let mut data: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(fold(partial(&data[..len])), slow(&data[..len]), "len {len}");
        }
        data.fill(0xff);
        for len in 0..data.len() {
            assert_eq!(fold(partial(&data[..len])), slow(&data[..len]), "all ones, len {len}");
        }
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(partial(&[0x12]), 0x1200);
        assert_eq!(partial(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn fold_carries_all_the_way() {
        assert_eq!(fold(0), 0xffff);
        assert_eq!(fold(0xffff), 0);
        assert_eq!(fold(0x1_0000), !1);
        assert_eq!(fold(0xffff_ffff), 0);
        assert_eq!(fold(0xffff_ffff_ffff_ffff), 0);
        assert_eq!(fold(0x0001_0000_ffff_0001), !0x0002);
        // Against a plain 16-bit fold.
        let slow = |mut s: u64| {
            while s > 0xffff {
                s = (s & 0xffff) + (s >> 16);
            }
            !(s as u16)
        };
        for v in [1u64, 0x1234_5678_9abc_def0, 0xfffe_0001_8000_7fff, u64::MAX - 1, 0x8000_0000_8000_0000] {
            assert_eq!(fold(v), slow(v), "{v:#x}");
        }
    }

    #[test]
    fn words_sum_like_their_bytes() {
        let v = 0x1234_5678_9abc_def0u64;
        assert_eq!(fold(word64(v)), fold(partial(&v.to_be_bytes())));
        assert_eq!(fold(word32(0xfedc_ba98)), fold(partial(&0xfedc_ba98u32.to_be_bytes())));
    }

    #[test]
    fn ipv4_header_checksums_to_zero() {
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&hdr), 0);
    }
}
