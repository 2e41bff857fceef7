"""House rules a test holds (STYLE.md, habits 2, 3, 16 and 17), read from the package's own imports."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import promptstamp

PACKAGE = Path(promptstamp.__file__).resolve().parent

#: The I/O-free core: what verifies evidence must run without the service's web, cloud or HTTP stack.
CORE = ("promptstamp.model", "promptstamp.canonical", "promptstamp.signing", "promptstamp.merkle",
        "promptstamp.tokens", "promptstamp.token_parse", "promptstamp.token_paths", "promptstamp.verify")
FORBIDDEN_IN_CORE = ("flask", "werkzeug", "boto3", "botocore", "requests")

#: Who may import each third-party library: one module, or the modules of one wing. A library not
#: named here may have exactly one importing module.
WINGS: dict[str, tuple[str, ...]] = {
    # the web package is the only place that knows Flask and what comes with it
    "flask": ("promptstamp.web",), "werkzeug": ("promptstamp.web",), "markupsafe": ("promptstamp.web",),
    # the command line: the CLI and its evidence commands
    "click": ("promptstamp.cli", "promptstamp.cli_evidence"),
    # X.509 and CMS: token checks with their certificate helpers, the built-in TSA that makes tokens,
    # OCSP for TSA certificates, RFC 4998 evidence records, and the PDF exhibit's certificate
    "asn1crypto": ("promptstamp.tokens", "promptstamp.token_parse", "promptstamp.token_paths", "promptstamp.certs",
                   "promptstamp.devtsa", "promptstamp.tsa_tokens", "promptstamp.pdfsign", "promptstamp.ocsp",
                   "promptstamp.ers"),
    "cryptography": ("promptstamp.tokens", "promptstamp.certs", "promptstamp.devtsa", "promptstamp.tsa_tokens",
                     "promptstamp.pdfsign", "promptstamp.ocsp"),
    # pyHanko: RFC 3161 token checks, and signing and checking the PDF exhibit (PAdES)
    "pyhanko": ("promptstamp.tokens", "promptstamp.pdfsign"),
    "pyhanko_certvalidator": ("promptstamp.tokens", "promptstamp.token_paths", "promptstamp.pdfsign"),
    # S3: the store, and its signed PUTs sent without the client's per-call machinery
    "boto3": ("promptstamp.storage.s3",), "botocore": ("promptstamp.storage.s3", "promptstamp.storage.s3_put"),
    "urllib3": ("promptstamp.storage.s3_put",),
}

#: What only storage and the ledger's read side know: object keys and object formats.
LAYOUT_INTERNALS = ("promptstamp.layout", "promptstamp.pack", "promptstamp.storage", "promptstamp.indexer")


def module_name(path: Path) -> str:
    parts = ("promptstamp", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(module: str) -> Iterator[str]:
    """Every module name ``module`` imports (absolute), anywhere in its body."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield target
            for alias in node.names:  # "from . import layout" imports the module promptstamp.layout
                if f"{target}.{alias.name}" in modules():
                    yield f"{target}.{alias.name}"


def third_party(name: str) -> str | None:
    top = name.split(".")[0]
    if top in ("promptstamp", "__future__") or top in sys.stdlib_module_names:
        return None
    return top


def reachable(start: str) -> set[str]:
    """The package's modules that importing ``start`` loads, ``start`` included."""
    seen: set[str] = set()
    todo = [m for m in modules() if m == start or m.startswith(start + ".")]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in imports(module):
            parts = name.split(".")
            # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c
            todo.extend(".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in modules())
    return seen


def in_wing(module: str, wing: tuple[str, ...]) -> bool:
    return any(module == w or module.startswith(w + ".") for w in wing)


def test_the_core_reaches_no_web_cloud_or_http_library() -> None:
    found = []
    for core in CORE:
        for module in sorted(reachable(core)):
            for name in imports(module):
                if third_party(name) in FORBIDDEN_IN_CORE:
                    found.append(f"{core} loads {module}, which imports {name}")
    assert not found, "\n".join(found)


def test_each_third_party_library_has_one_importer() -> None:
    importers: dict[str, set[str]] = {}
    for module in modules():
        for name in imports(module):
            library = third_party(name)
            if library is not None:
                importers.setdefault(library, set()).add(module)
    problems = []
    for library, found in sorted(importers.items()):
        wing = WINGS.get(library)
        if wing is None:
            if len(found) > 1:
                problems.append(f"{library} is imported by {sorted(found)}; give it one importer")
        elif outside := sorted(m for m in found if not in_wing(m, wing)):
            problems.append(f"{library} belongs to {wing}, but {outside} import it too")
    assert not problems, "\n".join(problems)


def test_web_reaches_storage_only_through_the_ledger() -> None:
    found = [f"{module} imports {name}" for module in modules() if module.startswith("promptstamp.web")
             for name in imports(module) if any(name == i or name.startswith(i + ".") for i in LAYOUT_INTERNALS)]
    assert not found, "\n".join(found)


#: The ledger's write side: pages read through the ledger or its read side (``ledger.index``, the module the
#: API reads through too), never through the sealer, the indexer, the batcher or the renewals.
LEDGER_INTERNALS = ("sealer", "indexer", "batcher", "renewals")


def ledger_internals_used(module: str) -> list[str]:
    tree = ast.parse(modules()[module].read_text())
    return [f"{module} line {node.lineno}: ledger.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in LEDGER_INTERNALS
            and isinstance(node.value, (ast.Attribute, ast.Name))
            and (node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id) == "ledger"]


def test_web_reads_through_the_ledger_not_its_parts() -> None:
    found = [use for module in modules() if module.startswith("promptstamp.web")
             for use in ledger_internals_used(module)]
    assert not found, "\n".join(found)
    assert ledger_internals_used("promptstamp.services"), "the check sees ledger.sealer where it is used"


def test_the_rules_see_the_imports_they_are_about() -> None:
    """The checks above would pass on an empty graph; these known facts prove the graph is read."""
    assert "flask" in {third_party(n) for n in imports("promptstamp.web")}
    assert "boto3" in {third_party(n) for n in imports("promptstamp.storage.s3")}
    assert "promptstamp.layout" in set(imports("promptstamp.ledger"))
    assert "promptstamp.canonical" in reachable("promptstamp.verify")


def test_the_package_names_its_public_surface_and_loads_it_lazily() -> None:
    assert set(promptstamp.__all__) == {"__version__", *promptstamp._PUBLIC}  # noqa: SLF001
    for name in promptstamp._PUBLIC:  # noqa: SLF001
        assert getattr(promptstamp, name).__name__ == name
