#!/usr/bin/env python3
"""Fail when the committed generated Python code differs from what generate.py produces.

Usage: python3 sdk/python/check_generated.py

Regenerates every target of generate.py into a temporary directory and
compares it file by file (ignoring __pycache__) with the committed tree.
Exit 0 and "generated Python code is up to date" when they match; exit 1 with
the list of stale, missing and unexpected files otherwise.
"""

from __future__ import annotations

import filecmp
import os
import sys
import tempfile
from typing import List, Set

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import generate  # noqa: E402


def _files(root: str) -> Set[str]:
    found: Set[str] = set()
    if not os.path.isdir(root):
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if name.endswith(".pyc"):
                continue
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def main() -> int:
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        print(
            "check_generated: grpcio-tools is not installed: "
            "pip install -r sdk/python/requirements.txt",
            file=sys.stderr,
        )
        return 1
    problems: List[str] = []
    with tempfile.TemporaryDirectory(prefix="hst-gen-check-") as tmp:
        generate.generate(tmp)
        for target in generate.TARGETS:
            fresh_root = os.path.join(tmp, target.out_dir)
            committed_root = os.path.join(generate.REPO_ROOT, target.out_dir)
            fresh = _files(fresh_root)
            committed = _files(committed_root)
            for rel in sorted(fresh | committed):
                shown = os.path.join(target.out_dir, rel)
                if rel not in committed:
                    problems.append(f"missing:    {shown}")
                elif rel not in fresh:
                    problems.append(f"unexpected: {shown}")
                elif not filecmp.cmp(
                    os.path.join(fresh_root, rel), os.path.join(committed_root, rel), shallow=False
                ):
                    problems.append(f"stale:      {shown}")
    if problems:
        print("generated Python code is out of date:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print(
            "run `python3 sdk/python/generate.py` (with the pinned grpcio-tools from "
            "sdk/python/requirements.txt) and commit the result",
            file=sys.stderr,
        )
        return 1
    print("generated Python code is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
