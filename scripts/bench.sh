#!/usr/bin/env bash
# The benchmark of docs/contract.md §9, on this machine, against the local emulator (README "Performance").
# Builds release, installs oha (into target/bench-tools) and GNU time if missing, writes its inputs
# and logs to target/bench/, and prints every figure next to the baseline it is measured against.
# About 14 minutes after the build. Knobs: CONCURRENCY (8), THROUGHPUT_ROWS (30000), SKIP_MILLION=1,
# RATES_ONLY=1 (only the rate fidelity and adaptive runs, about 4 minutes), SCALE_ONLY=1 (only the
# scale runs: 1,000 config accounts at 5/s and 200 at 20/s, one process each, SCALE_ROWS (30) rows
# per account, each with its baseline; about 1 minute).
set -euo pipefail
cd "$(dirname "$0")/.."

CONCURRENCY=${CONCURRENCY:-8}
THROUGHPUT_ROWS=${THROUGHPUT_ROWS:-30000}
SCALE_ROWS=${SCALE_ROWS:-30}
OUT=target/bench
BIN=${BIN:-target/release/iambatch}
TOOL="python3 scripts/bench_tool.py"
mkdir -p "$OUT" "$OUT/home"

say() { printf '%s\n' "$*" | tee -a "$OUT/figures.txt"; }
: >"$OUT/figures.txt"

echo "== building (release)" >&2
cargo build --release --locked >&2

OHA=$(command -v oha || echo target/bench-tools/bin/oha)
if [ ! -x "$OHA" ] && [ "${RATES_ONLY:-}" != 1 ] && [ "${SCALE_ONLY:-}" != 1 ]; then
    echo "== installing oha into target/bench-tools" >&2
    cargo install oha --locked --root target/bench-tools >&2
fi
if [ ! -x /usr/bin/time ]; then
    apt-get install -y time >&2
fi

echo "== inputs" >&2
INPUTS="$THROUGHPUT_ROWS 2000 1200 100000 1000000"
[ "${RATES_ONLY:-}" = 1 ] && INPUTS="2000 1200"
[ "${SCALE_ONLY:-}" = 1 ] && INPUTS=""
for n in $INPUTS; do
    [ -s "$OUT/rows-$n.csv.users.json" ] || $TOOL rows "$n" "$OUT/rows-$n.csv"
done

EMU_PID=
ENDPOINT=
# Starts `iambatch emulate ARGS...` in the background with the users of the rows file INPUT (they
# must exist, as in a real account); sets EMU_PID and ENDPOINT.
start_emulator() {
    local input=$1
    shift
    rm -f "$OUT/emulator.json"
    "$BIN" emulate --users "$input.users.json" "$@" >"$OUT/emulator.json" 2>"$OUT/emulator.err" &
    EMU_PID=$!
    ENDPOINT=
    for _ in $(seq 100); do
        ENDPOINT=$(sed -nE 's/.*"aliyun":"(http:[^"]+)".*/\1/p' "$OUT/emulator.json" 2>/dev/null)
        [ -n "$ENDPOINT" ] && return
        sleep 0.1
    done
    echo "the emulator did not start: $(cat "$OUT/emulator.err")" >&2
    exit 1
}
stop_emulator() {
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
}
trap stop_emulator EXIT

# `iambatch run INPUT ARGS...` against the emulator, timed: sets ELAPSED (s), RSS (KiB), CODE.
run() {
    local input=$1
    shift
    set +e
    env -i PATH="$PATH" HOME="$OUT/home" \
        IAMBATCH_ALIYUN_ENDPOINT="$ENDPOINT" \
        ALIBABA_CLOUD_ACCESS_KEY_ID=emulator-aliyun-key \
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=emulator-aliyun-secret \
        /usr/bin/time -f '%e %M %U %S' -o "$OUT/time.txt" \
        "$BIN" run "$input" --no-progress --overwrite -o "$OUT/results.csv" "$@" 2>"$OUT/run.err"
    CODE=$?
    set -e
    read -r ELAPSED RSS USER SYS <"$OUT/time.txt"
}

