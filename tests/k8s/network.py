"""NetworkPolicy semantics, evaluated offline: which pod may open which port of which peer.

A connection from A to port P of B is allowed when A's egress allows it and B's ingress
allows it. A side no policy selects (for that direction) allows everything; a side that is
selected allows only what one of its rules allows (a rule with no peers matches every peer,
with no ports every port). Peers are pods chosen by podSelector (in the policy's namespace)
and/or namespaceSelector, or addresses in an ipBlock. Addresses stand for what is outside
the cluster: ipBlocks are matched against them only.

`expected_edges` says what stack.toml needs; `network_problems` compares the two over every
pair of endpoints and every port.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from tests.k8s.manifests import Object, Rendered
from tests.k8s.roles import PYTHON_COMPONENTS, role
from topology import Stack

KUBE_SYSTEM = "kube-system"
INGRESS_NAMESPACE = "ingress-nginx"
# An address on the internet (TEST-NET-3), standing for any client outside the cluster.
OUTSIDE = "203.0.113.7"


@dataclass(frozen=True)
class Endpoint:
    name: str
    namespace: str | None  # None: an address outside the cluster
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[str | None, int, str], ...] = ()  # (name, number, protocol)
    address: str | None = None

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = (
            expression["key"],
            expression["operator"],
            expression.get("values", []),
        )
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if other.address is None:
            return False
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.address)
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except", []))
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not _matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or _matches(peer["podSelector"], other.label_map)


def _port_matches(rule_port: dict[str, Any], target: Endpoint, port: int, protocol: str) -> bool:
    if rule_port.get("protocol", "TCP") != protocol:
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return any(name == wanted and number == port for name, number, _ in target.ports)
    end = rule_port.get("endPort", wanted)
    return int(wanted) <= port <= int(end)


@dataclass
class Policies:
    policies: list[Object] = field(default_factory=list)

    def _selecting(self, endpoint: Endpoint, direction: str) -> list[Object]:
        return [
            p
            for p in self.policies
            if p["metadata"].get("namespace") == endpoint.namespace
            and direction in p["spec"].get("policyTypes", ["Ingress"])
            and _matches(p["spec"].get("podSelector", {}), endpoint.label_map)
        ]

    def _side(
        self,
        endpoint: Endpoint,
        direction: str,
        other: Endpoint,
        target: Endpoint,
        port: int,
        protocol: str,
    ) -> bool:
        if endpoint.namespace is None:  # outside the cluster: no policy applies
            return True
        selecting = self._selecting(endpoint, direction)
        if not selecting:
            return True
        key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        for policy in selecting:
            for rule in policy["spec"].get(key, []):
                peers = rule.get(peers_key)
                namespace = policy["metadata"]["namespace"]
                if peers and not any(_peer_matches(p, namespace, other) for p in peers):
                    continue
                ports = rule.get("ports")
                if ports and not any(_port_matches(p, target, port, protocol) for p in ports):
                    continue
                return True
        return False

    def allowed(self, source: Endpoint, target: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return self._side(source, "Egress", target, target, port, protocol) and self._side(
            target, "Ingress", source, target, port, protocol
        )


Edge = tuple[str, str, int, str]  # source, target, port, protocol


def _first_address(cidr: str) -> str:
    network = ipaddress.ip_network(cidr)
    return str(next(network.hosts(), network.network_address))


def endpoints(rendered: Rendered) -> list[Endpoint]:
    """The pods of the overlay, kube-dns, an ingress controller, a client on the internet, and
    (prod) the external dependencies at an address of their configured ranges."""
    found = []
    for workload in rendered.workloads():
        template = workload["spec"]["template"]
        ports = tuple(
            (p.get("name"), int(p["containerPort"]), p.get("protocol", "TCP"))
            for c in template["spec"]["containers"]
            for p in c.get("ports", [])
        )
        found.append(
            Endpoint(
                workload["metadata"]["name"],
                workload["metadata"].get("namespace"),
                tuple(sorted(template["metadata"].get("labels", {}).items())),
                ports,
            )
        )
    found.append(
        Endpoint(
            "kube-dns",
            KUBE_SYSTEM,
            (("k8s-app", "kube-dns"),),
            (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")),
        )
    )
    found.append(
        Endpoint(
            "ingress-controller", INGRESS_NAMESPACE, (("app.kubernetes.io/name", "ingress-nginx"),)
        )
    )
    found.append(Endpoint("internet", None, address=OUTSIDE))
    external = rendered.configmap_named("external-dependencies")
    for name, cidr_key, port in (
        ("postgres", "POSTGRES_CIDR", 5432),
        ("redis", "REDIS_CIDR", 6379),
        ("partners", "PARTNERS_CIDR", 443),
        ("otlp-backend", "OTLP_CIDR", 443),
    ):
        if cidr_key in external and name not in {e.name for e in found}:
            address = _first_address(external[cidr_key])
            found.append(Endpoint(name, None, ports=((None, port, "TCP"),), address=address))
    return found


def actual_edges(rendered: Rendered) -> set[Edge]:
    policies = Policies(rendered.kind("NetworkPolicy"))
    every = endpoints(rendered)
    namespace = next(e.namespace for e in every)  # the overlay's (its workloads come first)
    edges = set()
    for source in every:
        if source.name == "kube-dns":
            continue
        for target in every:
            if source is target or namespace not in (source.namespace, target.namespace):
                continue
            for _, port, protocol in target.ports:
                if target.address is not None and source.address is not None:
                    continue
                if policies.allowed(source, target, port, protocol):
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
    names = {w["metadata"]["name"] for w in rendered.workloads()}
    by_name = {s.name: s for s in stack.services}
    edges: set[Edge] = set()
    for workload in rendered.workloads():
        name = workload["metadata"]["name"]
        component = (
            workload["spec"]["template"]["metadata"]
            .get("labels", {})
            .get("app.kubernetes.io/component")
        )
        edges |= {(name, "kube-dns", 53, "UDP"), (name, "kube-dns", 53, "TCP")}
        what = role(stack, name)
        if component in PYTHON_COMPONENTS:
            edges.add((name, "otel-collector", 4318, "TCP"))
        if what is None:
            continue
        if what.database:
            edges.add((name, "postgres", 5432, "TCP"))
        if what.redis:
            edges.add((name, "redis", 6379, "TCP"))
        for callee in what.calls:
            if callee in names:
                edges.add((name, callee, by_name[callee].port, "TCP"))
            else:
                edges.add((name, callee, 443, "TCP"))  # outside the cluster, over HTTPS
    for service in stack.routed:
        edges.add(("gateway", service.name, service.port, "TCP"))
    edges.add(("ingress-controller", "gateway", stack.gateway.port, "TCP"))
    if rendered.overlay == "dev":
        edges.add(("internet", "gateway", stack.gateway.port, "TCP"))
        edges |= {(a, b, port, "TCP") for a, b, port in DEV_OBSERVABILITY}
    else:
        edges.add(("otel-collector", "otlp-backend", 443, "TCP"))
    return edges


def network_problems(rendered: Rendered, stack: Stack) -> list[str]:
    actual, expected = actual_edges(rendered), expected_edges(rendered, stack)
    problems = [
        f"allowed but not in stack.toml: {a} -> {b}:{p}/{proto}"
        for a, b, p, proto in sorted(actual - expected)
    ]
    problems += [
        f"needed but blocked: {a} -> {b}:{p}/{proto}"
        for a, b, p, proto in sorted(expected - actual)
    ]
    return problems


def reachable_from_outside(rendered: Rendered) -> set[str]:
    return {
        target
        for source, target, _, _ in actual_edges(rendered)
        if source in ("internet", "ingress-controller")
    }
