"""A synthetic region, deterministic for a seed: institutions, persons, honest care,
injected fraud of the four patterns, honest look-alikes, labels and the full truth.

``generate_world(persons, seed)`` is what the demo, the tests and the benchmarks call;
``write_world(world, directory)`` writes it as a dataset directory of the contract plus
``truth.parquet`` (or ``.csv``). See docs/synthetic.md.
"""

from __future__ import annotations

from settlements.synthetic.config import WorldConfig
from settlements.synthetic.generate import World, generate_world, write_world

__all__ = ["World", "WorldConfig", "generate_world", "write_world"]