# Many accounts in one process: ACCOUNTS config accounts at RATE each, SCALE_ROWS rows each, every
# account with a key of its own (registered in the emulator as a temporary key, so that its request
# log tells the accounts apart). Then the baseline from the same run: the same rows through the
# default account alone, unpaced.
scale() {
    local accounts=$1 rate=$2
    local base="$OUT/scale-$accounts-$SCALE_ROWS"
    local requests=$((accounts * SCALE_ROWS))
    [ -s "$base.keys.json" ] || $TOOL scale-files "$accounts" "$rate" "$SCALE_ROWS" "$base"
    echo "== scale: $accounts accounts at $rate/s, $SCALE_ROWS rows each" >&2
    start_emulator "$base.csv" --request-log "$OUT/scale-$accounts.log"
    curl -sf -X POST --data-binary @"$base.keys.json" "$ENDPOINT/_emulator/state" >/dev/null
    sed "s|@ENDPOINT@|$ENDPOINT|" "$base.toml.in" >"$OUT/scale.toml"
    set +e
    env -i PATH="$PATH" HOME="$OUT/home" SCALE_SECRET=scale-secret SCALE_TOKEN=scale-token \
        /usr/bin/time -f '%e %M %U %S' -o "$OUT/time.txt" \
        "$BIN" run "$base.csv" --config "$OUT/scale.toml" --no-progress --overwrite \
        -o "$OUT/results.csv" 2>"$OUT/run.err"
    CODE=$?
    set -e
    stop_emulator
    [ "$CODE" = 0 ] || { cat "$OUT/run.err"; exit 1; }
    read -r ELAPSED RSS USER SYS <"$OUT/time.txt"
    say "scale: $accounts config accounts at rate $rate each ($(per_second "$accounts * $rate" 1)/s in all), $SCALE_ROWS rows each, one process"
    say "  $($TOOL scale "$OUT/scale-$accounts.log" "$rate")"
    say "  iambatch: peak RSS $(mib "$RSS"), $(per_1000 "$USER + $SYS" "$requests") CPU-s per 1,000 requests, $ELAPSED s"

    start_emulator "$base.csv"
    run "$base.one.csv" --rate aliyun=unlimited --concurrency "$CONCURRENCY"
    stop_emulator
    [ "$CODE" = 0 ] || { cat "$OUT/run.err"; exit 1; }
    say "  baseline, the same $requests rows through one unpaced account (concurrency $CONCURRENCY): $(per_second "$requests" "$ELAPSED") requests/s, $(per_1000 "$USER + $SYS" "$requests") CPU-s per 1,000 requests, peak RSS $(mib "$RSS")"
}

