#!/usr/bin/env python3
"""The benchmark suite: pinpoint-email-exporter side by side with real peers, on
this machine, in one run. Loopback only; every load is bounded in time.

1. Scrape path: `wrk --latency` against this exporter (simulator-backed, 12
   pollers), Debian's prometheus-node-exporter (loadavg and time collectors
   only), a prometheus_client exporter serving the same series, and a ceiling
   (the same bytes pre-rendered by the smallest hyper server). Requests/s, p50,
   p99, and server CPU per request from /proc.
2. Footprint: start-up time to the first /metrics answer, idle RSS after the
   first polls, RSS under scrape load, CPU per idle hour at the default
   interval, binary size.
3. Scaling: 1, 10, 100, 1,000 pollers against the simulator with 100 ms of
   injected latency: first round time, CPU per poll, RSS, /metrics size, scrape
   p99 while every poller polls every 2 s.
4. An organization: 50 and 500 accounts discovered in the simulator's AWS
   Organization, each polled through its own assumed role in 20 regions
   (1,000 and 10,000 pollers) at the default 60 s interval: time to the first
   complete round, CPU per poll, RSS, /metrics size raw and gzipped, scrape
   p99 while polling, STS calls.

Writes results.json, benchmarks.md (a table) and benchmarks.png (a chart) into
--out. Timings are figures for the docs, never pass/fail: only a crash fails.

usage: bench.py [--smoke] --out DIR
"""
import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The measured binaries: the release build, or the dev build for a smoke run.
RELEASE = os.environ.get("BENCH_BIN_DIR") or os.path.join(ROOT, "target", "release")
EXPORTER = os.path.join(RELEASE, "pinpoint-email-exporter")
SIMULATOR = os.path.join(RELEASE, "pinpoint-email-simulator")
CEILING = os.path.join(RELEASE, "examples", "ceiling")
CLK = os.sysconf("SC_CLK_TCK")
ACCESS_KEY, SECRET_KEY = "AKIDPINPOINTSIMULATOR", "pinpoint-email-simulator-secret"
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1",
           "eu-west-2", "eu-central-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1"]
