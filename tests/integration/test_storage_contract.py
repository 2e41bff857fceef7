"""One contract, two backends: every test in the first part runs against FsStore and against S3Store
on a real SeaweedFS server. Then what only S3 (Object Lock) or only fs (files on disk) can show."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import secrets
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from promptstamp.config import Settings
from promptstamp.errors import AlreadyExists, ConfigError, ObjectMissing, StorageError
from promptstamp.storage import MAX_KEY_LENGTH, ObjectStore
from promptstamp.storage.factory import open_store
from promptstamp.storage.fs import FsStore
from promptstamp.storage.s3 import S3Store
from seaweed import SeaweedFS

_prefixes = itertools.count(1)


def s3_store(server: SeaweedFS, bucket: str, prefix: str | None = None, **kwargs: Any) -> S3Store:
    """A store in a shared bucket under a fresh prefix, so tests do not see each other's keys."""
    return S3Store(
        bucket,
        prefix=prefix if prefix is not None else f"t{next(_prefixes)}-{secrets.token_hex(3)}",
        endpoint=server.endpoint,
        region=server.region,
        access_key=server.access_key,
        secret_key=server.secret_key,
        **kwargs,
    )


@pytest.fixture(scope="module")
def plain_bucket(make_bucket: Callable[[bool], str]) -> str:
    return make_bucket(False)


@pytest.fixture(scope="module")
def locked_bucket(make_bucket: Callable[[bool], str]) -> str:
    return make_bucket(True)


