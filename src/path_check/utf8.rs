//! A streaming UTF-8 validator for percent-decoded bytes (Unicode Table 3-7): refuses
//! overlong forms, surrogates and code points past U+10FFFF, and reports each complete
//! code point so that lookalikes of `.`, `/` and `\` can be refused too.

use super::lookalike::is_lookalike;
use super::RejectReason;

#[derive(Default)]
pub struct Utf8 {
    /// Continuation bytes still expected.
    pub pending: u8,
    /// The range the next continuation byte must fall in.
    low: u8,
    high: u8,
    /// The code point decoded so far.
    code: u32,
}

impl Utf8 {
    pub fn feed(&mut self, b: u8) -> Result<(), RejectReason> {
        if self.pending > 0 {
            if b < self.low || b > self.high {
                return Err(RejectReason::InvalidUtf8);
            }
            self.pending -= 1;
            (self.low, self.high) = (0x80, 0xbf);
            self.code = self.code << 6 | u32::from(b & 0x3f);
            if self.pending == 0 && char::from_u32(self.code).is_some_and(is_lookalike) {
                return Err(RejectReason::Lookalike);
            }
            return Ok(());
        }
        (self.pending, self.low, self.high, self.code) = match b {
            0x00..=0x7f => return Ok(()),
            0xc2..=0xdf => (1, 0x80, 0xbf, u32::from(b & 0x1f)),
            0xe0 => (2, 0xa0, 0xbf, 0),
            0xe1..=0xec | 0xee..=0xef => (2, 0x80, 0xbf, u32::from(b & 0x0f)),
            0xed => (2, 0x80, 0x9f, 0x0d),
            0xf0 => (3, 0x90, 0xbf, 0),
            0xf1..=0xf3 => (3, 0x80, 0xbf, u32::from(b & 0x07)),
            0xf4 => (3, 0x80, 0x8f, 4),
            _ => return Err(RejectReason::InvalidUtf8),
        };
        Ok(())
    }

    pub fn at_boundary(&self) -> Result<(), RejectReason> {
        if self.pending == 0 {
            Ok(())
        } else {
            Err(RejectReason::InvalidUtf8)
        }
    }
}
