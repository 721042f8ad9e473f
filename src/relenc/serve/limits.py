"""What one request may ask of the service, and how much work may wait: the knobs of ``relenc serve``.

Its own module, with no FastAPI import, so that the CLI can build its options (names, defaults and help) from these
fields without the optional ``serve`` extra installed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Bounds on requests (413 over them), on waiting work (503 when full) and on time (504 over budget).

    Why each exists: a request's work must be bounded before it starts, or one client can stall everyone; the
    queues must be bounded, or a flood turns into unbounded memory and latency; and a request that runs over its
    time budget must give the model back rather than keep it busy for an answer nobody waits for.
    """

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(1_000_000, gt=0, description="Largest request body in bytes, chunked or not (413).")
    max_items: int = Field(256, gt=0, description="Most sentences per /classify or /embed request (413).")
    max_documents: int = Field(32, gt=0, description="Most documents per /extract request (413).")
    max_text_chars: int = Field(20_000, gt=0, description="Longest sentence or document, in characters (413).")
    max_total_chars: int = Field(
        100_000, gt=0, description="Most characters in all the texts of one request together (413)."
    )
    max_entities: int = Field(
        100, gt=0, description="Most entities (given, or found by spaCy) in one /extract request (413)."
    )
    max_pairs: int = Field(1_000, gt=0, description="Most candidate pairs in one /extract request (413).")
    max_queue: int = Field(
        64, gt=0, description="Most /classify and /embed requests waiting or running at once; more get 503."
    )
    max_extract_queue: int = Field(4, gt=0, description="Most /extract requests waiting or running at once (503).")
    timeout_s: float = Field(
        30.0, gt=0, description="Time budget of one request, in seconds: 408 while its body arrives, 504 after."
    )
    retry_after_s: int = Field(1, gt=0, description="The Retry-After header, in seconds, of a 503 for a full queue.")
    max_batch: int = Field(64, gt=0, description="Largest batch of examples classified together.")
    extract_batch: int = Field(
        8, gt=0, description="Candidate pairs per /extract forward pass: few, so /classify waits little behind one."
    )
    max_wait_ms: float = Field(5.0, ge=0, description="How long a request may wait for others to batch with.")