@pytest.fixture(params=["fs", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "fs":
        yield FsStore(tmp_path / "store")
        return
    s3 = s3_store(request.getfixturevalue("seaweedfs"), request.getfixturevalue("plain_bucket"))
    yield s3
    s3.close()


# -- the contract -----------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x00\xff binary \r\n", os.urandom(1 << 20)], ids=["empty", "binary", "1MiB"])
def test_get_returns_the_bytes_put(store: ObjectStore, data: bytes) -> None:
    store.put("records/01HX.json", data)
    assert store.get("records/01HX.json") == data
    assert store.exists("records/01HX.json")


def test_put_refuses_to_overwrite_and_keeps_the_first_bytes(store: ObjectStore) -> None:
    store.put("receipts/r1.json", b"first")
    with pytest.raises(AlreadyExists, match=r"'receipts/r1.json' already exists.*not overwritten"):
        store.put("receipts/r1.json", b"second")
    assert store.get("receipts/r1.json") == b"first"


def test_of_concurrent_writers_to_one_key_exactly_one_wins(store: ObjectStore) -> None:
    # SeaweedFS 4.48 makes contending conditional PUTs on one key wait in ~1 s steps (16 writers:
    # up to 8 s), so 8 writers keep this quick while still racing.
    writers = 8
    barrier = threading.Barrier(writers)
    outcomes: dict[int, str] = {}

    def write(i: int) -> None:
        barrier.wait()
        try:
            store.put("race/key", f"writer {i}".encode())
            outcomes[i] = "won"
        except AlreadyExists:
            outcomes[i] = "refused"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1, outcomes
    assert sorted(outcomes.values()).count("refused") == writers - 1
    assert store.get("race/key") == f"writer {winners[0]}".encode()


# Realistic keys, with '-', '.', '=' and '_' where they cannot reorder a listing (see the next tests).
LIST_KEYS = [
    "a/b",
    "a/c/d",
    "a/c/e",
    "a/d",
    "a0",
    "a=z",
    "aZ/q",
    "a_y",
    "ab/x",
    "b/x",
    "records/01",
    "records/02",
    "records/02.meta.json",
    "records/1-2",
]


@pytest.mark.parametrize(
    ("prefix", "start_after"),
    [
        ("", None),
        ("a", None),
        ("a/", None),
        ("a/c/", None),
        ("a", "a/b"),
        ("", "a/c/d"),
        ("", "a/c/d0"),
        ("", "a/c/e"),
        ("", "a0"),
        ("records/", "records/01"),
        ("records/0", None),
        ("records/02", "records/02"),
        ("nothing/", None),
        ("", "zzz"),
    ],
)
def test_list_gives_keys_under_prefix_in_order_after_start_after(
    store: ObjectStore, prefix: str, start_after: str | None
) -> None:
    assert store.put_many([(k, k.encode()) for k in reversed(LIST_KEYS)]) == set()
    expected = [k for k in sorted(LIST_KEYS) if k.startswith(prefix) and (start_after is None or k > start_after)]
    assert list(store.list(prefix, start_after)) == expected


# Where a segment is a directory and a sibling extends its name with '-' or '.', byte order (S3's,
# and the fs backend's) puts "a-c" and "a.x" before "a/b"; SeaweedFS 4.48 lists directory by
# directory and puts "a/..." first. Either order is consistent with its own start_after, so paging
# with the last key returned is exact on both; only the position of such keys differs.
TRICKY_KEYS = ["a-c", "a.x", "a/b", "a/c/d", "a0"]


def test_fs_lists_in_byte_order_as_s3_specifies(tmp_path: Path) -> None:
    store = FsStore(tmp_path)
    store.put_many([(k, b"") for k in TRICKY_KEYS])
    assert list(store.list("")) == sorted(TRICKY_KEYS) == ["a-c", "a.x", "a/b", "a/c/d", "a0"]
    assert list(store.list("", start_after="a.x")) == ["a/b", "a/c/d", "a0"]


@pytest.mark.s3
def test_seaweedfs_lists_directory_by_directory(seaweedfs: SeaweedFS, plain_bucket: str) -> None:
    store = s3_store(seaweedfs, plain_bucket)
    store.put_many([(k, b"") for k in TRICKY_KEYS])
    in_path_order = ["a/b", "a/c/d", "a-c", "a.x", "a0"]
    assert list(store.list("")) == in_path_order
    for i, key in enumerate(in_path_order):
        assert list(store.list("", start_after=key)) == in_path_order[i + 1 :]


@pytest.mark.s3
def test_list_pages_through_several_list_requests(seaweedfs: SeaweedFS, plain_bucket: str) -> None:
    store = s3_store(seaweedfs, plain_bucket, list_page_size=4)
    keys = [f"many/{i:02d}" for i in range(11)]
    assert store.put_many([(k, b"") for k in keys]) == set()
    before = store.request_counts["list"]
    assert list(store.list("many/")) == keys
    assert store.request_counts["list"] - before == 3  # pages of 4 + 4 + 3 keys
    assert list(store.list("many/", start_after="many/05")) == keys[6:]
    with pytest.raises(ConfigError, match="page size must be 1..1000, found 1001"):
        s3_store(seaweedfs, plain_bucket, list_page_size=1001)


def test_a_missing_key_raises_object_missing(store: ObjectStore) -> None:
    with pytest.raises(ObjectMissing, match="'records/absent.json' not found"):
        store.get("records/absent.json")
    assert not store.exists("records/absent.json")


UNSAFE_KEYS = [
    "../x",
    "a/../../x",
    "/abs",
    "a//b",
    "a/./b",
    "a/",
    ".hidden",
    "a\x00b",
    "a\nb",
    "a\\b",
    "caf\u00e9",
    "",
    "x" * (MAX_KEY_LENGTH + 1),
    "s" * 201,
]


@pytest.mark.parametrize("key", UNSAFE_KEYS, ids=lambda k: repr(k)[:20])
def test_unsafe_keys_are_rejected_by_every_operation(store: ObjectStore, key: str) -> None:
    for operation in (
        lambda: store.put(key, b"x"),
        lambda: store.put_many([(key, b"x")]),
        lambda: store.get(key),
        lambda: store.exists(key),
    ):
        with pytest.raises(StorageError, match="object key") as raised:
            operation()
        assert type(raised.value) is StorageError  # not AlreadyExists / ObjectMissing
    assert list(store.list("")) == []


def test_a_trailing_newline_is_rejected(store: ObjectStore) -> None:
    with pytest.raises(StorageError, match="object key"):
        store.put("records/a.json\n", b"x")
    assert list(store.list("")) == []


def test_list_rejects_an_unsafe_prefix_at_once(store: ObjectStore) -> None:
    with pytest.raises(StorageError, match="object key"):
        store.list("../")


def test_put_many_reports_taken_keys_and_writes_the_rest(store: ObjectStore) -> None:
    store.put("k1", b"old")
    taken = store.put_many([("k1", b"new"), ("k2", b"two"), ("k3", b"three"), ("k3", b"again")])
    assert taken == {"k1", "k3"}  # k3 twice in one call: one write wins, the other is reported
    assert store.get("k1") == b"old"
    assert store.get("k2") == b"two"
    assert store.get("k3") in (b"three", b"again")


def test_put_many_checks_every_key_before_writing_any(store: ObjectStore) -> None:
    with pytest.raises(StorageError, match="object key"):
        store.put_many([("good", b"x"), ("../bad", b"x")])
    assert not store.exists("good")


def test_request_counts_count_each_backend_request(store: ObjectStore) -> None:
    before = dict(store.request_counts)
    store.put("c/1", b"1")
    store.get("c/1")
    store.exists("c/1")
    assert list(store.list("c/")) == ["c/1"]
    after = store.request_counts
    assert {k: after[k] - before.get(k, 0) for k in ("put", "get", "head", "list")} == {
        "put": 1,
        "get": 1,
        "head": 1,
        "list": 1,
    }


def test_describe_names_backend_and_write_once_mechanism(store: ObjectStore) -> None:
    text = store.describe()
    assert text.startswith(("fs ", "s3 ")) and "write-once" in text


# -- S3 only: Object Lock, capabilities, configuration --------------------------------------------


def _only_version(client: Any, bucket: str, key: str) -> str:
    versions = client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert [v["Key"] for v in versions] == [key]
    return str(versions[0]["VersionId"])


def _error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return str(raised.value.response["Error"]["Code"])


@pytest.mark.s3
def test_a_locked_record_cannot_be_deleted_or_replaced(seaweedfs: SeaweedFS, locked_bucket: str) -> None:
    store = s3_store(seaweedfs, locked_bucket, lock_days=1)
    store.put("records/r.json", b"evidence")
    client = seaweedfs.client()
    key = store.prefix + "records/r.json"
    version = _only_version(client, locked_bucket, key)

    head = client.head_object(Bucket=locked_bucket, Key=key, VersionId=version)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert dt.timedelta(hours=23) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)

    # Deleting the version: refused, also when asking to bypass governance (compliance ignores it).
    assert _error_code(lambda: client.delete_object(Bucket=locked_bucket, Key=key, VersionId=version)) == "AccessDenied"
    assert (
        _error_code(
            lambda: client.delete_object(
                Bucket=locked_bucket, Key=key, VersionId=version, BypassGovernanceRetention=True
            )
        )
        == "AccessDenied"
    )
    # Shortening the retention: refused.
    shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)}
    assert (
        _error_code(
            lambda: client.put_object_retention(Bucket=locked_bucket, Key=key, VersionId=version, Retention=shorter)
        )
        == "AccessDenied"
    )
    # Overwriting through the store: refused (If-None-Match).
    with pytest.raises(AlreadyExists):
        store.put("records/r.json", b"forged")
    # A plain PUT that skips If-None-Match cannot replace the locked version either: on a versioned
    # bucket it can only add a newer version, and the locked one keeps its bytes and its lock.
    newer = client.put_object(Bucket=locked_bucket, Key=key, Body=b"forged")["VersionId"]
    assert newer != version
    kept = client.get_object(Bucket=locked_bucket, Key=key, VersionId=version)
    assert kept["Body"].read() == b"evidence"
    assert kept["ObjectLockMode"] == "COMPLIANCE"
    assert _error_code(lambda: client.delete_object(Bucket=locked_bucket, Key=key, VersionId=version)) == "AccessDenied"


