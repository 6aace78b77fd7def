#!/usr/bin/env python3
"""An organization that sends in 5 % of its regions: 500 accounts in 20
regions (10,000 account-regions) discovered in the simulator's organization,
polled by the account, reputation, dedicated-IPs and identities collectors;
the simulator's own counters say what reached AWS.

The schedule is the default one compressed: the reputation collector every
5 s and the idle interval 6 minutes (the defaults' 5 minutes and 6 hours,
the same ratio of 72), GetAccount every 60 s, dedicated IPs and identities
every 30 s (two identities per account-region), sessions of 6 minutes. After
the first round and a warm-up, one idle interval is measured: every idle
region makes its one idle call in it. Rates are scaled to an hour of this
schedule; the model's figures come from `--config.discover --cost.active-share`
with the same flags. One idle region starts sending during the run: how long
until its reputation value is served.

Loopback only, bounded in time (about 10 minutes; --smoke: about 30 s).

usage: sending.py [--smoke] --out DIR
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import bench as B

SHARE = 0.05


def to_seconds(text):
    """`90s`, `6m` or `1h` in seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]]


def flags(a):
    return ["--poll.interval", a.account_interval,
            "--collector.reputation", "--collector.reputation.interval", a.reputation_interval,
            "--collector.dedicated-ips", "--collector.dedicated-ips.interval", a.slow_interval,
            "--collector.identities", "--collector.identities.interval", a.slow_interval,
            "--collector.identities.max", "2",
            "--collector.idle-interval", a.idle_interval]


def stats(sim):
    return json.loads(B.get(sim + "/_simulator/stats")[1])


