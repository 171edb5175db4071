"""Cases with captured pictures, hashed and checked against the lists as the pipeline does."""

from __future__ import annotations

from classifiers.hashing import hash_media
from crawler.evidence import EvidenceStore
from triage_api import config, db
from triage_api.media_check import check_media
from triage_api.models import Capture, CaptureMedia, Case, Media, User


def case_with(pictures: bytes | list[bytes], url: str) -> int:
    """A case whose one capture holds the pictures; returns the case id."""
    pictures = [pictures] if isinstance(pictures, bytes) else pictures
    settings = config.get_settings()
    store = EvidenceStore(settings.evidence_dir)
    with db.session_scope() as session:
        case = Case(canonical_url=url, host=url.split("/")[2], open_key=url, stage="analyse")
        session.add(case)
        session.flush()
        capture = Capture(case_id=case.id, requested_url=url)
        session.add(capture)
        session.flush()
        media = []
        for number, data in enumerate(pictures):
            sha256 = store.put(data)
            if session.get(Media, sha256) is None:
                hashes = hash_media(data)
                session.add(Media(sha256=sha256, md5=hashes.md5, sha1=hashes.sha1, size=len(data)))
                session.flush()
            session.add(
                CaptureMedia(capture_id=capture.id, media_sha256=sha256, url=f"{url}{number}.jpg")
            )
            media.append(session.get(Media, sha256))
        case.last_capture_id = capture.id
        session.flush()
        check_media(
            session,
            case_id=case.id,
            capture_id=capture.id,
            media=media,  # type: ignore[arg-type]
            store=store,
            settings=settings,
        )
        return case.id


def staff(name: str = "aigerim", role: str = "analyst") -> int:
    with db.session_scope() as session:
        user = User(name=name, role=role)
        session.add(user)
        session.flush()
        return user.id


def decided_illegal(case_id: int, category: str = "drugs", actor: str = "user:aigerim") -> None:
    """An analyst's decision that the case is illegal material of `category`."""
    from triage_api.decisions import record_decision

    with db.session_scope() as session:
        record_decision(
            session,
            case_id=case_id,
            user_id=staff(),
            actor=actor,
            outcome="illegal",
            category=category,
        )


def confirmed_kaznet_case() -> int:
    """The sandbox Kaznet's shop, decided illegal (drugs) by an analyst: what sweeps seed from."""
    from crawler import sandbox_kaznet as kaznet

    case_id = case_with(kaznet.image_bytes(kaznet.CASE_IMAGE), kaznet.CASE_URL)
    decided_illegal(case_id)
    return case_id
