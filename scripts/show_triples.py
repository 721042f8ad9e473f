"""Print the triples of a ``relenc extract`` output as a table: head, relation, tail, score (the demo's last step)."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table


def main(path: str) -> None:
    table = Table(title=f"triples in {path}")
    for column in ("head", "relation", "tail", "score"):
        table.add_column(column, justify="right" if column == "score" else "left")
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            for r in json.loads(line)["relations"]:
                table.add_row(_named(r["head"]), r["relation"], _named(r["tail"]), f"{r['score']:.2f}")
    Console().print(table)


def _named(mention: dict[str, object]) -> str:
    """The entity's full name, with the mention's own text when it differs ("Tim Cook (He)")."""
    name, text = mention.get("name"), str(mention["text"])
    return f"{name} ({text})" if name else text


if __name__ == "__main__":
    main(sys.argv[1])
