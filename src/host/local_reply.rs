//! Local replies with their response code details, prepared at configure time. The SDK's
//! `send_http_response` passes no details; the ABI call takes them, and Envoy shows them as
//! `%RESPONSE_CODE_DETAILS%`: that is how a refusal's decision reaches the access log
//! without a filter-state write.

use crate::policy::Settings;
use proxy_wasm::types::Status;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_send_local_response(
        status_code: u32,
        status_code_details_data: *const u8,
        status_code_details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> Status;
}

/// One reply: status, body and the header map already in the ABI's wire form.
pub struct Reply {
    status: u32,
    body: Vec<u8>,
    headers: Vec<u8>,
}

/// Every reply the filter sends, built once per configuration.
pub struct Replies {
    pub deny: Reply,
    pub bad_request: Reply,
    pub method_not_allowed: Reply,
}

pub const TEXT: &str = "text/plain; charset=utf-8";

impl Replies {
    pub fn new(settings: &Settings) -> Replies {
        let deny = &settings.deny_response;
        Replies {
            deny: Reply::new(
                u32::from(deny.status),
                deny.body.as_bytes(),
                &[("content-type", &deny.content_type)],
            ),
            bad_request: Reply::new(400, b"Bad Request\n", &[("content-type", TEXT)]),
            method_not_allowed: Reply::new(
                405,
                b"Method Not Allowed\n",
                &[("content-type", TEXT), ("allow", "GET, HEAD")],
            ),
        }
    }
}

impl Reply {
    pub fn new(status: u32, body: &[u8], headers: &[(&str, &str)]) -> Reply {
        Reply {
            status,
            body: body.to_vec(),
            headers: serialize(headers),
        }
    }

    /// Sends the reply; `details` becomes the stream's response code details.
    pub fn send(&self, details: &str) {
        // SAFETY: every pointer and length pair describes a live slice that outlives the
        // call; the host copies what it needs before returning.
        let _ = unsafe {
            proxy_send_local_response(
                self.status,
                details.as_ptr(),
                details.len(),
                self.body.as_ptr(),
                self.body.len(),
                self.headers.as_ptr(),
                self.headers.len(),
                -1,
            )
        };
    }
}

/// The ABI's header map: a count, then each name's and value's length (u32 LE), then each
/// name and value followed by a NUL.
fn serialize(map: &[(&str, &str)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    bytes.extend_from_slice(&len(map.len()));
    for (name, value) in map {
        bytes.extend_from_slice(&len(name.len()));
        bytes.extend_from_slice(&len(value.len()));
    }
    for (name, value) in map {
        for part in [name, value] {
            bytes.extend_from_slice(part.as_bytes());
            bytes.push(0);
        }
    }
    bytes
}
