"""Kaznet in miniature: a synthetic web of 25 invented hosts for proactive sweeps to crawl.

One confirmed case (a drug-shop advert with a drawn emblem) and its planted mirrors hide among
everyday shops, news, forums, blogs, a city portal and schools; foreign hosts, robots.txt, dead
links, a redirect chain, a query-string loop and a slow host keep the crawl honest. Served on
127.0.0.1 and told apart by the Host header (or a proxy-style absolute URL in the request line).
Everything is invented; the advert texts are short ads, never instructions.
"""

from __future__ import annotations

import contextlib
import html
import io
import itertools
import random
import threading
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

import idna
from PIL import Image

from crawler import sandbox_apps, sandbox_sites

KAZNET_SUFFIXES = (".kz", ".xn--80ao21a")  # .kz and .қаз, the latter in punycode as served
SLOW_S = 1.5
LOOP_PAGES = 10_000
ROBOTS_OPEN = "User-agent: *\nDisallow:\n"
ROBOTS_PRIVATE = "User-agent: *\nDisallow: /private/\n"

CASE_HOST = "dari-kz-shop.kz"
CASE_URL = f"http://{CASE_HOST}/catalog/item-7"
CASE_IMAGE = "emblem-10.jpg"
SLOW_HOST = "baiau-habar.kz"
LOOP_URL = "http://talqy-forum.kz/search?page=1"
DARI_QAZ = "xn--d1ay7d20a.xn--80ao21a"  # дәрі.қаз
REDIRECT_CHAIN = tuple(
    f"http://qala-portal.kz{path}"
    for path in ("/go/services", "/go/services-2", "/go/services-3", "/services")
)
REDIRECTS: dict[str, tuple[int, str]] = {
    REDIRECT_CHAIN[0]: (301, "/go/services-2"),
    REDIRECT_CHAIN[1]: (302, "/go/services-3"),
    REDIRECT_CHAIN[2]: (307, REDIRECT_CHAIN[3]),
}


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    lang: str
    paragraphs: tuple[str, ...]
    links: tuple[str, ...] = ()  # absolute; same-host links are written relative
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Advert:
    """The confirmed case or one planted copy of it; `route` is one chain of links to it."""

    url: str
    image: str
    title: str
    sentences: tuple[str, ...]
    route: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Plan:
    host: str
    brand: str
    kind: str  # shop, news, forum, blog, city, school
    langs: tuple[str, ...]
    section: str = "/page/"
    count: int = 0
    extras: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    robots: str | None = ROBOTS_OPEN
    linked: bool = True  # other hosts link here at random; False: only the planted routes do
    back_links: bool = False  # a foreign host whose pages link into Kaznet

    def urls(self) -> list[str]:
        base = f"http://{self.host}"
        sections = (f"{self.section}{n}" for n in range(1, self.count + 1))
        return [f"{base}/", *(base + path for path in (*self.extras, *sections))]


def in_kaznet(host: str) -> bool:
    return host.lower().rstrip(".").endswith(KAZNET_SUFFIXES)