@pytest.mark.s3
def test_governance_retention_yields_to_bypass_which_is_why_compliance_is_the_default(
    seaweedfs: SeaweedFS, locked_bucket: str
) -> None:
    store = s3_store(seaweedfs, locked_bucket, lock_days=1, lock_mode="GOVERNANCE")
    store.put("g", b"x")
    client = seaweedfs.client()
    key = store.prefix + "g"
    version = _only_version(client, locked_bucket, key)
    assert _error_code(lambda: client.delete_object(Bucket=locked_bucket, Key=key, VersionId=version)) == "AccessDenied"
    client.delete_object(Bucket=locked_bucket, Key=key, VersionId=version, BypassGovernanceRetention=True)
    assert not store.exists("g")


@pytest.mark.s3
def test_describe_reports_versioning_and_object_lock(
    seaweedfs: SeaweedFS, locked_bucket: str, plain_bucket: str
) -> None:
    locked = s3_store(seaweedfs, locked_bucket, lock_days=30)
    assert locked.features.object_lock is True
    assert locked.features.versioning == "Enabled"
    assert locked.features.conditional_put is True
    assert "versioning: Enabled; object lock: COMPLIANCE 30d per object" in locked.describe()
    assert "conditional PUT (If-None-Match)" in locked.describe()

    unlocked = s3_store(seaweedfs, locked_bucket, lock_days=0)
    assert "no retention set" in unlocked.describe()

    plain = s3_store(seaweedfs, plain_bucket, lock_days=7)
    assert plain.features.object_lock is False
    assert "object lock: off (lock_days=7 requested, bucket has no Object Lock)" in plain.describe()


