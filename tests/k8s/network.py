"""NetworkPolicy semantics, offline: A may open port P of B when A's egress and B's ingress
allow it. A side no policy selects (in that direction) allows everything, a selected side only
what a rule of it allows (no peers: any peer; no ports: any port); peers are pods (podSelector,
namespaceSelector) or addresses (ipBlock: outside the cluster). Compared with stack.toml's."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from tests.k8s.environment import role
from tests.k8s.manifests import Object, Rendered
from topology import Stack

# An address on the internet (TEST-NET-3), standing for any client outside the cluster.
OUTSIDE = "203.0.113.7"
# Components of the pods that run Mercato's Python code (and export telemetry).
PYTHON_COMPONENTS = frozenset({"http-service", "worker", "scheduler", "migration", "seed"})
# dev's Grafana stack: the collector exports to the stores, Prometheus scrapes, Grafana queries.
DEV_OBSERVABILITY = {
    *(("otel-collector", b, p) for b, p in (("tempo", 4317), ("loki", 3100), ("prometheus", 9090))),
    *(("prometheus", b, p) for b, p in (("otel-collector", 8888), ("tempo", 3200), ("loki", 3100))),
    *(("grafana", b, p) for b, p in (("tempo", 3200), ("loki", 3100), ("prometheus", 9090))),
}
# prod's dependencies outside the cluster (NAME_CIDR in external-dependencies), and port.
EXTERNAL = {"postgres": 5432, "redis": 6379, "partners": 443, "otlp": 443}
Edge = tuple[str, str, int, str]  # source, target, port, protocol


@dataclass
class Endpoint:
    name: str
    namespace: str | None  # None: an address outside the cluster
    labels: dict[str, str] = field(default_factory=dict)
    ports: list[tuple[int, str]] = field(default_factory=list)  # (number, protocol)
    address: str | None = None


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """matchLabels and matchExpressions (In, NotIn: what the manifests use)."""
    expressions = selector.get("matchExpressions", [])
    if any(e["operator"] not in ("In", "NotIn") for e in expressions):
        raise NotImplementedError(expressions)
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()) and all(
        (labels.get(e["key"]) in e["values"]) == (e["operator"] == "In") for e in expressions
    )


def _peer_matches(peer: dict[str, Any], namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        cidr = ipaddress.ip_network(peer["ipBlock"]["cidr"])
        return other.address is not None and ipaddress.ip_address(other.address) in cidr
    if other.namespace is None:
        return False
    names = {"kubernetes.io/metadata.name": other.namespace}
    if "namespaceSelector" in peer:
        if not _matches(peer["namespaceSelector"], names):
            return False
    elif other.namespace != namespace:
        return False
    return _matches(peer.get("podSelector", {}), other.labels)


def _allows(
    policies: list[Object], direction: str, end: Endpoint, other: Endpoint, port: int, proto: str
) -> bool:
    """Whether the policies selecting `end` let it talk to `other` in `direction`."""
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == end.namespace
        and direction in p["spec"]["policyTypes"]
        and _matches(p["spec"]["podSelector"], end.labels)
    ]
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")

    def rule_allows(namespace: str, rule: dict[str, Any]) -> bool:
        peers, ports = rule.get(peers_key), rule.get("ports")
        return (not peers or any(_peer_matches(x, namespace, other) for x in peers)) and (
            not ports or any((x["protocol"], x["port"]) == (proto, port) for x in ports)
        )

    return not selecting or any(
        rule_allows(p["metadata"]["namespace"], rule)
        for p in selecting
        for rule in p["spec"].get(key, [])
    )


def endpoints(rendered: Rendered) -> list[Endpoint]:
    """The pods of the overlay, kube-dns, an ingress controller, a client on the internet, and
    (prod) the dependencies outside at an address of their configured ranges."""
    found = [
        Endpoint(
            c.name,
            c.workload["metadata"]["namespace"],
            c.labels,
            [(p["containerPort"], p.get("protocol", "TCP")) for p in c.spec.get("ports", [])],
        )
        for c in rendered.containers()
    ]
    found += [
        Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, [(53, "UDP"), (53, "TCP")]),
        Endpoint("ingress-controller", "ingress-nginx"),
        Endpoint("internet", None, address=OUTSIDE),
    ]
    external = rendered.configmap("external-dependencies")
    for name, port in EXTERNAL.items():
        if (cidr := external.get(f"{name.upper()}_CIDR")) is not None:
            address = str(next(ipaddress.ip_network(cidr).hosts()))
            found.append(Endpoint(name, None, ports=[(port, "TCP")], address=address))
    return found


def actual_edges(rendered: Rendered) -> set[Edge]:
    policies = rendered.kind("NetworkPolicy")
    every = endpoints(rendered)
    return {
        (source.name, target.name, port, protocol)
        for source in every
        for target in every
        if source is not target
        and source.name != "kube-dns"
        and (source.namespace == every[0].namespace or target.namespace == every[0].namespace)
        and not (source.address and target.address)
        for port, protocol in target.ports
        if _allows(policies, "Egress", source, target, port, protocol)
        and _allows(policies, "Ingress", target, source, port, protocol)
    }


def expected_edges(rendered: Rendered, stack: Stack) -> set[Edge]:
    """What stack.toml needs, and nothing more."""
    names = {c.name for c in rendered.containers()}
    edges: set[Edge] = set()
    for container in rendered.containers():
        name = container.name
        edges |= {(name, "kube-dns", 53, "UDP"), (name, "kube-dns", 53, "TCP")}
        if container.labels.get("app.kubernetes.io/component") in PYTHON_COMPONENTS:
            edges.add((name, "otel-collector", 4318, "TCP"))
        what = role(stack, name)
        if what.database:
            edges.add((name, "postgres", 5432, "TCP"))
        if what.redis:
            edges.add((name, "redis", 6379, "TCP"))
        for callee in map(stack.service, what.calls):
            port = callee.port if callee.name in names else EXTERNAL[callee.name]
            edges.add((name, callee.name, port, "TCP"))
    edges |= {("gateway", s.name, s.port, "TCP") for s in stack.routed}
    edges.add(("ingress-controller", "gateway", stack.gateway.port, "TCP"))
    if rendered.overlay == "dev":
        edges.add(("internet", "gateway", stack.gateway.port, "TCP"))
        edges |= {(a, b, port, "TCP") for a, b, port in DEV_OBSERVABILITY}
    else:
        edges.add(("otel-collector", "otlp", 443, "TCP"))
    return edges


def network_problems(rendered: Rendered, stack: Stack) -> list[str]:
    actual, expected = actual_edges(rendered), expected_edges(rendered, stack)
    return [
        *(f"allowed but not in stack.toml: {a} -> {b}:{p}/{x}" for a, b, p, x in actual - expected),
        *(f"needed but blocked: {a} -> {b}:{p}/{x}" for a, b, p, x in expected - actual),
    ]
