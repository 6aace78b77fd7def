#!/usr/bin/env python3
"""What the alert rules cost at organization scale, measured by a real
Prometheus on a generated TSDB.

An install of 4 shards polls ACCOUNTS accounts in REGIONS regions (500 x 20 =
10,000 account-regions by default), scraped every 30 s, the rules evaluated
every 30 s. The history Prometheus would hold at the end of a steady day is
generated as OpenMetrics and loaded with `promtool tsdb create-blocks-from
openmetrics`, as much of it as any rule or panel reads:

- every raw series of the exporters for the last 5 minutes, and for the last
  65 minutes those read over time (the call and throttling counters, the sent
  count and quota the forecast reads, pinpoint_email_up);
- the records as the rules write them: the account ids (6 hours; with the
  dashboard, the errors a second by region and reason too), and the
  held conditions of the accounts that have one, for 6 hours (`holdFor`), with
  what the rule before each recorded of them (5 minutes);
- `up` of each exporter for 6 hours.

Then each rule's expression is run once at the end of that history through
the HTTP API with `stats=all`: the samples it reads (totalQueryableSamples)
summed over the rules are the samples of one evaluation of the group, and the
series the recording rules return are what they add. The raw series of the
exporters are counted alongside, as the baseline the rules are measured
against.

A share of the accounts has a condition (SHUTDOWN, PROBATION, sending
disabled, quota over the warning, a bounce rate over the warning), each one:
--bad, 1 % and 10 % by default (one TSDB each).

usage: rule_cost.py [--accounts N] [--regions N] [--bad F,F...] --out DIR
Writes rule_cost.json and rule_cost.md into --out. Figures for the docs, not
pass/fail: only a failure to run fails.
"""
import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")
JOB = "pinpoint-email-exporter"
SHARDS = 4
STEP = 30  # seconds between scrapes, and between evaluations
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1",
           "eu-west-2", "eu-central-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
           "ca-central-1", "eu-north-1", "eu-south-1", "eu-west-3", "ap-south-1",
           "ap-northeast-2", "ap-northeast-3", "sa-east-1", "me-south-1", "af-south-1"]