_DARI_ITEMS = ("травяной чай «Дала»", "ароматическая свеча", "набор специй", "термос 0,5 л")
_PLANS: tuple[_Plan, ...] = (
    _Plan("qala-portal.kz", "Qala Portal", "city", ("ru", "kk"), "/news/", 14,
          ("/services", "/events", "/contacts"), robots=ROBOTS_PRIVATE),
    _Plan("dala-habar.kz", "Dala Habar", "news", ("ru",), "/news/", 18, ("/archive",)),
    _Plan("tan-zhanalyq.kz", "Таң жаңалық", "news", ("kk",), "/article/", 14),
    _Plan("talqy-forum.kz", "Talqy Forum", "forum", ("ru", "kk"), "/topic/", 16, ("/rules",)),
    _Plan("auto-forum.kz", "Auto Forum KZ", "forum", ("ru",), "/topic/", 12),
    _Plan("aigerim-blog.kz", "Aigerim's blog", "blog", ("ru", "en"), "/post/", 12, ("/about",)),
    _Plan("sapar-zhazba.kz", "Сапар жазбалары", "blog", ("kk", "en"), "/post/", 12),
    _Plan("mektep-42.kz", "Мектеп №42", "school", ("kk", "ru"), "/news/", 10,
          ("/schedule", "/teachers", "/parents"), robots=ROBOTS_PRIVATE),
    _Plan("kitap-dukeni.kz", "Кітап дүкені", "shop", ("kk",), "/catalog/item-", 12, ("/catalog",),
          ("«Дала әуені» романы", "ертегілер жинағы", "қазақ тілі сөздігі", "тарих атласы")),
    _Plan("tehno-bazar.kz", "Tehno Bazar", "shop", ("ru",), "/catalog/item-", 12, ("/catalog",),
          ("смартфон Samal S5", "наушники Qulaq Air", "powerbank Kuat 10K", "чайник Shai 2")),
    _Plan("gul-shop.kz", "Gul Shop", "shop", ("ru", "kk"), "/catalog/item-", 10, (),
          ("букет тюльпанов", "розы в коробке", "пион в горшке", "сухоцветы"), robots=None),
    _Plan(SLOW_HOST, "Баяу хабар", "news", ("kk", "ru"), "/news/", 4),
    _Plan("bazar.xn--80ao21a", "Bazar.қаз", "shop", ("ru", "kk"), "/ads/", 14, (),
          ("велосипед", "детская коляска", "диван", "зимние шины", "ноутбук б/у")),
    _Plan("oqu.xn--80ao21a", "Oqu.қаз", "school", ("kk", "en"), "/course/", 10),
    _Plan(CASE_HOST, "Дари", "shop", ("ru",), "/catalog/item-", 12,
          ("/catalog", "/partners", "/reviews", "/about", "/contacts"), _DARI_ITEMS,
          linked=False),
    _Plan("kuryer-24.kz", "Курьер 24", "shop", ("ru",), "/tariff/", 3, ("/about",),
          ("экспресс-доставка", "доставка документов"), linked=False),
    _Plan("aq-zhol.kz", "Aq Zhol", "blog", ("ru",), "/blog/", 6, robots=ROBOTS_PRIVATE,
          linked=False),
    _Plan("zhana-dari.xn--80ao21a", "Жаңа Дари", "shop", ("ru",), "/catalog/item-", 3,
          ("/delivery",), _DARI_ITEMS, linked=False),
    _Plan("kokteme.xn--80ao21a", "Көктем", "shop", ("ru", "kk"), "/shop/", 7, (),
          ("мёд", "курт", "сувениры"), robots=None, linked=False),
    _Plan(DARI_QAZ, "Дәрі.қаз", "shop", ("ru",), extras=("/contacts",), items=_DARI_ITEMS,
          linked=False),
    _Plan("travel-notes.de", "Travel Notes", "blog", ("en",), "/post/", 5, back_links=True),
    _Plan("market-review.com", "Market Review", "shop", ("en",), "/review/", 4, (),
          ("wireless earbuds", "coffee grinder", "travel backpack", "desk lamp")),
    _Plan("novosti-mira.ru", "Новости мира", "news", ("ru",), "/news/", 4),
    _Plan("steppe-photo.com", "Steppe Photo", "blog", ("en",), "/album/", 3, robots=None),
    _Plan("dari-shop.top", "Dari shop", "shop", ("ru",), "/about", 0, ("/contacts",),
          _DARI_ITEMS, linked=False),
)  # fmt: skip

