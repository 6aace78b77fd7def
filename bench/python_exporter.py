"""A Prometheus exporter as a user would write it with prometheus_client: it serves
the series of a metrics file (a copy of pinpoint-email-exporter's /metrics),
re-exposing them through a custom collector on every scrape.

usage: python_exporter.py PORT FILE
"""
import sys
import time

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.parser import text_string_to_metric_families


class FileCollector:
    def __init__(self, text):
        self.families = [
            f for f in text_string_to_metric_families(text)
            if not f.name.startswith("process_")  # prometheus_client adds its own
        ]

    def collect(self):
        return iter(self.families)


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    with open(path) as f:
        REGISTRY.register(FileCollector(f.read()))
    start_http_server(port, addr="127.0.0.1")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
