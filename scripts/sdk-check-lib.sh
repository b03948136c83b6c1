# Shared by scripts/check-{aliyun,ucloud,huawei}-sdk.sh: a venv with a provider's official SDK, and
# `iambatch emulate` on 127.0.0.1 with a request log. Sourced, not run; the caller has `set -euo
# pipefail` and is in the repository root.

# sdk_venv NAME PACKAGE...: the venv in $SDK_VENV (default target/NAME-sdk-venv, reused on later
# runs) with PACKAGE... installed from PyPI; sets $venv.
sdk_venv() {
    local name=$1
    shift
    venv="${SDK_VENV:-target/$name-sdk-venv}"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
}

# start_emulator PROVIDER: builds the debug binary, starts the emulator (stopped on exit) and sets
# $work (a temporary directory with requests.jsonl) and $endpoint (PROVIDER's API). Requests to
# 127.0.0.1 never go through a proxy.
start_emulator() {
    export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
    cargo build --quiet
    work=$(mktemp -d)
    target/debug/iambatch emulate --request-log "$work/requests.jsonl" >"$work/endpoints" 2>"$work/stderr" &
    emulator=$!
    trap 'kill "$emulator" 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 100); do
        [ -s "$work/endpoints" ] && break
        sleep 0.1
    done
    endpoint=$("$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <"$work/endpoints")
    echo "emulator: $endpoint"
}

# What the emulator saw, for the last line of a check.
emulator_summary() {
    echo "requests the emulator saw: $(wc -l <"$work/requests.jsonl"), refused: $(grep -c '"outcome":"rejected"' "$work/requests.jsonl" || true)"
}
