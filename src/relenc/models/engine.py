"""The inference engine: the one batched loop that every forward pass outside training goes through.

``predict``, ``embed``, the server, extraction from raw text, evaluation during training, the ONNX predictor,
few-shot evaluation and analysis all hand their encoded examples to :meth:`InferenceEngine.run` with a *step* (what
to compute from one padded batch); the engine owns everything around it, once:

* **bucketing**: examples sorted by length and cut into batches that pad little (:func:`length_buckets`);
* **padding** and collation per encoder role, and the move to the model's device;
* **no gradient** (``torch.inference_mode``) and **eval mode**, restored afterwards;
* **precision**: bf16 autocast where the CPU has it (``relenc.runtime``), fp32 otherwise;
* an optional **compiled** model (``torch.compile`` with frozen weights), used by steps that run the whole model;
* a progress bar, for long jobs.

Results come back in input order whatever the batching, so callers never see the buckets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import torch
from torch import nn

from relenc.encoding.builder import Encoded
from relenc.encoding.collate import collate, length_buckets
from relenc.runtime import autocast

#: One example's encodings, one per encoder role (``main``; or ``entity`` and ``relation``).
Item = dict[str, Encoded]
#: A padded batch: per role, ``input_ids``, ``attention_mask``, the three positions and the MLM candidates.
Inputs = dict[str, dict[str, torch.Tensor]]
T = TypeVar("T")
B = TypeVar("B")  # a padded batch, whatever its type


def to_device(inputs: Inputs, device: torch.device) -> Inputs:
    return {role: {k: v.to(device) for k, v in batch.items()} for role, batch in inputs.items()}


class InferenceEngine:
    """Batches, pads and runs encoded examples through a model without gradient, in the chosen precision.

    ``pad_ids`` gives each encoder role's padding token. ``model`` is the torch module the steps use (its device
    and train/eval mode are managed here); None for a step that runs elsewhere (onnxruntime).
    """

    def __init__(self, pad_ids: dict[str, int], model: nn.Module | None = None) -> None:
        self.pad_ids = dict(pad_ids)
        self.model = model
        self._compiled: Callable[[Inputs], Any] | None = None

    @property
    def device(self) -> torch.device:
        if self.model is None:
            return torch.device("cpu")
        return next(self.model.parameters()).device

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def collate(self, items: Sequence[Item]) -> Inputs:
        """Right-padded tensors per role the items carry (on the CPU)."""
        return {role: collate([item[role] for item in items], self.pad_ids[role]) for role in items[0]}

    def batches(self, items: Sequence[Item], batch_size: int) -> list[list[int]]:
        """Indices in batches of similar length: an example's length is that of its longest role's input."""
        lengths = [max(len(enc.input_ids) for enc in item.values()) for item in items]
        return length_buckets(lengths, batch_size, shuffle=False, seed=0)

    def forward(self, inputs: Inputs) -> Any:
        """The whole model on one batch: the compiled graph if :meth:`compile` was called, else the eager model."""
        if self._compiled is not None:
            return self._compiled(inputs)
        if self.model is None:
            raise RuntimeError("this engine has no torch model")
        return self.model(inputs)

    def run(
        self,
        items: Sequence[Item],
        step: Callable[[Inputs], T],
        batch_size: int = 64,
        precision: str = "auto",
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[list[int], T]]:
        """``step`` on every batch, as ``(indices, result)`` pairs: the batch's example indices and what ``step``
        returned for it (row ``r`` of the result belongs to ``indices[r]``).

        The step should return CPU data (numpy, or tensors moved off the device): the results are kept until the
        end. ``progress`` is told how many examples each batch held, as it finishes.
        """
        if batch_size < 1:
            from relenc.errors import RelencError

            raise RelencError(f"batch size must be positive, got {batch_size}")
        device = self.device

        def inputs(idx: list[int]) -> Inputs:
            return to_device(self.collate([items[i] for i in idx]), device)

        return self.run_batches(self.batches(items, batch_size), inputs, step, precision, progress)

    def run_batches(
        self,
        batches: Sequence[list[int]],
        inputs: Callable[[list[int]], B],
        step: Callable[[B], T],
        precision: str = "auto",
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[list[int], T]]:
        """``step(inputs(indices))`` for each batch of indices, as :meth:`run` does it (eval mode restored after,
        no gradient, the precision's autocast, progress): for models whose batches are not encoded examples, such as
        the span recognizer (:mod:`relenc.models.spans`), which build their own padded batch on the device."""
        device = self.device
        was_training = self.model.training if self.model is not None else False
        if self.model is not None:
            self.model.eval()
        results: list[tuple[list[int], T]] = []
        try:
            with torch.inference_mode():
                for idx in batches:
                    batch = inputs(idx)
                    with autocast(precision, device):
                        results.append((idx, step(batch)))
                    if progress is not None:
                        progress(len(idx))
        finally:
            if self.model is not None:
                self.model.train(was_training)
        return results

    def compile(self) -> None:
        """Compile the model for :meth:`forward` with ``torch.compile`` (inductor, weights frozen into the graph).

        Why and when: on a 2-core CPU, bucketed bf16 inference runs 20-50% faster (``benchmarks/inference.py
        --compile``) after about half a minute of compiling, and a batch of a new kind of shape may compile again:
        worth it for long jobs, not for a few sentences. Freezing turns the weights into constants, so the bf16
        copies and the packed oneDNN weight layout are made once instead of in every forward pass, and GELU fuses
        into its linear layer; the packed copies take about half the fp32 weights' memory again. Attention switches
        to the plain implementation, which inductor fuses better than the SDPA kernel. The compiled graph keeps the
        weights as they are now: compile after training.
        """
        import torch._inductor.config as inductor_config

        model: Any = self.model
        if model is None:
            raise RuntimeError("this engine has no torch model to compile")
        for encoder in model.encoders.values():
            encoder.set_attn_implementation("eager")
        compiled = torch.compile(model, dynamic=True)

        def run(inputs: Inputs) -> Any:
            # Inductor decides whether to freeze from its global config when it compiles (the first call, and any
            # recompilation): ``torch.compile(options={"freezing": True})`` is read too late and silently ignored.
            with inductor_config.patch(freezing=True):
                return compiled(inputs)

        self._compiled = run


def in_order(results: Sequence[tuple[list[int], Any]], n: int, rows: Callable[[Any], Sequence[T]]) -> list[T]:
    """Scatter per-batch results back to input order: ``rows(result)[r]`` is the value of example ``indices[r]``."""
    out: list[Any] = [None] * n
    for idx, result in results:
        for value, i in zip(rows(result), idx, strict=True):
            out[i] = value
    return out


@contextlib.contextmanager
def counting_progress(description: str, total: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar over ``total`` examples, as the callback :meth:`InferenceEngine.run` advances."""
    from relenc.progress import progress_bar

    with progress_bar(enabled=enabled) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