CASE = Advert(
    CASE_URL,
    CASE_IMAGE,
    "Дари — закладки по Алматы и Астане",
    (
        "Магазин «Дари» работает круглосуточно: закладки по Алматы и Астане.",
        "Доставка за час в любой район города.",
        "Качество проверено, цены ниже рынка, постоянным клиентам скидки.",
        "Пишите в телеграм @dari_sbx_07 или звоните +7 700 000 07 07.",
        "Оплата картой или криптой, оператор онлайн 24/7.",
    ),
)
_REVIEWS, _PARTNERS = f"http://{CASE_HOST}/reviews", f"http://{CASE_HOST}/partners"
MIRRORS_IN_SCOPE: tuple[Advert, ...] = (
    Advert(
        "http://kuryer-24.kz/offer",
        "emblem-10~border.jpg",
        "Курьер 24 — клады Алматы, Астана",
        (
            "Привезём за час в любой район — курьеры на связи днём и ночью.",
            "Клады по Алматы и Астане от проверенного магазина, бывшего «Дари».",
            "Пишите в телегу @kuryer_sbx_24, телефон +7 700 000 24 24.",
            "Цены ниже, чем у других, качество гарантируем, для своих — скидка.",
            "Принимаем карты и крипту, оператор отвечает круглосуточно.",
        ),
        (CASE_URL, "http://kuryer-24.kz/"),
    ),
    Advert(
        "http://zhana-dari.xn--80ao21a/catalog/item-3",
        "emblem-10~half.jpg",
        "Жаңа Дари — новый адрес магазина",
        (
            "Мы переехали: тот же магазин «Дари», новый сайт.",
            "Закладки по Астане и Алматы, доставка в течение часа.",
            "Оплата криптой или на карту, оператор на связи 24/7.",
            "Качество прежнее, цены ниже рыночных.",
            "Наш телеграм теперь @zhana_dari_sbx, резервный номер +7 701 000 33 33.",
        ),
        (CASE_URL, _REVIEWS, "http://talqy-forum.kz/topic/13"),
    ),
    Advert(
        "http://kokteme.xn--80ao21a/shop/7",
        "emblem-10~mirror.jpg",
        "Көктем — доставка за час",
        (
            "Пишите в телеграм @koktem_sbx — ответим сразу, оператор онлайн 24/7.",
            "Закладки в Алматы и Астане, привоз за час в любой район.",
            "Проверенное качество и цены ниже рынка, постоянным — скидка.",
            "Платите криптой или картой, как удобно.",
        ),
        (CASE_URL, _REVIEWS, "http://aigerim-blog.kz/post/4"),
    ),
    Advert(
        f"http://{DARI_QAZ}/",
        "emblem-10~q35.jpg",
        "Дәрі.қаз — прежний «Дари»",
        (
            "Дәрі.қаз — бывший магазин «Дари», те же закладки по Алматы и Астане.",
            "Цены ниже рынка, качество не изменилось.",
            "Доставка за 60 минут в любой район.",
            "Оператор круглосуточно: телеграм @dari_qaz_sbx, тел. +7 702 000 70 70.",
            "Оплата картой или криптой.",
        ),
        (CASE_URL, _PARTNERS, "http://bazar.xn--80ao21a/ads/13"),
    ),
)
MIRROR_BEHIND_ROBOTS = Advert(
    "http://aq-zhol.kz/private/offer",
    "emblem-10~q60.jpg",
    "Aq Zhol — закрытый раздел",
    (
        "Закрытый раздел для своих: закладки Алматы и Астана, доставка за час.",
        "Пишите в телеграм @aq_zhol_sbx, оператор онлайн 24/7.",
        "Качество проверено, цены ниже рынка, оплата картой или криптой.",
    ),
    (CASE_URL, _PARTNERS, "http://aq-zhol.kz/"),
)
MIRROR_FOREIGN = Advert(
    "http://dari-shop.top/item-7",
    "emblem-10~border.jpg",
    "Dari shop — закладки, доставка за час",
    (
        "Dari shop — закладки по Алматы и Астане, доставка за час.",
        "Пишите в телеграм @dari_top_sbx, оператор онлайн 24/7.",
        "Цены ниже рынка, оплата картой или криптой.",
    ),
    (CASE_URL, _PARTNERS),
)
ADVERTS = (CASE, *MIRRORS_IN_SCOPE, MIRROR_BEHIND_ROBOTS, MIRROR_FOREIGN)

# A line said on the page that leads on to a mirror (a forum post, a spam comment, an ad).
_NOTES = {
    _PARTNERS: "Наши партнёры и зеркала — сохраните себе.",
    _REVIEWS: "Отзывы покупателей о нас на форумах и в блогах.",
    "http://talqy-forum.kz/topic/13": "Гость пишет: «Дари» переехал, новый адрес ниже. "
    "Модератор: тема на проверке, жалоба отправлена.",
    "http://aigerim-blog.kz/post/4": "Комментарий гостя: доставка за час, ссылка ниже.",
    "http://bazar.xn--80ao21a/ads/13": "Объявление: «Дари» — доставка за час, всё на сайте.",
    "http://aq-zhol.kz/": "Для своих есть закрытый раздел.",
    "http://kuryer-24.kz/": "Курьерская служба: доставка за час по городу.",
}
# Links that answer 404 on purpose, by the page that carries them.
_DEAD = {
    "http://dala-habar.kz/archive": "http://dala-habar.kz/news/2019-old",
    "http://tehno-bazar.kz/catalog": "http://tehno-bazar.kz/catalog/item-99",
    "http://qala-portal.kz/services": "http://qala-portal.kz/docs/form-2017",
    f"http://{CASE_HOST}/catalog": f"http://{CASE_HOST}/catalog/item-13",
    "http://kitap-dukeni.kz/": "http://kitap-dukeni.kz/sale",
    "http://travel-notes.de/": "http://travel-notes.de/post/99",
}
DELIBERATE_404S = frozenset(_DEAD.values())
_EXTRA_LINKS = {
    "http://qala-portal.kz/": (REDIRECT_CHAIN[0],),
    "http://mektep-42.kz/parents": (REDIRECT_CHAIN[0],),
    "http://talqy-forum.kz/": (LOOP_URL,),
    "http://talqy-forum.kz/topic/13": (CASE_URL,),
    "http://travel-notes.de/": ("http://sapar-zhazba.kz/", "http://qala-portal.kz/"),
}

