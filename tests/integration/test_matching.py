"""Known material on both engines: near copies found through the index, the index kept current
across processes, analysts' decisions feeding the hotline's own list and the allow-list."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from classifiers.hashing import hash_media
from classifiers.hashlist_formats import read_csv
from crawler import sandbox_sites
from crawler.evidence import EvidenceStore
from tests.evidence_cases import case_with, decided_illegal, staff
from triage_api import config, db
from triage_api.decisions import ALLOW_LIST, DecisionError, record_decision
from triage_api.hashlists import get_or_create_list, import_rows
from triage_api.known_index import KnownIndex
from triage_api.matching import find_hits
from triage_api.media_check import check_media, lookups
from triage_api.models import Capture, Case, KnownHash, Match, Media

pytestmark = pytest.mark.integration

KNOWN = sandbox_sites.image_bytes(sandbox_sites.KNOWN_IMAGE)


def near_copy(variant: str) -> bytes:
    return sandbox_sites.image_bytes(f"{sandbox_sites.KNOWN_IMAGE[:-4]}~{variant}.jpg")


def partner_list(perceptual_only: bool = True) -> None:
    """A partner's list naming the known emblem by its perceptual hashes (and maybe its md5)."""
    known = hash_media(KNOWN)
    rows = f"hash_type,hash\npdq,{known.pdq}\nphash,{known.phash}\n"
    if not perceptual_only:
        rows += f"md5,{known.md5}\n"
    with db.session_scope() as session:
        target = get_or_create_list(session, name="partner", category="extremism")
        result = import_rows(session, read_csv(StringIO(rows)), hash_list=target)
        assert not result.errors


def file_lookups(
    data: bytes, dihedral: bool = True
) -> list[tuple[str, str, int | None, str | None]]:
    return hash_media(data, dihedral=dihedral).lookups()


def hits_for(data: bytes, **options: int) -> list:  # type: ignore[type-arg]
    with db.session_scope() as session:
        return find_hits(session, {"x": file_lookups(data)}, config.get_settings(), **options)


@pytest.mark.parametrize("variant", sandbox_sites.NEAR_COPIES)
def test_near_copies_of_a_listed_image_are_found(database: str, variant: str) -> None:
    partner_list()
    hits = hits_for(near_copy(variant))
    assert hits, f"the {variant} copy was not found"
    assert {h.list_name for h in hits} == {"partner"}
    assert all(h.category == "extremism" and h.known_hash_id > 0 for h in hits)
    assert all(h.distance <= config.get_settings().max_distance(h.hash_type) for h in hits)


def test_unrelated_image_and_a_zero_threshold_find_nothing(database: str) -> None:
    partner_list()
    assert hits_for(sandbox_sites.image_bytes("apples.jpg")) == []
    assert hits_for(near_copy("mirror"), max_distance=0) == []


def test_exact_digest_matches_even_an_undecodable_file(database: str) -> None:
    garbage = b"\x00not an image" * 50
    hashes = hash_media(garbage)
    with db.session_scope() as session:
        target = get_or_create_list(session, name="partner", category="extremism")
        import_rows(
            session, read_csv(StringIO(f"hash_type,hash\nsha1,{hashes.sha1}\n")), hash_list=target
        )
    hits = hits_for(garbage)
    assert [(h.hash_type, h.distance) for h in hits] == [("sha1", 0)]


