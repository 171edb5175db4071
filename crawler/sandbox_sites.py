"""The synthetic sites of the sandbox web: invented names, invented texts, drawn images.

Nothing here is real material. Harmful-category pages are short invented advertisements of the kind
hotlines receive, written to exercise the pipeline, never instructions.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Page:
    title: str
    body: str
    images: tuple[str, ...] = ()
    status: int = 200
    redirect: str | None = None


@dataclass(frozen=True)
class Site:
    host: str
    pages: dict[str, Page] = field(default_factory=dict)


# The image that the demo hash list names as known material (a drawn emblem, nothing real).
KNOWN_IMAGE = "emblem-2.jpg"
# Edits a near copy of an image may carry: `name~half.jpg` is `name.jpg` at half size, and so on.
NEAR_COPIES = ("half", "border", "mirror")


def _site(host: str, **pages: Page) -> Site:
    return Site(
        host, {("/" if name == "index" else f"/{name}"): page for name, page in pages.items()}
    )


SITES: tuple[Site, ...] = (
    _site(
        "zhasyl-bazar.kz",
        index=Page(
            "Жасыл Базар — фермерские продукты",
            "<h1>Жасыл Базар</h1><p>Свежие овощи и мёд от фермеров Алматинской области. "
            "Доставка по городу в день заказа.</p><p>Балы, алма, қияр — бәрі табиғи.</p>",
            ("apples.jpg", "honey.png"),
        ),
    ),
    _site(
        "dala-news.kz",
        index=Page(
            "Dala News: городские новости",
            "<h1>Новости</h1><article><h2>Полиция закрыла сеть закладок в Караганде</h2>"
            "<p>Операция длилась три месяца; задержаны пятеро. Антинаркотическая горячая "
            "линия напоминает: помощь анонимна.</p></article>",
            ("city.jpg",),
        ),
    ),
    _site(
        "tez-kladka.kz",
        index=Page(
            "ТЕЗ — магазин 24/7",
            "<h1>Кристаллы и шишки 24/7</h1><p>Закладки по всем районам Алматы и Астаны. "
            "Мефедрон, гашиш, экстази — лучшие цены, оплата криптой, бот в телеграме. "
            "Оператор онлайн круглосуточно.</p>",
            ("crystals.png",),
        ),
    ),
    _site(
        "ortaq-forum.kz",
        index=Page(
            "Ortaq forum — тема 1488",
            "<h1>Присоединяйся к движению</h1><p>Вступай в наши ряды, братья ждут. "
            "Подписывайся на закрытый канал, эмблема ниже.</p>",
            (KNOWN_IMAGE, "banner.png"),
        ),
    ),
    _site(
        "halyk-bonus-kz.com",
        index=Page(
            "Бонус 50 000 ₸ — подтвердите карту",
            "<h1>Вам начислен бонус!</h1><p>Введите номер карты, срок и CVV, чтобы получить "
            "50 000 тенге. Акция действует 24 часа.</p><form><input name=card></form>",
            ("bonus.png",),
        ),
    ),
    _site(
        "lucky-jackpot-casino.com",
        index=Page(
            "Lucky Jackpot — online casino",
            "<h1>Казино онлайн без лицензии</h1><p>Слоты, ставки, бонус 200% на первый "
            "депозит. Вывод на карты Kaspi за 5 минут.</p>",
            ("slots.png",),
        ),
    ),
    _site(
        "kitap-alemi.kz",
        index=Page(
            "Кітап әлемі — кітап дүкені",
            "<h1>Кітап әлемі</h1><p>Қазақ әдебиетінің классикасы мен жаңа кітаптар. "
            "Абай, Мұхтар Әуезов, балаларға арналған кітаптар.</p>",
            ("books.png",),
        ),
        **{"old-page": Page("Moved", "", redirect="/")},
    ),
    _site(
        "qysqa.kz",
        go=Page("", "", redirect="http://tez-kladka.kz/"),
        index=Page("Qysqa — short links", "<p>A link shortener.</p>"),
    ),
    _site(
        "zhabyq-sait.kz",
        index=Page("404", "<h1>Страница удалена</h1>", status=404),
    ),
    _site(  # a "death group" invitation, reported with no category: only the text model sees it
        "aq-tolqyn.kz",
        index=Page(
            "Ақ толқын — жабық топ",
            "<h1>Игра начинается в 4:20</h1><p>Тебе никто не нужен, и ты никому не нужен. "
            "Куратор даст задания на 50 дней, последний день — финал. Никому не говори, "
            "родителям ни слова. Пиши «хочу в игру» и жди ответа.</p>",
            ("waves.png",),
        ),
    ),
    _site(  # the offer is drawn in a picture; the page text says nothing: OCR reads it
        "arzan-bazar.kz",
        index=Page(
            "Arzan — прайс",
            "<h1>Прайс смотри на картинке</h1><p>Пиши оператору.</p>",
            ("poster-price.png",),
        ),
    ),
    _site(  # the known emblem again, but re-encoded, halved, bordered, mirrored: near copies
        "ortaq-zhana.kz",
        index=Page(
            "Ortaq — жаңа сайт",
            "<h1>Жаңа мекенжай</h1><p>Біз көштік. Эмблема өзгерген жоқ.</p>",
            tuple(f"{KNOWN_IMAGE[:-4]}~{variant}.jpg" for variant in NEAR_COPIES),
        ),
    ),
)

DATA_DIR = Path(__file__).with_name("sandbox_sites")


def _data_sites() -> tuple[Site, ...]:
    """More sites kept as data: `{"sites": [{"host", "pages": {path: {"title", "body", …}}}]}`."""
    sites = []
    for path in sorted(DATA_DIR.glob("*.json")):
        for site in json.loads(path.read_text(encoding="utf-8"))["sites"]:
            pages = {
                where: Page(**(fields | {"images": tuple(fields.get("images", ()))}))
                for where, fields in site["pages"].items()
            }
            sites.append(Site(site["host"], pages))
    return tuple(sites)


SITES = (*SITES, *_data_sites())
HOSTS: tuple[str, ...] = (*(site.host for site in SITES), "slow.kz")

SAMPLE_REPORTS: tuple[tuple[str, str | None], ...] = (
    ("http://tez-kladka.kz/", "drugs"),
    ("http://TEZ-KLADKA.kz:80/#order", "drugs"),
    ("http://ortaq-forum.kz/", "extremism"),
    ("http://halyk-bonus-kz.com/", "fraud"),
    ("http://lucky-jackpot-casino.com/", "gambling"),
    ("http://zhasyl-bazar.kz/", None),
    ("http://dala-news.kz/", "drugs"),
    ("http://kitap-alemi.kz/old-page", None),
    ("http://qysqa.kz/go", "drugs"),
    ("http://zhabyq-sait.kz/", "pornography"),
    ("http://aq-tolqyn.kz/", None),
    ("http://arzan-bazar.kz/", None),
)


def find_page(host: str, path: str) -> Page | None:
    for site in SITES:
        if site.host == host:
            return site.pages.get(path)
    return None


def render(page: Page) -> bytes:
    images = "".join(
        f'<figure><img src="/img/{name}" width="320" alt="{name}"></figure>' for name in page.images
    )
    html = (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        f"<title>{page.title}</title></head><body>{page.body}{images}"
        "<footer>Synthetic sandbox site of Kaznet Hotline Triage.</footer></body></html>"
    )
    return html.encode("utf-8")


# Invented offers drawn as pictures (`poster-<key>.png`), for reading text in images.
POSTERS: dict[str, tuple[str, ...]] = {
    "price": (
        "ЗАКЛАДКИ АЛМАТЫ 24/7",
        "мефедрон, шишки, соль, гашиш",
        "оператор в телеграм, оплата криптой",
    ),
}
POSTER_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _poster(lines: tuple[str, ...]) -> Image.Image:
    image = Image.new("RGB", (900, 90 + 80 * len(lines)), (250, 235, 120))
    draw = ImageDraw.Draw(image)
    font = (
        ImageFont.truetype(str(POSTER_FONT), 44)
        if POSTER_FONT.is_file()
        else ImageFont.load_default(size=44)
    )
    for number, line in enumerate(lines):
        draw.text((30, 40 + 80 * number), line, fill=(20, 20, 20), font=font)
    return image


@lru_cache(maxsize=64)
def image_bytes(name: str) -> bytes:
    """A drawn image, the same bytes for the same name on this Pillow version."""
    if name.startswith("poster-") and name[7:-4] in POSTERS:
        out = io.BytesIO()
        _poster(POSTERS[name[7:-4]]).save(out, "PNG", optimize=False)
        return out.getvalue()
    stem, _, variant = name.rpartition("~")
    if stem and variant.removesuffix(".jpg") in NEAR_COPIES:
        image = Image.open(io.BytesIO(image_bytes(stem + ".jpg"))).convert("RGB")
        edited = _near_copy(image, variant.removesuffix(".jpg"))
        out = io.BytesIO()
        edited.save(out, "JPEG", quality=70)
        return out.getvalue()
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    width, height = 640, 420
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    for y in range(height):
        mix = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(rng.randrange(4, 12)):
        x0, y0 = rng.randrange(width - 60), rng.randrange(height - 60)
        x1, y1 = x0 + rng.randrange(30, 260), y0 + rng.randrange(30, 200)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    out = io.BytesIO()
    if name.endswith(".png"):
        image.save(out, "PNG", optimize=False)
    else:
        image.save(out, "JPEG", quality=88)
    return out.getvalue()


def _near_copy(image: Image.Image, variant: str) -> Image.Image:
    if variant == "half":
        return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    if variant == "border":
        pad = image.width // 12
        framed = Image.new("RGB", (image.width + 2 * pad, image.height + 2 * pad), (255, 255, 255))
        framed.paste(image, (pad, pad))
        return framed
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
