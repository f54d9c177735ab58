"""NetworkPolicy semantics, evaluated offline: which pod may open which port of which peer.

A connection from A to port P of B is allowed when A's egress allows it and B's ingress
allows it. A side no policy selects (for that direction) allows everything; a side that is
selected allows only what one of its rules allows (a rule with no peers matches every peer,
with no ports every port). Peers are pods chosen by podSelector (in the policy's namespace)
and/or namespaceSelector, or addresses in an ipBlock, which stand for what is outside the
cluster. `expected_edges` says what stack.toml needs; `network_problems` compares the two
over every pair of endpoints and every port.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from tests.k8s.manifests import Object, Rendered
from tests.k8s.roles import role
from topology import Stack

# An address on the internet (TEST-NET-3), standing for any client outside the cluster.
OUTSIDE = "203.0.113.7"
# Components of the pods that run Mercato's Python code (and export telemetry).
PYTHON_COMPONENTS = frozenset({"http-service", "worker", "scheduler", "migration", "seed"})


@dataclass(frozen=True)
class Endpoint:
    name: str
    namespace: str | None  # None: an address outside the cluster
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[int, str], ...] = ()  # (number, protocol)
    address: str | None = None


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        inside = labels.get(key) in expression.get("values", [])
        if operator == "In" and not inside:
            return False
        if operator == "NotIn" and inside:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: dict[str, Any], namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if other.address is None:
            return False
        address = ipaddress.ip_address(other.address)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        names = {"kubernetes.io/metadata.name": other.namespace}
        if not _matches(peer["namespaceSelector"], names):
            return False
    elif other.namespace != namespace:
        return False
    return "podSelector" not in peer or _matches(peer["podSelector"], dict(other.labels))


def _port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    wanted = rule.get("port")
    if rule.get("protocol", "TCP") != protocol:
        return False
    return wanted is None or int(wanted) <= port <= int(rule.get("endPort", wanted))


def _side(
    policies: list[Object], direction: str, end: Endpoint, other: Endpoint, port: int, proto: str
) -> bool:
    """Whether the policies selecting `end` let it talk to `other` in `direction`."""
    if end.namespace is None:  # outside the cluster: no policy applies
        return True
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace") == end.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and _matches(p["spec"].get("podSelector", {}), dict(end.labels))
    ]
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peers, ports = rule.get(peers_key), rule.get("ports")
            namespace = policy["metadata"]["namespace"]
            if peers and not any(_peer_matches(p, namespace, other) for p in peers):
                continue
            if ports and not any(_port_matches(p, port, proto) for p in ports):
                continue
            return True
    return not selecting


Edge = tuple[str, str, int, str]  # source, target, port, protocol


def endpoints(rendered: Rendered) -> list[Endpoint]:
    """The pods of the overlay, kube-dns, an ingress controller, a client on the internet, and
    (prod) the external dependencies at an address of their configured ranges."""
    found = []
    for container in rendered.containers():
        ports = tuple(
            (int(p["containerPort"]), p.get("protocol", "TCP"))
            for c in container.pod["containers"]
            for p in c.get("ports", [])
        )
        namespace = container.workload["metadata"].get("namespace")
        found.append(
            Endpoint(container.name, namespace, tuple(sorted(container.labels.items())), ports)
        )
    found += [
        Endpoint("kube-dns", "kube-system", (("k8s-app", "kube-dns"),), ((53, "UDP"), (53, "TCP"))),
        Endpoint("ingress-controller", "ingress-nginx"),
        Endpoint("internet", None, address=OUTSIDE),
    ]
    external = rendered.configmap("external-dependencies")
    for name, key, port in (
        ("postgres", "POSTGRES_CIDR", 5432),
        ("redis", "REDIS_CIDR", 6379),
        ("partners", "PARTNERS_CIDR", 443),
        ("otlp-backend", "OTLP_CIDR", 443),
    ):
        if key in external and name not in {e.name for e in found}:
            network = ipaddress.ip_network(external[key])
            address = str(next(network.hosts(), network.network_address))
            found.append(Endpoint(name, None, ports=((port, "TCP"),), address=address))
    return found


def actual_edges(rendered: Rendered) -> set[Edge]:
    policies = rendered.kind("NetworkPolicy")
    every = endpoints(rendered)
    namespace = every[0].namespace  # the overlay's (its workloads come first)
    edges = set()
    for source in every:
        for target in every:
            if source is target or namespace not in (source.namespace, target.namespace):
                continue
            if source.name == "kube-dns" or (target.address and source.address):
                continue
            for port, protocol in target.ports:
                if _side(policies, "Egress", source, target, port, protocol) and _side(
                    policies, "Ingress", target, source, port, protocol
                ):
                    edges.add((source.name, target.name, port, protocol))
    return edges


DEV_OBSERVABILITY: frozenset[tuple[str, str, int]] = frozenset(
    {
        ("otel-collector", "tempo", 4317),
        ("otel-collector", "loki", 3100),
        ("otel-collector", "prometheus", 9090),
        ("prometheus", "otel-collector", 8888),
        ("prometheus", "tempo", 3200),
        ("prometheus", "loki", 3100),
        ("grafana", "tempo", 3200),
        ("grafana", "loki", 3100),
        ("grafana", "prometheus", 9090),
    }
)


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
        if what is None:
            continue
        if what.database:
            edges.add((name, "postgres", 5432, "TCP"))
        if what.redis:
            edges.add((name, "redis", 6379, "TCP"))
        for callee in map(stack.service, what.calls):
            port = callee.port if callee.name in names else 443  # outside: over HTTPS
            edges.add((name, callee.name, port, "TCP"))
    edges |= {("gateway", s.name, s.port, "TCP") for s in stack.routed}
    edges.add(("ingress-controller", "gateway", stack.gateway.port, "TCP"))
    if rendered.overlay == "dev":
        edges.add(("internet", "gateway", stack.gateway.port, "TCP"))
        edges |= {(a, b, port, "TCP") for a, b, port in DEV_OBSERVABILITY}
    else:
        edges.add(("otel-collector", "otlp-backend", 443, "TCP"))
    return edges


def network_problems(rendered: Rendered, stack: Stack) -> list[str]:
    actual, expected = actual_edges(rendered), expected_edges(rendered, stack)
    return [
        *(f"allowed but not in stack.toml: {a} -> {b}:{p}/{x}" for a, b, p, x in actual - expected),
        *(f"needed but blocked: {a} -> {b}:{p}/{x}" for a, b, p, x in expected - actual),
    ]


def reachable_from_outside(rendered: Rendered) -> set[str]:
    return {b for a, b, _, _ in actual_edges(rendered) if a in ("internet", "ingress-controller")}
