"""Analysts' exposure: every picture is sent blurred unless its viewer revealed it just now, each
reveal is counted per analyst and day (distinct pictures), shown to the analyst and supervisors,
and capped by `HOTLINE_REVEAL_DAILY_CAP` (0: no cap).

A reveal grants the original picture to that analyst for `HOTLINE_REVEAL_GRANT_S`; without a
grant the evidence endpoint sends a small, blurred, greyscale copy made on the server, so a
page, a script or a careless click never shows more than the analyst chose to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO

import sqlalchemy as sa
from PIL import ImageFilter, ImageOps
from sqlalchemy.orm import Session

from classifiers.decode import ImageRefused, decode
from triage_api import audit
from triage_api.config import get_settings
from triage_api.models import Reveal, User, utcnow

PREVIEW_SIDE = 480
BLUR_RADIUS = 14


class RevealRefused(RuntimeError):
    """The analyst reached today's cap of revealed pictures."""


@dataclass(frozen=True, slots=True)
class Exposure:
    revealed_today: int
    cap: int  # 0: none

    def as_dict(self) -> dict[str, int]:
        return {"revealed_today": self.revealed_today, "cap": self.cap}


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def exposure(session: Session, user_id: int, *, now: datetime | None = None) -> Exposure:
    """Distinct pictures the analyst revealed since midnight UTC."""
    now = now or utcnow()
    count = session.scalar(
        sa.select(sa.func.count(sa.distinct(Reveal.sha256))).where(
            Reveal.user_id == user_id, Reveal.at >= _day_start(now)
        )
    )
    return Exposure(int(count or 0), get_settings().reveal_daily_cap)


def exposure_by_analyst(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Today's distinct reveals per analyst's name, for supervisors."""
    now = now or utcnow()
    rows = session.execute(
        sa.select(User.name, sa.func.count(sa.distinct(Reveal.sha256)))
        .join(User, User.id == Reveal.user_id)
        .where(Reveal.at >= _day_start(now))
        .group_by(User.name)
        .order_by(User.name)
    ).all()
    return {name: int(count) for name, count in rows}


def reveal(
    session: Session,
    user: User,
    sha256: str,
    *,
    case_id: int | None = None,
    now: datetime | None = None,
) -> Exposure:
    """Record the reveal (and audit it) unless it would pass the cap; a picture already revealed
    today does not count again."""
    now = now or utcnow()
    current = exposure(session, user.id, now=now)
    again = session.scalar(
        sa.select(Reveal.id)
        .where(Reveal.user_id == user.id, Reveal.sha256 == sha256, Reveal.at >= _day_start(now))
        .limit(1)
    )
    if current.cap and not again and current.revealed_today >= current.cap:
        raise RevealRefused(
            f"{user.name} has revealed {current.revealed_today} pictures today, the cap; "
            "a supervisor can take over the case"
        )
    session.add(Reveal(user_id=user.id, sha256=sha256, case_id=case_id, at=now))
    audit.record(
        session,
        actor=f"user:{user.name}",
        action="evidence.revealed",
        subject=sha256,
        case=case_id,
    )
    session.flush()
    return Exposure(current.revealed_today + (0 if again else 1), current.cap)


def granted(session: Session, user_id: int, sha256: str, *, now: datetime | None = None) -> bool:
    """Whether the analyst revealed this picture within the grant window."""
    now = now or utcnow()
    since = now - timedelta(seconds=get_settings().reveal_grant_s)
    found = session.scalar(
        sa.select(Reveal.id)
        .where(Reveal.user_id == user_id, Reveal.sha256 == sha256, Reveal.at >= since)
        .limit(1)
    )
    return found is not None


def blurred_preview(data: bytes) -> bytes:
    """A small greyscale JPEG blurred past recognition; a grey square if the file won't decode."""
    try:
        picture = decode(data, draft_side=PREVIEW_SIDE).first
    except ImageRefused:
        from PIL import Image

        picture = Image.new("RGB", (64, 64), (128, 128, 128))
    picture = picture.copy()
    picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    picture = ImageOps.grayscale(picture).filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    out = BytesIO()
    picture.save(out, "JPEG", quality=70)
    return out.getvalue()