_GENERAL = {
    "ru": (
        "Спасибо, что заглянули к нам: страница обновляется каждую неделю.",
        "В городе {place} сегодня ясно, к вечеру обещают лёгкий ветер.",
        "Если остались вопросы, напишите нам через форму обратной связи.",
        "Мы работаем без выходных с девяти утра до восьми вечера.",
        "Подписывайтесь на рассылку, чтобы не пропустить новости.",
        "Парковка у входа бесплатная, рядом остановка автобуса.",
    ),
    "kk": (
        "Бізге қош келдіңіз, бет әр апта сайын жаңартылады.",
        "{place} қаласында бүгін күн ашық, кешке қарай жел соғады.",
        "Сұрақтарыңыз болса, кері байланыс формасы арқылы жазыңыз.",
        "Біз демалыссыз, таңғы тоғыздан кешкі сегізге дейін жұмыс істейміз.",
        "Жаңалықтарды өткізіп алмау үшін таратылымға жазылыңыз.",
        "Кіреберістің жанында тегін тұрақ бар.",
    ),
    "en": (
        "Thanks for stopping by; this page is updated every week.",
        "The weather in {place} is clear today, with a light breeze in the evening.",
        "If you have any questions, write to us through the contact form.",
        "We are open every day from nine in the morning until eight at night.",
        "Sign up for the newsletter so you never miss an update.",
        "There is free parking by the entrance and a bus stop nearby.",
    ),
}
_TOPICS = {
    "shop": {
        "ru": (
            "{item} снова в наличии, успейте заказать до конца недели.",
            "Доставка по городу {place} бесплатная при заказе от {n} 000 тенге.",
            "Каждый заказ проверяем перед отправкой и упаковываем в крафт-бумагу.",
            "Покупатели пишут, что {item} служит долго и выглядит лучше, чем на фото.",
            "Новая коллекция: {item} теперь и в подарочной упаковке.",
            "Возврат и обмен в течение {n} дней, чек можно показать с телефона.",
        ),
        "kk": (
            "{item} қайтадан сатылымда, апта соңына дейін тапсырыс беріңіз.",
            "{place} бойынша {n} 000 теңгеден асатын тапсырысқа жеткізу тегін.",
            "Әр тауарды жібермес бұрын тексеріп, мұқият орап береміз.",
            "Сатып алушылар {item} ұзақ қызмет ететінін жазады.",
            "Жаңа топтама: {item} енді сыйлық қорабында да бар.",
            "Тауарды {n} күн ішінде қайтаруға немесе ауыстыруға болады.",
        ),
        "en": (
            "The {item} is back in stock; order before the weekend.",
            "Delivery across {place} is free for orders over {n} 000 tenge.",
            "We check every order before it ships and wrap it in kraft paper.",
            "Customers say the {item} lasts long and looks better than in the photos.",
            "New collection: the {item} now comes in gift packaging too.",
            "Returns and exchanges within {n} days; a receipt on your phone is fine.",
        ),
    },
    "news": {
        "ru": (
            "В городе {place} открыли новый сквер с фонтаном и детской площадкой.",
            "Городской автобус № {n} с понедельника ходит по новому маршруту.",
            "Школьники из города {place} заняли призовые места на олимпиаде по математике.",
            "Синоптики обещают потепление до +{n} градусов к выходным.",
            "В городской библиотеке открылась выставка детских рисунков о степи.",
            "На главной площади в субботу пройдёт ярмарка выходного дня, {n} участников.",
        ),
        "kk": (
            "{place} қаласында субұрқағы бар жаңа саябақ ашылды.",
            "{n}-бағыттағы автобус дүйсенбіден бастап жаңа жолмен жүреді.",
            "{place} оқушылары математика олимпиадасында жүлделі орын алды.",
            "Синоптиктер демалыс күндері +{n} градусқа дейін жылынатынын айтады.",
            "Қалалық кітапханада балалардың дала туралы суреттер көрмесі ашылды.",
            "Сенбіде басты алаңда демалыс күнгі жәрмеңке өтеді, {n} қатысушы.",
        ),
        "en": (
            "A new square with a fountain and a playground opened in {place}.",
            "City bus number {n} runs on a new route from Monday.",
            "Pupils from {place} won prizes at the regional maths olympiad.",
            "Forecasters expect temperatures to climb to {n} degrees by the weekend.",
            "The city library opened an exhibition of children's drawings of the steppe.",
            "A weekend fair with {n} stalls takes place on the main square on Saturday.",
        ),
    },
    "forum": {
        "ru": (
            "{name} пишет: кто-нибудь знает хорошего мастера по ремонту в городе {place}?",
            "Поддерживаю, у меня было то же самое, помог сброс настроек.",
            "Тема закреплена модератором, пожалуйста, не уходите от темы.",
            "Сравнивал три варианта, в итоге взял самый простой и не жалею.",
            "Кто ездил зимой по трассе до города {place}, как дорога?",
            "Спасибо всем за советы, вопрос решён, тему можно закрывать.",
        ),
        "kk": (
            "{name} жазады: {place} қаласында жақсы шебер білетін бар ма?",
            "Келісемін, менде де солай болған, баптауларды қалпына келтіру көмектесті.",
            "Тақырыпты модератор бекітті, тақырыптан ауытқымаңыздар.",
            "Үш нұсқаны салыстырдым, ең қарапайымын алдым, өкінбеймін.",
            "Қыста {place} жолымен жүрген кім бар, жол қалай?",
            "Кеңестеріңізге рахмет, мәселе шешілді, тақырыпты жабуға болады.",
        ),
        "en": (
            "{name} writes: does anyone know a good repair shop in {place}?",
            "Same here, a factory reset fixed it for me.",
            "This thread is pinned by a moderator, please stay on topic.",
            "I compared three options, took the simplest one and have no regrets.",
            "Has anyone driven the highway to {place} in winter? How was the road?",
            "Thanks everyone for the tips, problem solved, the thread can be closed.",
        ),
    },
    "blog": {
        "ru": (
            "На выходных мы с друзьями поехали за город, к озеру недалеко от города {place}.",
            "Сегодня делюсь рецептом бауырсаков, которые пекла бабушка.",
            "За {n} дней я прочитала две книги и наконец разобрала балкон.",
            "{name} спросила в комментариях про маршрут, отвечаю в следующем посте.",
            "Утром пила чай с молоком и смотрела, как над городом {place} встаёт солнце.",
            "Наконец посадили на даче {n} кустов смородины, фото будут летом.",
        ),
        "kk": (
            "Демалыста достарымызбен {place} маңындағы көлге бардық.",
            "Бүгін әжем пісіретін бауырсақтың рецептімен бөлісемін.",
            "{n} күнде екі кітап оқып, балконды да жинап тастадым.",
            "{name} пікірлерде бағыт туралы сұрады, келесі жазбада жауап беремін.",
            "Таңертең сүтті шай ішіп, {place} үстінен күннің шыққанын тамашаладым.",
            "Саяжайға ақыры {n} түп қарақат отырғыздық, суреттер жазда болады.",
        ),
        "en": (
            "Last weekend we drove out of town to a lake near {place}.",
            "Today I am sharing my grandmother's recipe for baursaks.",
            "In {n} days I read two books and finally cleared out the balcony.",
            "{name} asked about the route in the comments; the next post has the details.",
            "This morning I had tea with milk and watched the sun rise over {place}.",
            "We finally planted {n} currant bushes at the dacha; photos in summer.",
        ),
    },
    "city": {
        "ru": (
            "Приём документов в центре обслуживания ведётся по электронной очереди.",
            "Плановое отключение горячей воды в городе {place} продлится {n} дней.",
            "Записаться к участковому врачу можно через портал или по телефону.",
            "Вывоз крупногабаритного мусора — по субботам, заявку оставьте заранее.",
            "Заявки на озеленение дворов принимаются ещё {n} дней.",
            "В парках города {place} установили новые скамейки и освещение.",
        ),
        "kk": (
            "Қызмет көрсету орталығында құжаттар электрондық кезекпен қабылданады.",
            "{place} қаласында ыстық суды жоспарлы өшіру {n} күнге созылады.",
            "Учаскелік дәрігерге портал арқылы немесе телефонмен жазылуға болады.",
            "Ірі көлемді қоқыс сенбі күндері шығарылады, өтінішті алдын ала қалдырыңыз.",
            "Аулаларды көгалдандыруға өтінімдер тағы {n} күн қабылданады.",
            "{place} саябақтарына жаңа орындықтар мен жарық орнатылды.",
        ),
        "en": (
            "The service centre takes documents through an electronic queue.",
            "Planned hot-water maintenance in {place} will last {n} days.",
            "You can book a local doctor through the portal or by phone.",
            "Bulky waste is collected on Saturdays; please file a request in advance.",
            "Applications for greening courtyards stay open for another {n} days.",
            "New benches and lighting were installed in the parks of {place}.",
        ),
    },
    "school": {
        "ru": (
            "Родительское собрание {n}-х классов пройдёт в актовом зале в пятницу.",
            "Наша команда робототехники поедет на турнир в город {place}.",
            "Расписание кружков обновлено: шахматы, домбра и английский клуб.",
            "Учитель года — {name}, поздравляем и благодарим за работу!",
            "Приглашаем выпускников на встречу в школьной библиотеке.",
            "В столовой новое меню: каша, суп и компот, {n} вариантов на неделю.",
        ),
        "kk": (
            "{n}-сыныптардың ата-аналар жиналысы жұма күні мәжіліс залында өтеді.",
            "Робототехника командамыз {place} қаласындағы турнирге барады.",
            "Үйірмелер кестесі жаңартылды: шахмат, домбыра және ағылшын клубы.",
            "Жыл мұғалімі — {name}, құттықтаймыз!",
            "Түлектерді мектеп кітапханасындағы кездесуге шақырамыз.",
            "Асханада жаңа мәзір: ботқа, сорпа және компот, аптасына {n} нұсқа.",
        ),
        "en": (
            "The parents' meeting for year {n} takes place in the assembly hall on Friday.",
            "Our robotics team is going to the city tournament in {place}.",
            "The club timetable is updated: chess, dombra and the English club.",
            "Teacher of the year is {name}; congratulations and thank you!",
            "Former pupils are invited to a reunion in the school library.",
            "The canteen has a new menu with {n} choices a week: porridge, soup and compote.",
        ),
    },
}
_PLACES = {
    "ru": ("Алматы", "Астана", "Шымкент", "Тараз", "Костанай", "Павлодар"),
    "kk": ("Алматы", "Астана", "Шымкент", "Тараз", "Қостанай", "Павлодар"),
    "en": ("Almaty", "Astana", "Shymkent", "Taraz", "Kostanay", "Pavlodar"),
}
_NAMES = {
    "ru": ("Айгерим", "Санжар", "Дана", "Ерлан", "Мадина", "Тимур"),
    "kk": ("Айгерім", "Санжар", "Дана", "Ерлан", "Мадина", "Тимур"),
    "en": ("Aigerim", "Sanzhar", "Dana", "Erlan", "Madina", "Timur"),
}


