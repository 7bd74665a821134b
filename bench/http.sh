#!/usr/bin/env bash
# HTTP throughput and latency of the portal, measured with wrk against a minimal axum server as
# the baseline. Run by hand, not in CI; see bench/README.md.
#
#   bash bench/http.sh
#
# Environment (all optional):
#   BENCH_DURATION=10s     length of each measured run
#   BENCH_WARMUP=2s        length of the unmeasured run before each measured one (0 to skip)
#   BENCH_THREADS=2        wrk threads
#   BENCH_CONNECTIONS=64   open connections
#   BENCH_CATALOGUE=PATH   the national catalogue export (default ../shared/fixtures/leika/leistungen.csv)
#   BENCH_ONLY=REGEX       run only the scenarios whose name matches (the baseline always runs)
#   BENCH_HOLD=19000       idle keep-alive connections held open during the last run (0: none)
#
# What it does: builds rathaus and the baseline in release mode, starts `rathaus demo` with the
# full catalogue on a free port in a temporary data directory, measures its cold start (until
# /healthz and /readyz answer 200) and its idle memory, starts the baseline, runs wrk against
# each scenario, prints a table (also written to bench/results/), and stops everything it
# started when it ends, however it ends.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${BENCH_DURATION:-10s}"
WARMUP="${BENCH_WARMUP:-2s}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
CATALOGUE="${BENCH_CATALOGUE:-$ROOT/../shared/fixtures/leika/leistungen.csv}"
ONLY="${BENCH_ONLY:-}"
HOLD="${BENCH_HOLD:-19000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/http.sh: %s\n' "$*" >&2; exit 1; }

# ---- cleanup: stop exactly the processes this script started ---------------------------------

STARTED_PIDS=()   # processes started here (portal, baseline)
CHILD_PIDS=()     # the portal's authority nodes, recorded once they run
WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rathaus-bench.XXXXXX")"

