#!/bin/bash
# make bench: native, gVisor's runsc (ptrace) and ours side by side: getppid() round trip, `do /bin/true` wall
# time, process/memory workloads, and file-system rows (open+fstat+close, stat of a missing path, 256 MiB
# write and read, find over /usr). Prints numbers only; never asserts timings (a failed run prints "failed").
set -u
cd "$(dirname "$0")/.."
OURS=${RUNSC_BINARY:-$PWD/bin/runsc}
GVISOR=${GVISOR_RUNSC:-/usr/bin/runsc}
ITERATIONS=${ITERATIONS:-100000}
RUNS=${RUNS:-10}
OUT=$PWD/bench/out
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/runsc-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

gcc -static -O2 -o "$OUT/getppid_loop" scripts/getppid_loop.c || { echo "bench: gcc -static failed"; exit 1; }
LOOP=$OUT/getppid_loop
gcc -static -O2 -pthread -o "$OUT/workloads" scripts/bench_workloads.c || { echo "bench: gcc -static failed"; exit 1; }
WORKLOADS=$OUT/workloads
gcc -static -O2 -o "$OUT/bench_fs" scripts/bench_fs.c || { echo "bench: gcc -static failed"; exit 1; }
FSBENCH=$OUT/bench_fs
FIND_RUNS=${FIND_RUNS:-3}

native() { "$@"; }
gvisor() { "$GVISOR" --root "$WORK/gvisor" --platform=ptrace --network=none do "$@"; }
ours() { "$OURS" --root "$WORK/ours" --platform=ptrace --network=none do "$@"; }

# getppid: ns per call as printed by the loop (the last line of its output).
getppid_ns() { local out; out=$("$@" "$LOOP" "$ITERATIONS" 2>/dev/null) && [ -n "$out" ] && echo "$out" | tail -1 || echo failed; }

# do /bin/true: mean wall time in ms over RUNS runs.
true_ms() {
    local start end i
    "$@" /bin/true >/dev/null 2>&1 || { echo failed; return; }
    start=$(date +%s%N)
    for ((i = 0; i < RUNS; i++)); do "$@" /bin/true >/dev/null 2>&1 || { echo failed; return; }; done
    end=$(date +%s%N)
    awk -v d=$((end - start)) -v n="$RUNS" 'BEGIN { printf "%.1f\n", d / n / 1e6 }'
}

# One number from the workloads program (scripts/bench_workloads.c), or "failed".
workload() { local out; out=$("${@:3}" "$WORKLOADS" "$1" "$2" 2>/dev/null) && [ -n "$out" ] && echo "$out" | tail -1 || echo failed; }

# One number from the file-system benchmarks (scripts/bench_fs.c), or "failed".
fs_workload() { local out; out=$("${@:3}" "$FSBENCH" "$1" "$2" 2>/dev/null) && [ -n "$out" ] && echo "$out" | tail -1 || echo failed; }

# `find /usr -type f | wc -l` on the host's root: mean wall time in ms over FIND_RUNS runs (sandbox start included).
find_ms() {
    local start end i
    "$@" /bin/sh -c 'find /usr -type f | wc -l' >/dev/null 2>&1 || { echo failed; return; }
    start=$(date +%s%N)
    for ((i = 0; i < FIND_RUNS; i++)); do "$@" /bin/sh -c 'find /usr -type f | wc -l' >/dev/null 2>&1 || { echo failed; return; }; done
    end=$(date +%s%N)
    awk -v d=$((end - start)) -v n="$FIND_RUNS" 'BEGIN { printf "%.0f\n", d / n / 1e6 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx\n", a / b; else print "n/a" }'; }

[ -x "$GVISOR" ] || echo "bench: gVisor's runsc not found at $GVISOR (apt-get install runsc)"
[ -x "$OURS" ] || echo "bench: our runsc not found at $OURS (make build)"

N_PPID=$(getppid_ns native); G_PPID=$(getppid_ns gvisor); O_PPID=$(getppid_ns ours)
N_TRUE=$(true_ms native); G_TRUE=$(true_ms gvisor); O_TRUE=$(true_ms ours)

printf '%-28s %12s %14s %12s %14s\n' "benchmark" "native" "gVisor runsc" "ours" "ours/runsc"
printf '%-28s %12s %14s %12s %14s\n' "getppid() ns/call ($ITERATIONS)" "$N_PPID" "$G_PPID" "$O_PPID" "$(ratio "$O_PPID" "$G_PPID")"
printf '%-28s %12s %14s %12s %14s\n' "do /bin/true ms (mean of $RUNS)" "$N_TRUE" "$G_TRUE" "$O_TRUE" "$(ratio "$O_TRUE" "$G_TRUE")"

row() {  # label mode count
    local n g o
    n=$(workload "$2" "$3" native); g=$(workload "$2" "$3" gvisor); o=$(workload "$2" "$3" ours)
    printf '%-28s %12s %14s %12s %14s\n' "$1" "$n" "$g" "$o" "$(ratio "$o" "$g")"
}
row "fork+exec+wait µs" forkexec 200
row "futex ping-pong µs" futex 20000
row "mmap+touch 64MiB ms" mmap 5
row "pipe MB/s (higher=better)" pipe 256

fsrow() {  # label mode count
    local n g o
    n=$(fs_workload "$2" "$3" native); g=$(fs_workload "$2" "$3" gvisor); o=$(fs_workload "$2" "$3" ours)
    printf '%-28s %12s %14s %12s %14s\n' "$1" "$n" "$g" "$o" "$(ratio "$o" "$g")"
}
fsrow "open+fstat+close ns/op" openstat 20000
fsrow "stat of missing path ns/op" statmissing 20000
fsrow "write 256MiB MB/s (higher)" write 256
fsrow "read 256MiB MB/s (higher)" read 256
N_FIND=$(find_ms native); G_FIND=$(find_ms gvisor); O_FIND=$(find_ms ours)
printf '%-28s %12s %14s %12s %14s\n' "find /usr -type f|wc -l ms" "$N_FIND" "$G_FIND" "$O_FIND" "$(ratio "$O_FIND" "$G_FIND")"

# docker run --rm true and idle sandbox memory (a private dockerd; runc in the native column).
scripts/bench_docker.sh