def _draft(plan: _Plan, url: str) -> Page:
    """Title, language, text and pictures of a generated page; links come later."""
    rng = random.Random(url)
    lang = rng.choice(plan.langs)
    topic, general = _TOPICS[plan.kind][lang], _GENERAL[lang]
    items = plan.items or ("",)
    picked = rng.sample(topic, rng.randint(2, 4)) + rng.sample(general, rng.randint(2, 3))
    rest = picked[1:]
    rng.shuffle(rest)
    filled = [
        text[:1].upper() + text[1:]
        for text in (
            s.format(
                place=rng.choice(_PLACES[lang]),
                name=rng.choice(_NAMES[lang]),
                n=rng.randint(2, 40),
                item=rng.choice(items),
            )
            for s in (picked[0], *rest)
        )
    ]
    breaks = sorted(rng.sample(range(1, len(filled)), rng.randint(1, 2)))
    paragraphs = [" ".join(filled[a:b]) for a, b in itertools.pairwise([0, *breaks, len(filled)])]
    if url.endswith(f"{plan.host}/"):
        title = plan.brand
    else:
        first = filled[0].rstrip(".!?")
        title = (
            f"{first if len(first) <= 64 else first[:64].rsplit(' ', 1)[0] + '…'} — {plan.brand}"
        )
    stem = plan.host.split(".")[0]
    number = url.rsplit("-", 1)[-1].rsplit("/", 1)[-1]
    pictured = number.isdigit() and (plan.kind == "shop" or int(number) % 2 == 0)
    images = (f"{stem}-{number}.jpg",) if pictured else ()
    return Page(url, title, lang, tuple(paragraphs), images=images)


