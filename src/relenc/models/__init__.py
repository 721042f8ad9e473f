"""Models: the encoders (:mod:`~relenc.models.encoders`, names to local directories), the strategies ([H,T], [MASK],
hybrid), the torch module and its heads, :class:`~relenc.models.extractor.RelationExtractor` (build, save, load,
predict, embed), the checks a saved model passes before it loads (:mod:`~relenc.models.checks`), the inference
engine every forward pass outside training goes through, the span-based entity recognizer (:mod:`~relenc.models.spans`)
and the ONNX export.

Imports allowed: :mod:`relenc.data`, :mod:`relenc.encoding`, :mod:`relenc.runtime`, :mod:`relenc.io`,
:mod:`relenc.progress`, :mod:`relenc.errors` (and ``relenc.__version__``); never the CLI, :mod:`relenc.training` or
:mod:`relenc.serve`, which build on this package. Nothing is imported here, so ``import relenc.models.encoders``
does not load torch."""
