#!/bin/bash
# `make fuzz`: builds the libFuzzer targets (Package.swift declares them only under RUNSC_FUZZ=1) with
# -sanitize=fuzzer,address in their own scratch dir, runs each for FUZZ_SECONDS from its seed corpus in
# Fuzz/corpus/<name>, and prints the executions and crashes of each. Exits 1 if any target crashed.
# A crash's input is kept in .build-fuzz/artifacts/<name>/ (replay: .build-fuzz/debug/<Target> FILE).
set -u
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
# target:corpus pairs; FUZZ_TARGETS="FuzzGofer:gofer" runs one.
FUZZ_TARGETS=${FUZZ_TARGETS:-"FuzzSpec:spec FuzzGofer:gofer FuzzELF:elf FuzzControl:control"}
SCRATCH=.build-fuzz

build() {
    # ASan's runtime symbols cannot be exported from an executable; gold says so once per symbol.
    RUNSC_FUZZ=1 "$SWIFT" build -c debug --product "$1" -Xswiftc -sanitize=fuzzer,address \
        -Xswiftc -parse-as-library --scratch-path "$SCRATCH" 2>&1 | grep -v "Cannot export local symbol"
    return "${PIPESTATUS[0]}"
}

summary=()
failed=0
for pair in $FUZZ_TARGETS; do
    target=${pair%%:*} name=${pair##*:}
    echo "== $target: building"
    if ! build "$target"; then
        summary+=("$(printf '%-12s build failed' "$target")"); failed=1; continue
    fi
    corpus=$SCRATCH/corpus/$name artifacts=$SCRATCH/artifacts/$name log=$SCRATCH/logs/$name.log
    rm -rf "$artifacts"; mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    echo "== $target: fuzzing for ${FUZZ_SECONDS}s (log: $log)"
    # New inputs go to the scratch corpus; the checked-in seeds are only read. Leak checks are off: the
    # Swift runtime's metadata caches live until exit and would be reported as leaks.
    "$SCRATCH/debug/$target" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "Fuzz/corpus/$name" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(find "$artifacts" -type f | wc -l)
    if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
    summary+=("$(printf '%-12s %10s executions  %d crash(es)' "$target" "${runs:-?}" "$crashes")")
    if [ "$crashes" -ne 0 ]; then
        failed=1
        grep -m1 -E "Fatal error|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY" "$log" || tail -5 "$log"
        find "$artifacts" -type f | sed 's/^/   input: /'
    fi
done
echo "== fuzz summary (${FUZZ_SECONDS}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