is_ours() {
    # Still alive and still the program we started (guards against a reused PID).
    [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -e rathaus -e bench-hello -e wrk
}

stop_pid() {
    local pid="$1"
    is_ours "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        is_ours "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
    for pid in "${CHILD_PIDS[@]}"; do stop_pid "$pid"; done
    wait 2>/dev/null || true
    if [[ $status -ne 0 && -s "$WORK_DIR/portal.log" ]]; then
        printf '\n--- last lines of the portal log ---\n' >&2
        tail -n 30 "$WORK_DIR/portal.log" >&2 || true
    fi
    rm -rf "$WORK_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- prerequisites ----------------------------------------------------------------------------

[[ -f "$CATALOGUE" ]] || die "the catalogue export is missing: $CATALOGUE (set BENCH_CATALOGUE)"

if ! command -v wrk >/dev/null || ! command -v curl >/dev/null; then
    log "installing wrk and curl (Debian packages)"
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk curl >/dev/null
fi

log "building rathaus (release)"
(cd "$ROOT" && cargo build --release --quiet -p rathaus)
log "building the baseline bench/hello (release)"
cargo build --release --quiet --manifest-path "$ROOT/bench/hello/Cargo.toml"
RATHAUS="$CARGO_TARGET_DIR/release/rathaus"
HELLO="$CARGO_TARGET_DIR/release/rathaus-bench-hello"
HOLDER="$CARGO_TARGET_DIR/release/rathaus-bench-hold"
[[ -x "$RATHAUS" && -x "$HELLO" ]] || die "the release binaries are missing in $CARGO_TARGET_DIR/release"

# A port on 127.0.0.1 that nothing listens on right now.
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "found no free port"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

status_of() { curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1" 2>/dev/null || true; }

# Waits until $2 answers 200 while process $1 lives; prints the milliseconds since $3.
wait_for_200() {
    local pid="$1" url="$2" since="$3" deadline=$(( $(now_ms) + 120000 ))
    while true; do
        if [[ "$(status_of "$url")" == 200 ]]; then
            echo $(( $(now_ms) - since ))
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "the process serving $url exited during start-up"
        (( $(now_ms) < deadline )) || die "$url did not answer 200 within 120 s"
        sleep 0.01
    done
}

rss_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# ---- start the portal -------------------------------------------------------------------------

# Other work on the machine skews every figure, so the report says how much CPU time went to
# processes other than the portal, the baseline and wrk while the runs were going (in clock ticks
# from /proc: the machine's user and system time, less ours).
# (Interrupt and softirq time is left out: loopback traffic is accounted there, not to a process.)
machine_busy() { awk '$1 == "cpu" { print $2 + $3 + $4; exit }' /proc/stat; }
machine_total() { awk '$1 == "cpu" { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
process_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
reaped_ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }

PORTAL_PORT="$(free_port)"
PORTAL="http://127.0.0.1:$PORTAL_PORT"
log "starting rathaus demo on $PORTAL with $(($(wc -l <"$CATALOGUE") - 1)) catalogue rows"
cd "$ROOT"
start_portal() {
    "$RATHAUS" demo --data-dir "$WORK_DIR/data" --listen "127.0.0.1:$PORTAL_PORT" \
        --catalogue "$CATALOGUE" >"$WORK_DIR/portal.out" 2>"$WORK_DIR/portal.log" &
    PORTAL_PID=$!
    STARTED_PIDS+=("$PORTAL_PID")
}
# The first start of a new data directory also makes the key pairs of the portal and its four
# authority nodes (RSA-4096) and the demo's accounts: an installation step, measured apart. The
# cold start is the start after it, as when a node restarts.
START_MS="$(now_ms)"
start_portal
FIRST_START_MS="$(wait_for_200 "$PORTAL_PID" "$PORTAL/readyz" "$START_MS")"
stop_pid "$PORTAL_PID"
wait "$PORTAL_PID" 2>/dev/null || true
START_MS="$(now_ms)"
start_portal
HEALTHZ_MS="$(wait_for_200 "$PORTAL_PID" "$PORTAL/healthz" "$START_MS")"
READYZ_MS="$(wait_for_200 "$PORTAL_PID" "$PORTAL/readyz" "$START_MS")"
read -r -a CHILD_PIDS <<<"$(cat /proc/"$PORTAL_PID"/task/*/children 2>/dev/null | tr '\n' ' ')"
sleep 2   # let start-up allocations settle before reading the idle footprint
IDLE_RSS="$(rss_kib "$PORTAL_PID" VmRSS)"
PEAK_RSS="$(rss_kib "$PORTAL_PID" VmHWM)"
NODES_RSS=0
for pid in "${CHILD_PIDS[@]}"; do NODES_RSS=$((NODES_RSS + $(rss_kib "$pid" VmRSS))); done

# ---- start the baseline -----------------------------------------------------------------------

HELLO_PORT="$(free_port)"
"$HELLO" "127.0.0.1:$HELLO_PORT" >"$WORK_DIR/hello.log" 2>&1 &
HELLO_PID=$!
STARTED_PIDS+=("$HELLO_PID")
wait_for_200 "$HELLO_PID" "http://127.0.0.1:$HELLO_PORT/" "$(now_ms)" >/dev/null

# ---- scenarios --------------------------------------------------------------------------------
# name | base URL | paths (rotated by bench/wrk.lua) | extra wrk arguments (|-separated)
#      | paths a second wrk sends at the same time (1 thread, 8 connections), as interference

SERVICE_ID="99115005104000"
# A catalogue-only entry (no hand-written definition), by its 14-digit LeiKa key.
LEIKA_ID="$(curl -s "$PORTAL/api/v1/services?q=Abfallgeb%C3%BChr&limit=100" \
    | grep -o '"id":"[0-9]\{14\}"' | head -n 1 | grep -o '[0-9]\{14\}' || true)"
[[ -n "$LEIKA_ID" ]] || die "the search API found no catalogue entry with a LeiKa key"

API_PATHS=(
    "/api/v1/services?q=Personalausweis"
    "/api/v1/services?q=Hund"
    "/api/v1/services?q=Ummeldung"
    "/api/v1/services?q=Bewohnerparkausweis"
    "/api/v1/services?q=Wohnungsgeberbest%C3%A4tigung"
    "/api/v1/services?q=Personalausweiss"
    "/api/v1/services?q=F%C3%BChrerschien"
    "/api/v1/services?q=register+my+new+address&lang=en"
    "/api/v1/services?q=driving+licence&lang=en"
    "/api/v1/services?q=Kita+Gutschein+beantragen"
    "/api/v1/services?q=Anmeldung&life_situation=moving"
    "/api/v1/services"
)
SEARCH_PATHS=(
    "/search?q=Personalausweis"
    "/search?q=Hund"
    "/search?q=Bewohnerparkausweis"
    "/search?q=Personalausweiss"
    "/search?q=register+my+new+address&lang=en"
    "/search?q=Kita+Gutschein+beantragen"
)

# About 10 KB of query string. The search reads the first 200 characters and at most 8 distinct
# words, so 8 distinct long words up front make the most expensive query a client can send.
LONG_PATH="/api/v1/services?q="
while (( ${#LONG_PATH} < 10240 )); do
    LONG_PATH+="Wohnungsgeberbest%C3%A4tigung+Personalausweis+Baugenehmigung+Bewohnerparkausweis+"
    LONG_PATH+="F%C3%BChrerscheinumtausch+Hundesteuerbefreiung+Gewerbeanmeldung+Kindergeldantrag+"
done

# ---- a signed-in person, for the scenarios behind the sign-in --------------------------------
# The demo's operator account (crates/cli/src/demo.rs: DEMO_OPERATOR), made on the demo's first
# start; signing in costs one argon2id verification, done once here, not per request.

JAR="$WORK_DIR/cookies.txt"
csrf_of() { grep -o 'name="csrf" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//'; }
SIGN_IN_CSRF="$(curl -s -c "$JAR" -b "$JAR" "$PORTAL/account/sign-in" | csrf_of)"
[[ -n "$SIGN_IN_CSRF" ]] || die "the sign-in page carries no CSRF token"
code="$(curl -s -o /dev/null -w '%{http_code}' -c "$JAR" -b "$JAR" \
    --data-urlencode "csrf=$SIGN_IN_CSRF" --data-urlencode "email=betrieb@rathaus.example" \
    --data-urlencode "password=Demo-Betrieb-Status" "$PORTAL/account/sign-in")"
[[ "$code" == 303 ]] || die "signing in as the demo operator answered $code, not 303"
# Every cookie of the jar as one header (HttpOnly ones are written with a #HttpOnly_ prefix).
COOKIE="Cookie: $(awk '(!/^#/ || /^#HttpOnly_/) && NF >= 7 { printf "%s%s=%s", (n++ ? "; " : ""), $6, $7 }' "$JAR")"
[[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$COOKIE" "$PORTAL/account")" == 200 ]] \
    || die "the session cookie does not open /account"

# A form step post: the first step of the dog registration, valid, saved to the draft each time.
DOG_ID="99110009104000"
STEP_PATH="/services/$DOG_ID/form/owner"
curl -s -o /dev/null -H "$COOKIE" "$PORTAL/services/$DOG_ID/form"
STEP_CSRF="$(curl -s -H "$COOKIE" "$PORTAL$STEP_PATH" | csrf_of)"
[[ -n "$STEP_CSRF" ]] || die "the form step $STEP_PATH carries no CSRF token"
STEP_BODY="csrf=$STEP_CSRF&step=owner&action=next&owner_name.given_names=Anna&owner_name.family_name=Schulz"
STEP_BODY+="&owner_birth_date=1987-05-14&owner_address.street=Osterstrasse&owner_address.house_number=112"
STEP_BODY+="&owner_address.postcode=20259&owner_address.city=Hamburg"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "$COOKIE" --data "$STEP_BODY" "$PORTAL$STEP_PATH")"
[[ "$code" == 303 ]] || die "the form step post answered $code, not 303 (refused as invalid?)"

SCENARIOS=()
SEP=$'\x1f'   # not whitespace, so empty fields survive `read`
# name, base URL, paths, extra wrk arguments (|-separated), interfering paths, environment of
# wrk (|-separated NAME=value: WRK_BODY for a POST, WRK_DELAY_MS for a paced load)
add() { SCENARIOS+=("$1$SEP$2$SEP$3$SEP${4:-}$SEP${5:-}$SEP${6:-}"); }
add "hello baseline (axum)"             "http://127.0.0.1:$HELLO_PORT" "/"
add "portal /healthz (middleware only)" "$PORTAL" "/healthz"
add "search API (12 queries rotated)"   "$PORTAL" "${API_PATHS[*]}"
add "search page HTML (6 queries)"      "$PORTAL" "${SEARCH_PATHS[*]}"
add "service page (definition)"         "$PORTAL" "/services/$SERVICE_ID"
add "service page (LeiKa entry)"        "$PORTAL" "/services/$LEIKA_ID"
add "start page"                        "$PORTAL" "/"
add "service page, gzip"                "$PORTAL" "/services/$SERVICE_ID" "-H|Accept-Encoding: gzip"
add "service page, br (as browsers get)" "$PORTAL" "/services/$SERVICE_ID" "-H|Accept-Encoding: gzip, deflate, br"
add "search API, hostile 10 KB query"   "$PORTAL" "$LONG_PATH"
add "/healthz while 10 KB queries run"  "$PORTAL" "/healthz" "" "$LONG_PATH"
add "signed in: /account (session read)" "$PORTAL" "/account" "-H|$COOKIE"
add "signed in: API /api/v1/account"    "$PORTAL" "/api/v1/account" "-H|$COOKIE"
add "form step post (check, save draft)" "$PORTAL" "$STEP_PATH" "-H|$COOKIE" "" "WRK_BODY=$STEP_BODY"

# Every path must answer 200 before it is measured: a fast 404 is no result. (The POST
# scenario was checked above for its 303.)
for scenario in "${SCENARIOS[@]}"; do
    IFS=$SEP read -r _ base paths extra _ environment <<<"$scenario"
    [[ -z "$environment" ]] || continue
    header=()
    [[ "$extra" != -H\|* ]] || header=(-H "${extra#-H|}")
    read -r -a path_list <<<"$paths"
    for path in "${path_list[@]}"; do
        code="$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "${header[@]}" "$base$path" || true)"
        [[ "$code" == 200 ]] || die "$base$path answered $code, not 200"
    done
done

run_wrk() {   # base, duration, extra arguments, environment, paths..., prints the WRK_RESULT line
    local base="$1" duration="$2" extra="$3" environment="$4"
    shift 4
    local assignments=()
    [[ -z "$environment" ]] || IFS='|' read -r -a assignments <<<"$environment"
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency --timeout 10s -s "$ROOT/bench/wrk.lua")
    if [[ -n "$extra" ]]; then
        local more
        IFS='|' read -r -a more <<<"$extra"
        args+=("${more[@]}")
    fi
    env "${assignments[@]}" wrk "${args[@]}" "$base" -- "$@" >"$WORK_DIR/wrk.out" 2>&1 \
        || { cat "$WORK_DIR/wrk.out" >&2; die "wrk failed"; }
    grep '^WRK_RESULT ' "$WORK_DIR/wrk.out" || { cat "$WORK_DIR/wrk.out" >&2; die "wrk printed no result"; }
}

field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

BUSY_0="$(machine_busy)"; TOTAL_0="$(machine_total)"
ours_ticks() {   # the portal, its authority nodes, the baseline, and every wrk run so far
    local pid total=$(( $(process_ticks "$PORTAL_PID") + $(process_ticks "$HELLO_PID") + $(reaped_ticks) ))
    for pid in "${CHILD_PIDS[@]}"; do total=$(( total + $(process_ticks "$pid") )); done
    echo "$total"
}
OURS_0="$(ours_ticks)"
RESULTS=()   # name \t rps \t p50_us \t p99_us \t errors \t bytes per response
measure() {   # one scenario (the fields of add), appended to RESULTS
    local name="$1" base="$2" paths="$3" extra="${4:-}" background="${5:-}" environment="${6:-}"
    local path_list background_list line requests duration_us rps errors per_response
    read -r -a path_list <<<"$paths"
    if [[ "$WARMUP" != 0 && "$WARMUP" != 0s ]]; then
        log "warm-up: $name ($WARMUP)"
        run_wrk "$base" "$WARMUP" "$extra" "$environment" "${path_list[@]}" >/dev/null
    fi
    if [[ -n "$background" ]]; then
        log "interference: 1 thread, 8 connections sending $(wc -w <<<"$background") path(s) for $DURATION"
        read -r -a background_list <<<"$background"
        wrk -t1 -c8 -d"$DURATION" --timeout 10s -s "$ROOT/bench/wrk.lua" "$base" -- "${background_list[@]}" \
            >"$WORK_DIR/background.out" 2>&1 &
        BACKGROUND_PID=$!
        STARTED_PIDS+=("$BACKGROUND_PID")
    fi
    log "measuring: $name ($DURATION, $THREADS threads)"
    line="$(run_wrk "$base" "$DURATION" "$extra" "$environment" "${path_list[@]}")"
    if [[ -n "$background" ]]; then
        wait "$BACKGROUND_PID" || die "the interfering wrk failed: $(cat "$WORK_DIR/background.out")"
    fi
    requests="$(field "$line" requests)"
    duration_us="$(field "$line" duration_us)"
    rps="$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')"
    errors=$(( $(field "$line" connect_errors) + $(field "$line" read_errors) + $(field "$line" write_errors) \
        + $(field "$line" status_errors) + $(field "$line" timeouts) ))
    per_response="$(awk -v b="$(field "$line" bytes)" -v r="$requests" 'BEGIN { printf "%.0f", r ? b / r : 0 }')"
    RESULTS+=("$name"$'\t'"$rps"$'\t'"$(field "$line" p50_us)"$'\t'"$(field "$line" p99_us)"$'\t'"$errors"$'\t'"$per_response")
}

wanted() { [[ -z "$ONLY" || "$1" == hello* ]] || grep -Eq -- "$ONLY" <<<"$1"; }

for scenario in "${SCENARIOS[@]}"; do
    IFS=$SEP read -r name base paths extra background environment <<<"$scenario"
    wanted "$name" || continue
    measure "$name" "$base" "$paths" "$extra" "$background" "$environment"
done

# Latency below the peak: the same requests again, paced at half of the requests per second
# just measured. Each connection waits PACE_MS between its requests, so half the peak needs
# peak / 2 × PACE_MS / 1000 connections; the achieved rate is in the table.
PACE_MS=5
PACED=("search API (12 queries rotated)" "service page (definition)" "signed in: /account (session read)")
for scenario in "${SCENARIOS[@]}"; do
    IFS=$SEP read -r name base paths extra background environment <<<"$scenario"
    [[ " ${PACED[*]} " == *" $name "* ]] && wanted "$name" || continue
    peak=""
    for row in "${RESULTS[@]}"; do
        IFS=$'\t' read -r measured rps _ <<<"$row"
        if [[ "$measured" == "$name" ]]; then peak="$rps"; fi
    done
    [[ -n "$peak" ]] || continue
    connections=$(( peak * PACE_MS / 2000 ))
    (( connections >= THREADS )) || connections=$THREADS
    paced_extra="-c|$connections"
    [[ -z "$extra" ]] || paced_extra="$extra|-c|$connections"
    measure "$name @ 50% (${connections} conn)" "$base" "$paths" "$paced_extra" "" \
        "${environment:+$environment|}WRK_DELAY_MS=$PACE_MS"
done

# Many people connected at once: HOLD idle keep-alive connections (each has made a request and
# makes one every 10 s) held open by bench/hello's rathaus-bench-hold, while the service page
# is measured again. One process here may have at most 20,000 open files (the hard limit, which
# only root with CAP_SYS_RESOURCE could raise), so 19,000 is what one portal process can hold.
HOLD_REPORT=""
if (( HOLD > 0 )); then
    hold_secs=$(( ${WARMUP%s} + ${DURATION%s} + 15 ))
    log "holding $HOLD idle keep-alive connections to the portal"
    RSS_BEFORE_HOLD="$(rss_kib "$PORTAL_PID" VmRSS)"
    "$HOLDER" --target "127.0.0.1:$PORTAL_PORT" --connections "$HOLD" --path /healthz \
        --duration "${hold_secs}s" >"$WORK_DIR/hold.out" 2>&1 &
    HOLD_PID=$!
    STARTED_PIDS+=("$HOLD_PID")
    FDS_BEFORE="$(find "/proc/$PORTAL_PID/fd" -mindepth 1 | wc -l)"
    deadline=$(( $(now_ms) + 120000 ))
    while (( $(find "/proc/$PORTAL_PID/fd" -mindepth 1 | wc -l) < FDS_BEFORE + HOLD * 95 / 100 )); do
        kill -0 "$HOLD_PID" 2>/dev/null || die "rathaus-bench-hold ended early: $(cat "$WORK_DIR/hold.out")"
        (( $(now_ms) < deadline )) || die "the portal did not get $HOLD connections within 120 s"
        sleep 1
    done
    HELD_RSS="$(rss_kib "$PORTAL_PID" VmRSS)"
    HELD_FDS="$(find "/proc/$PORTAL_PID/fd" -mindepth 1 | wc -l)"
    measure "service page, $HOLD idle connections held" "$PORTAL" "/services/$SERVICE_ID"
    wait "$HOLD_PID" || die "rathaus-bench-hold failed: $(cat "$WORK_DIR/hold.out")"
    HOLD_REPORT="$(cat "$WORK_DIR/hold.out")"
fi

OURS_1="$(ours_ticks)"
OTHER_CPU="$(awk -v b="$(( $(machine_busy) - BUSY_0 ))" -v t="$(( $(machine_total) - TOTAL_0 ))" \
    -v o="$(( OURS_1 - OURS_0 ))" 'BEGIN { x = t ? 100 * (b - o) / t : 0; printf "%.1f", x < 0 ? 0 : x }')"
if awk -v x="$OTHER_CPU" 'BEGIN { exit !(x > 5) }'; then
    log "warning: other processes used ${OTHER_CPU}% of the CPU during the runs; the figures are too low"
fi
AFTER_RSS="$(rss_kib "$PORTAL_PID" VmRSS)"
AFTER_PEAK="$(rss_kib "$PORTAL_PID" VmHWM)"

# ---- report -----------------------------------------------------------------------------------

report() {
    echo "rathaus HTTP benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')," \
        "$(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
        "$(wrk --version 2>&1 | head -n 1 | awk '{ print $1, $2 }')"
    echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per run after a ${WARMUP} warm-up (0 = none);" \
        "load generator and servers share the machine"
    echo "catalogue: $CATALOGUE ($(($(wc -l <"$CATALOGUE") - 1)) rows)"
    echo "CPU time of other processes during the runs: ${OTHER_CPU}% of the machine (near 0 for trustworthy figures)"
    echo
    echo "cold start (rathaus demo, full catalogue, ${#CHILD_PIDS[@]} authority nodes, existing data directory): /healthz 200 after ${HEALTHZ_MS} ms, /readyz 200 after ${READYZ_MS} ms"
    echo "first start of a new data directory (makes 5 RSA-4096 key pairs and the demo accounts): /readyz 200 after ${FIRST_START_MS} ms"
    echo "portal process memory: idle RSS $(mib "$IDLE_RSS") MiB after start-up (peak during start-up $(mib "$PEAK_RSS") MiB);" \
        "RSS after the runs $(mib "$AFTER_RSS") MiB (peak $(mib "$AFTER_PEAK") MiB)"
    echo "authority node processes (${#CHILD_PIDS[@]}, not counted above): $(mib "$NODES_RSS") MiB RSS together"
    if [[ -n "$HOLD_REPORT" ]]; then
        echo "with $HOLD idle keep-alive connections held: the portal had $HELD_FDS open files and" \
            "RSS $(mib "$HELD_RSS") MiB (before: $(mib "$RSS_BEFORE_HOLD") MiB), $(awk -v h="$HELD_RSS" -v b="$RSS_BEFORE_HOLD" -v n="$HOLD" \
            'BEGIN { printf "%.1f", (h - b) / n }') KiB per connection above its RSS before"
    fi
    echo
    local hello_rps hello_p50 hello_p99
    IFS=$'\t' read -r _ hello_rps hello_p50 hello_p99 _ <<<"${RESULTS[0]}"
    printf '| %-52s | %9s | %9s | %9s | %8s | %8s | %8s | %8s | %6s |\n' \
        scenario "req/s" "p50 ms" "p99 ms" "req/s ×" "p50 ×" "p99 ×" "KB/resp" errors
    printf '|%s|%s:|%s:|%s:|%s:|%s:|%s:|%s:|%s:|\n' "$(printf -- '-%.0s' {1..54})" \
        "----------" "----------" "----------" "---------" "---------" "---------" "---------" "-------"
    local row name rps p50 p99 errors size
    for row in "${RESULTS[@]}"; do
        IFS=$'\t' read -r name rps p50 p99 errors size <<<"$row"
        awk -v n="$name" -v r="$rps" -v a="$p50" -v b="$p99" -v e="$errors" -v s="$size" \
            -v hr="$hello_rps" -v ha="$hello_p50" -v hb="$hello_p99" 'BEGIN {
                printf "| %-52s | %9d | %9.2f | %9.2f | %8.3f | %8.1f | %8.1f | %8.1f | %6d |\n",
                    n, r, a / 1000, b / 1000, r / hr, a / ha, b / hb, s / 1000, e }'
    done
    echo
    echo "req/s × = the scenario's requests per second divided by the baseline's (1.000 = as fast as doing nothing);"
    echo "p50 × / p99 × = its latency percentiles divided by the baseline's; KB/resp = bytes received per response,"
    echo "headers included; errors = socket errors, timeouts and non-2xx answers."
    if [[ -n "$HOLD_REPORT" ]]; then
        echo
        echo "rathaus-bench-hold ($HOLD connections):"
        sed 's/^/    /' <<<"$HOLD_REPORT"
    fi
}

mkdir -p "$ROOT/bench/results"
RESULT_FILE="$ROOT/bench/results/http-$(date -u '+%Y%m%d-%H%M%S').txt"
report | tee "$RESULT_FILE"
log "written to ${RESULT_FILE#"$ROOT"/}"