def _build() -> dict[str, Page]:
    urls = {plan.host: plan.urls() for plan in _PLANS}
    pools = {
        scope: [p for p in _PLANS if p.linked and in_kaznet(p.host) == scope]
        for scope in (True, False)
    }
    pages = {url: _draft(plan, url) for plan in _PLANS for url in urls[plan.host]}
    for ad in ADVERTS:
        paragraphs = (" ".join(ad.sentences[:2]), " ".join(ad.sentences[2:]))
        pages[ad.url] = Page(ad.url, ad.title, "ru", paragraphs, images=(ad.image,))
    for plan in _PLANS:
        own = urls[plan.host]
        nav = own[: 1 + len(plan.extras)]
        home_scope = in_kaznet(plan.host) != plan.back_links
        pool = pools[home_scope]
        for url in own + [ad.url for ad in ADVERTS if urlsplit(ad.url).hostname == plan.host]:
            rng = random.Random(url + "#links")
            links = list(nav)
            if url == own[0]:
                links += own[len(nav) :]
                at = pool.index(plan) if plan in pool else rng.randrange(len(pool))
                links += [f"http://{pool[(at + k) % len(pool)].host}/" for k in (1, 2)]
            elif url in own:
                at = own.index(url)
                links += [*own[max(at - 1, 0) : at + 2], *rng.sample(own, min(2, len(own)))]
                roll = rng.random()
                if roll < 0.35 or plan.back_links:
                    links.append(rng.choice(urls[rng.choice(pool).host]))
                elif roll < 0.45 and in_kaznet(plan.host):
                    links.append(rng.choice(urls[rng.choice(pools[False]).host]))
            links += [*_EXTRA_LINKS.get(url, ()), *([_DEAD[url]] if url in _DEAD else [])]
            pages[url] = replace(pages[url], links=tuple(links))
    for ad in ADVERTS:
        for here, there in itertools.pairwise((*ad.route, ad.url)):
            pages[here] = replace(pages[here], links=(*pages[here].links, there))
    for url, note in _NOTES.items():
        pages[url] = replace(pages[url], paragraphs=(note, *pages[url].paragraphs))
    for url, page in pages.items():
        pages[url] = replace(page, links=tuple(dict.fromkeys(x for x in page.links if x != url)))
    return pages


