#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests.

Objects of the Prometheus Operator (monitoring.coreos.com/v1) are checked against
the openAPIV3Schema of the operator's own CRDs, read from SCHEMAS_DIR; every other
object is handed to kubernetes-validate (strict: unknown fields are errors).

usage: validate-manifests.py SCHEMAS_DIR KUBERNETES_VERSION MANIFEST...
"""
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import yaml

CRD_FILES = {
    "ServiceMonitor": "servicemonitors-crd.json",
    "PrometheusRule": "prometheusrules-crd.json",
}


def crd_schema(schemas_dir, kind):
    with open(os.path.join(schemas_dir, CRD_FILES[kind])) as f:
        crd = json.load(f)
    version = crd["spec"]["versions"][0]
    assert version["name"] == "v1", f"{kind}: expected the v1 version first"
    return version["schema"]["openAPIV3Schema"]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    schemas_dir, k8s_version, manifests = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = 0
    core = []
    checked = {}
    for path in manifests:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            kind, api = doc.get("kind"), doc.get("apiVersion", "")
            name = f"{path}: {kind}/{doc.get('metadata', {}).get('name')}"
            if api.startswith("monitoring.coreos.com/"):
                if kind not in CRD_FILES or api != "monitoring.coreos.com/v1":
                    print(f"{name}: no CRD schema for {api} {kind}")
                    failures += 1
                    continue
                # iter_errors, not validate(): the PrometheusRule schema holds an
                # RE2 pattern that Python's re cannot compile as a schema check.
                validator = jsonschema.Draft202012Validator(crd_schema(schemas_dir, kind))
                errors = list(validator.iter_errors(doc))
                for e in errors:
                    print(f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
                failures += len(errors)
                checked[kind] = checked.get(kind, 0) + 1
            else:
                core.append(doc)
                checked[kind] = checked.get(kind, 0) + 1
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
        yaml.safe_dump_all(core, tmp)
    try:
        result = subprocess.run(
            ["kubernetes-validate", "--strict", "--quiet", "-k", k8s_version, tmp.name],
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(tmp.name)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or output:
        print(output or f"kubernetes-validate exited {result.returncode}")
        failures += 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(checked.items()))
    if failures:
        sys.exit(f"FAILED: {failures} problem(s) in {summary}")
    print(f"valid: {summary} (Kubernetes {k8s_version} strict, Prometheus Operator CRDs)")


if __name__ == "__main__":
    main()
