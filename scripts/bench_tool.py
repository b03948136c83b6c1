#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (standard library only).

  bench_tool.py rows N FILE          write N create-login-profile rows for aliyun, and
                                     FILE.users.json, the emulator's users file for them
  bench_tool.py signed-body          print a signed CreateLoginProfile form body (emulator key)
  bench_tool.py fidelity LOG RATE    rate and busiest one-second window of an emulator request log
  bench_tool.py adaptive LOG LIMIT TARGET LIFTED
                                     how a run under an emulator limit settled and recovered
  bench_tool.py scale-files ACCOUNTS RATE ROWS OUT
                                     ACCOUNTS config accounts at RATE with ROWS rows each:
                                     OUT.csv (rows interleaved), OUT.toml.in (endpoint @ENDPOINT@),
                                     OUT.csv.users.json, OUT.keys.json (the emulator's state
                                     patch that accepts the accounts' keys), OUT.one.csv (the same
                                     users for the default account alone)
  bench_tool.py scale LOG RATE       per-account rates and busiest second of a request log
"""

import base64
import datetime
import hashlib
import hmac
import json
import sys
import urllib.parse
import uuid


def rows(n, path):
    with open(path, "w") as f:
        f.write("provider,action,user,password,mfa_bind_required\n")
        for i in range(n):
            f.write(f"aliyun,create-login-profile,user{i:07d}@corp.onaliyun.com,Init-{i:07d}-pw!x,true\n")
    # The emulator knows only the users it is given, as a real account.
    with open(path + ".users.json", "w") as f:
        json.dump({"aliyun": [f"user{i:07d}@corp.onaliyun.com" for i in range(n)]}, f)


def pe(s):
    return urllib.parse.quote(s, safe="-_.~")


def signed_body():
    """What iambatch sends for one row: a V1-signed CreateLoginProfile. Replayed by a load
    generator, the emulator does all its work (parse, verify the signature, check the timestamp)
    and then refuses the nonce as used: the same cost as a row, but the state change."""
    params = {
        "Action": "CreateLoginProfile",
        "Version": "2019-08-15",
        "Format": "JSON",
        "AccessKeyId": "emulator-aliyun-key",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": str(uuid.uuid4()),
        "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "UserPrincipalName": "bench@corp.onaliyun.com",
        "Password": "Init-0000000-pw!x",
        "MFABindRequired": "true",
    }
    canonical = "&".join(f"{pe(k)}={pe(v)}" for k, v in sorted(params.items()))
    to_sign = f"POST&{pe('/')}&{pe(canonical)}"
    mac = hmac.new(b"emulator-aliyun-secret&", to_sign.encode(), hashlib.sha1)
    print(f"{canonical}&Signature={pe(base64.b64encode(mac.digest()).decode())}")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def busiest_second(times):
    start = most = 0
    for end in range(len(times)):
        while times[end] - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def fidelity(path, rate):
    log = load(path)
    times = sorted(line["time"] for line in log)
    faults = sum(line["outcome"] == "fault" for line in log)
    reads = sum(line["action"] == "GetLoginProfile" for line in log)
    # The last requests are retries waiting on their backoff alone: not the pacer's doing.
    steady = times[: len(times) - 16]
    achieved = (len(steady) - 1) / (steady[-1] - steady[0])
    print(
        f"{len(times)} requests at the server ({reads} read-backs, {faults} faults retried): "
        f"{achieved:.2f}/s = {achieved / rate:.3f} x --rate; "
        f"busiest one-second window {busiest_second(times)} (limit {int(rate)})"
    )


def adaptive(path, limit, target, lifted):
    log = load(path)
    ok = sorted(line["time"] for line in log if line["outcome"] == "ok")
    throttled = sum(line["outcome"] == "throttled" for line in log)
    first = min(line["time"] for line in log)

    def rate(a, b):
        return sum(a <= t < b for t in ok) / (b - a)

    settled = rate(first + 6.0, lifted)
    recovered = next(
        (
            round(s / 10, 1)
            for s in range(0, int((ok[-1] - lifted - 2) * 10))
            if rate(lifted + s / 10, lifted + s / 10 + 2) >= 0.9 * target
        ),
        None,
    )
    back = f"{recovered} s after the lift" if recovered is not None else "not within the run"
    print(
        f"limit {limit:g}/s against --rate {target:g}: settled at {settled:.2f}/s = "
        f"{settled / limit:.3f} x the limit (from 6 s to the lift at {lifted - first:.0f} s); "
        f"throttled {throttled} of {len(log)} requests = {100 * throttled / len(log):.2f}%; "
        f"90% of --rate reached {back}"
    )


# Every scale account signs with its own temporary key (with this secret and token), so that the
# emulator's request log tells the accounts apart.
SCALE_SECRET = "scale-secret"
SCALE_TOKEN = "scale-token"


def scale_files(accounts, rate, rows_each, out):
    names = [f"a{a:04d}" for a in range(accounts)]
    users = {n: [f"{n}u{r:03d}@corp.onaliyun.com" for r in range(rows_each)] for n in names}
    with open(out + ".csv", "w") as f, open(out + ".one.csv", "w") as one:
        f.write("provider,account,action,user,password,mfa_bind_required\n")
        one.write("provider,action,user,password,mfa_bind_required\n")
        # Row by row across the accounts: each account's rows are spread over the whole file.
        for r in range(rows_each):
            for n in names:
                f.write(f"aliyun,{n},create-login-profile,{users[n][r]},Init-{r:03d}-pw!x,true\n")
                one.write(f"aliyun,create-login-profile,{users[n][r]},Init-{r:03d}-pw!x,true\n")
    with open(out + ".toml.in", "w") as f:
        for n in names:
            f.write(
                f'[accounts.{n}]\nprovider = "aliyun"\nendpoint = "@ENDPOINT@"\n'
                f'access_key_id = "key-{n}"\naccess_key_secret_env = "SCALE_SECRET"\n'
                f'security_token_env = "SCALE_TOKEN"\nrate = {rate}\n\n'
            )
    with open(out + ".csv.users.json", "w") as f:
        json.dump({"aliyun": [u for n in names for u in users[n]]}, f)
    with open(out + ".keys.json", "w") as f:
        keys = {f"key-{n}": {"secret": SCALE_SECRET, "security_token": SCALE_TOKEN} for n in names}
        json.dump({"aliyun": {"temporary_keys": keys}}, f)


def scale(path, rate):
    by_account = {}
    for line in load(path):
        by_account.setdefault(line["account"], []).append(line["time"])
    rates = []
    busiest = (0, None)
    for account, times in by_account.items():
        times.sort()
        rates.append((len(times) - 1) / (times[-1] - times[0]))
        busiest = max(busiest, (busiest_second(times), account))
    every = sorted(t for times in by_account.values() for t in times)
    overall = len(every) / (every[-1] - every[0])
    print(
        f"{len(by_account)} accounts, {len(every)} requests at the server, {overall:,.0f} requests/s in all; "
        f"per-account rate {min(rates):.2f} to {max(rates):.2f}/s = {min(rates) / rate:.3f} to "
        f"{max(rates) / rate:.3f} x its rate (target within 0.98 to 1.00); "
        f"busiest one-second window of any account {busiest[0]} (rate {rate:g})"
    )


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "rows":
        rows(int(args[0]), args[1])
    elif cmd == "signed-body":
        signed_body()
    elif cmd == "fidelity":
        fidelity(args[0], float(args[1]))
    elif cmd == "adaptive":
        adaptive(args[0], float(args[1]), float(args[2]), float(args[3]))
    elif cmd == "scale-files":
        scale_files(int(args[0]), float(args[1]), int(args[2]), args[3])
    elif cmd == "scale":
        scale(args[0], float(args[1]))
    else:
        sys.exit(__doc__)
