#!/bin/bash
# make bench, docker rows: `docker run --rm IMAGE true` with runc, gVisor's runsc and ours, and the memory of
# an idle sandbox (proportional set size of every host process of one `sleep` container: for runc the
# container's process, for the two runsc the sandbox, the gofer and the sandbox's children). Runs a private
# dockerd (loopback only) so a docker already on the machine is left alone. Numbers only, never asserts.
set -u
cd "$(dirname "$0")/.."
OURS=${RUNSC_BINARY:-$PWD/bin/runsc}
GVISOR=${GVISOR_RUNSC:-/usr/bin/runsc}
DOCKER_RUNS=${DOCKER_RUNS:-5}
BASE=/var/lib/runsc-bench-docker
SOCK=unix://$BASE/docker.sock

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    echo "bench: docker rows skipped: dockerd not installed (apt-get install docker.io)"
    exit 0
fi
mkdir -p "$BASE"
[ -f "$BASE/docker.pid" ] && kill "$(cat "$BASE/docker.pid")" 2>/dev/null && sleep 2
# gVisor needs --network=none when docker leaves it no network namespace of its own to take over.
printf '{"runtimes": {"swift": {"path": "%s"}, "gvisor": {"path": "%s", "runtimeArgs": ["--network=none"]}}}\n' \
    "$OURS" "$GVISOR" >"$BASE/daemon.json"
dockerd --config-file "$BASE/daemon.json" --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --data-root "$BASE/data" --exec-root "$BASE/exec" --pidfile "$BASE/docker.pid" -H "$SOCK" >"$BASE/dockerd.log" 2>&1 &
DOCKERD=$!
trap 'docker -H "$SOCK" rm -f $(docker -H "$SOCK" ps -aq) >/dev/null 2>&1; kill $DOCKERD; wait $DOCKERD 2>/dev/null' EXIT
for _ in $(seq 100); do docker -H "$SOCK" version >/dev/null 2>&1 && break; sleep 0.2; done
d() { docker -H "$SOCK" "$@"; }

ROOTFS=$BASE/rootfs
rm -rf "$ROOTFS"; mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys"
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for a in sh true sleep; do ln -sf busybox "$ROOTFS/bin/$a"; done
tar -C "$ROOTFS" -c . | d import - runsc-bench-busybox >/dev/null || { echo "bench: docker import failed"; exit 0; }

runtime_args() { case $1 in gvisor) echo "--runtime=gvisor";; swift) echo "--runtime=swift";; *) echo "--runtime=runc";; esac; }

run_true_ms() {
    local rt=$1 start end i
    d run --rm --network=none $(runtime_args "$rt") runsc-bench-busybox true >/dev/null 2>&1 || { echo failed; return; }
    start=$(date +%s%N)
    for ((i = 0; i < DOCKER_RUNS; i++)); do
        d run --rm --network=none $(runtime_args "$rt") runsc-bench-busybox true >/dev/null 2>&1 || { echo failed; return; }
    done
    end=$(date +%s%N)
    awk -v t=$((end - start)) -v n="$DOCKER_RUNS" 'BEGIN { printf "%.0f\n", t / n / 1e6 }'
}

# Pss in KiB of PIDs and all their descendants.
pss_tree_kb() {
    local all=" $* " changed=1 p pp
    while [ $changed = 1 ]; do
        changed=0
        for p in /proc/[0-9]*; do
            p=${p#/proc/}
            case "$all" in *" $p "*) continue;; esac
            pp=$(awk '{ sub(/.*\) /, ""); print $2 }' /proc/$p/stat 2>/dev/null) || continue
            case "$all" in *" $pp "*) all="$all$p "; changed=1;; esac
        done
    done
    local total=0 kb
    for p in $all; do
        kb=$(awk '/^Pss:/ { print $2 }' /proc/$p/smaps_rollup 2>/dev/null)
        total=$((total + ${kb:-0}))
    done
    echo $total
}

idle_mib() {
    local rt=$1 id pids
    id=$(d run -d --network=none $(runtime_args "$rt") runsc-bench-busybox sleep 600 2>/dev/null) || { echo failed; return; }
    sleep 2
    if [ "$rt" = runc ]; then
        pids=$(d inspect -f '{{.State.Pid}}' "$id")
    else
        # The sandbox and gofer processes name the container id on their command line.
        pids=$(pgrep -f -- "$id" | tr '\n' ' ')
    fi
    local kb; kb=$(pss_tree_kb $pids)
    d rm -f "$id" >/dev/null 2>&1
    awk -v k="$kb" 'BEGIN { if (k > 0) printf "%.1f\n", k / 1024; else print "failed" }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx\n", a / b; else print "n/a" }'; }

R_TRUE=$(run_true_ms runc); G_TRUE=$(run_true_ms gvisor); O_TRUE=$(run_true_ms swift)
R_MEM=$(idle_mib runc); G_MEM=$(idle_mib gvisor); O_MEM=$(idle_mib swift)
printf '%-28s %12s %14s %12s %14s\n' "docker run --rm true ms" "$R_TRUE (runc)" "$G_TRUE" "$O_TRUE" "$(ratio "$O_TRUE" "$G_TRUE")"
printf '%-28s %12s %14s %12s %14s\n' "idle sandbox PSS MiB" "$R_MEM (runc)" "$G_MEM" "$O_MEM" "$(ratio "$O_MEM" "$G_MEM")"
