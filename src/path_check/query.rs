//! The query's rule (SPEC rule 6): only bytes an HTTP/1.1 request line may carry, that is
//! printable ASCII 0x21-0x7e. Escapes are data and are not decoded.
//!
//! Every allowed request with a query pays for this scan, so it reads eight bytes at a time
//! (SWAR, plain integer arithmetic: the same on every Wasm runtime) and the last few one by one.

const LOW: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
const SEVEN_BITS: u64 = u64::from_le_bytes([0x7f; 8]);
const FIRST_PRINTABLE: u64 = u64::from_le_bytes([0x21; 8]);

/// One byte: printable ASCII other than space.
pub fn is_printable(b: u8) -> bool {
    matches!(b, 0x21..=0x7e)
}

/// Eight bytes at once: true when every one is printable.
fn word_is_printable(x: u64) -> bool {
    // A byte >= 0x80 has its high bit set.
    let non_ascii = x;
    // A byte < 0x21 borrows: the classic "has a byte less than n" test (exact as to whether
    // any byte is, for n <= 0x80; bytes >= 0x80 are excluded by `!x` and caught above).
    let below = x.wrapping_sub(FIRST_PRINTABLE) & !x;
    // A byte of 0x7f (DEL) carries into its high bit once its low seven bits get one more;
    // masking to seven bits first keeps every byte's sum inside the byte.
    let del = (x & SEVEN_BITS) + LOW;
    (non_ascii | below | del) & HIGH == 0
}

/// True when every byte of `query` is printable ASCII other than space.
pub fn is_printable_ascii(query: &[u8]) -> bool {
    let mut words = query.chunks_exact(8);
    for chunk in &mut words {
        let word = match <[u8; 8]>::try_from(chunk) {
            Ok(bytes) => u64::from_le_bytes(bytes),
            Err(_) => return chunk.iter().all(|&b| is_printable(b)),
        };
        if !word_is_printable(word) {
            return false;
        }
    }
    words.remainder().iter().all(|&b| is_printable(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value, at every position of a word and of the remainder, alone among
    /// printable neighbours of both extremes.
    #[test]
    fn agrees_with_the_byte_rule_everywhere() {
        for fill in [b'!', b'~', b'a'] {
            for len in 1..=19 {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut q = vec![fill; len];
                        q[at] = b;
                        assert_eq!(is_printable_ascii(&q), is_printable(b), "{q:?}");
                    }
                }
            }
        }
        assert!(is_printable_ascii(b""));
    }

    /// Pairs of bytes in one word: a borrow or carry from one byte must not hide or
    /// invent a finding in another.
    #[test]
    fn neighbours_do_not_interfere() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let q = [b'x', a, b, b'x', b'x', b'x', b'x', b'x'];
                assert_eq!(
                    is_printable_ascii(&q),
                    is_printable(a) && is_printable(b),
                    "{a:#04x} {b:#04x}"
                );
            }
        }
    }
}
