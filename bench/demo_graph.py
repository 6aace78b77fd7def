#!/usr/bin/env python3
"""Renders docs/demo.png from real data: runs `pinpoint-email-exporter --demo`,
lets a real Prometheus (Debian's `prometheus`) scrape it every second for a
demo cycle, then plots what Prometheus stored: the enforcement status per
region, the share of the quota used, and whether polls succeeded.

usage: demo_graph.py OUT.png [SECONDS]   (run through bench/run-demo-graph)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def query_range(prom, expr, start, end):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": "1s"})
    with urllib.request.urlopen(f"http://127.0.0.1:{prom}/api/v1/query_range?{q}") as r:
        return json.load(r)["data"]["result"]


def main():
    out = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 160
    tmp = tempfile.mkdtemp(prefix="pee-demo-graph-")
    procs = bench.Procs(tmp)
    try:
        port, prom = bench.free_port(), bench.free_port()
        procs.start("exporter", [bench.EXPORTER, "--demo", "--web.listen-address", f"127.0.0.1:{port}"],
                    {"AWS_EC2_METADATA_DISABLED": "true"})
        bench.wait_ok(f"http://127.0.0.1:{port}/readyz")
        bench.write(os.path.join(tmp, "prometheus.yml"),
                    "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pinpoint-email-exporter\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        procs.start("prometheus", ["prometheus", f"--config.file={tmp}/prometheus.yml",
                                   f"--storage.tsdb.path={tmp}/data", f"--web.listen-address=127.0.0.1:{prom}"])
        bench.wait_ok(f"http://127.0.0.1:{prom}/-/ready")
        start = time.time()
        time.sleep(seconds)
        end = time.time()
        status = query_range(prom, 'max by (account, aws_region) (pinpoint_email_enforcement_status{status="PROBATION"}) '
                             '+ 2 * max by (account, aws_region) (pinpoint_email_enforcement_status{status="SHUTDOWN"})',
                             start, end)
        usage = query_range(prom, "pinpoint_email_send_quota_used_ratio", start, end)
        up = query_range(prom, "pinpoint_email_up", start, end)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True)

    def plot(ax, series, title, **kw):
        for s in sorted(series, key=lambda s: s["metric"]["aws_region"]):
            xs = [float(t) - start for t, _ in s["values"]]
            ys = [float(v) for _, v in s["values"]]
            ax.step(xs, ys, where="post", label=s["metric"]["aws_region"], **kw)
        ax.set_title(title, loc="left", fontsize=10)
        ax.legend(loc="upper right", fontsize=8)

    plot(axes[0], status, "enforcement status (from pinpoint_email_enforcement_status)")
    axes[0].set_yticks([0, 1, 2], ["HEALTHY", "PROBATION", "SHUTDOWN"])
    plot(axes[1], usage, "pinpoint_email_send_quota_used_ratio")
    axes[1].axhline(0.8, color="orange", lw=0.8, ls="--")
    axes[1].axhline(0.95, color="red", lw=0.8, ls="--")
    plot(axes[2], up, "pinpoint_email_up (0 while throttled or during the simulated server outage)")
    axes[2].set_yticks([0, 1])
    axes[2].set_xlabel("seconds")
    fig.suptitle("pinpoint-email-exporter --demo, as stored by a real Prometheus scraping every second", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
