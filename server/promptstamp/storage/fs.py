"""The "fs" backend: a directory of write-once files.

Each object is a read-only file at ``root/<key>``. A put writes a temporary file in the target
directory, fsyncs it, then ``os.link``s it to the final name and fsyncs the directory (``put_many``
makes a whole batch durable with one syncfs instead of one fsync per file). ``link``
fails when the name exists, atomically, across threads and processes, so two writers of one key
cannot both win and nothing is ever replaced (``rename`` would silently overwrite). Readers never
see a partial object: the final name appears only once the bytes are on disk.

Temporary files start with '.', which no valid key segment can, so they never collide with keys and
``list`` skips them. A crash between write and link can leave one behind; it is harmless.

Limitation: a key cannot be both an object and a prefix of other keys ("a" and "a/b"), because a
path cannot be both a file and a directory; such a put raises StorageError.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn, cast

from ..errors import AlreadyExists, ObjectMissing, StorageError
from . import check_key

_READ_ONLY = 0o444
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def _checked(key: str) -> str:
    return check_key(key)


def _check_prefix(prefix: str) -> str:
    """A list prefix is '' or the start of a key: whole segments, optionally a trailing '/'."""
    if prefix:
        _checked(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def _load_syncfs() -> Callable[[int], int] | None:
    """Linux syncfs(2): one call flushes every dirty file of the filesystem (a batch's worth)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    fn = getattr(libc, "syncfs", None)
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return cast(Callable[[int], int], fn)


_syncfs = _load_syncfs()


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(path: str) -> None:
    # A new directory entry is durable only once its directory is fsynced (POSIX leaves it open).
    fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FsStore:
    """Write-once objects in a local directory; safe for many threads and processes at once."""

    def __init__(self, root: Path, *, max_workers: int = 8) -> None:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"store directory {str(root)!r} cannot be created: {e}") from e
        if not root.is_dir():
            raise StorageError(f"store root {str(root)!r} must be a directory, found something else")
        self.root = root.resolve()
        self._root = str(self.root)
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self.request_counts: dict[str, int] = {"put": 0, "get": 0, "head": 0, "list": 0}
        self._plain_dirs: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------------

    def _count(self, kind: str) -> None:
        with self._lock:
            self.request_counts[kind] = self.request_counts.get(kind, 0) + 1

    def _path(self, key: str) -> str:
        path = os.path.join(self._root, *_checked(key).split("/"))
        # check_key already excludes '..', '.', '' and '/'; this re-checks the result, so a future
        # change to the key rules cannot turn into a path outside the store.
        if os.path.normpath(path) != path or not path.startswith(self._root + os.sep):
            raise StorageError(f"object key {key!r:.120} must map inside {self._root!r}, found {path!r:.200}")
        # A symlink planted inside the store (by anything but this class) must not lead outside it.
        # Directories are checked once (this class never replaces one); the file itself every time.
        directory = os.path.dirname(path)
        if directory not in self._plain_dirs:
            if os.path.realpath(directory) != directory:
                raise StorageError(f"object key {key!r:.120}: expected plain directories and files, found a symlink")
            if os.path.isdir(directory):
                with self._lock:
                    self._plain_dirs.add(directory)
        if os.path.islink(path):
            raise StorageError(f"object key {key!r:.120}: expected plain directories and files, found a symlink")
        return path

    def _make_dirs(self, directory: str, key: str) -> None:
        """Create missing directories below the root, fsyncing each parent that gained an entry."""
        if directory in self._plain_dirs:
            return
        missing: list[str] = []
        current = directory
        while current != self._root and not os.path.isdir(current):
            missing.append(current)
            current = os.path.dirname(current)
        for path in reversed(missing):
            try:
                os.mkdir(path, 0o755)
            except FileExistsError:
                if not os.path.isdir(path):
                    name = path[len(self._root) + 1 :]
                    raise StorageError(
                        f"object key {key!r:.120} needs directory {name!r}, found an object with that key"
                    ) from None
                # Another writer made it and may not have synced the parent yet: sync it here too.
            except NotADirectoryError as e:
                raise StorageError(f"object key {key!r:.120} lies under an existing object: {e}") from e
            _fsync_dir(os.path.dirname(path))

    def _write_tmp(self, key: str, data: bytes, *, fsync: bool) -> tuple[str, str]:
        """Write ``data`` to a new temporary file beside the key's path; returns (tmp, path)."""
        path = self._path(key)
        directory, name = os.path.split(path)
        if os.path.lexists(path):  # cheap early refusal; os.link in _publish is what actually guarantees it
            self._raise_taken(key, path)
        self._make_dirs(directory, key)
        tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | _O_NOFOLLOW, _READ_ONLY)
            try:
                os.fchmod(fd, _READ_ONLY)  # exactly 0o444 whatever the umask
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            _unlink_quietly(tmp)
            raise StorageError(f"writing object {key!r:.120} under {self._root!r}: {e}") from e
        return tmp, path

    def _publish(self, key: str, tmp: str, path: str) -> None:
        """Give the (already durable) temporary file its final name, unless the name is taken."""
        try:
            os.link(tmp, path)
        except FileExistsError:
            self._raise_taken(key, path)
        except OSError as e:
            raise StorageError(f"writing object {key!r:.120} under {self._root!r}: {e}") from e
        finally:
            _unlink_quietly(tmp)

    def _raise_taken(self, key: str, path: str) -> NoReturn:
        if os.path.isdir(path) and not os.path.islink(path):
            raise StorageError(
                f"object key {key!r:.120} is a prefix of other keys here; the fs backend cannot store both"
            )
        raise AlreadyExists(f"object {key!r:.120} already exists in {self._root!r}; not overwritten")

    # -- ObjectStore -----------------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        self._count("put")
        tmp, path = self._write_tmp(key, data, fsync=True)
        self._publish(key, tmp, path)
        _fsync_dir(os.path.dirname(path))

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> set[str]:
        """Write all items; every key is checked before anything is written.

        Group commit on disk: the temporary files are written without a per-file fsync, then one
        syncfs(2) makes all their bytes durable, then each gets its name, then each directory is
        fsynced once. A name therefore never appears before its bytes are on disk, as with ``put``.
        The writes run in the calling thread: without per-file fsyncs there is no I/O wait to
        overlap, and a thread hop per file cost more than the file (measured by ``make bench``).
        Without syncfs (not Linux) each file is fsynced, in parallel.
        """
        for key, _ in items:
            self._path(key)
        if not items:
            return set()
        taken: set[str] = set()
        errors: list[StorageError] = []
        written: list[tuple[str, str, str]] = []
        lock = threading.Lock()
        syncfs = _syncfs

        def write(item: tuple[str, bytes]) -> None:
            key, data = item
            self._count("put")
            try:
                tmp, path = self._write_tmp(key, data, fsync=syncfs is None)
            except AlreadyExists:
                with lock:
                    taken.add(key)
            except StorageError as e:
                with lock:
                    errors.append(e)
            else:
                with lock:
                    written.append((key, tmp, path))

        if syncfs is None:
            with ThreadPoolExecutor(max_workers=min(self._max_workers, len(items))) as pool:
                list(pool.map(write, items))
        else:
            for item in items:
                write(item)
            try:
                self._sync_filesystem(syncfs)
            except OSError as e:
                for _, tmp, _ in written:
                    _unlink_quietly(tmp)
                raise StorageError(f"syncing {self._root!r}: {e}") from e
        for key, tmp, path in written:
            try:
                self._publish(key, tmp, path)
            except AlreadyExists:
                taken.add(key)
            except StorageError as e:
                errors.append(e)
        try:
            for directory in {os.path.dirname(path) for _, _, path in written}:
                _fsync_dir(directory)
        except OSError as e:
            raise StorageError(f"syncing directories under {self._root!r}: {e}") from e
        if errors:
            raise errors[0]
        return taken

    def _sync_filesystem(self, syncfs: Callable[[int], int]) -> None:
        fd = os.open(self._root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        try:
            if syncfs(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        finally:
            os.close(fd)

    def get(self, key: str) -> bytes:
        return self._read(key, 0, None)

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise StorageError(f"object {key!r:.120}: a range needs a start and length >= 0, found {start}, {length}")
        return self._read(key, start, length)

    def _read(self, key: str, start: int, length: int | None) -> bytes:
        self._count("get")
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | _O_CLOEXEC | _O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(f"object {key!r:.120} not found in {self._root!r}") from None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise StorageError(f"object {key!r:.120}: expected a regular file, found a symlink") from e
            raise StorageError(f"reading object {key!r:.120}: {e}") from e
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ObjectMissing(f"object {key!r:.120} not found in {self._root!r} (a directory is there)")
            if length is not None:
                return os.pread(fd, length, start)
            with os.fdopen(fd, "rb", closefd=False) as f:
                return f.read()
        except OSError as e:
            raise StorageError(f"reading object {key!r:.120}: {e}") from e
        finally:
            os.close(fd)

    def exists(self, key: str) -> bool:
        self._count("head")
        try:
            return stat.S_ISREG(os.lstat(self._path(key)).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as e:
            raise StorageError(f"checking object {key!r:.120}: {e}") from e

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Keys under ``prefix`` in byte order (as S3 lists them), lazily, after ``start_after``."""
        _check_prefix(prefix)  # now, not on the first next(): a bad prefix is the caller's bug
        self._count("list")
        base, _, name_prefix = prefix.rpartition("/")
        top = os.path.join(self._root, *base.split("/")) if base else self._root
        return self._walk(top, base + "/" if base else "", name_prefix, start_after)

    def _walk(self, directory: str, key_prefix: str, name_prefix: str, start_after: str | None) -> Iterator[str]:
        try:
            with os.scandir(directory) as it:
                entries = [
                    (e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e)
                    for e in it
                    if e.name.startswith(name_prefix) and not e.name.startswith(".")
                ]
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as e:
            raise StorageError(f"listing {directory!r}: {e}") from e
        # Sorting directories as "name/" gives the same order as sorting the full keys, since every
        # key inside starts with "<dir>/" ('/' sorts before '0' and after '-' and '.').
        entries.sort(key=lambda pair: pair[0])
        for sort_name, entry in entries:
            full = key_prefix + sort_name
            if sort_name.endswith("/"):
                if start_after is not None and full <= start_after and not start_after.startswith(full):
                    continue  # the whole subtree sorts before start_after
                yield from self._walk(entry.path, full, "", start_after)
            elif entry.is_file(follow_symlinks=False) and (start_after is None or full > start_after):
                try:
                    _checked(full)
                except StorageError:
                    continue  # a stray file that no put could have written
                yield full

    def describe(self) -> str:
        return (
            f"fs {self._root}: write-once by link(2) of an fsynced temp file (never replaces), "
            "read-only files, no object lock"
        )
