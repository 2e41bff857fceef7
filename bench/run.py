"""`make bench`: every performance figure PromptStamp promises, each beside its baseline from the same run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest  # noqa: E402
import scale  # noqa: E402
import verify_abuse  # noqa: E402
import verify_bench  # noqa: E402


def main() -> None:
    print("== ingest ==", flush=True)
    ingest.run(lambda line: print(line, flush=True))
    print("\n== scale-out (SeaweedFS cluster) ==", flush=True)
    scale.run(lambda line: print(line, flush=True))
    print("\n== verification ==", flush=True)
    verify_bench.run(lambda line: print(line, flush=True))
    print("\n== abusive verification uploads ==", flush=True)
    verify_abuse.run(lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