@pytest.mark.s3
def test_lock_days_are_not_applied_to_a_bucket_without_object_lock(seaweedfs: SeaweedFS, plain_bucket: str) -> None:
    store = s3_store(seaweedfs, plain_bucket, lock_days=7)
    store.put("x", b"1")  # SeaweedFS refuses lock headers on such a bucket, so sending them would fail
    assert store.get("x") == b"1"


@pytest.mark.s3
def test_a_bucket_default_retention_is_reported(seaweedfs: SeaweedFS, make_bucket: Callable[[bool], str]) -> None:
    bucket = make_bucket(True)
    rule = {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 3}}
    seaweedfs.client().put_object_lock_configuration(
        Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    assert "object lock: bucket default COMPLIANCE 3d" in s3_store(seaweedfs, bucket).describe()


@pytest.mark.s3
def test_without_conditional_put_the_store_falls_back_to_head_then_put(seaweedfs: SeaweedFS, plain_bucket: str) -> None:
    store = s3_store(seaweedfs, plain_bucket, conditional_put=False)
    store.put("k", b"first")
    with pytest.raises(AlreadyExists):
        store.put("k", b"second")
    assert store.get("k") == b"first"
    assert "HEAD-then-PUT" in store.describe() and "racy" in store.describe()


@pytest.mark.s3
def test_a_missing_bucket_is_a_clear_error(seaweedfs: SeaweedFS) -> None:
    with pytest.raises(StorageError, match="bucket 'no-such-bucket' does not exist"):
        s3_store(seaweedfs, "no-such-bucket")


@pytest.mark.s3
def test_wrong_credentials_are_a_storage_error(seaweedfs: SeaweedFS, plain_bucket: str) -> None:
    with pytest.raises(StorageError):
        S3Store(plain_bucket, endpoint=seaweedfs.endpoint, access_key="nobody", secret_key="wrong")


@pytest.mark.s3
def test_the_store_prefix_isolates_keys(seaweedfs: SeaweedFS, plain_bucket: str) -> None:
    one = s3_store(seaweedfs, plain_bucket, prefix="tenant-a/store")
    two = s3_store(seaweedfs, plain_bucket, prefix="tenant-b")
    one.put("k", b"a")
    two.put("k", b"b")
    assert (one.get("k"), two.get("k")) == (b"a", b"b")
    assert list(one.list("")) == ["k"]  # the write-once probe object under the prefix is not listed


def test_bad_s3_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="must be >= 0 days, found -1"):
        S3Store("b", lock_days=-1)
    with pytest.raises(ConfigError, match="mode must be one of"):
        S3Store("b", lock_mode="LEGAL")
    with pytest.raises(ConfigError, match="prefix"):
        S3Store("b", prefix="a/../b")


