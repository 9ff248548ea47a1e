"""A kubectl for the tests: the cluster is a JSON file (FAKE_CLUSTER); get, version (FAKE_SERVER_VERSION), apply --server-side
(a deep merge, as server-side apply does with the fields given), replace, create, delete. FAKE_RESTART_ON_APPLY
names a namespace whose pods "restart" when something is applied there (to trip the health gate). FAKE_ROLLOUT_FAILS: a
DaemonSet replaced with a pod template annotated kubeguard.io/* never gets its pods available (one without: all available).
FAKE_REPLACE_CONFLICT names a kind whose replace the server refuses (someone changed it in between)."""

import json
import os
import sys

KINDS = {"namespaces": "Namespace", "nodes": "Node", "pods": "Pod", "deployments": "Deployment",
         "statefulsets": "StatefulSet", "daemonsets": "DaemonSet", "replicasets": "ReplicaSet", "jobs": "Job",
         "cronjobs": "CronJob", "replicationcontrollers": "ReplicationController",
         "networkpolicies": "NetworkPolicy", "serviceaccounts": "ServiceAccount", "networkpolicy": "NetworkPolicy",
         "serviceaccount": "ServiceAccount", "namespace": "Namespace", "configmap": "ConfigMap",
         "NetworkPolicy": "NetworkPolicy", "ServiceAccount": "ServiceAccount", "Namespace": "Namespace",
         "ConfigMap": "ConfigMap", "RoleBinding": "RoleBinding", "daemonset": "DaemonSet", "DaemonSet": "DaemonSet"}


def load():
    with open(os.environ["FAKE_CLUSTER"], encoding="utf-8") as handle:
        return json.load(handle)


def save(items):
    with open(os.environ["FAKE_CLUSTER"], "w", encoding="utf-8") as handle:
        json.dump(items, handle)
    with open(os.environ["FAKE_CLUSTER"] + ".log", "a", encoding="utf-8") as handle:
        handle.write(" ".join(sys.argv[1:]) + "\n")


def key(obj):
    meta = obj.get("metadata") or {}
    return obj.get("kind"), meta.get("namespace"), meta.get("name")


def merge(into, new):
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            merge(into[k], v)
        else:
            into[k] = v


def stamp(obj, items):
    """What the API server maintains: a uid once, a new resourceVersion on every write."""
    meta = obj.setdefault("metadata", {})
    meta.setdefault("uid", f"uid-{key(obj)[0]}-{key(obj)[2]}-{len(items)}")
    meta["resourceVersion"] = str(1 + max([int((o.get("metadata") or {}).get("resourceVersion") or 0) for o in items] + [0]))


def main(argv):
    argv = argv[2:]   # --kubeconfig <path>
    items = load()
    namespace = argv[argv.index("-n") + 1] if "-n" in argv else None
    verb = argv[0]
    if verb == "version":   # FAKE_SERVER_VERSION: the release /version answers (v1.31.4)
        release = os.environ.get("FAKE_SERVER_VERSION")
        print(json.dumps({"serverVersion": {"major": "1", "minor": release.split(".")[1], "gitVersion": release}} if release
                         else {"serverVersion": {"major": "1", "minor": "34"}}))
    elif verb == "get":
        kinds = [KINDS[k] for k in argv[1].split(",")]
        if len(argv) > 2 and not argv[2].startswith("-"):   # get <kind> <name>
            found = [o for o in items if key(o) == (kinds[0], namespace, argv[2])]
            if "json" in argv:
                print(json.dumps(found[0]) if found else "")
            else:
                print(f"{argv[1]}/{argv[2]}" if found else "")
            return 0
        print(json.dumps({"items": [o for o in items if o["kind"] in kinds
                                    and (namespace is None or (o.get("metadata") or {}).get("namespace") == namespace)]}))
    elif verb == "apply":
        for obj in json.load(sys.stdin)["items"]:
            current = next((o for o in items if key(o) == key(obj)), None)
            applied = sorted((obj.get("metadata") or {}).get("labels") or {})
            if current is None:
                items.append(obj)
                current = obj
            else:
                # server-side apply: labels this manager applied before and leaves out now are removed
                labels = current["metadata"].setdefault("labels", {})
                for label in current.get("fake-applied-labels", []):
                    if label not in applied:
                        labels.pop(label, None)
                merge(current, obj)
            current["fake-applied-labels"] = applied
            stamp(current, items)
            target = (obj.get("metadata") or {}).get("namespace") or (obj.get("metadata") or {}).get("name")
            if os.environ.get("FAKE_RESTART_ON_APPLY") == target:
                for pod in items:
                    if pod["kind"] == "Pod" and pod["metadata"].get("namespace") == target:
                        pod["status"]["containerStatuses"][0]["restartCount"] += 1
        save(items)
    elif verb in ("replace", "create"):
        obj = json.load(sys.stdin)
        rest = [o for o in items if key(o) != key(obj)]
        if verb == "create" and len(rest) != len(items):
            print("AlreadyExists", file=sys.stderr)
            return 1
        current = next((o for o in items if key(o) == key(obj)), None)
        wanted = (obj.get("metadata") or {}).get("resourceVersion")
        if verb == "replace" and obj.get("kind") == os.environ.get("FAKE_REPLACE_CONFLICT"):
            wanted = "someone else's"
        if verb == "replace" and current is not None and wanted and wanted != current["metadata"].get("resourceVersion"):
            print("Conflict: the object has been modified", file=sys.stderr)
            return 1
        if current is not None:
            obj.setdefault("metadata", {})["uid"] = current["metadata"].get("uid")
            if "status" in current:   # a subresource: a replace never changes it
                obj["status"] = current["status"]
        if obj.get("kind") == "DaemonSet" and os.environ.get("FAKE_ROLLOUT_FAILS"):
            annotations = ((obj["spec"]["template"].get("metadata") or {}).get("annotations") or {})
            status = obj.setdefault("status", {})
            ours = any(k.startswith("kubeguard.io/") for k in annotations)
            status["numberAvailable"] = 0 if ours else status.get("desiredNumberScheduled", 0)
        stamp(obj, items)
        save(rest + [obj])
    elif verb == "delete":
        save([o for o in items if key(o) != (KINDS[argv[1]], namespace, argv[2])])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
