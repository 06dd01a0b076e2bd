#!/usr/bin/env bash
# Fuzz each target for a fixed time (cargo-fuzz, libFuzzer), one at a time, then minimise its corpus.
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]    default: 60 s each; targets cells csv_ledger
#                                             xlsx_ledger rules condition
#
# Seeds come from the repository's own files (fuzz/seed.py → fuzz/seeds/, not committed); what is
# worth keeping is merged into fuzz/corpus/<target>/ (committed, minimised with `cargo fuzz cmin`).
# Each corpus is capped at FUZZ_CORPUS_CAP files (200). A crash, hang (-timeout) or out-of-memory (-rss_limit_mb) is saved under fuzz/artifacts/<target>/;
# turn each into a regression file fuzz/regressions/<target>/<what-it-was> once it is fixed.
# `cargo test` replays both folders on stable (tests/fuzz_corpus.rs), without cargo-fuzz.
#
# Needs: cargo-fuzz (installed if missing), python3. Only the stable toolchain is needed:
# RUSTC_BOOTSTRAP=1 lets it take the nightly flags cargo-fuzz passes (-Zsanitizer=address).
# Exit code: 0 when no target found anything, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cells csv_ledger xlsx_ledger rules condition)

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
# The machine has two cores: build and fuzz on one (override with CARGO_BUILD_JOBS).
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

python3 fuzz/seed.py >/dev/null
cargo fuzz build >/dev/null 2>fuzz/build.log || { cat fuzz/build.log; exit 2; }

# Longest input per target: a cell, a few screens of ledger, a workbook, a rule file (national.toml
# is 19 KB), a condition.
max_len() {
    case $1 in
        cells) echo 256 ;; condition) echo 1024 ;; csv_ledger) echo 12288 ;; *) echo 24576 ;;
    esac
}

cap=${FUZZ_CORPUS_CAP:-200}
mkdir -p fuzz/logs
found=0
summary=()
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    artifacts=fuzz/artifacts/$t
    mkdir -p "$corpus" "$artifacts" "fuzz/regressions/$t"
    before=$(find "$corpus" -type f | wc -l)
    crashes_before=$(find "$artifacts" -type f | wc -l)
    log=fuzz/logs/$t.log
    start=$(date +%s)
    # Extra directories are read, never written: new inputs go to the corpus only.
    set +e
    cargo fuzz run -j1 "$t" "$corpus" "fuzz/seeds/$t" "fuzz/regressions/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    after_run=$(find "$corpus" -type f | wc -l)
    crashes=$(( $(find "$artifacts" -type f | wc -l) - crashes_before ))
    # Minimise: the seeds are merged in too, so the committed corpus covers what they cover.
    # Edges only (no hit counts): a corpus small enough to commit and to replay in `cargo test`.
    cp -n "fuzz/seeds/$t"/* "$corpus"/ 2>/dev/null || true
    cargo fuzz cmin "$t" "$corpus" -- -use_counters=0 -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 >>"$log" 2>&1 || echo "$t: cmin failed (see $log)"
    # Cap what is committed: beyond CAP files, the largest that are not seeds go, then the largest.
    excess=$(( $(find "$corpus" -type f | wc -l) - cap ))
    for keep_seeds in 1 0; do
        for f in $(find "$corpus" -type f -printf '%s %f\n' | sort -rn | cut -d' ' -f2); do
            [ "$excess" -gt 0 ] || break
            [ "$keep_seeds" = 1 ] && [ -e "fuzz/seeds/$t/$f" ] && continue
            rm -- "$corpus/$f"
            excess=$((excess - 1))
        done
    done
    final=$(find "$corpus" -type f | wc -l)
    size=$(du -sh "$corpus" | cut -f1)
    line=$(printf '%-12s %5ss  %10s execs  +%-4s new  corpus %4s files (%s)  crashes/hangs %s' \
        "$t" "$elapsed" "${execs:-?}" "$(( after_run - before ))" "$final" "$size" "$crashes")
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        found=1
        line="$line  ← exit $rc, see $log and $artifacts/"
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "target        time      executions    new      corpus after cmin            found"
printf '%s\n' "${summary[@]}"
exit "$found"