# Twenty regions where SES sends mail: an organization polled everywhere.
ORG_REGIONS = REGIONS + ["ca-central-1", "eu-north-1", "eu-south-1", "eu-west-3", "ap-south-1",
                         "ap-northeast-2", "ap-northeast-3", "sa-east-1", "me-south-1", "af-south-1"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def wait_ok(url, limit=120):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if get(url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.02)
    sys.exit(f"bench: {url} did not answer 200 within {limit}s")


class Procs:
    """Child processes, all ended on exit."""

    def __init__(self, tmp):
        self.tmp, self.procs = tmp, []

    def start(self, name, cmd, env=None):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, **(env or {})))
        self.procs.append(p)
        return p

    def stop(self, p):
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url, seconds, connections=16):
    out = subprocess.run(["wrk", "--latency", "-t2", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"bench: {url} answered {errors.group(1)} errors:\n{out}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": to_ms(lat["50"]), "p99_ms": to_ms(lat["99"]), "requests": requests}


def scrape_bench(name, pid, url, seconds, runs):
    get(url)  # warm up
    results = []
    for _ in range(runs):
        before = cpu_seconds(pid)
        r = wrk(url, seconds)
        r["cpu_us_per_request"] = (cpu_seconds(pid) - before) / r["requests"] * 1e6
        results.append(r)
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    median["name"] = name
    median["payload_bytes"] = len(get(url)[1])
    return median


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def scenario_file(tmp, regions, delay_ms=0):
    lines = ["regions:"]
    for i, region in enumerate(regions):
        status = ["HEALTHY", "PROBATION", "HEALTHY", "SHUTDOWN"][i % 4]
        lines += [f"  {region}:", "    phases:",
                  f"      - account: {{ enforcement_status: {status}, sent_last_24_hours: {1000 * (i + 1)} }}"]
        if delay_ms:
            lines.append(f"        delay: {delay_ms}ms")
    return write(os.path.join(tmp, f"scenario-{len(regions)}-{delay_ms}.yml"), "\n".join(lines) + "\n")


def targets_file(tmp, n):
    """n (target, region) pairs: targets of up to 10 regions each."""
    lines = ["targets:"]
    for t in range((n + len(REGIONS) - 1) // len(REGIONS)):
        regions = REGIONS[: min(len(REGIONS), n - t * len(REGIONS))]
        lines += [f"  - name: t{t:03d}", f"    regions: [{', '.join(regions)}]"]
    return write(os.path.join(tmp, f"targets-{n}.yml"), "\n".join(lines) + "\n")


def exporter_env(sim_port):
    return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{sim_port}", "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true"}


def start_simulator(procs, scenario):
    port = free_port()
    procs.start("simulator", [SIMULATOR, "--scenario", scenario, "--web.listen-address", f"127.0.0.1:{port}"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return port
        except OSError:
            time.sleep(0.02)
    sys.exit("bench: the simulator did not start")


def polls_done(url):
    text = get(url)[1].decode()
    return sum(float(v) for v in re.findall(r"^pinpoint_email_polls_total\{.*\} (\S+)$", text, re.M))


def scrape_path(procs, tmp, a):
    sim = start_simulator(procs, scenario_file(tmp, REGIONS[:4]))
    port = free_port()
    exporter = procs.start("exporter", [EXPORTER, "--config.file", targets_file(tmp, 12),
                                        "--web.listen-address", f"127.0.0.1:{port}"], exporter_env(sim))
    url = f"http://127.0.0.1:{port}/metrics"
    wait_ok(f"http://127.0.0.1:{port}/readyz")
    time.sleep(1)
    idle_rss = status_kib(exporter.pid, "VmRSS")
    payload = os.path.join(tmp, "metrics.txt")
    write(payload, get(url)[1].decode())

    peers = []
    ne_port = free_port()
    ne = procs.start("node_exporter", ["prometheus-node-exporter", "--collector.disable-defaults",
                                       "--collector.loadavg", "--collector.time",
                                       f"--web.listen-address=127.0.0.1:{ne_port}"])
    peers.append(("node_exporter (loadavg, time)", ne, f"http://127.0.0.1:{ne_port}/metrics"))
    py_port = free_port()
    py = procs.start("python_exporter", [a.python, os.path.join(ROOT, "bench", "python_exporter.py"),
                                         str(py_port), payload])
    peers.append(("Python prometheus_client", py, f"http://127.0.0.1:{py_port}/metrics"))
    ceil_port = free_port()
    ceil = procs.start("ceiling", [CEILING, f"127.0.0.1:{ceil_port}", payload])
    peers.append(("ceiling: hyper, pre-rendered bytes", ceil, f"http://127.0.0.1:{ceil_port}/metrics"))
    for _, _, u in peers:
        wait_ok(u)

    rows = [scrape_bench("pinpoint-email-exporter", exporter.pid, url, a.seconds, a.runs)]
    for name, p, u in peers:
        rows.append(scrape_bench(name, p.pid, u, a.seconds, a.runs))
    loaded_rss = status_kib(exporter.pid, "VmHWM")
    for _, p, _ in peers:
        procs.stop(p)
    procs.stop(exporter)

    # Start-up: from spawn to the first 200 on /metrics.
    startups = []
    for i in range(a.runs + 2):
        port = free_port()
        t0 = time.monotonic()
        p = procs.start(f"startup{i}", [EXPORTER, "--config.file", targets_file(tmp, 12),
                                        "--web.listen-address", f"127.0.0.1:{port}"], exporter_env(sim))
        while True:
            try:
                if get(f"http://127.0.0.1:{port}/metrics", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.001)
        startups.append((time.monotonic() - t0) * 1e3)
        procs.stop(p)

    # Idle CPU at the default 60 s interval, 12 pollers.
    port = free_port()
    p = procs.start("idle", [EXPORTER, "--config.file", targets_file(tmp, 12),
                             "--web.listen-address", f"127.0.0.1:{port}"], exporter_env(sim))
    wait_ok(f"http://127.0.0.1:{port}/readyz")
    c0, t0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(a.idle_seconds)
    idle_cpu_per_hour = (cpu_seconds(p.pid) - c0) / (time.monotonic() - t0) * 3600
    procs.stop(p)
    procs.stop_all()
    return {
        "scrape": rows,
        "footprint": {
            "idle_rss_mib": idle_rss / 1024, "loaded_rss_mib": loaded_rss / 1024,
            "startup_ms": statistics.median(startups),
            "idle_cpu_seconds_per_hour": idle_cpu_per_hour,
            "idle_window_s": a.idle_seconds,
            "binary_bytes": os.path.getsize(EXPORTER),
        },
    }


def scaling(procs, tmp, a):
    rows = []
    for n in a.pollers:
        regions = REGIONS[: min(n, len(REGIONS))]
        sim = start_simulator(procs, scenario_file(tmp, regions, delay_ms=100))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        p = procs.start(f"scale{n}", [EXPORTER, "--config.file", targets_file(tmp, n), "--poll.interval", "2s",
                                      "--web.listen-address", f"127.0.0.1:{port}"], exporter_env(sim))
        wait_ok(base + "/readyz", limit=300)
        first_round = time.monotonic() - t0
        time.sleep(2)
        # CPU per poll in a window without scrape load, then the scrape load.
        c0, polls0, t0 = cpu_seconds(p.pid), polls_done(base + "/metrics"), time.monotonic()
        time.sleep(a.quiet_seconds)
        polls = polls_done(base + "/metrics") - polls0
        cpu = cpu_seconds(p.pid) - c0
        window = time.monotonic() - t0
        scrape = wrk(base + "/metrics", a.scale_seconds)
        rows.append({
            "pollers": n, "first_round_s": first_round,
            "cpu_us_per_poll": cpu / max(polls, 1) * 1e6,
            "polls_per_second": polls / window,
            "cpu_seconds": cpu, "polls": polls, "scrapes": scrape["requests"],
            "rss_mib": status_kib(p.pid, "VmRSS") / 1024,
            "metrics_bytes": len(get(base + "/metrics")[1]),
            "scrape_p99_ms": scrape["p99_ms"], "scrape_rps": scrape["rps"],
        })
        procs.stop_all()
    return rows


def org_targets_file(tmp, regions):
    lines = ["targets:", "  - name: org", f"    regions: [{', '.join(regions)}]", "    api: pinpoint-email",
             "    discover:", "      organizations:", "        role_name: pinpoint-email-exporter"]
    return write(os.path.join(tmp, f"org-{len(regions)}.yml"), "\n".join(lines) + "\n")


def polled_pairs(url):
    """(account, region) pairs with at least one completed GetAccount call."""
    text = get(url, timeout=30)[1].decode()
    return len(re.findall(r"^pinpoint_email_polls_total\{.*\} [1-9]", text, re.M))


def gzip_size(url):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.headers.get("Content-Encoding") == "gzip"
        return len(r.read())


def organization(procs, tmp, a):
    rows = []
    for accounts, nregions in a.org_sizes:
        regions = ORG_REGIONS[:nregions]
        n = accounts * nregions
        sim_port = free_port()
        procs.start(f"org-sim{n}", [SIMULATOR, "--scenario", scenario_file(tmp, REGIONS[:1]),
                                    "--web.listen-address", f"127.0.0.1:{sim_port}",
                                    "--organization.accounts", str(accounts)])
        sim = f"http://127.0.0.1:{sim_port}"
        wait_ok(sim + "/_simulator/stats")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        p = procs.start(f"org{n}", [EXPORTER, "--config.file", org_targets_file(tmp, regions),
                                    "--poll.interval", a.org_interval,
                                    "--web.listen-address", f"127.0.0.1:{port}"], exporter_env(sim_port))
        wait_ok(base + "/healthz")
        while True:
            try:
                if polled_pairs(base + "/metrics") >= n:
                    break
            except OSError:
                pass
            if time.monotonic() - t0 > 600:
                sys.exit(f"bench: {n} pollers did not complete a round in 600 s")
            time.sleep(0.5)
        first_round = time.monotonic() - t0
        # One interval of polling, without scrapes; then scrapes while polling.
        c0, polls0, w0 = cpu_seconds(p.pid), polls_done(base + "/metrics"), time.monotonic()
        time.sleep(a.org_window)
        polls = polls_done(base + "/metrics") - polls0
        cpu = cpu_seconds(p.pid) - c0
        window = time.monotonic() - w0
        scrape = wrk(base + "/metrics", a.scale_seconds, connections=2)
        stats = json.loads(get(sim + "/_simulator/stats")[1])
        rows.append({
            "accounts": accounts, "regions": nregions, "pollers": n, "first_round_s": first_round,
            "cpu_us_per_poll": cpu / max(polls, 1) * 1e6, "polls": polls,
            "polls_per_second": polls / window,
            "rss_mib": status_kib(p.pid, "VmRSS") / 1024, "peak_rss_mib": status_kib(p.pid, "VmHWM") / 1024,
            "metrics_bytes": len(get(base + "/metrics", timeout=30)[1]),
            "metrics_gzip_bytes": gzip_size(base + "/metrics"),
            "scrape_p99_ms": scrape["p99_ms"], "scrapes": scrape["requests"],
            "sts_calls": stats["calls_by_action"].get("AssumeRole", 0),
            "sts_max_per_second": stats["assume_role_max_per_second"],
            "run_s": time.monotonic() - t0,
        })
        procs.stop_all()
    return rows


def at_least_a_tick(value, tick, unit):
    """A CPU figure; /proc counts CPU in ticks, so zero means less than one."""
    if value == 0:
        return f"< {tick:.0f} {unit} (under one {1000 / CLK:.0f} ms tick)"
    return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"


def markdown(r):
    s = r["scrape"]
    exp = s[0]
    by = {row["name"]: row for row in s}
    ne = by["node_exporter (loadavg, time)"]
    ceil = by["ceiling: hyper, pre-rendered bytes"]
    out = [f"Measured {r['date']} on {r['machine']}; {r['mode']}.", "",
           "### Scrape path (`wrk --latency -t2 -c16`, medians)", "",
           "| server | payload | req/s | p50 | p99 | server CPU per request |", "|---|---|---|---|---|---|"]
    for row in s:
        out.append(f"| {row['name']} | {row['payload_bytes'] / 1024:.1f} KiB | {row['rps']:,.0f} | "
                   f"{row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms | {row['cpu_us_per_request']:.0f} µs |")
    out += ["", f"The exporter served **{exp['rps'] / ne['rps']:.1f}×** node_exporter's requests/s and "
            f"**{exp['rps'] / ceil['rps'] * 100:.0f} %** of the pre-rendered ceiling's, at "
            f"{exp['cpu_us_per_request']:.0f} µs of CPU per request ({exp['cpu_us_per_request'] / ne['cpu_us_per_request'] * 100:.0f} % of "
            f"node_exporter's); its p99 was {exp['p99_ms'] / ceil['p99_ms']:.1f}× the ceiling's.", ""]
    f = r["footprint"]
    out += ["### Footprint", "", "| measure | value |", "|---|---|",
            f"| first `/metrics` answer after start | {f['startup_ms']:.0f} ms |",
            f"| idle RSS after the first polls (12 pollers) | {f['idle_rss_mib']:.1f} MiB |",
            f"| RSS under scrape load (peak) | {f['loaded_rss_mib']:.1f} MiB |",
            f"| CPU per idle hour at the default 60 s interval (12 pollers) | {at_least_a_tick(f['idle_cpu_seconds_per_hour'], 3600 / CLK / f['idle_window_s'], 's')} |",
            f"| binary size ({os.path.basename(RELEASE)}) | {f['binary_bytes'] / 1024 / 1024:.1f} MiB |", ""]
    out += ["### Scaling (100 ms simulated AWS latency, every poller polling every 2 s)", "",
            "| pollers | first round | polls/s | CPU per poll | RSS | /metrics size | scrape p99 while polling |",
            "|---|---|---|---|---|---|---|"]
    for row in r["scaling"]:
        tick_us = 1e6 / CLK / max(row["polls"], 1)
        out.append(f"| {row['pollers']:,} | {row['first_round_s']:.2f} s | {row['polls_per_second']:.1f} | "
                   f"{at_least_a_tick(row['cpu_us_per_poll'], tick_us, 'µs')} | "
                   f"{row['rss_mib']:.1f} MiB | {row['metrics_bytes'] / 1024:.0f} KiB | {row['scrape_p99_ms']:.2f} ms |")
    sc = r["scaling"]
    if len(sc) >= 2:
        big, small = sc[-1], sc[0]
        per = (big["rss_mib"] - small["rss_mib"]) * 1024 / (big["pollers"] - small["pollers"])
        out += ["", f"From {small['pollers']} to {big['pollers']:,} pollers, RSS grows by {per:.0f} KiB per poller "
                f"and /metrics by {(big['metrics_bytes'] - small['metrics_bytes']) / (big['pollers'] - small['pollers']) / 1024:.1f} KiB per poller. "
                "The first round includes process start-up and the up to 1 s random spread of the first polls."]
    out += org_markdown(r)
    return "\n".join(out) + "\n"


def org_markdown(r):
    out = []
    org = r.get("organization", [])
    if org:
        out += ["", f"### An organization (every account through its own role, {org[0]['regions']} regions, "
                f"--poll.interval {r['org_interval']})", "",
                "| accounts | pollers | first complete round | CPU per poll | RSS (peak) | /metrics raw | gzip | "
                "scrape p99 while polling | AssumeRole calls (most in one second) |",
                "|---|---|---|---|---|---|---|---|---|"]
        for row in org:
            tick_us = 1e6 / CLK / max(row["polls"], 1)
            out.append(f"| {row['accounts']:,} | {row['pollers']:,} | {row['first_round_s']:.1f} s | "
                       f"{at_least_a_tick(row['cpu_us_per_poll'], tick_us, 'µs')} | "
                       f"{row['rss_mib']:.1f} MiB ({row['peak_rss_mib']:.1f}) | "
                       f"{row['metrics_bytes'] / 1024 / 1024:.2f} MiB | {row['metrics_gzip_bytes'] / 1024:.0f} KiB | "
                       f"{row['scrape_p99_ms']:.1f} ms | {row['sts_calls']:,} ({row['sts_max_per_second']}) |")
        if len(org) >= 2:
            small, big = org[0], org[-1]
            out += ["", f"From {small['pollers']:,} to {big['pollers']:,} pollers, CPU per poll went from "
                    f"{small['cpu_us_per_poll']:.0f} to {big['cpu_us_per_poll']:.0f} µs, RSS per poller from "
                    f"{small['rss_mib'] * 1024 / small['pollers']:.1f} to {big['rss_mib'] * 1024 / big['pollers']:.1f} KiB, "
                    f"/metrics per poller from {small['metrics_bytes'] / small['pollers']:.0f} to "
                    f"{big['metrics_bytes'] / big['pollers']:.0f} bytes."]
    return out


def org_chart(r, ax):
    org = r["organization"]
    n = [row["pollers"] for row in org]
    ax.plot(n, [row["rss_mib"] for row in org], "o-", label="RSS, MiB")
    ax.plot(n, [row["cpu_us_per_poll"] / 10 for row in org], "s-", label="CPU per poll, 10 µs")
    ax.plot(n, [row["scrape_p99_ms"] for row in org], "^-", label="scrape p99, ms")
    ax.plot(n, [row["first_round_s"] for row in org], "v-", label="first complete round, s")
    ax.set_xscale("log")
    ax.set_xlabel("pollers (accounts x regions)")
    ax.set_title(f"an organization, {r['org_interval']} interval")
    ax.legend()


def render_organization(r, out):
    """organization.md and organization.png from an organization result."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    write(os.path.join(out, "organization.md"), "\n".join(org_markdown(r)).lstrip() + "\n")
    fig, ax = plt.subplots(1, 1, figsize=(7, 4.5))
    org_chart(r, ax)
    fig.suptitle(f"pinpoint-email-exporter: an AWS Organization, {r.get('date', '')}")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "organization.png"), dpi=90)


def chart(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    org = r.get("organization", [])
    fig, axes = plt.subplots(1, 4 if org else 3, figsize=(20 if org else 15, 4.5))
    s = r["scrape"]
    short = {"pinpoint-email-exporter": "this\nexporter", "node_exporter (loadavg, time)": "node_exporter",
             "Python prometheus_client": "Python\nprometheus_client", "ceiling: hyper, pre-rendered bytes": "ceiling\n(pre-rendered)"}
    names = [short.get(row["name"], row["name"]) for row in s]
    axes[0].bar(names, [row["rps"] for row in s], color=["#1f77b4", "#7f7f7f", "#bcbd22", "#2ca02c"])
    axes[0].set_yscale("log")
    axes[0].set_title("/metrics requests per second (log)")
    axes[1].bar(names, [row["cpu_us_per_request"] for row in s], color=["#1f77b4", "#7f7f7f", "#bcbd22", "#2ca02c"])
    axes[1].set_yscale("log")
    axes[1].set_title("server CPU per request, µs (log)")
    for ax in axes[:2]:
        ax.tick_params(axis="x", labelsize=8)
    n = [row["pollers"] for row in r["scaling"]]
    ax = axes[2]
    ax.plot(n, [row["rss_mib"] for row in r["scaling"]], "o-", label="RSS, MiB")
    ax.plot(n, [row["cpu_us_per_poll"] / 100 for row in r["scaling"]], "s-", label="CPU per poll, 100 µs")
    ax.plot(n, [row["scrape_p99_ms"] for row in r["scaling"]], "^-", label="scrape p99, ms")
    ax.set_xscale("log")
    ax.set_xlabel("pollers")
    ax.set_title("scaling")
    ax.legend()
    if org:
        org_chart(r, axes[3])
    fig.suptitle(f"pinpoint-email-exporter benchmarks, {r['date']}, {r['machine']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="a short run that only checks the suite works")
    ap.add_argument("--out", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--only-organization", action="store_true",
                    help="run only the organization measurement (writes organization.json/.md)")
    ap.add_argument("--render", metavar="JSON",
                    help="only write organization.md and .png into --out from an organization.json")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            render_organization(json.load(f), a.out)
        return
    a.seconds, a.runs, a.idle_seconds, a.scale_seconds, a.quiet_seconds = \
        (1, 1, 2, 1, 3) if a.smoke else (10, 3, 60, 5, 10)
    a.pollers = [1, 10] if a.smoke else [1, 10, 100, 1000]
    # (accounts, regions); the smoke run polls every 2 s to finish quickly.
    a.org_sizes = [(5, 4)] if a.smoke else [(50, 20), (500, 20)]
    a.org_interval, a.org_window = ("2s", 3) if a.smoke else ("60s", 60)
    a.only_org = a.only_organization
    for tool in (EXPORTER, SIMULATOR) + (() if a.only_org else (CEILING,)):
        if not os.path.exists(tool):
            sys.exit(f"bench: {tool} missing: run bench/run, which builds it")
    for tool in ("wrk", "prometheus-node-exporter"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found: run bench/run, which installs it")
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="pee-bench-")
    procs = Procs(tmp)
    try:
        if a.only_org:
            org = organization(procs, tmp, a)
            result = {"organization": org, "org_interval": a.org_interval, "date": time.strftime("%Y-%m-%d")}
            write(os.path.join(a.out, "organization.json"), json.dumps(result, indent=2) + "\n")
            render_organization(result, a.out)
            print(json.dumps(result, indent=2))
            return
        result = scrape_path(procs, tmp, a)
        result["scaling"] = scaling(procs, tmp, a)
        result["organization"] = organization(procs, tmp, a)
        result["org_interval"] = a.org_interval
    finally:
        procs.stop_all()
    with open("/proc/cpuinfo") as f:
        cpu = re.search(r"model name\s*:\s*(.*)", f.read())
    result["machine"] = f"{os.cpu_count()} cores ({cpu.group(1) if cpu else platform.machine()}), Linux {platform.release()}"
    result["date"] = time.strftime("%Y-%m-%d")
    result["mode"] = "smoke run (1 s per load, not for figures)" if a.smoke else \
        f"{a.runs} runs of {a.seconds} s per server, medians"
    write(os.path.join(a.out, "results.json"), json.dumps(result, indent=2) + "\n")
    write(os.path.join(a.out, "results.md"), markdown(result))
    chart(result, os.path.join(a.out, "benchmarks.png"))
    print(markdown(result))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
