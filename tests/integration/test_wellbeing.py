"""Analysts' exposure on both engines: distinct pictures revealed per day, the daily cap, the
grant window for originals, the supervisors' view, and the server-side blurred copy."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta

import pytest
from PIL import Image, ImageDraw

from triage_api import config, wellbeing
from triage_api.db import session_factory
from triage_api.models import User, utcnow
from triage_api.security import add_user

pytestmark = pytest.mark.integration


def _analyst(name: str) -> User:
    with session_factory()() as session:
        user, _ = add_user(session, name=name, role="analyst")
        session.commit()
        session.refresh(user)
        session.expunge(user)
        return user


def test_reveals_are_counted_capped_and_granted(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_REVEAL_DAILY_CAP", "2")
    monkeypatch.setenv("HOTLINE_REVEAL_GRANT_S", "600")
    config.get_settings.cache_clear()
    aigerim, daniyar = _analyst("aigerim"), _analyst("daniyar")
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    with session_factory()() as session:
        assert wellbeing.reveal(session, aigerim, a).revealed_today == 1
        assert wellbeing.reveal(session, aigerim, a).revealed_today == 1  # same picture again
        assert wellbeing.reveal(session, aigerim, b).as_dict() == {"revealed_today": 2, "cap": 2}
        with pytest.raises(wellbeing.RevealRefused, match="cap"):
            wellbeing.reveal(session, aigerim, c)
        assert wellbeing.reveal(session, aigerim, a).revealed_today == 2  # seen today: allowed
        assert wellbeing.reveal(session, daniyar, c).revealed_today == 1  # caps are per analyst
        session.commit()
        assert wellbeing.granted(session, aigerim.id, a)
        assert not wellbeing.granted(session, aigerim.id, c)
        assert not wellbeing.granted(session, daniyar.id, a)
        later = utcnow() + timedelta(seconds=601)
        assert not wellbeing.granted(session, aigerim.id, a, now=later)
        tomorrow = utcnow() + timedelta(days=1)
        assert wellbeing.exposure(session, aigerim.id, now=tomorrow).revealed_today == 0
        assert wellbeing.exposure_by_analyst(session) == {"aigerim": 2, "daniyar": 1}
    config.get_settings.cache_clear()


def test_the_blurred_copy_hides_the_picture() -> None:
    image = Image.new("RGB", (1200, 900), (250, 250, 250))
    ImageDraw.Draw(image).rectangle((100, 100, 400, 400), fill=(200, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    preview = Image.open(io.BytesIO(wellbeing.blurred_preview(out.getvalue())))
    assert preview.format == "JPEG" and preview.mode == "L"
    assert max(preview.size) <= wellbeing.PREVIEW_SIDE
    row = [int(preview.getpixel((x, 80))) for x in range(0, 240)]  # across the square's edge
    assert max(row) - min(row) > 60  # still a picture of something (not a flat grey) …
    assert max(abs(p - q) for p, q in itertools.pairwise(row)) < 20  # … and no sharp edge
    junk = Image.open(io.BytesIO(wellbeing.blurred_preview(b"not a picture")))
    assert junk.size == (64, 64)
