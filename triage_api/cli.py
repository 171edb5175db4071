"""The `hotline` command line. Exit codes: 0 done, 1 failed, 2 unusable input."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _settings() -> Any:
    from triage_api.config import get_settings

    return get_settings()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from triage_api.db import upgrade

    upgrade()
    print(f"database at {_settings().db_url.split('@')[-1]} is up to date")
    return EXIT_OK


def cmd_user_add(args: argparse.Namespace) -> int:
    from triage_api.db import session_scope
    from triage_api.security import UserError, add_user

    try:
        with session_scope() as session:
            user, token = add_user(session, name=args.name, role=args.role)
            from triage_api import audit

            audit.record(session, actor="cli", action="user.added", subject=f"user:{user.name}")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"user '{args.name}' ({args.role}) created; API token (shown once, keep it safe):")
    print(token)
    return EXIT_OK


def cmd_user_password(args: argparse.Namespace) -> int:
    """Set a user's password for the web sign-in, read from stdin (never from the command line,
    where other users of the machine could see it)."""
    import getpass

    import sqlalchemy as sa

    from triage_api import audit
    from triage_api.db import session_scope
    from triage_api.models import User
    from triage_api.security import UserError, set_password

    password = (
        getpass.getpass("new password: ") if sys.stdin.isatty() else sys.stdin.readline()
    ).rstrip("\r\n")
    try:
        with session_scope() as session:
            user = session.scalar(sa.select(User).where(User.name == args.name))
            if user is None:
                raise UserError(f"no user '{args.name}'")
            set_password(session, user, password)
            audit.record(
                session, actor="cli", action="user.password_set", subject=f"user:{user.name}"
            )
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"password set for '{args.name}'")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from triage_api.db import session_scope
    from triage_api.intake import ReportRejected, file_report
    from triage_api.tasks import enqueue

    try:
        with session_scope() as session:
            filed = file_report(
                session, url=args.url, category=args.category, comment=args.comment, channel="cli"
            )
    except ReportRejected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if filed.next_stage:
        enqueue(filed.next_stage, filed.case_id)
    print(filed.tracking_code)
    return EXIT_OK


def cmd_queue(args: argparse.Namespace) -> int:
    from triage_api.db import session_scope
    from triage_api.queue import ranked_cases

    with session_scope() as session:
        items = ranked_cases(session, limit=args.limit)
    if args.json:
        for item in items:
            print(json.dumps(item.as_dict(), ensure_ascii=False))
        return EXIT_OK
    if not items:
        print("the queue is empty")
    for rank, item in enumerate(items, start=1):
        why = "; ".join(f"{r['text']} {float(r['points']):+.1f}" for r in item.reasons)
        print(f"{rank:>3}. [{item.band}] {item.points:8.1f}  case {item.case_id}  {item.url}")
        print(f"       {item.category or '-'} · {item.reports} report(s) · {why}")
        if item.also_seen_at:
            more = f" +{item.also_seen_more} more" if item.also_seen_more else ""
            urls = ", ".join(m["url"] for m in item.also_seen_at)
            print(f"       also seen at {urls}{more}")
    return EXIT_OK


def cmd_hashlist_import(args: argparse.Namespace) -> int:
    import contextlib

    from classifiers.hashlist import HashListFormatError
    from classifiers.hashlist_formats import detect_format, read_rows
    from triage_api.db import session_scope
    from triage_api.hashlists import HashListError, ImportProgress, import_rows, open_list

    progress = ImportProgress(enabled=True if args.progress else None)
    try:
        fmt = args.format
        if fmt == "auto":
            if args.file == "-":
                raise HashListFormatError("reading standard input needs --format csv|jsonl|hma")
            fmt, why = detect_format(args.file)
            print(f"format: {fmt} ({why})", file=sys.stderr)
        stdin = contextlib.nullcontext(sys.stdin.buffer)
        opened: Any = stdin if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
        with opened as stream, session_scope() as session:
            hash_list, created = open_list(
                session,
                name=args.list,
                category=args.category,
                source=args.source,
                trust=args.trust,
                kind=args.kind,
                note=args.note,
                fallback_source=Path(args.file).name if args.file != "-" else "stdin",
            )
            result = import_rows(
                session,
                read_rows(stream, fmt),
                hash_list=hash_list,
                skip_bad=args.skip_bad,
                progress=progress,
            )
            if result.aborted:
                session.rollback()  # not even a new, empty list stays behind
    except (OSError, HashListFormatError, HashListError) as exc:
        progress.done()
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    progress.done()
    for error in result.errors[:50]:
        print(f"{args.file}:{error.line}: {error.message}", file=sys.stderr)
    if result.bad > 50:
        print(f"… and {result.bad - 50} more bad row(s)", file=sys.stderr)
    if result.aborted:
        print(
            f"nothing imported: {result.bad} bad row(s) of {result.read}; "
            "fix them or pass --skip-bad to import the good rows",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if result.read == 0:
        print(f"warning: {args.file} has no hash rows", file=sys.stderr)
    if result.own_sources:
        print(
            f"note: {result.own_sources} row(s) named their own source; a stored hash keeps "
            f"its list's source ('{hash_list.source}')",
            file=sys.stderr,
        )
    new = f" (new {hash_list.kind} list)" if created else ""
    skipped = f", {result.bad} bad row(s) skipped" if result.bad else ""
    print(
        f"list '{result.list_name}'{new}: {result.added} new hash(es), "
        f"{result.present} already present{skipped} ({result.read} row(s) read)"
    )
    return EXIT_OK


def cmd_hashlist_export(args: argparse.Namespace) -> int:
    import contextlib

    from classifiers.hashlist import HashListFormatError
    from classifiers.hashlist_formats import detect_format
    from triage_api.db import session_scope
    from triage_api.hashlists import HashListError, export

    fmt = args.format or "csv"
    if args.format is None and args.out:
        with contextlib.suppress(HashListFormatError):
            fmt, why = detect_format(args.out)
            print(f"format: {fmt} ({why})", file=sys.stderr)
    try:
        with session_scope() as session:
            if not args.out:
                count = export(session, sys.stdout, fmt=fmt, list_name=args.list)
            else:
                out = Path(args.out)
                partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
                try:
                    with partial.open("w", encoding="utf-8", newline="") as handle:
                        count = export(session, handle, fmt=fmt, list_name=args.list)
                    os.replace(partial, out)
                finally:
                    partial.unlink(missing_ok=True)
    except HashListError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot write {args.out or 'standard output'}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{count} hash(es) exported as {fmt}", file=sys.stderr)
    return EXIT_OK


def cmd_hashlist_list(args: argparse.Namespace) -> int:
    from triage_api.db import session_scope
    from triage_api.hashlists import list_summaries

    with session_scope() as session:
        lists = list_summaries(session)
    if args.json:
        for summary in lists:
            print(json.dumps(summary.as_dict(), ensure_ascii=False))
        return EXIT_OK
    if not lists:
        print("no hash lists yet; add one with 'hotline hashlist import'")
        return EXIT_OK
    table = [("NAME", "KIND", "CATEGORY", "TRUST", "HASHES", "CREATED", "SOURCE")] + [
        (s.name, s.kind, s.category, s.trust, str(s.count), f"{s.created_at:%Y-%m-%d}", s.source)
        for s in lists
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]))
    return EXIT_OK


def cmd_capture(args: argparse.Namespace) -> int:
    from crawler.capture_dir import write_capture_dir
    from triage_api.canonical_url import InvalidUrl, canonicalize
    from triage_api.pipeline import take_capture

    try:
        url = canonicalize(args.url).url
    except InvalidUrl as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        print(f"error: {out} exists and is not empty", file=sys.stderr)
        return EXIT_BAD_INPUT
    settings = _settings()
    if args.allow_private:
        for cidr in args.allow_private:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                print(f"error: --allow-private {cidr!r} is not an IP network", file=sys.stderr)
                return EXIT_BAD_INPUT
        settings = settings.model_copy(update={"egress_allow": list(args.allow_private)})
    result = take_capture(url, settings, light=args.light)
    write_capture_dir(result, out)
    print(json.dumps({"out": str(out), "outcome": result.outcome, "error": result.error}))
    return EXIT_OK


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    from crawler.evidence import EvidenceStore
    from triage_api.db import session_scope
    from triage_api.evidence_audit import verify_evidence

    with session_scope() as session:
        checked, problems = verify_evidence(session, EvidenceStore(_settings().evidence_dir))
    for problem in problems:
        print(f"problem: {problem}")
    print(json.dumps({"files_checked": checked, "problems": len(problems)}))
    return EXIT_FAILED if problems else EXIT_OK


def cmd_audit_seal(args: argparse.Namespace) -> int:
    from triage_api import audit_chain
    from triage_api.db import session_scope

    with session_scope() as session:
        sealed = audit_chain.seal(session)
        head_id, head_hash = audit_chain.head(session)
    print(json.dumps({"sealed": sealed, "head_id": head_id, "head_hash": head_hash}))
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from triage_api import audit_chain
    from triage_api.db import session_scope

    with session_scope() as session:
        verdict = audit_chain.verify(session)
    for problem in verdict.problems:
        print(f"problem: {problem}")
    print(
        json.dumps(
            {
                "entries_checked": verdict.checked,
                "not_sealed_yet": verdict.unsealed,
                "head_id": verdict.head_id,
                "head_hash": verdict.head_hash,
                "problems": len(verdict.problems),
            }
        )
    )
    return EXIT_FAILED if verdict.problems else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "triage_api.api.app:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=args.access_log,  # off by default: it would write reporters' addresses to disk
        proxy_headers=False,
    )
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from triage_api.celery_app import app

    argv = [
        "worker",
        "-Q",
        args.queues,
        "-c",
        str(args.concurrency),
        "--loglevel",
        args.loglevel,
        "-n",
        f"hotline-{os.getpid()}@%h",
        "--without-mingle",
        "--without-gossip",
    ]
    if not args.no_beat:
        argv.append("-B")
    app.worker_main(argv)
    return EXIT_OK


def cmd_beat(args: argparse.Namespace) -> int:
    from triage_api.celery_app import app

    app.start(["beat", "--loglevel", args.loglevel])
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    from triage_api.tasks import reconcile

    print(f"{reconcile()} stuck case(s) re-queued")
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from crawler.sandbox import serve_forever

    serve_forever(args.port)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from triage_api.demo import run_demo

    return run_demo(port=args.port, host=args.host, once=args.once)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str, parent: Any = sub
    ) -> argparse.ArgumentParser:
        command = parent.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    demo = add("demo", cmd_demo, "run everything locally with the sandbox web and sample reports")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--once", action="store_true", help="exit once the queue is built")
    serve = add("serve", cmd_serve, "serve the API and the analysts' UI")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--access-log", action="store_true", help="log every request with the client's address"
    )
    worker = add("worker", cmd_worker, "run a Celery worker (capture and analysis queues)")
    worker.add_argument("--queues", "-Q", default="capture,analysis")
    worker.add_argument("--concurrency", "-c", type=int, default=2)
    worker.add_argument("--no-beat", action="store_true", help="do not run the scheduler here")
    worker.add_argument("--loglevel", default="INFO")
    beat = add("beat", cmd_beat, "run the scheduler alone (scale-out)")
    beat.add_argument("--loglevel", default="INFO")
    add("reconcile", cmd_reconcile, "re-queue cases stuck in a pipeline stage, once")

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    add("upgrade", cmd_db_upgrade, "create or migrate the database schema", db)

    user = sub.add_parser("user", help="users").add_subparsers(dest="user_command", required=True)
    user_add = add("add", cmd_user_add, "add a user and print a new API token once", user)
    user_add.add_argument("name")
    user_add.add_argument("--role", required=True, choices=["analyst", "supervisor", "admin"])
    user_password = add(
        "password", cmd_user_password, "set a user's web sign-in password (read from stdin)", user
    )
    user_password.add_argument("name")

    report = add("report", cmd_report, "file a report; prints the tracking code")
    report.add_argument("url")
    report.add_argument("--category")
    report.add_argument("--comment")

    queue = add("queue", cmd_queue, "show the ranked queue")
    queue.add_argument("--limit", type=int, default=20)
    queue.add_argument("--json", action="store_true")

    from triage_api.cli_media import add_commands as add_media_commands

    add_media_commands(sub, add)

    from triage_api.cli_classify import add_commands as add_classify_commands

    add_classify_commands(sub, add)

    from triage_api.cli_forwarding import add_commands as add_forwarding_commands

    add_forwarding_commands(sub, add)
    from triage_api.cli_sweep import add_commands as add_sweep_commands

    add_sweep_commands(sub, add)

    hashlist = sub.add_parser("hashlist", help="hash lists: import, export, list").add_subparsers(
        dest="hashlist_command", required=True
    )
    imp = add("import", cmd_hashlist_import, "import a hash-list file into a list", hashlist)
    imp.epilog = (
        "Formats: csv (header naming hash_type,hash and optionally category,source,note,quality);"
        " jsonl (one JSON object per line with those keys); hma (python-threatexchange/HMA:"
        " '<signal_type> <hash>' lines, 'threatexchange dataset -P' output or its --csv, HMA"
        ' signal maps like {"pdq": "<hex>"}). All or nothing: any bad row and nothing is'
        " imported (exit 2) unless --skip-bad; bad lines are listed with their numbers."
    )
    imp.add_argument("file", help="the file to read, or - for standard input (needs --format)")
    imp.add_argument("--list", required=True, help="the list's name; created when new")
    imp.add_argument("--category", required=True, help="the list's category id (taxonomy)")
    imp.add_argument(
        "--format",
        default="auto",
        choices=["auto", "csv", "jsonl", "hma"],
        help="auto (default) picks by extension: .csv; .jsonl, .ndjson; .txt, .te, .hma",
    )
    imp.add_argument("--source", help="where the list comes from (new list: the file's name)")
    imp.add_argument(
        "--trust", choices=["trusted", "untrusted"], help="for a new list (default trusted)"
    )
    imp.add_argument(
        "--kind",
        choices=["known", "allow"],
        help="known: known material, a match raises the case (new list default); allow:"
        " confirmed not illegal, a match is suppressed",
    )
    imp.add_argument("--note", help="a note on the list")
    imp.add_argument("--skip-bad", action="store_true", help="import good rows, list bad ones")
    imp.add_argument(
        "--progress", action="store_true", help="report progress on stderr even off a terminal"
    )
    exp = add("export", cmd_hashlist_export, "write hash lists (all, or one)", hashlist)
    exp.add_argument("--list", help="only this list")
    exp.add_argument(
        "--format",
        choices=["csv", "jsonl", "hma"],
        help="csv (default) and jsonl carry every field; hma writes '<hash_type> <hash>' lines:"
        " type and hash only, no category, note or quality (default: from --out's extension)",
    )
    exp.add_argument("--out", help="write this file (replaced when complete), not standard output")
    listing = add("list", cmd_hashlist_list, "show hash lists and their sizes", hashlist)
    listing.add_argument("--json", action="store_true", help="one JSON object per list")

    capture = add("capture", cmd_capture, "capture one URL into a directory")
    capture.add_argument("url")
    capture.add_argument("--out", required=True)
    capture.add_argument(
        "--allow-private",
        action="append",
        metavar="CIDR",
        help="let this capture reach a non-public network (repeatable); refused by default",
    )
    capture.add_argument(
        "--light", action="store_true", help="plain HTTP fetch, no browser (no screenshot)"
    )

    evidence = sub.add_parser("evidence", help="the evidence store").add_subparsers(
        dest="evidence_command", required=True
    )
    add("verify", cmd_evidence_verify, "re-hash every stored file; find missing ones", evidence)

    audit = sub.add_parser("audit", help="the audit log's hash chain").add_subparsers(
        dest="audit_command", required=True
    )
    add("seal", cmd_audit_seal, "chain the audit entries old enough to be complete", audit)
    add("verify", cmd_audit_verify, "recompute the chain; print its head; exit 1 on a break", audit)

    sandbox = add("sandbox", cmd_sandbox, "serve the synthetic sandbox web on 127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