CONDITIONS = ["shutdown", "probation", "sending_disabled", "quota_used", "bounce_rate"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def labels(**kv):
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


class Writer:
    """OpenMetrics, each metric's samples together (one family at a time)."""

    def __init__(self, path):
        self.out = open(path, "w", buffering=1 << 20)
        self.samples = 0

    def family(self, name, series):
        """series: (labels text, [(timestamp, value)])"""
        for lbl, points in series:
            for t, v in points:
                self.out.write(f"{name}{lbl} {v} {t}\n")
            self.samples += len(points)

    def close(self):
        self.out.write("# EOF\n")
        self.out.close()


def generate(path, accounts, regions, bad, end, rng, dashboard=False):
    """Writes the history; returns (raw series at the end, conditions held).
    With `dashboard`, every series the exporters serve, for the last hour (the
    window the dashboard's queries are measured on)."""
    hour = range(end - 3900 + STEP, end + 1, STEP)
    recent = hour if dashboard else range(end - 300 + STEP, end + 1, STEP)
    day = range(end - 6 * 3600 + STEP, end + 1, STEP)
    ids = [f"{100000000000 + i * 7919:012d}" for i in range(accounts)]
    where = {a: i % SHARDS for i, a in enumerate(ids)}
    exporter = {a: dict(job=JOB, instance=f"10.0.0.{where[a] + 1}:10919", shard=str(where[a])) for a in ids}
    keys = [(a, r) for a in ids for r in REGIONS[:regions]]
    sick = {k: rng.choice(CONDITIONS) for k in rng.sample(keys, int(len(keys) * bad))}
    w = Writer(path)
    raw = 0

    def per_key(name, value, times, extra=None):
        nonlocal raw
        series = []
        for a, r in keys:
            v = value(a, r)
            if v is None:
                continue
            lbl = labels(**exporter[a], account=a, aws_region=r, **(extra or {}))
            series.append((lbl, [(t, v(t) if callable(v) else v) for t in times]))
        raw += len(series)
        w.family(name, series)

    cond = lambda k, c: sick.get(k) == c
    per_key("pinpoint_email_up", lambda a, r: 1, hour)
    per_key("pinpoint_email_polls_total", lambda a, r: (lambda t: (t - end + 86400) // 60), hour)
    per_key("pinpoint_email_poll_errors_total", lambda a, r: 0, hour, {"reason": "throttled"})
    per_key("pinpoint_email_send_quota_sent_emails", lambda a, r: (lambda t: 1000 + (t - end + 3900) // 10), hour)
    per_key("pinpoint_email_send_quota_max_emails", lambda a, r: 50000, hour)
    per_key("pinpoint_email_send_quota_used_ratio",
            lambda a, r: 0.9 if cond((a, r), "quota_used") else 0.02, recent)
    for status in ["HEALTHY", "PROBATION", "SHUTDOWN", "UNKNOWN"]:
        per_key("pinpoint_email_enforcement_status",
                lambda a, r, s=status: int((sick.get((a, r)) or "healthy").upper() == s
                                           or (s == "HEALTHY" and sick.get((a, r)) not in ("shutdown", "probation"))),
                recent, {"status": status})
    per_key("pinpoint_email_sending_enabled", lambda a, r: 0 if cond((a, r), "sending_disabled") else 1, recent)
    per_key("pinpoint_email_production_access_enabled", lambda a, r: 1, recent)
    per_key("pinpoint_email_sandbox_expected", lambda a, r: 0, recent)
    per_key("pinpoint_email_last_success_timestamp_seconds", lambda a, r: (lambda t: t - 10), recent)
    per_key("pinpoint_email_reputation_up", lambda a, r: 1, recent)
    per_key("pinpoint_email_reputation_polls_total", lambda a, r: (lambda t: (t - end + 86400) // 300), recent)
    per_key("pinpoint_email_reputation_bounce_ratio",
            lambda a, r: 0.03 if cond((a, r), "bounce_rate") else 0.004, recent)
    per_key("pinpoint_email_reputation_bounce_ratio_timestamp_seconds", lambda a, r: (lambda t: t - 600), recent)
    per_key("pinpoint_email_reputation_complaint_ratio", lambda a, r: 0.0001, recent)
    if dashboard:
        per_key("pinpoint_email_send_quota_max_emails_per_second", lambda a, r: 14, recent)
        per_key("pinpoint_email_dedicated_ip_auto_warmup_enabled", lambda a, r: 1, recent)
        per_key("pinpoint_email_api_info", lambda a, r: 1, recent, {"api": "sesv2"})
        per_key("pinpoint_email_vdm_enabled", lambda a, r: 0, recent)
        for reason in ["BOUNCE", "COMPLAINT"]:
            per_key("pinpoint_email_suppression_reason_enabled", lambda a, r: 1, recent, {"reason": reason})
        for status in ["PENDING", "FAILED", "GRANTED", "DENIED"]:
            per_key("pinpoint_email_production_access_review_status",
                    lambda a, r, s=status: int(s == "GRANTED"), recent, {"status": status})
        for reason in ["auth", "bad_request", "invalid_response", "network", "other", "server", "timeout"]:
            per_key("pinpoint_email_poll_errors_total", lambda a, r: 0, hour, {"reason": reason})
        buckets = ["0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"]
        w.family("pinpoint_email_poll_duration_seconds_bucket", [
            (labels(job=JOB, instance=f"10.0.0.{sh + 1}:10919", shard=str(sh), aws_region=r, le=le),
             [(t, (t - end + 86400) * (i + 1)) for t in hour])
            for sh in range(SHARDS) for r in REGIONS[:regions] for i, le in enumerate(buckets)])
        raw += SHARDS * regions * len(buckets)
        w.family("aws_region_reason:pinpoint_email_poll_errors:rate5m", [
            (labels(job=JOB, aws_region=r, reason=reason), [(t, 0) for t in hour])
            for r in REGIONS[:regions]
            for reason in ["auth", "bad_request", "invalid_response", "network", "other", "server", "throttled",
                           "timeout"]])

    w.family("pinpoint_email_account_info",
             [(labels(**exporter[a], account=a, account_id=a), [(t, 1) for t in recent]) for a in ids])
    raw += accounts
    per_exporter = [dict(job=JOB, instance=f"10.0.0.{s + 1}:10919", shard=str(s)) for s in range(SHARDS)]
    w.family("up", [(labels(**e), [(t, 1) for t in day]) for e in per_exporter])
    w.family("pinpoint_email_exporter_targets_complete", [(labels(**e), [(t, 1) for t in recent]) for e in per_exporter])
    w.family("pinpoint_email_exporter_shards", [(labels(**e), [(t, SHARDS) for t in recent]) for e in per_exporter])
    w.family("pinpoint_email_exporter_shard_index",
             [(labels(**e), [(t, s) for t in recent]) for s, e in enumerate(per_exporter)])
    raw += 4 * SHARDS

    # The records, as the rules wrote them.
    w.family("job_instance_account:pinpoint_email_account_id:info",
             [(labels(account=a, account_id=a, **exporter[a]), [(t, 1) for t in day]) for a in ids])
    account_held, reputation_held = [], []
    for (a, r), c in sorted(sick.items()):
        value = {"quota_used": 0.9, "bounce_rate": 0.03}.get(c, 1)
        status = {"shutdown": "SHUTDOWN", "probation": "PROBATION"}.get(c)
        extra = {"status": status} if status else {}
        lbl = labels(**exporter[a], account=a, account_id=a, aws_region=r, condition=c, **extra)
        (reputation_held if c == "bounce_rate" else account_held).append((lbl, [(t, value) for t in day]))
    for name, held in [("account_aws_region:pinpoint_email_account_condition:held", account_held),
                       ("account_aws_region:pinpoint_email_reputation_condition:held", reputation_held)]:
        w.family(name, held)
        # What the rule before it recorded in the same evaluations.
        w.family(name + "_previous", [(lbl, [p for p in points if p[0] in recent]) for lbl, points in held])
    w.close()
    return raw, len(sick), w.samples


def query(port, expr, at):
    q = urllib.parse.urlencode({"query": expr, "time": at, "stats": "all"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{q}", timeout=600) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise SystemExit(f"query failed: {body}")
    return body["data"]


def rules(path):
    """(kind, name, expr) of every rule: PyYAML-free, the file is ours."""
    out, current = [], {}
    lines = open(path).read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("- expr:") or stripped.startswith("- alert:") or stripped.startswith("expr:") \
                or stripped.startswith("record:") or stripped.startswith("alert:"):
            key = stripped.lstrip("- ").split(":", 1)[0]
            value = stripped.split(":", 1)[1].strip()
            if stripped.startswith("- "):
                if current:
                    out.append(current)
                current = {}
            if key == "expr" and value == "|":
                indent = len(lines[i + 1]) - len(lines[i + 1].lstrip())
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) >= indent):
                    block.append(lines[i][indent:])
                    i += 1
                current["expr"] = "\n".join(block).strip()
                continue
            current[key] = json.loads(value) if value.startswith('"') else value
        i += 1
    if current:
        out.append(current)
    return [r for r in out if "expr" in r]


def measure(accounts, regions, bad, dashboard=False):
    """One generated TSDB and one evaluation of every rule on it; with
    `dashboard`, every dashboard query over 7 days too."""
    work = tempfile.mkdtemp(prefix="rule-cost-")
    try:
        end = (int(time.time()) // STEP) * STEP - 300
        rng = random.Random(7)
        history = os.path.join(work, "history.om")
        raw, sick, samples = generate(history, accounts, regions, bad, end, rng, True)
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", history, os.path.join(work, "data")],
                       check=True, stdout=subprocess.DEVNULL)
        os.remove(history)
        port = free_port()
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global: {}\n")
        prom = subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml",
                                 f"--storage.tsdb.path={work}/data", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            read, added, per_rule = 0, 0, []
            for rule in rules(RULES):
                data = query(port, rule["expr"], end)
                n = data["stats"]["samples"]["totalQueryableSamples"]
                result = len(data["result"])
                read += n
                if "record" in rule:
                    added += result
                per_rule.append({"rule": rule.get("record") or rule.get("alert"), "samples": n, "series": result})
            panels = dashboard_cost(port, end) if dashboard else []
        finally:
            prom.terminate()
            prom.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    keys = accounts * regions
    return {
        "with_a_condition": sick, "share_with_a_condition": bad, "raw_series": raw,
        "history_samples_loaded": samples, "samples_read_per_evaluation": read,
        "series_added_by_records": added, "series_added_per_account_region": round(added / keys, 3),
        "rules": per_rule, "dashboard_7d": panels,
    }


# Grafana's step for 7 days in a panel about 1,000 pixels wide, and the
# intervals it puts in the queries then.
DASHBOARD_STEP = 600
DASHBOARD_VARS = {"$__rate_interval": "630s", "$__interval": "10m", "$cluster": ".*", "$namespace": ".*",
                  "$job": ".*", "$account": ".*", "$aws_region": ".*"}
# Prometheus's --query.max-samples default: the most samples one query may hold.
MAX_SAMPLES = 50_000_000


def dashboard_cost(port, end):
    """Every query of the dashboard as Grafana runs it over 7 days, measured
    over the last hour and scaled to 7 days: the samples a range query holds
    at its peak grow with its steps (each operand is a matrix of series x
    steps), the rest is the same at every step."""
    path = os.path.join(ROOT, "grafana", "pinpoint-email.json")
    dash = json.load(open(path))
    queries = [(p["title"], t["expr"], t.get("instant", False))
               for p in dash["panels"] for t in p.get("targets", []) if "expr" in t]
    queries += [(a["name"], a["target"]["expr"], False)
                for a in dash["annotations"]["list"] if "target" in a and "expr" in a["target"]]
    window = 3600
    steps = window // DASHBOARD_STEP + 1
    steps_7d = 7 * 86400 // DASHBOARD_STEP + 1
    out = []
    for title, expr, instant in queries:
        for k, v in DASHBOARD_VARS.items():
            expr = expr.replace(k, v)
        if instant:
            data = query(port, expr, end)
            peak = data["stats"]["samples"].get("peakSamples", 0)
        else:
            q = urllib.parse.urlencode({"query": expr, "start": end - window, "end": end,
                                        "step": DASHBOARD_STEP, "stats": "all"})
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query_range?{q}", timeout=600) as r:
                body = json.load(r)
            if body.get("status") != "success":
                raise SystemExit(f"{title}: {body}")
            peak = body["data"]["stats"]["samples"].get("peakSamples", 0) * steps_7d // steps
        out.append({"panel": title, "peak_samples_7d": peak, "instant": instant})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--regions", type=int, default=20)
    ap.add_argument("--bad", default="0.01,0.1", help="shares of accounts with a condition, comma separated")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keys = args.accounts * args.regions
    # Every run holds every series the exporters serve (and the dashboard
    # reads); the dashboard's queries run on the first.
    runs = [measure(args.accounts, args.regions, float(b), dashboard=i == 0)
            for i, b in enumerate(args.bad.split(","))]
    result = {"account_regions": keys, "accounts": args.accounts, "regions": args.regions, "shards": SHARDS,
              "scrape_and_evaluation_interval_seconds": STEP, "runs": runs}
    with open(os.path.join(args.out, "rule_cost.json"), "w") as f:
        json.dump(result, f, indent=2)
    md = [
        "# What the alert rules cost",
        "",
        f"Measured by `bench/rule_cost.py` with a real Prometheus on a generated TSDB: {args.accounts} accounts "
        f"x {args.regions} regions = {keys:,} account-regions in {SHARDS} shards, scraped and evaluated every "
        f"{STEP} s; each rule's expression run once with `stats=all` at the end of the history.",
        "",
        "| accounts with a condition held | raw series of the exporters | samples the rules read in one evaluation"
        " | series the recording rules add | per account-region |",
        "|---|---|---|---|---|",
    ] + [f"| {r['with_a_condition']:,} ({r['share_with_a_condition']:.0%}) | {r['raw_series']:,} | "
         f"{r['samples_read_per_evaluation']:,} | {r['series_added_by_records']:,} | "
         f"{r['series_added_per_account_region']:.2f} |" for r in runs]
    for r in runs:
        md += ["", f"The heaviest rules with {r['share_with_a_condition']:.0%} of the accounts held"
                   " (samples read in one evaluation):", "", "| rule | samples | series |", "|---|---|---|"]
        md += [f"| `{x['rule']}` | {x['samples']:,} | {x['series']:,} |"
               for x in sorted(r["rules"], key=lambda x: -x["samples"])[:5]]
    panels = sorted(runs[0]["dashboard_7d"], key=lambda x: -x["peak_samples_7d"])
    md += ["", f"The dashboard over 7 days (Grafana's step {DASHBOARD_STEP // 60} minutes): the samples each query holds"
               f" at its peak, against Prometheus's default limit of {MAX_SAMPLES:,} (`--query.max-samples`);"
               " measured over the last hour and scaled by the number of steps. The heaviest:", "",
           "| panel | peak samples over 7 days | share of the limit |", "|---|---|---|"]
    md += [f"| {x['panel']} | {x['peak_samples_7d']:,} | {x['peak_samples_7d'] / MAX_SAMPLES:.0%} |" for x in panels[:6]]
    with open(os.path.join(args.out, "rule_cost.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