def estimate(a, targets, env, share):
    """The exporter's own cost estimate at `share`: calls an hour by
    operation, and CloudWatch metrics a month."""
    out = subprocess.run([B.EXPORTER, "--config.file", targets, "--config.discover",
                          "--cost.active-share", f"{share:.4f}"] + flags(a),
                         capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    rows = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^  (\S.*?)\s{2,}(\S+)\s+(\S+)\s+(\S+)$", line)
        if m and not line.startswith("  calls an hour"):
            rows[m.group(1)] = float(m.group(4).replace(",", "").lstrip("$"))
    if not rows:
        sys.exit(f"bench: no estimate in --config.discover's output:\n{out.stdout}{out.stderr}")
    return rows


def run(procs, tmp, a):
    regions = B.ORG_REGIONS[:a.regions]
    n = a.accounts * a.regions
    sim_port = B.free_port()
    procs.start("sending-sim", [B.SIMULATOR, "--scenario", B.scenario_file(tmp, B.REGIONS[:1]),
                                "--web.listen-address", f"127.0.0.1:{sim_port}",
                                "--organization.accounts", str(a.accounts),
                                "--organization.active-share", str(SHARE),
                                "--organization.turn-active-after", a.turn_after,
                                "--sts.session-duration", a.session])
    sim = f"http://127.0.0.1:{sim_port}"
    B.wait_ok(sim + "/_simulator/stats")
    env = B.exporter_env(sim_port)
    targets = B.org_targets_file(tmp, regions)
    port = B.free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    p = procs.start("sending", [B.EXPORTER, "--config.file", targets,
                                "--web.listen-address", f"127.0.0.1:{port}"] + flags(a), env)
    B.wait_ok(base + "/healthz")
    while B.polled_pairs(base + "/metrics") < n:
        if time.monotonic() - t0 > 600:
            sys.exit(f"bench: {n} account-regions were not all polled in 600 s")
        time.sleep(1)
    first_round = time.monotonic() - t0
    time.sleep(max(0.0, a.warmup - (time.monotonic() - t0)))
    # The region that starts sending: when its reputation value is served.
    turning = stats(sim)["turns_active"]
    if not turning:
        sys.exit("bench: no idle region was asked for: is the share below 1?")
    if turning["sends_in_seconds"] < 0:
        sys.exit("bench: the idle region started sending before the window: lengthen --organization.turn-active-after")
    active_at = time.monotonic() + turning["sends_in_seconds"]
    series = f'pinpoint_email_reputation_bounce_ratio{{account="{turning["account"]}",aws_region="{turning["region"]}"}}'
    served_after = None
    s0, w0 = stats(sim), time.monotonic()
    while time.monotonic() - w0 < a.window:
        if served_after is None and time.monotonic() >= active_at:
            if series in B.get(base + "/metrics", timeout=30)[1].decode():
                served_after = time.monotonic() - active_at
        time.sleep(1)
    s1, window = stats(sim), time.monotonic() - w0
    per_hour = lambda key: (s1["calls_by_action"].get(key, 0) - s0["calls_by_action"].get(key, 0)) * 3600 / window
    text = B.get(base + "/metrics", timeout=30)[1].decode()
    idle = len(re.findall(r"^pinpoint_email_reputation_idle\{.*\} 1$", text, re.M))
    sending = len(re.findall(r"^pinpoint_email_reputation_idle\{.*\} 0$", text, re.M))
    scrape = B.wrk(base + "/metrics", a.scrape_seconds, connections=2)
    measured = {op: per_hour(action) for op, action in [
        ("ses:GetAccount", "GetAccount"), ("cloudwatch:GetMetricData", "GetMetricData"),
        ("ses:GetDedicatedIps", "GetDedicatedIps"), ("ses:ListEmailIdentities", "ListEmailIdentities"),
        ("ses:GetEmailIdentity", "GetEmailIdentity"), ("sts:AssumeRole", "AssumeRole")]}
    metrics_per_hour = (s1["cloudwatch_metrics"] - s0["cloudwatch_metrics"]) * 3600 / window
    row = {
        "accounts": a.accounts, "regions": a.regions, "account_regions": n,
        "sending": sending, "idle": idle, "first_round_s": first_round, "window_s": window,
        "calls_per_hour": measured, "cloudwatch_metrics_per_hour": metrics_per_hour,
        # Every region at the reputation interval: the baseline, from the schedule.
        "cloudwatch_metrics_per_hour_every_region": n * 7 * 3600 / to_seconds(a.reputation_interval),
        "assume_role_per_account_per_session": per_hour("AssumeRole") / a.accounts
        * to_seconds(a.session) / 3600,
        "rss_mib": B.status_kib(p.pid, "VmRSS") / 1024, "peak_rss_mib": B.status_kib(p.pid, "VmHWM") / 1024,
        "scrape_p99_ms": scrape["p99_ms"], "metrics_bytes": len(text),
        "turned_active": turning, "turned_active_served_after_s": served_after,
        "bound_s": to_seconds(a.account_interval) + to_seconds(a.reputation_interval),
        "session": a.session,
    }
    procs.stop(p)
    model = estimate(a, targets, env, sending / max(sending + idle, 1))
    row["model_per_hour"] = {op: model[op] for op in measured if op in model}
    row["model_cloudwatch_metrics_per_hour"] = model["CloudWatch metrics a month"] / 720
    procs.stop_all()
    return row


def markdown(r):
    out = [f"### An organization that sends in 5 % of its regions ({r['accounts']} accounts x {r['regions']} regions)", "",
           f"{r['sending']} of {r['account_regions']} account-regions sending ({100 * r['sending'] / r['account_regions']:.1f} %); "
           f"measured over {r['window_s']:.0f} s after a first round of {r['first_round_s']:.0f} s, "
           "from the simulator's counters, per hour of this schedule; the model is `--config.discover --cost.active-share` "
           "with the same flags.", "",
           "| operation | measured an hour | model an hour | measured / model |", "|---|---|---|---|"]
    for op, value in r["calls_per_hour"].items():
        if op == "sts:AssumeRole":
            continue
        model = r["model_per_hour"].get(op)
        ratio = f"{value / model:.2f}" if model else "-"
        out.append(f"| `{op}` | {value:,.0f} | {model:,.0f} | {ratio} |" if model else f"| `{op}` | {value:,.0f} | - | - |")
    m, every = r["cloudwatch_metrics_per_hour"], r["cloudwatch_metrics_per_hour_every_region"]
    model = r["model_cloudwatch_metrics_per_hour"]
    out += [f"| CloudWatch metrics | {m:,.0f} | {model:,.0f} | {m / model:.2f} |", "",
            f"CloudWatch metrics an hour: {m:,.0f}, {100 * m / every:.1f} % of the {every:,.0f} of polling every region "
            "at the reputation interval.",
            f"AssumeRole: {r['calls_per_hour']['sts:AssumeRole']:,.0f} an hour, "
            f"{r['assume_role_per_account_per_session']:.2f} per account and session lifetime (sessions shortened to "
            f"{r['session']}; renewed a minute before they expire, at most).",
            f"RSS {r['rss_mib']:.1f} MiB (peak {r['peak_rss_mib']:.1f}), /metrics {r['metrics_bytes'] / 2**20:.2f} MiB, "
            f"scrape p99 {r['scrape_p99_ms']:.1f} ms.",
            f"The idle region that started sending ({r['turned_active']['account']} in {r['turned_active']['region']}) "
            f"had its reputation value served {r['turned_active_served_after_s']:.0f} s after (bound: one account and one "
            f"reputation interval, {r['bound_s']:.0f} s, and the 1 s this benchmark looks)."
            if r["turned_active_served_after_s"] is not None else
            "The idle region that started sending had no reputation value served within the window."]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.smoke:
        a.accounts, a.regions, a.account_interval, a.reputation_interval = 5, 4, "2s", "1s"
        a.slow_interval, a.idle_interval, a.session, a.turn_after = "4s", "8s", "90s", "10s"
        a.warmup, a.window, a.scrape_seconds = 4, 12, 1
    else:
        a.accounts, a.regions, a.account_interval, a.reputation_interval = 500, 20, "60s", "5s"
        a.slow_interval, a.idle_interval, a.session, a.turn_after = "30s", "6m", "6m", "150s"
        a.warmup, a.window, a.scrape_seconds = 150, 360, 5
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="pee-sending-")
    procs = B.Procs(tmp)
    try:
        r = run(procs, tmp, a)
    finally:
        procs.stop_all()
    r["date"] = time.strftime("%Y-%m-%d")
    B.write(os.path.join(a.out, "sending.json"), json.dumps(r, indent=2) + "\n")
    B.write(os.path.join(a.out, "sending.md"), markdown(r))
    print(markdown(r))


if __name__ == "__main__":
    main()
