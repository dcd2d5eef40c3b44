"""docs/scaling.md's table is what the capacity model computes from the measured inputs, and the model moves
the way the workload does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bench.capacity import Inputs, Workload, plan, table

DOC = Path(__file__).resolve().parents[1] / "docs" / "scaling.md"


def test_the_documented_table_is_the_models_output_from_the_measured_inputs():
    assert table(Inputs.load()) in DOC.read_text(), "regenerate: python -m bench.capacity"


def test_more_viewers_need_more_api_nodes_and_more_runs_need_more_relays_and_primaries():
    inputs = Inputs.load()
    small, more_viewers = plan(Workload("a", 100, 100), inputs), plan(Workload("b", 100, 1_000), inputs)
    more_runs = plan(Workload("c", 10_000, 100), inputs)
    assert more_viewers.api_nodes > small.api_nodes and more_viewers.relays == small.relays
    assert more_runs.relays > small.relays and more_runs.primaries > small.primaries
    assert more_viewers.egress_gbit_s == 10 * small.egress_gbit_s


def test_a_cheaper_relay_needs_fewer_relays():
    inputs = Inputs.load()
    cheaper = replace(inputs, relay_cpu_ms_per_run_second=inputs.relay_cpu_ms_per_run_second / 2)
    workload = Workload("many runs", 100_000, 2)
    assert plan(workload, cheaper).relays < plan(workload, inputs).relays