def test_index_is_saved_for_other_processes_and_catches_up(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "index"
    partner_list()
    with db.session_scope() as session:
        writer = KnownIndex(directory, save_after=1)
        writer.refresh(session)  # over the save threshold: saved for the others
    assert (directory / "pdq" / "meta.json").exists()
    reader = KnownIndex(directory)  # another worker: loads the saved index
    assert len(reader.types["pdq"].index) == 1
    known = hash_media(KNOWN)
    with db.session_scope() as session:
        later = get_or_create_list(session, name="later", category="drugs")
        row = KnownHash(list_id=later.id, hash_type="pdq", value="0" * 63 + "1")
        session.add(row)
    with db.session_scope() as session:
        reader.refresh(session)
    assert len(reader.types["pdq"].index) == 2
    assert reader.search("pdq", known.pdq or "", 0)
    assert reader.search("pdq", "0" * 64, 1) == [(row.id, 1)]


def test_index_notices_a_row_committed_late_below_its_watermark(
    database: str, tmp_path: Path
) -> None:
    partner_list()
    with db.session_scope() as session:
        index = KnownIndex(tmp_path / "index")
        index.refresh(session)
        top = session.scalar(sa.select(sa.func.max(KnownHash.id)))
        list_id = session.scalar(sa.select(KnownHash.list_id))
    with db.session_scope() as session:  # an id taken earlier by a slower transaction
        session.add(KnownHash(id=top + 5, list_id=list_id, hash_type="pdq", value="f" * 64))
    with db.session_scope() as session:
        index.refresh(session)
        session.add(KnownHash(id=top + 2, list_id=list_id, hash_type="pdq", value="e" + "f" * 63))
    with db.session_scope() as session:
        index.refresh(session)
    assert index.search("pdq", "f" * 64, 1) == [(top + 5, 0), (top + 2, 1)]


def test_check_media_records_near_matches_with_their_view(database: str) -> None:
    partner_list()
    case_id = case_with(near_copy("mirror"), "http://ortaq-zhana.kz/")
    with db.session_scope() as session:
        matches = session.execute(sa.select(Match.hash_type, Match.distance, Match.via)).all()
        stored = session.scalar(sa.select(Media))
        assert stored is not None and stored.pdq and stored.extra_hashes
        assert any(e["label"] == "flip-h" for e in stored.extra_hashes)
        assert {"sha256", "phash", "pdq"} <= {kind for kind, *_ in lookups(stored)}
    assert [(m.hash_type, m.via) for m in matches] == [("pdq", "flip-h")]
    assert 0 < matches[0].distance <= 31
    # Checking again records nothing twice.
    with db.session_scope() as session:
        capture = session.scalar(sa.select(Capture).where(Capture.case_id == case_id))
        assert capture is not None
        media = [link.media for link in capture.media]
        check_media(
            session,
            case_id=case_id,
            capture_id=capture.id,
            media=media,
            store=EvidenceStore(config.get_settings().evidence_dir),
            settings=config.get_settings(),
        )
        assert session.scalar(sa.select(sa.func.count()).select_from(Match)) == 1


def test_confirmed_illegal_media_join_the_hotline_list_and_match_copies(database: str) -> None:
    picture = sandbox_sites.image_bytes("emblem-10.jpg")  # on no list yet
    case_id = case_with(picture, "http://first.kz/")
    assert hits_for(picture) == []
    decided_illegal(case_id, "extremism", actor="aigerim")
    bordered = sandbox_sites.image_bytes("emblem-10~border.jpg")
    names = {h.list_name for h in hits_for(bordered)}
    assert names == {"hotline-confirmed-extremism"}
    with db.session_scope() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == "decided" and case.open_key is None
        sources = set(session.scalars(sa.select(KnownHash.media_sha256)))
        assert len(sources) == 1


def test_not_illegal_puts_media_on_the_allow_list_which_suppresses_near_matches(
    database: str,
) -> None:
    partner_list(perceptual_only=False)
    half = near_copy("half")
    case_id = case_with(half, "http://false-alarm.kz/")
    assert hits_for(half)  # the partner's hashes match the halved copy
    with db.session_scope() as session:
        record_decision(
            session, case_id=case_id, user_id=staff(), actor="aigerim", outcome="not_illegal"
        )
        kinds = session.scalars(
            sa.select(KnownHash.hash_type)
            .join(KnownHash.hash_list)
            .where(sa.text(f"hash_lists.name = '{ALLOW_LIST}'"))
        ).all()
        assert "sha256" in kinds and "phash" in kinds
    assert hits_for(half) == []  # the same file: allowed
    exact = hits_for(KNOWN)  # the listed original: its md5 is exact, kept
    assert [h.hash_type for h in exact if h.distance == 0 and h.hash_type == "md5"] == ["md5"]


def test_bad_decisions_are_refused(database: str) -> None:
    case_id = case_with(sandbox_sites.image_bytes("apples.jpg"), "http://bad.kz/")
    analyst = staff()
    with db.session_scope() as session:
        for outcome, category, message in (
            ("maybe", None, "outcome must be one of"),
            ("illegal", None, "needs the category"),
            ("illegal", "nonsense", "nonsense"),
        ):
            with pytest.raises(DecisionError, match=message):
                record_decision(
                    session,
                    case_id=case_id,
                    user_id=analyst,
                    actor="a",
                    outcome=outcome,
                    category=category,
                )
        with pytest.raises(DecisionError, match="does not exist"):
            record_decision(session, case_id=999_999, user_id=analyst, actor="a", outcome="forward")
