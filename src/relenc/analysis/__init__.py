"""Analysis of trained models in the terms of the paper's claims (Mtumbuka & Schockaert 2024).

- [H,T] mostly encodes entity types, hence false positives and confusions between relations whose arguments have
  the same types: :mod:`relenc.analysis.errors` (with types from :mod:`relenc.analysis.entity_types`);
- [MASK] alone captures entity types poorly: linear probes, :mod:`relenc.analysis.probing`;
- the two are complementary: :mod:`relenc.analysis.compare`;
- figures: :mod:`relenc.analysis.plots`; grid records of ``relenc experiment``: :mod:`relenc.analysis.records`;
- one whole analysis (what ``relenc analyze`` runs): :mod:`relenc.analysis.report`.

Everything but ``report`` is pure functions over labels, types and arrays. scikit-learn and matplotlib (the
``analysis`` extra) and spaCy (the ``nlp`` extra, only for datasets without gold entity types) are imported when
first needed.
"""

from relenc.analysis.compare import complementarity, oracle_predictions
from relenc.analysis.entity_types import UNK, EntityTyper, TypedExamples, type_signatures
from relenc.analysis.errors import error_analysis, false_positive_stats, same_signature_pairs, signature_confusions
from relenc.analysis.probing import ProbeResult, probe, probe_embeddings
from relenc.analysis.records import GridRecord, load_records, summarize_records

__all__ = [
    "UNK",
    "EntityTyper",
    "GridRecord",
    "ProbeResult",
    "TypedExamples",
    "complementarity",
    "error_analysis",
    "false_positive_stats",
    "load_records",
    "oracle_predictions",
    "probe",
    "probe_embeddings",
    "same_signature_pairs",
    "signature_confusions",
    "summarize_records",
    "type_signatures",
]
