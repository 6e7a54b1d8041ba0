"""Checks every pod template in the given Kubernetes manifests against the examples' policy:
no API token mounted (no container calls the Kubernetes API; the workload identity webhook's
projected token is a volume of its own), non-root with a user and a group, and every container
with a read-only root file system, no privilege escalation and no capabilities.

Usage: python pod_policy.py FILE...   (prints each violation; exits 1 if there is one)
"""
import sys

import yaml


def violations(name, pod):
    if pod.get("automountServiceAccountToken") is not False:
        yield f"{name}: automountServiceAccountToken is not false"
    security = pod.get("securityContext", {})
    if security.get("runAsNonRoot") is not True:
        yield f"{name}: runAsNonRoot is not true"
    for field in ("runAsUser", "runAsGroup"):
        if not isinstance(security.get(field), int):
            yield f"{name}: no {field}"
    for container in pod.get("initContainers", []) + pod.get("containers", []):
        where = f"{name}, container {container.get('name')}"
        context = container.get("securityContext", {})
        if context.get("readOnlyRootFilesystem") is not True:
            yield f"{where}: readOnlyRootFilesystem is not true"
        if context.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation is not false"
        if "ALL" not in context.get("capabilities", {}).get("drop", []):
            yield f"{where}: capabilities are not all dropped"


def main():
    found = []
    pods = 0
    for path in sys.argv[1:]:
        with open(path) as f:
            for obj in yaml.safe_load_all(f):
                pod = (obj or {}).get("spec", {}).get("template", {}).get("spec")
                if pod is not None:
                    pods += 1
                    name = f"{path}: {obj['kind']} {obj['metadata']['name']}"
                    found.extend(violations(name, pod))
    print("\n".join(found) if found else f"{pods} pod templates checked")
    sys.exit(1 if found or pods == 0 else 0)


main()
