//! The built-in route groups: the one table of Cobrowse routes, from its L7 firewall guide.

/// A route prefix of a built-in group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinPrefix {
    pub path: &'static str,
    /// WebSocket upgrades are allowed below this prefix.
    pub websocket: bool,
    /// Below this prefix the path is data, a third-party URL (SPEC rule 6a).
    pub opaque: bool,
}

/// A named set of prefixes an operator enables per listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinGroup {
    pub name: &'static str,
    pub prefixes: &'static [BuiltinPrefix],
    /// Who needs the group, for `routes` output and the docs.
    pub purpose: &'static str,
}

const fn http(path: &'static str) -> BuiltinPrefix {
    BuiltinPrefix {
        path,
        websocket: false,
        opaque: false,
    }
}

const fn ws(path: &'static str) -> BuiltinPrefix {
    BuiltinPrefix {
        path,
        websocket: true,
        opaque: false,
    }
}

/// A prefix that carries proxied third-party URLs: the web SDK builds
/// `/proxy/1/universal/{host labels}/{scheme}:{page path}` copying the page's path as it is
/// (`;jsessionid=`, `%2F` included), and its URL rewriter treats everything below
/// `/proxy/1/<kind>/` as such a URL.
const fn proxied(path: &'static str) -> BuiltinPrefix {
    BuiltinPrefix {
        path,
        websocket: false,
        opaque: true,
    }
}

pub const BUILTIN_GROUPS: &[BuiltinGroup] = &[
    BuiltinGroup {
        name: "sdk",
        prefixes: &[
            http("/api/1/devices"),
            http("/api/1/sessions"),
            ws("/sockets/1/"),
        ],
        purpose: "end-user devices running the SDKs",
    },
    BuiltinGroup {
        name: "universal",
        prefixes: &[proxied("/proxy/1/universal")],
        purpose: "devices, when Universal Cobrowse or the PDF viewer is used",
    },
    BuiltinGroup {
        name: "sdk_pinning",
        prefixes: &[http("/sdk-js/")],
        purpose: "devices, when the web SDK is pinned to the deployment's version",
    },
    BuiltinGroup {
        name: "ai_sdk",
        prefixes: &[http("/api/1/virtualagents")],
        purpose: "devices, when Cobrowse AI is used",
    },
    BuiltinGroup {
        name: "mcp",
        prefixes: &[http("/virtual-agent/1/mcp")],
        purpose: "the MCP orchestrator only; usually not public",
    },
    BuiltinGroup {
        name: "agent",
        prefixes: &[
            http("/api/1/"),
            proxied("/proxy/1/"),
            http("/recording/1/"),
            ws("/sockets/1/"),
        ],
        purpose: "the agent dashboard or embedded agent UI: the entire API",
    },
    BuiltinGroup {
        name: "frontend",
        prefixes: &[
            http("/index.html"),
            http("/favicon.png"),
            http("/apps/"),
            http("/static/"),
        ],
        purpose: "the agents' static single-page app",
    },
];

/// Looks a built-in group up by its configuration name.
pub fn builtin(name: &str) -> Option<&'static BuiltinGroup> {
    BUILTIN_GROUPS.iter().find(|g| g.name == name)
}

/// The built-in names, for error messages.
pub fn builtin_names() -> String {
    let names: Vec<&str> = BUILTIN_GROUPS.iter().map(|g| g.name).collect();
    names.join(", ")
}