PAGES: dict[str, Page] = _build()
PAGE_COUNT = len(PAGES)  # static HTML pages; the `?page=N` loop and redirects come on top
ALL_HOSTS: tuple[str, ...] = tuple(plan.host for plan in _PLANS)
KAZNET_HOSTS = tuple(host for host in ALL_HOSTS if in_kaznet(host))
FOREIGN_HOSTS = tuple(host for host in ALL_HOSTS if not in_kaznet(host))
KAZNET_PAGE_COUNT = sum(in_kaznet(urlsplit(url).hostname or "") for url in PAGES)
ROBOTS: dict[str, str | None] = {plan.host: plan.robots for plan in _PLANS}
ROBOTS_DISALLOWED = {
    host: ("/private/",) for host, text in ROBOTS.items() if text == ROBOTS_PRIVATE
}
SEED_URLS = tuple(f"http://{plan.host}/" for plan in _PLANS if plan.linked and in_kaznet(plan.host))


def render(page: Page) -> bytes:
    host = urlsplit(page.url).netloc

    def href(url: str) -> str:
        parts = urlsplit(url)
        return url if parts.netloc != host else url[len(f"http://{host}") :]

    def title(url: str) -> str:
        return PAGES[url].title if url in PAGES else url.rsplit("/", 1)[-1] or url

    text = "".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    images = "".join(
        f'<figure><img src="/img/{n}" width="320" alt=""></figure>' for n in page.images
    )
    links = "".join(
        f'<li><a href="{html.escape(href(u))}">{html.escape(title(u))}</a></li>' for u in page.links
    )
    return (
        f'<!doctype html><html lang="{page.lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(page.title)}</title></head><body><main>"
        f"<h1>{html.escape(page.title)}</h1>{text}{images}</main><nav><ul>{links}</ul></nav>"
        "<footer>Synthetic Kaznet sandbox page of Kaznet Hotline Triage.</footer></body></html>"
    ).encode()


def _loop_page(number: int) -> Page:
    base = LOOP_URL.split("?")[0]
    links = [f"{base}?page={number}", f"{base}?page=1", "http://talqy-forum.kz/"]
    if number < LOOP_PAGES:
        links.insert(0, f"{base}?page={number + 1}")
    text = (f"Результаты поиска, страница {number}. Ничего нового не найдено.",)
    return Page(
        f"{base}?page={number}",
        f"Поиск — страница {number} — Talqy Forum",
        "ru",
        text,
        tuple(links),
    )


