"""The variants measured side by side, each on its own listener of one Envoy."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    id: str
    label: str
    kind: str  # none | floor | floor-trim | module | lua | native
    role: str  # external | internal: the policy it enforces
    mix: str = ""  # the request mix (bench/mixes/<mix>.txt); the role's own by default
    baseline: str = "floor"  # the floor variant on the same mix, for the "vs floor" ratios
    plugin: tuple = ()  # (key, value) pairs over the module's shipped-like configuration
    probe: str = ""  # floor only: the one host call it adds per request (bench/floor-filter)
    edge: str = ""  # "": the bench's bare listener; "shipped": envoy/external.yaml's edge settings; "tls": those over TLS
    # "": no access log; "shipped": the shipped JSON access log (paths without their query), to
    # /dev/null; "query": the same with `path` as %REQ(:PATH)%, the query included, as before
    access_log: str = ""

    @property
    def enforces_policy(self):
        return self.kind in ("module", "lua", "native")

    @property
    def mix_name(self):
        return self.mix or self.role


ALL = [
    Variant("none", "no filter", "none", "external"),
    Variant("floor", "floor (proxy-wasm, reads :path)", "floor", "external"),
    Variant("floor-trim", "floor, unused exports removed", "floor-trim", "external"),
    Variant("module-ext", "module, external config", "module", "external"),
    Variant("module-int", "module, internal config", "module", "internal"),
    # One host call more on each allowed request, for its cost: `filter_state` on.
    Variant("module-ext-fs", "module, external config, filter_state on", "module", "external",
            plugin=(("filter_state", True),)),
    Variant("lua-ext", "Lua filter, external config", "lua", "external"),
    Variant("lua-int", "Lua filter, internal config", "lua", "internal"),
    Variant("native-ext", "native routes, external", "native", "external"),
    Variant("native-int", "native routes, internal", "native", "internal"),
    # The floor plus one host call each: what that call costs a request.
    *[Variant(f"probe-{p}", f"floor + {label}", "floor", "external", probe=p) for p, label in (
        ("counter", "counter increment"), ("upgrade", "`upgrade` read"), ("method", "`:method` read"),
        ("filter_state", "filter-state write"), ("path_write", "`:path` write (route matched again)"),
        ("log", "info log line"), ("local_reply", "local reply (403)"))],
    # A scanner's flood: only refused paths (403s, keep-alive holds), default logging.
    Variant("floor-flood", "floor, flood mix", "floor", "external", "flood", "floor-flood"),
    Variant("module-flood", "module, external config, flood mix", "module", "external", "flood", "floor-flood"),
    Variant("module-flood-nolog", "module, flood mix, log.level off", "module", "external", "flood",
            "floor-flood", (("log", {"level": "off"}),)),
    Variant("lua-flood", "Lua filter, external config, flood mix", "lua", "external", "flood", "floor-flood"),
    # The shipped configs' edge settings (timeouts, HTTP/2 limits, use_remote_address, header
    # checks, buffer and connection limits) on the same listener, then the same over TLS.
    Variant("floor-edge", "floor, shipped edge settings", "floor", "external", edge="shipped"),
    Variant("module-ext-edge", "module, external config, shipped edge settings", "module", "external",
            edge="shipped"),
    Variant("floor-tls", "floor, shipped edge settings, TLS", "floor", "external", baseline="floor-tls", edge="tls"),
    Variant("module-ext-tls", "module, external config, shipped edge settings, TLS", "module", "external",
            baseline="floor-tls", edge="tls"),
    # The shipped access log, which leaves queries out (credentials ride there), against the
    # same format logging %REQ(:PATH)%: what keeping tokens out of the log costs.
    *[Variant(f"{kind}-{role[:3]}-log{suffix}", f"{kind}, {role} config, access log {label}", kind, role,
              baseline=f"floor-{role[:3]}-log{suffix}", access_log=form)
      for kind in ("floor", "module") for role in ("external", "internal")
      for suffix, label, form in (("", "without queries (shipped)", "shipped"), ("-query", "with queries", "query"))],
    # Browser-like requests to the agent listener: a dozen headers, cookies.
    Variant("floor-browser", "floor, browser mix", "floor", "internal", "browser", "floor-browser"),
    Variant("module-browser", "module, internal config, browser mix", "module", "internal", "browser",
            "floor-browser"),
    Variant("lua-browser", "Lua filter, internal config, browser mix", "lua", "internal", "browser",
            "floor-browser"),
]


def select(ids_csv):
    """Variants named in a comma-separated list (all when empty), in the canonical order."""
    if not ids_csv:
        return list(ALL)
    wanted = {part.strip() for part in ids_csv.split(",") if part.strip()}
    unknown = wanted - {v.id for v in ALL}
    if unknown:
        raise SystemExit(f"unknown variant(s) {sorted(unknown)}; known: {[v.id for v in ALL]}")
    return [v for v in ALL if v.id in wanted]
