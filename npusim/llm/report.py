"""The report of a language-model run: time to first token, tokens per second, energy and power,
where the time and energy went by operator group, DDR traffic per token, decode against
context, and how many layer runs were simulated, reused and interpolated.

Power: ``npu_power_w`` is the NPU's own, DRAM excluded: (energy - its ``ddr`` component) over
the time; ``average_power_w`` includes the DRAM's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .graph import GROUPS, LlmRun
from .model import ModelSpec
from .timings import Cost


def npu_power(cost: Cost) -> float:
    """Watts of the NPU alone over ``cost``'s time (DRAM energy left out)."""
    return (cost.energy_j - cost.dram_energy_j) / cost.seconds if cost.seconds else 0.0


@dataclass(frozen=True, slots=True)
class ContextPoint:
    """One decode step at attention length ``context``."""

    context: int
    cost: Cost

    def to_dict(self) -> dict[str, Any]:
        c = self.cost
        return {"context": self.context, "seconds_per_token": c.seconds,
                "decode_tokens_per_s": 1 / c.seconds if c.seconds else 0.0, "energy_per_token_j": c.energy_j,
                "npu_power_w": npu_power(c), "dram_energy_per_token_j": c.dram_energy_j,
                "ddr_bytes_per_token": c.ddr_bytes}


@dataclass(frozen=True, slots=True)
class Reuse:
    """Layer runs of the report: simulated (distinct layers), interpolated (decode attention
    between anchor contexts) and reused (the rest: repeats of a layer simulated once)."""

    layer_runs: int
    simulated: int
    interpolated: int
    anchors: tuple[int, ...]
    """Decode contexts whose attention layers were simulated."""
    max_deviation: float
    """Largest relative difference seen at a midpoint the interpolation accepted."""
    tolerance: float

    @property
    def reused(self) -> int:
        return self.layer_runs - self.simulated - self.interpolated

    def to_dict(self) -> dict[str, Any]:
        return {"layer_runs": self.layer_runs, "simulated": self.simulated, "reused": self.reused,
                "interpolated": self.interpolated, "anchor_contexts": list(self.anchors),
                "interpolation_tolerance": self.tolerance, "interpolation_max_deviation": self.max_deviation}


def _sum(parts: dict[str, Cost]) -> Cost:
    out = Cost()
    for c in parts.values():
        out.add(c)
    return out


@dataclass(frozen=True)
class LlmReport:
    """Prefill and decode of one model on one config (see the module docstring)."""

    model: ModelSpec
    config: str
    clock_mhz: float
    run: LlmRun
    prefill: dict[str, Cost]
    """Cost of the prefill by operator group (:data:`~npusim.llm.graph.GROUPS`)."""
    decode: dict[str, Cost]
    """Cost of all ``run.generate`` decode steps by operator group."""
    first_token: Cost | None
    """The first decode step (context ``prompt + 1``)."""
    last_token: Cost | None
    """The last decode step (context ``prompt + generate``)."""
    contexts: tuple[ContextPoint, ...]
    reuse: Reuse
    wall_seconds: float
    functional: dict[str, Any] | None = None
    """With ``--functional``: the tokens generated and the check of every layer's numbers."""

    @property
    def prefill_total(self) -> Cost:
        return _sum(self.prefill)

    @property
    def decode_total(self) -> Cost:
        return _sum(self.decode)

    @property
    def ttft_s(self) -> float:
        """Time to first token: the prompt's prefill and the first token's logits."""
        return self.prefill_total.seconds

    @property
    def prefill_tokens_per_s(self) -> float:
        return self.run.prompt / self.ttft_s if self.ttft_s else 0.0

    def _per_token(self, value: float) -> float | None:
        return value / self.run.generate if self.run.generate else None

    @property
    def decode_tokens_per_s(self) -> float | None:
        """Generated tokens over the decode's time (contexts ``prompt + 1 .. prompt + generate``)."""
        s = self.decode_total.seconds
        return self.run.generate / s if self.run.generate and s else None

    @property
    def energy_per_token_j(self) -> float | None:
        return self._per_token(self.decode_total.energy_j)

    @property
    def npu_power_w(self) -> float | None:
        """Decode power of the NPU alone (DRAM excluded)."""
        return npu_power(self.decode_total) if self.run.generate else None

    @property
    def average_power_w(self) -> float | None:
        """Decode power with the DRAM's."""
        d = self.decode_total
        return d.energy_j / d.seconds if self.run.generate and d.seconds else None

    @property
    def ddr_bytes_per_token(self) -> float | None:
        return self._per_token(self.decode_total.ddr_bytes)

    @staticmethod
    def _operators(parts: dict[str, Cost], per: int) -> list[dict[str, Any]]:
        whole = _sum(parts)
        return [{"operator": g, "layer_runs": c.runs // per, "seconds": c.seconds / per,
                 "time_share": c.seconds / whole.seconds if whole.seconds else 0.0, "energy_j": c.energy_j / per,
                 "energy_share": c.energy_j / whole.energy_j if whole.energy_j else 0.0,
                 "dram_energy_j": c.dram_energy_j / per, "ddr_bytes": c.ddr_bytes / per}
                for g, c in ((g, parts[g]) for g in GROUPS) if c.runs]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the headline keys at the top level, then the phases, per-operator
        breakdowns (decode per token), the context points and the reuse counts."""
        p, d = self.prefill_total, self.decode_total
        return {
            "model": self.model.name, "parameters": self.model.parameters, "config": self.config,
            "clock_mhz": self.clock_mhz, **self.run.model_dump(mode="json"),
            "ttft_s": self.ttft_s, "prefill_tokens_per_s": self.prefill_tokens_per_s,
            "decode_tokens_per_s": self.decode_tokens_per_s, "energy_per_token_j": self.energy_per_token_j,
            "npu_power_w": self.npu_power_w, "average_power_w": self.average_power_w,
            "dram_energy_j": d.dram_energy_j, "dram_energy_per_token_j": self._per_token(d.dram_energy_j),
            "ddr_bytes_per_token": self.ddr_bytes_per_token,
            "prefill": dict(p.to_dict(), npu_power_w=npu_power(p), energy_by_component=p.energy_by_component),
            "decode": dict(d.to_dict(), npu_power_w=npu_power(d) if self.run.generate else None,
                           energy_by_component=d.energy_by_component,
                           first_token_s=self.first_token.seconds if self.first_token else None,
                           last_token_s=self.last_token.seconds if self.last_token else None),
            "operators": {"prefill": self._operators(self.prefill, 1),
                          "decode_per_token": self._operators(self.decode, max(self.run.generate, 1))},
            "contexts": [c.to_dict() for c in self.contexts],
            "reuse": self.reuse.to_dict(), "wall_seconds": self.wall_seconds, "functional": self.functional,
        }
