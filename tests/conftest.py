"""Shared fixtures: real TSAs (OpenSSL's, the built-in dev TSA) and a real SeaweedFS S3 server, started on
free loopback ports."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator

import pytest

from openssl_tsa import OpenSslTsa, running_openssl_tsa
from promptstamp.devtsa import DevTsa
from seaweed import SeaweedFS, running_seaweedfs


@pytest.fixture(scope="session")
def openssl_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSslTsa]:
    """``openssl ts -reply`` over HTTP with a throwaway PKI (root -> intermediate -> RSA and EC TSAs)."""
    with running_openssl_tsa(tmp_path_factory.mktemp("openssl-tsa")) as tsa:
        yield tsa


@pytest.fixture(scope="session")
def dev_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTsa]:
    """The built-in dev TSA, its PKI in a temporary directory, serving on a free port (``dev_tsa.url``)."""
    tsa = DevTsa.load_or_create(tmp_path_factory.mktemp("devtsa"))
    tsa.serve()
    yield tsa
    tsa.shutdown()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS (``weed mini``) per session: ``.endpoint``, ``.access_key``, ``.secret_key``, ``.client()``.

    Share it: use fresh buckets (``make_bucket``) or key prefixes per test rather than new servers.
    """
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session")
def make_bucket(seaweedfs: SeaweedFS) -> Callable[[bool], str]:
    """``make_bucket(locked)`` creates a new, uniquely named bucket (with Object Lock and versioning when
    ``locked``) and returns its name. The first write to a new bucket costs ~0.2 s (SeaweedFS grows a
    volume for it), so reuse buckets across tests where you can."""
    from promptstamp.storage.s3 import create_bucket  # here, so runs without S3 tests never load boto3

    counter = itertools.count(1)

    def make(locked: bool) -> str:
        name = f"{'locked' if locked else 'plain'}-{next(counter)}-{secrets.token_hex(3)}"
        create_bucket(
            name,
            endpoint=seaweedfs.endpoint,
            region=seaweedfs.region,
            access_key=seaweedfs.access_key,
            secret_key=seaweedfs.secret_key,
            object_lock=locked,
        )
        return name

    return make
