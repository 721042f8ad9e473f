"""Ray, an optional extra: importing it and joining or starting a cluster, for every ``--engine ray`` job.

Shared by ``relenc extract --engine ray`` (:mod:`relenc.pipeline.ray_backend`) and ``relenc mine-pairs --engine ray``
(:mod:`relenc.pretraining.mining`), so that both say the same thing when Ray is missing or a cluster cannot be
reached, and leave a Ray session the caller started as they found it.
"""

from __future__ import annotations

from typing import Any

from relenc.errors import RelencError


def import_ray(data: bool = False) -> Any:
    """Ray, imported only when an engine uses it, with advice on how to get it. ``data``: the job needs Ray Data
    too (which also needs pyarrow and pandas, which only the extra brings)."""
    try:
        import ray

        if data:
            import ray.data
    except ImportError as exc:
        what = "Ray Data" if data else "Ray"
        raise RelencError(f"--engine ray needs {what}: pip install 'relenc[ray]' ({exc})") from exc
    return ray


def connect(ray: Any, address: str | None, workers: int | None, cpus_per_worker: int = 1) -> bool:
    """Join the caller's Ray session, connect to ``address``, or start a local instance with ``workers *
    cpus_per_worker`` CPUs (all of the machine's when ``workers`` is None). True if we initialised Ray, so the
    caller knows to shut it down when its job ends."""
    if ray.is_initialized():
        return False
    if not address:
        cpus = workers * cpus_per_worker if workers is not None else None
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        return True
    try:
        ray.init(address=address, log_to_driver=False)
    except (ConnectionError, ValueError) as exc:  # no cluster there
        raise RelencError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc
    return True
