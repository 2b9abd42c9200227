"""The variants measured side by side, each on its own listener of one Envoy."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    id: str
    label: str
    kind: str  # none | floor | module | lua | native
    role: str  # external | internal: the policy it enforces and the request mix it gets

    @property
    def enforces_policy(self):
        return self.kind in ("module", "lua", "native")


ALL = [
    Variant("none", "no filter", "none", "external"),
    Variant("floor", "floor (proxy-wasm, reads :path)", "floor", "external"),
    Variant("module-ext", "module, external config", "module", "external"),
    Variant("module-int", "module, internal config", "module", "internal"),
    Variant("lua-ext", "Lua filter, external config", "lua", "external"),
    Variant("lua-int", "Lua filter, internal config", "lua", "internal"),
    Variant("native-ext", "native routes, external", "native", "external"),
    Variant("native-int", "native routes, internal", "native", "internal"),
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