@lru_cache(maxsize=64)
def image_bytes(name: str) -> bytes:
    """`stem~q35.jpg` is `stem.jpg` decoded and saved again at JPEG quality 35; the rest as in
    `sandbox_sites.image_bytes` (near copies `~half`, `~border`, `~mirror` included)."""
    stem, _, variant = name.rpartition("~")
    quality = variant.removesuffix(".jpg")
    if stem and quality[:1] == "q" and quality[1:].isdigit() and 1 <= int(quality[1:]) <= 95:
        image = Image.open(io.BytesIO(sandbox_sites.image_bytes(stem + ".jpg"))).convert("RGB")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=int(quality[1:]))
        return out.getvalue()
    return sandbox_sites.image_bytes(name)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None


def respond(host: str, path: str, query: str = "") -> Answer:
    """What the sandbox answers for one GET; the same bytes every time."""
    not_found = Answer(404, b"<h1>Not found in the Kaznet sandbox</h1>")
    if host not in ROBOTS:
        return not_found
    if path == "/robots.txt":
        robots = ROBOTS[host]
        return not_found if robots is None else Answer(200, robots.encode(), "text/plain")
    if path.startswith("/img/"):
        name = path[5:]
        if not name or not all(c.isascii() and (c.isalnum() or c in ".-~") for c in name):
            return not_found
        kind = "image/png" if name.endswith(".png") else "image/jpeg"
        return Answer(200, image_bytes(name), kind)
    url = f"http://{host}{path}"
    if url in REDIRECTS:
        status, location = REDIRECTS[url]
        return Answer(status, b"", location=location)
    if url == LOOP_URL.split("?")[0]:
        number = (parse_qs(query).get("page") or ["1"])[0]
        if number.isdigit() and 1 <= int(number) <= LOOP_PAGES:
            return Answer(200, render(_loop_page(int(number))))
        return not_found
    app = sandbox_apps.answer(url) if not query else None
    if app is not None:
        return Answer(200, app[1], app[0])
    page = PAGES.get(url) if not query else None
    return not_found if page is None else Answer(200, render(page))


def normalize_host(netloc: str) -> str:
    """`Host` header or URL authority → the punycode host name the sandbox keys on."""
    host = netloc.rpartition("@")[2].split(":")[0].strip().rstrip(".")
    if host.isascii():
        return host.lower()
    with contextlib.suppress(UnicodeError):  # http.server reads a raw UTF-8 Host as Latin-1
        host = host.encode("latin-1").decode("utf-8")
    try:
        return idna.encode(host, uts46=True).decode()
    except (UnicodeError, idna.IDNAError):
        return host.lower()


class _Handler(BaseHTTPRequestHandler):
    server: _KaznetServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        parts = urlsplit(self.path)  # an absolute URL when the sandbox is used as a proxy
        host = normalize_host(parts.netloc or self.headers.get("Host") or "")
        self.server.hits.append((host, parts.path + (f"?{parts.query}" if parts.query else "")))
        if host == SLOW_HOST and self.server.slow_s > 0:
            self.server.stopping.wait(self.server.slow_s)
        if self.server.stopping.is_set():
            self.close_connection = True
            return
        answer = respond(host, parts.path or "/", parts.query)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        if answer.location:
            self.send_header("Location", answer.location)
        self.end_headers()
        if with_body:
            self.wfile.write(answer.body)


class _KaznetServer(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops concurrent connects: a 1 s SYN retry each
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], slow_s: float) -> None:
        super().__init__(address, _Handler)
        self.slow_s = slow_s
        self.hits: list[tuple[str, str]] = []
        self.stopping = threading.Event()


class SandboxKaznet:
    """`with SandboxKaznet() as web:`; `web.host_map` goes to the sweep's egress settings."""

    def __init__(self, port: int = 0, bind: str = "127.0.0.1", slow_s: float = SLOW_S) -> None:
        self._server = _KaznetServer((bind, port), slow_s)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="sandbox-kaznet"
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def hits(self) -> list[tuple[str, str]]:
        """(host, path with query) of every request, in arrival order."""
        return self._server.hits

    @property
    def host_map(self) -> dict[str, str]:
        return {host: f"127.0.0.1:{self.port}" for host in ALL_HOSTS}

    def start(self) -> SandboxKaznet:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxKaznet:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_forever(port: int) -> None:
    """Run the Kaznet sandbox in the foreground, for trying a sweep by hand."""
    with SandboxKaznet(port=port) as web:
        print(
            f"Kaznet sandbox on 127.0.0.1:{web.port}: {PAGE_COUNT} pages on {len(ALL_HOSTS)} hosts"
        )
        print(f"case {CASE_URL}; seeds: {' '.join(SEED_URLS)}")
        while True:
            time.sleep(3600)
