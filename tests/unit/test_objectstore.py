"""Uploaded files in the object store: content-addressed, read back checked, a local folder by default."""

from pathlib import Path

import pytest

from shared.objectstore import CorruptObject, Files
from shared.pdf import checksum

pytestmark = pytest.mark.unit


async def test_a_file_is_stored_under_its_checksum_and_read_back(tmp_path: Path) -> None:
    files = Files((tmp_path / "files").as_uri())
    stored = await files.put("orders/SO1", b"signed confirmation")
    assert stored.key == f"orders/SO1/{checksum(b'signed confirmation')}" and stored.size == 19
    assert await files.get(stored.key) == b"signed confirmation"
    assert (tmp_path / "files" / stored.key).read_bytes() == b"signed confirmation"  # a plain folder on disk
    again = await files.put("orders/SO1", b"signed confirmation")
    assert again == stored  # the same file twice is one object


async def test_a_file_changed_behind_our_back_is_refused(tmp_path: Path) -> None:
    files = Files((tmp_path / "files").as_uri())
    stored = await files.put("orders/SO1", b"original")
    (tmp_path / "files" / stored.key).write_bytes(b"tampered")
    with pytest.raises(CorruptObject):
        await files.get(stored.key)


async def test_the_same_interface_over_memory() -> None:
    files = Files("memory://")
    stored = await files.put("x", b"data")
    assert await files.get(stored.key) == b"data"
