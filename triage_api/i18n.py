"""The staff interface in Russian, Kazakh or English. Templates write English and pass it
through `_`; a missing translation shows the English, never an empty label. The language comes
from `?lang=`, which is remembered in a cookie, else the browser's `Accept-Language`, else
English."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("ru", "kk", "en")
LANG_COOKIE = "hotline_lang"

# English → (Russian, Kazakh)
_TEXT: dict[str, tuple[str, str]] = {
    "Queue": ("Очередь", "Кезек"),
    "Statistics": ("Статистика", "Статистика"),
    "Supervisor": ("Руководитель", "Жетекші"),
    "Sign out": ("Выйти", "Шығу"),
    "Sign in": ("Войти", "Кіру"),
    "revealed today": ("открыто сегодня", "бүгін ашылды"),
    "ready for review": ("ждут проверки", "тексеруді күтуде"),
    "Category": ("Категория", "Санат"),
    "Band": ("Уровень", "Деңгей"),
    "Jurisdiction": ("Юрисдикция", "Юрисдикция"),
    "any": ("любая", "кез келген"),
    "Claim next case": ("Взять следующее", "Келесісін алу"),
    "Pictures revealed today, per analyst": (
        "Открыто изображений сегодня, по аналитикам",
        "Бүгін ашылған суреттер, талдаушылар бойынша",
    ),
    "No free case matches; every ready case is claimed or decided.": (
        "Свободных подходящих дел нет: все взяты или решены.",
        "Сәйкес бос іс жоқ: бәрі алынған немесе шешілген.",
    ),
    "Nothing to review yet. Captures may still be running.": (
        "Пока нечего проверять. Сохранение страниц может ещё идти.",
        "Әзірге тексеретін ештеңе жоқ. Беттер әлі сақталып жатуы мүмкін.",
    ),
    "Points": ("Баллы", "Ұпай"),
    "Page": ("Страница", "Бет"),
    "Reports": ("Обращения", "Өтініштер"),
    "Why": ("Почему", "Неге"),
    "also seen at": ("также на", "сондай-ақ"),
    "Why this priority": ("Почему такой приоритет", "Неге мұндай басымдық"),
    "Known material": ("Известный материал", "Белгілі материал"),
    "Model scores": ("Оценки моделей", "Модель бағалары"),
    "Same page elsewhere": ("Та же страница в других местах", "Сол бет басқа жерлерде"),
    "Capture": ("Сохранение", "Сақтау"),
    "Outcome": ("Результат", "Нәтиже"),
    "HTTP status": ("HTTP-статус", "HTTP мәртебесі"),
    "Title": ("Заголовок", "Тақырып"),
    "Final URL": ("Итоговый URL", "Соңғы URL"),
    "Server IP": ("IP сервера", "Сервер IP"),
    "Browser": ("Браузер", "Браузер"),
    "Captured": ("Сохранено", "Сақталды"),
    "Site": ("Сайт", "Сайт"),
    "Domain": ("Домен", "Домен"),
    "Hosting provider": ("Хостинг-провайдер", "Хостинг провайдері"),
    "Abuse contact": ("Контакт для жалоб", "Шағым байланысы"),
    "Registrar": ("Регистратор", "Тіркеуші"),
    "Network": ("Сеть", "Желі"),
    "Not found": ("Не найдено", "Табылмады"),
    "Redirect chain": ("Цепочка перенаправлений", "Қайта бағыттау тізбегі"),
    "Screenshot": ("Снимок экрана", "Экран суреті"),
    "Images": ("Изображения", "Суреттер"),
    "Blurred. Click to reveal (counted); it blurs again when you leave it.": (
        "Размыто. Нажмите, чтобы открыть (учитывается); при уходе снова размывается.",
        "Бұлыңғыр. Ашу үшін басыңыз (есептеледі); кеткенде қайта бұлыңғырланады.",
    ),
    "Claim this case from the queue to decide it.": (
        "Чтобы принять решение, возьмите дело из очереди.",
        "Шешім қабылдау үшін істі кезектен алыңыз.",
    ),
    "Duplicate of case": ("Дубликат дела", "Істің көшірмесі"),
    "Note": ("Заметка", "Ескертпе"),
    "Illegal": ("Незаконно", "Заңсыз"),
    "Not illegal": ("Не нарушает", "Заңсыз емес"),
    "Duplicate": ("Дубликат", "Көшірме"),
    "Out of jurisdiction": ("Вне юрисдикции", "Юрисдикциядан тыс"),
    "Second opinion": ("Второе мнение", "Екінші пікір"),
    "Give back": ("Вернуть", "Қайтару"),
    "Name": ("Имя", "Аты"),
    "Password": ("Пароль", "Құпия сөз"),
    "Sign in with an API token instead": ("Войти по API-токену", "API токенімен кіру"),
    "Token": ("Токен", "Токен"),
    "Staff": ("Сотрудники", "Қызметкерлер"),
    "Hash lists": ("Списки хешей", "Хеш тізімдері"),
    "Taxonomy": ("Таксономия", "Таксономия"),
    "Reports per day, by category": (
        "Обращения по дням и категориям",
        "Күндер мен санаттар бойынша өтініштер",
    ),
    "Decisions": ("Решения", "Шешімдер"),
    # decisions, revisions, pictures judged one by one
    "This case is decided.": ("Дело решено.", "Іс шешілді."),
    "New decision": ("Новое решение", "Жаңа шешім"),
    "Reason": ("Причина", "Себебі"),
    "Revise decision": ("Пересмотреть решение", "Шешімді қайта қарау"),
    "revised": ("пересмотрено", "қайта қаралды"),
    "same as case": ("то же, что дело", "мынадай іспен бірдей"),
    "also in case": ("также в деле", "сондай-ақ істе"),
    "withdrawn by a revision": ("отозвано пересмотром", "қайта қараумен қайтарылды"),
    "pictures judged one by one": ("изображений оценены по отдельности", "сурет жеке бағаланды"),
    "This picture": ("Это изображение", "Бұл сурет"),
    "as the case": ("как дело", "іс сияқты"),
    "illegal": ("незаконно", "заңсыз"),
    "not illegal": ("не нарушает закон", "заңсыз емес"),
    "not_illegal": ("не нарушает закон", "заңсыз емес"),
    "duplicate": ("дубликат", "көшірме"),
    "forward": ("передано партнёру", "серіктеске жіберілді"),
    "second_opinion": ("второе мнение", "екінші пікір"),
}

_INDEX = {"ru": 0, "kk": 1}


def translator(language: str) -> Callable[[str], str]:
    if language not in _INDEX:
        return lambda text: text
    column = _INDEX[language]

    def translate(text: str) -> str:
        found = _TEXT.get(text)
        return found[column] if found else text

    return translate


def choose(asked: str | None, remembered: str | None, accept_language: str) -> str:
    for candidate in (asked, remembered):
        if candidate in LANGUAGES:
            return str(candidate)
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"
