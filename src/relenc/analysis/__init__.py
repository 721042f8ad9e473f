"""Analysis of trained models in the terms of the paper's claims (Mtumbuka & Schockaert 2024).

- [H,T] mostly encodes entity types, hence false positives and confusions between relations whose arguments have
  the same types: :mod:`relenc.analysis.errors` (with types from :mod:`relenc.analysis.entity_types`);
- [MASK] alone captures entity types poorly: linear probes, :mod:`relenc.analysis.probing`;
- the two are complementary: :mod:`relenc.analysis.compare`;
- figures: :mod:`relenc.analysis.plots`;
- running models on a test set and analysing their predictions: :mod:`relenc.analysis.report`;
- the whole of ``relenc analyze`` as one call (test set, models, grid records, files written):
  :mod:`relenc.analysis.analyze`.

Grid records are read with :class:`relenc.experiments.records.RunRecord` and aggregated with
:func:`relenc.experiments.summary.summarize`, the types and the statistics ``relenc experiment`` uses, so the two
commands never disagree on a mean or a spread.

Everything but ``report`` and ``analyze`` is pure functions over labels, types and arrays. scikit-learn and
matplotlib (the ``analysis`` extra) and spaCy (the ``nlp`` extra, only for datasets without gold entity types) are
imported when first needed.

May import relenc.data, relenc.encoding, relenc.evaluation, relenc.models, relenc.experiments (records and their
summary, never the runner), relenc.nlp and relenc.io; never the CLI.
"""

from relenc.analysis.compare import complementarity, oracle_predictions
from relenc.analysis.entity_types import UNK, EntityTyper, TypedExamples, type_signatures
from relenc.analysis.errors import error_analysis, false_positive_stats, same_signature_pairs, signature_confusions
from relenc.analysis.probing import ProbeResult, probe, probe_embeddings

__all__ = [
    "UNK",
    "EntityTyper",
    "ProbeResult",
    "TypedExamples",
    "complementarity",
    "error_analysis",
    "false_positive_stats",
    "oracle_predictions",
    "probe",
    "probe_embeddings",
    "same_signature_pairs",
    "signature_confusions",
    "type_signatures",
]
