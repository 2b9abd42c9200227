//! Test builds only (`--features fault-injection`, never in the shipped module): a request
//! with `x-l7fw-fault: trap` makes the VM trap, to prove what the failure policy does.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MapType;

pub fn trap_on_demand() {
    let asked = hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, "x-l7fw-fault")
        .ok()
        .flatten();
    if asked.as_deref() == Some(b"trap".as_slice()) {
        core::arch::wasm32::unreachable();
    }
}