@pytest.mark.s3
def test_open_store_chooses_the_backend_from_the_storage_url(
    tmp_path: Path, seaweedfs: SeaweedFS, locked_bucket: str
) -> None:
    fs = open_store(Settings(data_dir=tmp_path))
    assert isinstance(fs, FsStore) and fs.root == (tmp_path / "store").resolve()
    assert isinstance(open_store(Settings(storage_url=f"file://{tmp_path}/other")), FsStore)
    s3 = open_store(
        Settings(
            storage_url=f"s3://{locked_bucket}/deploy/one",
            s3_endpoint=seaweedfs.endpoint,
            s3_access_key=seaweedfs.access_key,
            s3_secret_key=seaweedfs.secret_key,
            s3_lock_days=2,
        )
    )
    assert isinstance(s3, S3Store)
    assert (s3.bucket, s3.prefix, s3.lock_days) == (locked_bucket, "deploy/one/", 2)
    assert "COMPLIANCE 2d per object" in s3.describe()


def test_open_store_needs_a_bucket_name() -> None:
    with pytest.raises(ConfigError, match="must name a bucket"):
        open_store(Settings(storage_url="s3://"))


# -- fs only: what is on disk ----------------------------------------------------------------------


def test_fs_objects_are_read_only_files_and_no_temp_files_remain(tmp_path: Path) -> None:
    store = FsStore(tmp_path)
    store.put("a/b/c.json", b"1")
    with pytest.raises(AlreadyExists):
        store.put("a/b/c.json", b"2")
    store.put_many([("a/b/d", b"2"), ("a/b/c.json", b"3"), ("e", b"4")])
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["a/b/c.json", "a/b/d", "e"]  # nothing named .*.tmp left behind
    for name in files:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o444


def test_fs_keys_cannot_leave_the_store_directory(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = FsStore(root)
    for key in ("../outside", "a/../../outside", "/tmp/outside"):
        with pytest.raises(StorageError, match="object key"):
            store.put(key, b"x")
    # Nor can a symlink that something else planted inside the store.
    (tmp_path / "elsewhere").mkdir()
    (root / "evil").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StorageError, match="symlink"):
        store.put("evil/x", b"x")
    with pytest.raises(StorageError, match="symlink"):
        store.get("evil/x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "store"]
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_fs_list_skips_temp_files_and_stray_names(tmp_path: Path) -> None:
    store = FsStore(tmp_path)
    store.put("k/1", b"")
    (tmp_path / "k" / ".1.deadbeef.tmp").write_bytes(b"left by a crash")
    (tmp_path / "k" / "bad name").write_bytes(b"not written by the store")
    assert list(store.list("")) == ["k/1"]


def test_fs_a_key_cannot_be_both_an_object_and_a_prefix(tmp_path: Path) -> None:
    store = FsStore(tmp_path)
    store.put("a/b", b"")
    with pytest.raises(StorageError, match="prefix of other keys") as raised:
        store.put("a", b"")
    assert not isinstance(raised.value, AlreadyExists)
    assert not store.exists("a")
    with pytest.raises(ObjectMissing):
        store.get("a")
    store.put("f", b"")
    with pytest.raises(StorageError, match="object key 'f/g'"):
        store.put("f/g", b"")


_WRITER = """
import sys, time
from pathlib import Path
from promptstamp.errors import AlreadyExists
from promptstamp.storage.fs import FsStore
root, go, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
store = FsStore(root)
while not go.exists():
    time.sleep(0.001)
try:
    store.put("race/key", me.encode())
    print("won")
except AlreadyExists:
    print("refused")
"""


def test_fs_of_concurrent_writer_processes_exactly_one_wins(tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path / "store"), str(go), f"process {i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    time.sleep(0.5)  # let every interpreter start and reach the wait loop
    go.touch()
    results = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(results) == ["refused"] * 5 + ["won"]
    winner = results.index("won")
    assert FsStore(tmp_path / "store").get("race/key") == f"process {winner}".encode()
