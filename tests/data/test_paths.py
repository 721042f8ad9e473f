from pathlib import Path

import pytest

from relenc.data.paths import DEFAULT_DATA_DIR, data_dir


def test_data_dir_follows_the_environment_at_call_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RELENC_DATA_DIR", raising=False)
    assert data_dir() == DEFAULT_DATA_DIR == Path("../shared/data")
    assert data_dir(tmp_path / "repo") == tmp_path / "repo" / ".." / "shared" / "data"
    monkeypatch.setenv("RELENC_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
