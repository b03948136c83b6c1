#!/usr/bin/env bash
# Export benchmark: peak memory and speed of `iambatch export` against the emulator with no rate
# limit, for accounts of growing size. Rows are streamed to the file, so peak RSS must stay flat
# as the account grows (huawei's whole list and login-protection list come in one reply each, so
# it grows with them, as the API does).
#
#   scripts/bench-export.sh                  # 1,000 and 10,000 users per provider, release build
#   PROFILE=debug scripts/bench-export.sh 1000 10000 50000
#   PROVIDERS="aliyun" scripts/bench-export.sh 10000
#
# Needs cargo, curl, jq and GNU time (/usr/bin/time -v). Everything runs on 127.0.0.1.
# Prints one line per provider and size: users, seconds, users/s, requests, peak RSS in MB.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${PROFILE:-release}"
providers="${PROVIDERS:-aliyun ucloud huawei}"
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 10000)
bin="target/$profile/iambatch"
work="$(mktemp -d)"
emulator_pid=""
cleanup() {
    if [[ -n "$emulator_pid" ]]; then kill "$emulator_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ "$profile" == release ]]; then cargo build --quiet --release; else cargo build --quiet; fi
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

"$bin" emulate >"$work/endpoints.json" 2>"$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 100); do
    [[ -s "$work/endpoints.json" ]] && break
    sleep 0.1
done
endpoint() { jq -r ".$1" "$work/endpoints.json"; }

# Users from..to of one provider as a state patch (each provider's format, emulator/*.rs).
patch() {
    local provider="$1" from="$2" to="$3"
    jq -cn --arg p "$provider" --argjson from "$from" --argjson to "$to" '
        [range($from; $to)] | map("b\(. | tostring | ("0000000" + .)[-7:])") as $names
        | {($p): {users: (
            if $p == "aliyun" then
                $names | map({key: "\(.)@bench.onaliyun.com", value: {login_profile: {status: "Active"}}})
            elif $p == "ucloud" then
                $names | map({key: ., value: {email: "\(.)@bench.example.com"}})
            else
                $names | map({key: ., value: {}})
            end | from_entries)}}'
}

export ALIBABA_CLOUD_ACCESS_KEY_ID=emulator-aliyun-key ALIBABA_CLOUD_ACCESS_KEY_SECRET=emulator-aliyun-secret
export UCLOUD_PUBLIC_KEY=emulator-ucloud-public UCLOUD_PRIVATE_KEY=emulator-ucloud-private
export HUAWEICLOUD_SDK_AK=emulator-huawei-ak HUAWEICLOUD_SDK_SK=emulator-huawei-sk
export HUAWEICLOUD_SDK_DOMAIN_ID=emulator-huawei-domain

echo "iambatch export, $profile build, emulator without rate limit, concurrency 16"
for provider in $providers; do
    upper="$(tr '[:lower:]' '[:upper:]' <<<"$provider")"
    export "IAMBATCH_${upper}_ENDPOINT=$(endpoint "$provider")"
    for n in "${sizes[@]}"; do
        # In slices: the emulator takes request bodies up to 2 MB.
        for ((from = 0; from < n; from += 10000)); do
            patch "$provider" "$from" "$((from + 10000 < n ? from + 10000 : n))" |
                curl -sf -o /dev/null -X POST --data-binary @- "$(endpoint "$provider")/_emulator/state"
        done
        if ! /usr/bin/time -v "$bin" export "$provider" -o "$work/out.csv" --overwrite --no-progress \
            --rate "$provider=unlimited" --concurrency 16 2>"$work/time.log" >/dev/null; then
            grep -v '^	' "$work/time.log" >&2
            exit 1
        fi
        rss_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.log")"
        secs="$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/time.log")"
        rows="$(($(wc -l <"$work/out.csv") - 1))"
        requests="$(awk '/ requests$/ || / requests,/ {for (i = 1; i <= NF; i++) if ($i ~ /^requests/) print $(i - 1)}' "$work/time.log" | tail -1)"
        awk -v p="$provider" -v n="$rows" -v s="$secs" -v r="$requests" -v kb="$rss_kb" 'BEGIN {
            printf "export %-6s %7d users: %6.1f s, %7.0f users/s, %7s requests, peak RSS %5.1f MB\n",
                p, n, s, (s > 0 ? n / s : 0), r, kb / 1024 }'
    done
done
