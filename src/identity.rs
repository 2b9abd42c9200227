//! The identity of a configuration: the listener's name and a short hash of the
//! configuration's bytes, as delivered. The module logs it at load and exports it as a
//! gauge, so an operator can see when every worker and every replica enforces a change.

/// `<name>:<8 hex digits>`: FNV-1a (32 bits) of the configuration's bytes. Not a digest
/// against tampering, only a name that differs when the configuration does.
pub fn identity(name: &str, configuration: &[u8]) -> String {
    format!("{name}:{}", short_hash(configuration))
}

/// The 8 hex digits of `identity`.
pub fn short_hash(configuration: &[u8]) -> String {
    let hash = configuration.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // The published FNV-1a 32-bit test vectors.
        assert_eq!(short_hash(b""), "811c9dc5");
        assert_eq!(short_hash(b"a"), "e40c292c");
        assert_eq!(short_hash(b"foobar"), "bf9cf968");
    }

    #[test]
    fn names_the_listener_and_changes_with_any_byte() {
        let one = identity("external", br#"{"name":"external"}"#);
        assert!(one.starts_with("external:"));
        assert_eq!(one.len(), "external:".len() + 8);
        assert_ne!(one, identity("external", br#"{"name":"external" }"#));
    }
}
