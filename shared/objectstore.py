"""Files people upload (scans, the customer's signed confirmation, photos), kept in an object store behind one
small interface: a local folder by default, any S3-compatible store in production.

One URL names the store (`file:///var/lib/gendan/files`, `s3://bucket/prefix`, `memory://`); obstore (the
Rust object_store crate's Python binding) speaks to all of them with the same calls, reading credentials
and endpoints for S3 from the usual AWS_* environment. Objects are content-addressed under a prefix:
the key ends in the SHA-256 of the bytes, so storing the same file twice stores it once, and a file read
back is checked against its name.
"""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import obstore
from obstore.store import LocalStore, MemoryStore, ObjectStore, from_url

from shared.pdf import checksum


@dataclass(frozen=True)
class Stored:
    """Where a file went and what it is."""

    key: str
    checksum: str
    size: int


class CorruptObject(Exception):
    """A stored file whose bytes no longer match their checksum."""


class Files:
    """An object store for one service's files."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.store: ObjectStore
        if url.startswith("file:"):
            folder = Path(url2pathname(urlparse(url).path))
            folder.mkdir(parents=True, exist_ok=True)
            self.store = LocalStore(folder)
        elif url.startswith("memory:"):
            self.store = MemoryStore()
        else:
            self.store = from_url(url)

    async def put(self, prefix: str, data: bytes) -> Stored:
        """Store `data` under `prefix`; its key ends in its checksum."""
        digest = checksum(data)
        key = f"{prefix.strip('/')}/{digest}"
        await obstore.put_async(self.store, key, data)
        return Stored(key=key, checksum=digest, size=len(data))

    async def get(self, key: str) -> bytes:
        """The file's bytes, checked against the checksum its key ends in."""
        found = await obstore.get_async(self.store, key)
        data = bytes(await found.bytes_async())
        if checksum(data) != key.rsplit("/", 1)[-1]:
            raise CorruptObject(f"{key}: the stored bytes do not match their checksum")
        return data
