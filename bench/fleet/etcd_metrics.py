#!/usr/bin/env python3
"""etcd's own Prometheus metrics, summed over the cluster's members.

  etcd_metrics.py scrape HOST:PORT,...   > snapshot.json
  etcd_metrics.py rate A.json B.json HOSTS   per-host rates between two snapshots
"""
import json
import re
import sys
import time
import urllib.request

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
KEEP = {
    "grpc_server_msg_received_total": "grpc_method",
    "grpc_server_msg_sent_total": "grpc_method",
    "process_cpu_seconds_total": None,
    "process_resident_memory_bytes": None,
    "etcd_network_client_grpc_received_bytes_total": None,
    "etcd_network_client_grpc_sent_bytes_total": None,
    "etcd_debugging_mvcc_watcher_total": None,
    "etcd_debugging_mvcc_put_total": None,
    "etcd_mvcc_db_total_size_in_bytes": None,
}


def scrape(endpoints):
    out = {"time": time.time()}
    for ep in endpoints.split(","):
        text = urllib.request.urlopen(f"http://{ep}/metrics", timeout=10).read().decode()
        for line in text.splitlines():
            m = LINE.match(line)
            if not m or m.group(1) not in KEEP:
                continue
            name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
            by = KEEP[name]
            if by:
                lm = re.search(by + r'="([^"]*)"', labels)
                name += "/" + (lm.group(1) if lm else "")
            out[name] = out.get(name, 0.0) + value
    return out


def rate(a, b, hosts):
    dt = b["time"] - a["time"]
    res = {"seconds": round(dt, 1), "hosts": hosts, "per_host_per_s": {}, "cluster": {}}
    for k, v in b.items():
        if k == "time":
            continue
        if k.endswith("_total") or "/" in k:
            d = v - a.get(k, 0.0)
            if d:
                res["per_host_per_s"][k] = d / dt / hosts
        else:
            res["cluster"][k] = v
    return res


if __name__ == "__main__":
    if sys.argv[1] == "scrape":
        print(json.dumps(scrape(sys.argv[2])))
    elif sys.argv[1] == "rate":
        a = json.load(open(sys.argv[2]))
        b = json.load(open(sys.argv[3]))
        print(json.dumps(rate(a, b, int(sys.argv[4])), indent=1, sort_keys=True))
    else:
        sys.exit(__doc__)
