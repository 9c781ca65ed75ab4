"""Prometheus text (an app's /metrics), parsed by prometheus_client."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def metrics(text: str) -> dict[str, float]:
    """Every sample of ``text``: ``name`` or ``name{label="value",...}`` -> value."""
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def worker_of(text: str) -> str:
    """Which process answered this /metrics text: its counters' creation times."""
    created = sorted(
        f"{name}={value!r}" for name, value in metrics(text).items() if name.endswith("_created")
    )
    if not created:
        raise RuntimeError("no *_created samples in /metrics: cannot tell workers apart")
    return ",".join(created)
