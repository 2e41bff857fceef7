"""Shared fixtures: real TSAs (OpenSSL's, the built-in dev TSA) started on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openssl_tsa import OpenSslTsa, running_openssl_tsa
from promptstamp.devtsa import DevTsa


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
