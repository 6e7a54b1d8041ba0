"""Merges a strategic merge patch into one Kubernetes object, as `kubectl patch` does for the
parts of a pod template the examples patch: maps merge key by key; lists of containers,
volumes, volume mounts, ports and env merge by their merge key (one with a known key is merged
into it; items with new keys come first, in the patch's order, as kubectl 1.32 puts them);
other lists and scalars are replaced.
Directives ($patch, $retainKeys, ...) are not supported and are refused.

Usage: python strategic_merge.py BASE.yaml PATCH.yaml MERGED.yaml
"""
import sys

import yaml

# The patchMergeKey of each list the merge may meet (Kubernetes' core/v1 types).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}


def merge(base, patch, field=None):
    if isinstance(patch, dict):
        if any(isinstance(key, str) and key.startswith("$") for key in patch):
            raise SystemExit(f"patch directive in {field}: not supported here")
        merged = dict(base) if isinstance(base, dict) else {}
        for key, value in patch.items():
            merged[key] = merge(merged.get(key), value, key)
        return merged
    if isinstance(patch, list) and field in MERGE_KEYS and isinstance(base, list):
        key = MERGE_KEYS[field]
        merged = list(base)
        added = []
        for item in patch:
            at = next((i for i, known in enumerate(merged) if known.get(key) == item.get(key)), None)
            if at is None:
                added.append(item)
            else:
                merged[at] = merge(merged[at], item, None)
        return added + merged
    return patch


def main():
    base_path, patch_path, merged_path = sys.argv[1:4]
    with open(base_path) as f:
        objects = [o for o in yaml.safe_load_all(f) if o is not None]
    if len(objects) != 1:
        raise SystemExit(f"{base_path}: expected one object, found {len(objects)}")
    with open(patch_path) as f:
        patch = yaml.safe_load(f)
    with open(merged_path, "w") as f:
        yaml.safe_dump(merge(objects[0], patch), f, sort_keys=False)


main()
