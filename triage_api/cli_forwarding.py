"""`hotline case package` and `hotline case forward`: a confirmed case for law enforcement, and
partner-hotline records as JSON lines. Exit 2 when the case or the date cannot be used."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
ACTOR = "cli"


def cmd_case_package(args: argparse.Namespace) -> int:
    """Write the ZIP next to its final name first, so a failed run never leaves half a package."""
    from crawler.evidence import EvidenceStore
    from triage_api.config import get_settings
    from triage_api.db import session_scope
    from triage_api.forwarding import ForwardingError, evidence_package

    out = Path(args.out)
    if out.is_dir():
        print(f"error: --out {out} is a directory; name the ZIP file to write", file=sys.stderr)
        return EXIT_BAD_INPUT
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        with session_scope() as session:
            package = evidence_package(
                session, args.case_id, EvidenceStore(get_settings().evidence_dir), actor=ACTOR
            )
            partial.write_bytes(package.data)  # a failed write rolls the audit entry back
        os.replace(partial, out)
    except ForwardingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        partial.unlink(missing_ok=True)
    for item in package.missing:
        print(f"missing: {item['file']}: {item['error']}", file=sys.stderr)
    print(package.sha256)
    return EXIT_OK


def cmd_case_forward(args: argparse.Namespace) -> int:
    """Print after the audit entries are committed: nothing leaves unaudited."""
    from triage_api.db import session_scope
    from triage_api.forwarding import ForwardingError, parse_since, partner_export

    try:
        since = parse_since(args.since) if args.since else None
        with session_scope() as session:
            records = partner_export(session, actor=ACTOR, case_ids=args.case, since=since)
    except ForwardingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for record in records:
        print(json.dumps(record, ensure_ascii=False, sort_keys=True))
    print(f"{len(records)} case(s) exported", file=sys.stderr)
    return EXIT_OK


def add_commands(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the `case` commands on the `hotline` parser."""
    case = sub.add_parser("case", help="forwarding decided cases").add_subparsers(
        dest="case_command", required=True
    )
    package = add(
        "package",
        cmd_case_package,
        "write the evidence package of a case decided illegal (for law enforcement); prints"
        " its sha256",
        case,
    )
    package.add_argument("case_id", type=int)
    package.add_argument("--out", required=True, help="the ZIP file to write (replaced)")
    forward = add(
        "forward",
        cmd_case_forward,
        "print partner-hotline records (JSON lines) of cases decided 'forward' or illegal and"
        " hosted abroad",
        case,
    )
    forward.add_argument(
        "--case", type=int, action="append", metavar="N", help="only this case (repeatable)"
    )
    forward.add_argument("--since", metavar="DATE", help="decided at or after (YYYY-MM-DD or ISO)")
