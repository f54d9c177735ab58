"""Mercato / Partners: calls to the simulated partners and their circuit breakers."""

from __future__ import annotations

from mercato_dashboards.panels import (
    PROM,
    RATE,
    Json,
    Layout,
    dashboard,
    prom,
    prom_var,
    stat,
    timeseries,
)


def breaker_mappings() -> list[Json]:
    return [
        {
            "type": "value",
            "options": {
                "0": {"text": "closed", "color": "green", "index": 0},
                "1": {"text": "half-open", "color": "yellow", "index": 1},
                "2": {"text": "open", "color": "red", "index": 2},
            },
        }
    ]


def build() -> Json:
    dur = "mercato_partner_request_duration_seconds"
    cb = "mercato_circuit_breaker_state"
    sel = 'partner=~"$partner"'
    lay = Layout()
    lay.row("Circuit breakers — mercato.circuit_breaker.state (0 closed, 1 half-open, 2 open)")
    lay.add(
        stat(
            "Breakers open now",
            prom(f"count(max by (partner) ({cb}{{{sel}}}) == 2) or vector(0)"),
            "none",
            thresholds=[(None, "green"), (1, "red")],
        ),
        6,
        6,
    )
    state = stat(
        "Breaker state",
        prom(f"max by (partner) ({cb}{{{sel}}})", "{{partner}}"),
        "none",
        mappings=breaker_mappings(),
        thresholds=[(None, "green"), (1, "yellow"), (2, "red")],
    )
    state["options"]["graphMode"] = "none"
    state["options"]["colorMode"] = "background"
    lay.add(state, 18, 6)
    timeline = {
        "type": "state-timeline",
        "title": "Breaker state over time",
        "description": (
            "Open = calls short-circuit (outcome=circuit_open) and quotes come back partial."
        ),
        "datasource": PROM,
        "targets": [prom(f"max by (partner) ({cb}{{{sel}}})", "{{partner}}")],
        "fieldConfig": {
            "defaults": {
                "mappings": breaker_mappings(),
                "thresholds": {
                    "mode": "absolute",
                    "steps": [
                        {"color": "green", "value": None},
                        {"color": "yellow", "value": 1},
                        {"color": "red", "value": 2},
                    ],
                },
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        "options": {
            "showValue": "auto",
            "mergeValues": True,
            "rowHeight": 0.9,
            "alignValue": "left",
            "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "single", "sort": "none"},
        },
    }
    lay.add(timeline, 24, 8)
    lay.row("Calls — mercato.partner.request.duration")
    lay.add(
        timeseries(
            "Calls by partner and outcome",
            [
                prom(
                    f"sum by (partner, outcome) (rate({dur}_count{{{sel}}}[{RATE}]))",
                    "{{partner}} {{outcome}}",
                )
            ],
            "reqps",
            stack=True,
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Non-ok ratio by partner",
            [
                prom(
                    f'sum by (partner) (rate({dur}_count{{{sel}, outcome!="ok"}}[{RATE}]))'
                    f" / sum by (partner) (rate({dur}_count{{{sel}}}[{RATE}]))",
                    "{{partner}}",
                )
            ],
            "percentunit",
            description="timeout + error + circuit_open, over all calls.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "p95 latency by partner",
            [
                prom(
                    "histogram_quantile(0.95, sum by (partner, le) "
                    f'(rate({dur}_bucket{{{sel}, outcome!="circuit_open"}}[{RATE}])))',
                    "{{partner}}",
                    exemplar=True,
                )
            ],
            "s",
            description=(
                "Real calls only (short-circuited ones take ~0 s and would hide slowness). "
                "Exemplars open the checkout trace that made the call."
            ),
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "p95 latency by partner and outcome",
            [
                prom(
                    "histogram_quantile(0.95, sum by (partner, outcome, le) "
                    f"(rate({dur}_bucket{{{sel}}}[{RATE}])))",
                    "{{partner}} {{outcome}}",
                    exemplar=True,
                )
            ],
            "s",
        ),
        12,
        8,
    )
    return dashboard(
        "mercato-partners",
        "Mercato / Partners",
        "Calls from checkout to the simulated partners: latency, outcomes, circuit breakers.",
        lay,
        [prom_var("partner", "Partner", f"{dur}_count", "partner")],
    )
