//! Any bytes as a plugin configuration: refused with a message, or loaded and sound.
#![no_main]

use cobrowse_l7_firewall::load;
use cobrowse_l7_firewall_fuzz::decide_and_check;
use libfuzzer_sys::fuzz_target;

/// Requests that exercise each kind of decision on whatever configuration loaded.
const REQUESTS: &[(&[u8], &[u8], bool)] = &[
    (b"GET", b"/", false),
    (b"GET", b"/api/1/devices?x=1", false),
    (b"GET", b"/sockets/1/x", true),
    (b"HEAD", b"/static", false),
    (b"POST", b"/dash/x?a=1", false),
    (b"GET", b"/dash/x?a=1", true),
    (b"GET", b"/a/../b", false),
    (b"GET", b"/healthz/%2e", false),
    (b"GET", b"/\xff", false),
];

fuzz_target!(|data: &[u8]| {
    match load(data) {
        Ok(fw) => {
            assert!(!fw.policy.routes().is_empty(), "loaded without a route");
            for (method, target, upgrade) in REQUESTS {
                decide_and_check(&fw, method, Some(target), *upgrade);
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
