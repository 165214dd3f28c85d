#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c as a libFuzzer binary (clang, ASan + UBSan) against the library
# sources compiled with the same sanitizers, runs each for SECONDS, and prints one line per target
# with its execution count and whether it crashed. Exit status 1 if any target crashed or failed
# to build or run.
#
# Usage: tests/fuzz/run.sh [SECONDS]          (default 60; `make fuzz FUZZ_SECONDS=N` calls it)
# Environment: FUZZ_CC (default clang), FUZZ_OUT (default build-fuzz), FUZZ_JOBS (default nproc).
#
# Layout under FUZZ_OUT:
#   obj/…               library objects (-fsanitize=fuzzer-no-link,address,undefined)
#   fuzz_<name>         the fuzzer binaries
#   corpus-<name>/      the corpus, kept between runs; seeded from tests/fuzz/seeds/<name>/, from
#                       the target itself (CLIPCRAWL_FUZZ_SEED_DIR, see each target's header) and,
#                       for probe, from build/tools/mkimages when it has been built
#   fuzz_<name>.log     libFuzzer's output of the last run
#   artifacts-<name>/   crash-, leak-, timeout- and oom- inputs of the last run
#                       (reproduce one: FUZZ_OUT/fuzz_<name> FILE)
set -uo pipefail

secs=${1:-60}
if ! [[ $secs =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
    echo "usage: tests/fuzz/run.sh [SECONDS]   (SECONDS: a whole number >= 1, not '$secs')" >&2
    exit 2
fi
cd "$(dirname "$0")/../.." || exit 1

CC=${FUZZ_CC:-clang}
OUT=${FUZZ_OUT:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 4)}
if ! command -v "$CC" >/dev/null; then
    echo "fuzz: $CC not found (install clang and libclang-rt-dev, or set FUZZ_CC)" >&2
    exit 1
fi
BASE=(-std=c11 -D_GNU_SOURCE -I. -I/usr/include/libxml2 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all -pthread)
LIBS=(-llmdb -lzstd -lxxhash -ljpeg -lpng -lwebp -lxml2 -lcurl -ljansson -lbz2 -lz -lcld2 -lstdc++ -lm -pthread)
CXX=${FUZZ_CXX:-clang++}

# ---- library objects, rebuilt when the source or any header it includes changed (-MMD) ------
mkdir -p "$OUT/obj"
stale() { # obj src: 0 if obj must be rebuilt
    local obj=$1 src=$2 dep=${1%.o}.d
    [ -f "$obj" ] && [ -f "$dep" ] || return 0
    [ "$src" -nt "$obj" ] && return 0
    local f
    for f in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
        case $f in *:) continue ;; esac
        [ -e "$f" ] || return 0
        [ "$f" -nt "$obj" ] && return 0
    done
    return 1
}
objs=() pids=() failed_build=0
for src in common/*.c shards/*.c filters/*.c query_lists/*.c crawler/*.c trainer/bpe.c filters/*.cc; do
    [ -f "$src" ] || continue
    obj=$OUT/obj/${src%.*}.o
    objs+=("$obj")
    stale "$obj" "$src" || continue
    mkdir -p "$(dirname "$obj")"
    if [ "${src##*.}" = cc ]; then
        "$CXX" -std=c++17 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer -pthread -Wall -Wextra \
            -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c "$src" -o "$obj" &
    else
        "$CC" "${BASE[@]}" -Wall -Wextra -fsanitize=fuzzer-no-link,address,undefined -MMD -MP \
            -c "$src" -o "$obj" &
    fi
    pids+=($!)
    if [ "${#pids[@]}" -ge "$JOBS" ]; then
        wait "${pids[0]}" || failed_build=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || failed_build=1; done
if [ "$failed_build" -ne 0 ]; then
    echo "fuzz: compiling the library with $CC failed (see above)" >&2
    exit 1
fi

# ---- seeds for the probe target from the fixture generator, when it is built ---------------
mkimages_seeds=
if [ -x build/tools/mkimages ]; then
    mkimages_seeds=$OUT/mkimages-seeds
    rm -rf "$mkimages_seeds"
    if ! build/tools/mkimages --out "$mkimages_seeds" --count 4 --seed 1 --min-side 16 \
        --max-side 48 --png-every 2 2>/dev/null; then
        mkimages_seeds=
    fi
fi

# ---- build and run each target ---------------------------------------------------------------
status=0
printf '%-16s %12s  %s\n' target executions result
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    bin=$OUT/$(basename "$src" .c)
    name=${bin##*/fuzz_}
    log=$bin.log
    if ! "$CC" "${BASE[@]}" -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined "$src" \
        "${objs[@]}" -o "$bin" "${LIBS[@]}" >"$log" 2>&1; then
        printf '%-16s %12s  %s\n' "$name" - "BUILD FAILED (see $log)"
        sed 's/^/    /' "$log" | head -n 30
        status=1
        continue
    fi
    corpus=$OUT/corpus-$name
    mkdir -p "$corpus"
    if [ -d "tests/fuzz/seeds/$name" ]; then
        cp -f "tests/fuzz/seeds/$name"/* "$corpus"/ 2>/dev/null
    fi
    if [ "$name" = probe ] && [ -n "$mkimages_seeds" ]; then
        for f in "$mkimages_seeds"/img-*; do cp -f "$f" "$corpus/mkimages-${f##*/}"; done
    fi
    if [ "$name" = image ] && [ -n "$mkimages_seeds" ]; then
        # fuzz_image reads its options from the last byte: append one (center_crop to 64 px).
        for f in "$mkimages_seeds"/img-*; do
            { cat "$f"; printf '\044'; } >"$corpus/mkimages-${f##*/}"
        done
    fi
    arts=$OUT/artifacts-$name
    rm -rf "$arts"
    mkdir -p "$arts"
    CLIPCRAWL_FUZZ_SEED_DIR=$corpus \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$arts/" "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    artifacts=$(find "$arts" -type f | sort | tr '\n' ' ')
    if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
        ncorpus=$(find "$corpus" -type f | wc -l)
        printf '%-16s %12s  %s\n' "$name" "${execs:-?}" "ok, no crash ($ncorpus corpus files)"
    else
        printf '%-16s %12s  %s\n' "$name" "${execs:-?}" "CRASHED (exit $rc): ${artifacts:-see $log}"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_[a-z]+: check failed)' "$log" |
            head -n 5 | sed 's/^/    /'
        status=1
    fi
done
exit $status