per_1000() { python3 -c "print(f'{($1) * 1000 / $2:.3f}')"; }
per_second() { python3 -c "print(f'{$1 / $2:,.0f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
mib() { python3 -c "print(f'{$1 / 1024:.1f} MiB')"; }

if [ "${SCALE_ONLY:-}" = 1 ]; then
    scale 1000 5
    scale 200 20
    say "machine load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
    echo >&2
    cat "$OUT/figures.txt"
    exit 0
fi

if [ "${RATES_ONLY:-}" != 1 ]; then
echo "== throughput, no rate limit, concurrency $CONCURRENCY (3 alternating rounds, best of each)" >&2
# oha's JSON summary: requests/s.
oha_rate() {
    "$OHA" --no-tui --output-format json -n "$THROUGHPUT_ROWS" -c "$CONCURRENCY" "$@" >"$OUT/oha.json"
    python3 -c "import json; print(json.load(open('$OUT/oha.json'))['summary']['requestsPerSec'])"
}
best() { python3 -c "import sys; print(max(float(x) for x in sys.argv[1:]))" "$@"; }
RUN_RATES=()
SIGNED_RATES=()
KNOBS_RATES=()
for round in 1 2 3; do
    start_emulator "$OUT/rows-$THROUGHPUT_ROWS.csv"
    run "$OUT/rows-$THROUGHPUT_ROWS.csv" --rate aliyun=unlimited --concurrency "$CONCURRENCY"
    stop_emulator
    [ "$CODE" = 0 ] || { cat "$OUT/run.err"; exit 1; }
    RUN_RATES+=("$(python3 -c "print($THROUGHPUT_ROWS / $ELAPSED)")")
    start_emulator "$OUT/rows-$THROUGHPUT_ROWS.csv"
    BODY=$($TOOL signed-body)
    SIGNED_RATES+=("$(oha_rate -m POST -T application/x-www-form-urlencoded -d "$BODY" "$ENDPOINT/")")
    KNOBS_RATES+=("$(oha_rate "$ENDPOINT/_emulator/knobs")")
    stop_emulator
    echo "   round $round: run ${RUN_RATES[-1]}, oha signed ${SIGNED_RATES[-1]}, oha knobs ${KNOBS_RATES[-1]}" >&2
done
RUN_RATE=$(best "${RUN_RATES[@]}")
SIGNED_RATE=$(best "${SIGNED_RATES[@]}")
KNOBS_RATE=$(best "${KNOBS_RATES[@]}")

say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end of the throughput rounds"
say "throughput (concurrency $CONCURRENCY, one request per row, no rate limit; best of 3 alternating rounds)"
say "  iambatch run, $THROUGHPUT_ROWS creates:          $(per_second "$RUN_RATE" 1) rows/s (the whole command: validation, run, ordered results)"
say "  oha, one signed create replayed:      $(per_second "$SIGNED_RATE" 1) requests/s (each verified, then refused as a replay: nothing applied)"
say "  ratio:                                $(ratio "$RUN_RATE" "$SIGNED_RATE") (target >= 0.70)"
say "  oha, GET /_emulator/knobs (no checks): $(per_second "$KNOBS_RATE" 1) requests/s; ratio $(ratio "$RUN_RATE" "$KNOBS_RATE")"

echo "== validate" >&2
say "memory and validate (peak RSS by GNU time)"
for n in 100000 1000000; do
    env -i PATH="$PATH" HOME="$OUT/home" /usr/bin/time -f '%e %M %U %S' -o "$OUT/time.txt" \
        taskset -c 0 "$BIN" validate "$OUT/rows-$n.csv" >/dev/null 2>&1
    read -r ELAPSED RSS USER SYS <"$OUT/time.txt"
    CPU=$(python3 -c "print($USER + $SYS)")
    say "  validate $n rows: peak RSS $(mib "$RSS"); $(per_second "$n" "$CPU") rows per CPU-second on one core, $(per_second "$n" "$ELAPSED") rows/s by the wall clock (target >= 500,000)"
done

echo "== run at scale" >&2
for n in 100000 1000000; do
    if [ "$n" = 1000000 ] && [ "${SKIP_MILLION:-}" = 1 ]; then continue; fi
    start_emulator "$OUT/rows-$n.csv"
    run "$OUT/rows-$n.csv" --rate aliyun=unlimited --concurrency "$CONCURRENCY"
    stop_emulator
    [ "$CODE" = 0 ] || { cat "$OUT/run.err"; exit 1; }
    say "  run $n rows: peak RSS $(mib "$RSS") (iambatch alone; target < 64 MiB), $(per_second "$n" "$ELAPSED") rows/s"
done

fi

echo "== rate fidelity: 2,000 rows at --rate 50, with read-backs and 2% faults (about 85 s)" >&2
start_emulator "$OUT/rows-2000.csv" --fault-rate 0.02 --seed 7 --request-log "$OUT/fidelity.log"
run "$OUT/rows-2000.csv" --rate aliyun=50 --concurrency "$CONCURRENCY" --verify --max-attempts 10
stop_emulator
[ "$CODE" = 0 ] || { cat "$OUT/run.err"; exit 1; }
say "rate fidelity (--rate aliyun=50, 2,000 rows, --verify, 2% faults)"
say "  $($TOOL fidelity "$OUT/fidelity.log" 50)"

# The pacer finding an unknown limit of 20/s (--rate 40), in both shapes the emulator knows; the
# limit is lifted after 30 s to show the recovery.
for shape in window bucket; do
    echo "== adaptive, $shape: emulator limit 20/s, --rate 40, the limit lifted after 30 s (about 50 s)" >&2
    start_emulator "$OUT/rows-1200.csv" --rate 20 --rate-shape "$shape" --burst 2 --request-log "$OUT/adaptive-$shape.log"
    run "$OUT/rows-1200.csv" --rate aliyun=40 --concurrency "$CONCURRENCY" &
    RUN_PID=$!
    sleep 30
    LIFTED=$(date +%s.%N)
    curl -s -X POST -d '{"rate": null}' "$ENDPOINT/_emulator/knobs" >/dev/null
    wait "$RUN_PID"
    stop_emulator
    case $shape in
    window) say "adaptive, one-second window (emulator limit 20/s, --rate aliyun=40, 1,200 rows, limit lifted mid-run)" ;;
    bucket) say "adaptive, token bucket of burst 2 (emulator limit 20/s, --rate aliyun=40, 1,200 rows, limit lifted mid-run)" ;;
    esac
    say "  $($TOOL adaptive "$OUT/adaptive-$shape.log" 20 40 "$LIFTED")"
    say "  rows not succeeded: $(python3 -c "import csv; print(sum(r['status'] != 'succeeded' for r in csv.DictReader(open('$OUT/results.csv'))))")"
done
scale 1000 5
scale 200 20
say "machine load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"

echo >&2
cat "$OUT/figures.txt"
