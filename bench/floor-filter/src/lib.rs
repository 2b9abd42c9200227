//! Floor filter: reads `:path` as bytes and lets the request continue.
//!
//! Its plugin configuration may name one more host call to make per request, so that each
//! host call the module can make is measured alone, as the difference from the floor:
//! `counter`, `upgrade`, `method`, `filter_state`, `log` or `local_reply`. Empty: none.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(FloorRoot { probe: Probe::None }) });
}}

#[derive(Clone, Copy)]
enum Probe {
    None,
    Counter(u32),
    Upgrade,
    Method,
    FilterState,
    /// `:path` written back unchanged: what an SPA rewrite costs, route re-match included.
    PathWrite,
    Log,
    LocalReply,
}

struct FloorRoot {
    probe: Probe,
}

impl Context for FloorRoot {}

impl RootContext for FloorRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        self.probe = match config.as_slice() {
            b"" => Probe::None,
            b"counter" => match hostcalls::define_metric(MetricType::Counter, "bench_probe") {
                Ok(id) => Probe::Counter(id),
                Err(_) => return false,
            },
            b"upgrade" => Probe::Upgrade,
            b"method" => Probe::Method,
            b"filter_state" => Probe::FilterState,
            b"path_write" => Probe::PathWrite,
            b"log" => Probe::Log,
            b"local_reply" => Probe::LocalReply,
            _ => return false,
        };
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(FloorRequest { probe: self.probe }))
    }
}

struct FloorRequest {
    probe: Probe,
}

impl Context for FloorRequest {}

fn header(name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
        .ok()
        .flatten()
}

impl HttpContext for FloorRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // The host call copies the header into the VM: the same work the real filter does first.
        let path = header(":path");
        std::hint::black_box(&path);
        match self.probe {
            Probe::None => {}
            Probe::Counter(id) => {
                let _ = hostcalls::increment_metric(id, 1);
            }
            Probe::Upgrade => {
                std::hint::black_box(header("upgrade"));
            }
            Probe::Method => {
                std::hint::black_box(header(":method"));
            }
            Probe::FilterState => {
                let _ = hostcalls::set_property(vec!["bench_probe"], Some(b"allowed:sdk"));
            }
            Probe::PathWrite => {
                // Envoy clears the route cache on any request-header write and matches again.
                let _ = hostcalls::set_map_value_bytes(
                    MapType::HttpRequestHeaders,
                    ":path",
                    path.as_deref(),
                );
            }
            Probe::Log => {
                log::info!("bench probe: {}", path.map_or(0, |p| p.len()));
            }
            Probe::LocalReply => {
                let headers = vec![("content-type", "text/plain")];
                let _ = hostcalls::send_http_response(403, headers, Some(b"Forbidden\n"));
                return Action::Pause;
            }
        }
        Action::Continue
    }
}
