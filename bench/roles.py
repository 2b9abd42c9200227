"""The two listener roles of the benchmark, written once for every variant.

The built-in groups are copied from SPEC.md ("The routes"); each prefix carries
whether WebSocket upgrades are allowed on it.
"""

GROUPS = {
    "sdk": [("/api/1/devices", False), ("/api/1/sessions", False), ("/sockets/1/", True)],
    "universal": [("/proxy/1/universal", False)],
    "sdk_pinning": [("/sdk-js/", False)],
    "ai_sdk": [("/api/1/virtualagents", False)],
    "mcp": [("/virtual-agent/1/mcp", False)],
    "agent": [("/api/1/", False), ("/proxy/1/", False), ("/recording/1/", False), ("/sockets/1/", True)],
    "frontend": [("/index.html", False), ("/favicon.png", False), ("/apps/", False), ("/static/", False)],
}

# role -> (enabled groups, fallback); the public and the agent listener of SPEC.md.
ROLES = {
    "external": (["sdk", "universal", "sdk_pinning", "ai_sdk"], "deny"),
    "internal": (["agent", "frontend"], "spa"),
}


def prefixes(role):
    """(prefix, websocket) pairs enabled on a role, without duplicates."""
    groups, _ = ROLES[role]
    seen = {}
    for group in groups:
        for prefix, websocket in GROUPS[group]:
            seen[prefix] = seen.get(prefix, False) or websocket
    return list(seen.items())


def fallback(role):
    return ROLES[role][1]


def plugin_config(role):
    """The module's JSON plugin configuration for a role."""
    groups, fallback_action = ROLES[role]
    return {"name": role, "groups": groups, "fallback": fallback_action}
