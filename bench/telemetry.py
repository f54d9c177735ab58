"""The telemetry suite: one native stack per telemetry configuration, measured interleaved.

For each configuration in `bench.scenarios.CONFIGS` it starts a stack of its own (ports
shifted by the bench's offset plus 1000 per configuration), warms each scenario up on each,
then runs rounds: in every round each scenario runs under wrk against each configuration in
turn, a different configuration first in each round. With two CPUs or more (`pin`) wrk runs on
CPU 0 and the service under test on CPU 1, so neither takes the other's core. The rows are the
medians over the rounds of requests/s, latency and the service's CPU time per request, each
against the first configuration (the baseline) measured in the same rounds.

Why interleaved: on a small virtual machine two identical runs a minute apart differ by
15-30%, more than most effects measured here; alternating puts that drift on every
configuration alike.
"""

from __future__ import annotations

import statistics
from contextlib import ExitStack
from dataclasses import dataclass

from bench import procs, wrk
from bench.results import Row
from bench.scenarios import CONFIGS, SCENARIOS, Scenario, TelemetryConfig
from bench.stacks import BenchStack, base_env, running

WRK_CPU = 0
SERVICE_CPU = 1


@dataclass(frozen=True, slots=True)
class Rounds:
    rounds: int
    seconds: int
    warmup: int
    connections: int
    pin: bool


def config_env(config: TelemetryConfig, base: dict[str, str], sink: str) -> dict[str, str]:
    env = dict(base)
    if config.exports:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink
    env.update(config.env)
    return env


def url_of(scenario: Scenario, stack: BenchStack) -> str:
    if scenario.target == "gateway":
        return f"{stack.gateway}/api/{scenario.service}{scenario.path}"
    return f"{stack.direct(scenario.service)}{scenario.path}"


def measure_once(
    plan: Rounds, scenario: Scenario, stack: BenchStack
) -> tuple[wrk.WrkResult, float]:
    pids = stack.program_pids(scenario.service)
    if plan.pin:
        procs.pin(pids, SERVICE_CPU)
    before = procs.cpu_seconds(pids)
    result = wrk.run(
        url_of(scenario, stack),
        seconds=plan.seconds,
        threads=1,
        connections=plan.connections,
        script=scenario.script,
        cpu=WRK_CPU if plan.pin else None,
    )
    return result, (procs.cpu_seconds(pids) - before) / max(result.requests, 1) * 1e6


def telemetry_suite(plan: Rounds, offset: int, sink: str) -> list[Row]:
    results: dict[tuple[str, str], list[wrk.WrkResult]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    with ExitStack() as stacks_cm:
        stacks = [
            stacks_cm.enter_context(
                running(
                    f"telemetry {config.name}",
                    offset + 1000 * index,
                    config_env(config, base_env(offset + 1000 * index), sink),
                )
            )
            for index, config in enumerate(CONFIGS)
        ]
        by_stack = dict(zip((s.name for s in stacks), CONFIGS, strict=True))
        for scenario in SCENARIOS:
            for stack in stacks:
                wrk.run(
                    url_of(scenario, stack),
                    seconds=plan.warmup,
                    threads=1,
                    connections=plan.connections,
                    script=scenario.script,
                )
        for number in range(plan.rounds):
            print(f"== telemetry round {number + 1}/{plan.rounds}", flush=True)
            turn = number % len(stacks)
            for scenario in SCENARIOS:
                for stack in stacks[turn:] + stacks[:turn]:
                    key = (scenario.name, by_stack[stack.name].name)
                    result, cpu_us = measure_once(plan, scenario, stack)
                    results.setdefault(key, []).append(result)
                    cpu.setdefault(key, []).append(cpu_us)
    baseline = CONFIGS[0].name
    rows = []
    for scenario in SCENARIOS:
        base = wrk.median(results[(scenario.name, baseline)])
        base_cpu = statistics.median(cpu[(scenario.name, baseline)])
        for config in CONFIGS:
            result = wrk.median(results[(scenario.name, config.name)])
            cpu_us = statistics.median(cpu[(scenario.name, config.name)])
            rows.append(
                Row.of(
                    f"telemetry: {scenario.name}",
                    config.name,
                    result,
                    cpu_us=cpu_us,
                    cpu_of=scenario.service,
                    note=(
                        f"{result.requests_per_second / base.requests_per_second:.0%} of "
                        f"{baseline}'s req/s, CPU {cpu_us / base_cpu:.2f}x"
                    ),
                )
            )
    return rows
