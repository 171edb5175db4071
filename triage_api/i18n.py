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
    # the supervisor page's forms: staff, hash lists, taxonomy
    "Role": ("Роль", "Рөл"),
    "Status": ("Статус", "Күйі"),
    "Pictures revealed today": ("Открыто изображений сегодня", "Бүгін ашылған суреттер"),
    "New password": ("Новый пароль", "Жаңа құпия сөз"),
    "you": ("вы", "сіз"),
    "Change role": ("Сменить роль", "Рөлді өзгерту"),
    "disabled": ("отключён", "өшірілген"),
    "active": ("активен", "белсенді"),
    "Enable": ("Включить", "Қосу"),
    "Disable": ("Отключить", "Өшіру"),
    "Set password": ("Задать пароль", "Құпия сөзді орнату"),
    "Add user": ("Добавить пользователя", "Пайдаланушы қосу"),
    "Passwords have 12 to 200 characters. Disabling a user signs them out everywhere, revokes "
    "their API tokens and gives their cases back to the queue; only an admin manages admins, "
    "and nobody disables or demotes themselves.": (
        "Пароль — от 12 до 200 символов. Отключённый пользователь выходит из всех сеансов, его "
        "API-токены отзываются, а его дела возвращаются в очередь; администраторами управляет "
        "только администратор, и никто не может отключить себя или понизить свою роль.",
        "Құпия сөз 12–200 таңбадан тұрады. Өшірілген пайдаланушы барлық сеанстардан шығарылады, "
        "оның API токендері кері қайтарылады, ал істері кезекке оралады; әкімшілерді тек әкімші "
        "басқарады, ешкім өзін өшіре немесе өз рөлін төмендете алмайды.",
    ),
    "Kind": ("Тип", "Түрі"),
    "Trust": ("Доверие", "Сенім"),
    "Source": ("Источник", "Дереккөз"),
    "Hashes": ("Хешей", "Хештер"),
    "Save": ("Сохранить", "Сақтау"),
    "Import": ("Импорт", "Импорттау"),
    "Import a hash-list file": ("Импорт файла со списком хешей", "Хеш тізімі файлын импорттау"),
    "File": ("Файл", "Файл"),
    "Format": ("Формат", "Пішім"),
    "from the extension": ("по расширению", "кеңейтім бойынша"),
    "List": ("Список", "Тізім"),
    "as the list has it (new: known)": (
        "как у списка (новый: known)",
        "тізімдегідей (жаңа: known)",
    ),
    "as the list has it (new: trusted)": (
        "как у списка (новый: trusted)",
        "тізімдегідей (жаңа: trusted)",
    ),
    "the file name": ("имя файла", "файл атауы"),
    "skip bad rows": ("пропустить ошибочные строки", "қате жолдарды өткізіп жіберу"),
    "Formats: csv with a header naming hash_type and hash (optionally category, source, note, "
    "quality); jsonl with the same keys; hma lines '<hash type> <hash>'. All or nothing unless "
    "bad rows are skipped. At most": (
        "Форматы: csv с заголовком hash_type и hash (по желанию category, source, note, quality); "
        "jsonl с теми же ключами; hma — строки «<тип хеша> <хеш>». Импортируется всё или ничего, "
        "если ошибочные строки не пропускать. Не более",
        "Пішімдер: hash_type және hash тақырыбы бар csv (қосымша category, source, note, "
        "quality); дәл сондай кілттері бар jsonl; hma — «<хеш түрі> <хеш>» жолдары. Қате "
        "жолдарды өткізіп жібермесеңіз, бәрі немесе ештеңе импортталады. Ең көбі",
    ),
    "larger files with": ("файлы больше — через", "үлкенірек файлдар —"),
    "New hashes": ("Новых хешей", "Жаңа хештер"),
    "already present": ("уже были", "бұрыннан бар"),
    "bad rows": ("ошибочных строк", "қате жолдар"),
    "rows read": ("строк прочитано", "оқылған жолдар"),
    "new list": ("новый список", "жаңа тізім"),
    "line": ("строка", "жол"),
    "more": ("ещё", "тағы"),
    "Severity": ("Тяжесть", "Ауырлығы"),
    "Established by": ("Устанавливается", "Анықтайтын"),
    "Legal basis": ("Правовое основание", "Құқықтық негіз"),
    "confirmed": ("подтверждено", "расталған"),
    "to be confirmed": ("требует подтверждения", "растауды қажет етеді"),
    "Saved in the hotline's own copy of the taxonomy; category ids and which signals establish "
    "a category are not edited here.": (
        "Сохраняется в собственной копии таксономии горячей линии; идентификаторы категорий и "
        "сигналы, которые их устанавливают, здесь не меняются.",
        "Жедел желінің таксономия көшірмесінде сақталады; санат идентификаторлары мен санатты "
        "анықтайтын сигналдар мұнда өзгертілмейді.",
    ),
    "User added; they sign in with the password you gave.": (
        "Пользователь добавлен; он входит с заданным вами паролем.",
        "Пайдаланушы қосылды; ол сіз берген құпия сөзбен кіреді.",
    ),
    "Role changed.": ("Роль изменена.", "Рөл өзгертілді."),
    "User disabled: signed out everywhere, their cases are back in the queue.": (
        "Пользователь отключён: все его сеансы завершены, его дела вернулись в очередь.",
        "Пайдаланушы өшірілді: барлық сеанстары аяқталды, істері кезекке оралды.",
    ),
    "User enabled.": ("Пользователь включён.", "Пайдаланушы қайта іске қосылды."),
    "Password set.": ("Пароль задан.", "Құпия сөз орнатылды."),
    "Hash list imported.": ("Список хешей импортирован.", "Хеш тізімі импортталды."),
    "Hash list changed.": ("Список хешей изменён.", "Хеш тізімі өзгертілді."),
    "Taxonomy saved.": ("Таксономия сохранена.", "Таксономия сақталды."),
    "Nothing changed.": ("Ничего не изменилось.", "Ештеңе өзгерген жоқ."),
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
    # takedown: notices, rechecks, escalation
    "Takedown": ("Удаление", "Жою"),
    "needs a supervisor": ("нужен руководитель", "жетекші керек"),
    "Confirmed": ("Подтверждено", "Расталды"),
    "First notice": ("Первое уведомление", "Бірінші хабарлама"),
    "Removed": ("Удалено", "Жойылды"),
    "Next recheck": ("Следующая проверка", "Келесі тексеру"),
    "last": ("последняя", "соңғы"),
    "To": ("Кому", "Кімге"),
    "Subject": ("Тема", "Тақырып"),
    "Text": ("Текст", "Мәтін"),
    "Send": ("Отправить", "Жіберу"),
    "Reply from": ("Ответ от", "Жауап берген"),
    "Reply": ("Ответ", "Жауап"),
    "Record reply": ("Записать ответ", "Жауапты жазу"),
    "New notice to": ("Новое уведомление", "Жаңа хабарлама"),
    "Language": ("Язык", "Тіл"),
    "Draft": ("Черновик", "Жоба"),
    "Rechecks": ("Повторные проверки", "Қайта тексерулер"),
    "open": ("открыто", "ашық"),
    "closed": ("закрыто", "жабық"),
    "removed": ("удалено", "жойылды"),
    "still_online": ("всё ещё доступно", "әлі қолжетімді"),
    "changed": ("изменилось", "өзгерді"),
    "soft_404": ("«не найдено» с кодом 200", "200 кодымен «табылмады»"),
    "error": ("ошибка", "қате"),
    "draft": ("черновик", "жоба"),
    "queued": ("в очереди", "кезекте"),
    "sending": ("отправляется", "жіберілуде"),
    "sent": ("отправлено", "жіберілді"),
    "failed": ("не отправлено", "жіберілмеді"),
    "cancelled": ("отменено", "тоқтатылды"),
    "hosting": ("хостинг", "хостинг"),
    "registrar": ("регистратор", "тіркеуші"),
    "upstream": ("вышестоящая сеть", "жоғары желі"),
    "police": ("полиция", "полиция"),
    "first": ("первое", "бірінші"),
    "resend": ("повторное", "қайталама"),
    "escalation": ("эскалация", "эскалация"),
    "Takedowns": ("Удаления", "Жоюлар"),
    "Time to takedown": ("Время до удаления", "Жойылғанға дейінгі уақыт"),
    "confirmed cases followed": ("подтверждённых дел под наблюдением", "бақылаудағы расталған іс"),
    "median": ("медиана", "медиана"),
    "within": ("в пределах", "ішінде"),
    "No confirmed case is followed yet.": (
        "Подтверждённых дел под наблюдением пока нет.",
        "Бақылаудағы расталған іс әлі жоқ.",
    ),
    "Still online, by age since the first notice": (
        "Всё ещё доступно, по времени с первого уведомления",
        "Әлі қолжетімді, бірінші хабарламадан бергі уақыт бойынша",
    ),
    "By category": ("По категориям", "Санаттар бойынша"),
    "By hosting provider": ("По хостинг-провайдерам", "Хостинг провайдерлері бойынша"),
    "By jurisdiction": ("По юрисдикции", "Юрисдикция бойынша"),
    # sweeps: the report pages
    "Sweeps": ("Обходы", "Шолулар"),
    "Sweep": ("Обход", "Шолу"),
    "sweep": ("обход", "шолу"),
    "sweep running": ("идёт", "жүріп жатыр"),
    "sweep finished": ("завершён", "аяқталды"),
    "sweep stopping": ("останавливается", "тоқтатылуда"),
    "sweep stopped": ("остановлен", "тоқтатылды"),
    "Stop asked by": ("Остановку запросил", "Тоқтатуды сұраған"),
    "Stop the sweep": ("Остановить обход", "Шолуды тоқтату"),
    "Its processes finish the pages in flight and leave; hotline sweep join carries it on.": (
        "Его процессы дочитают загружаемые страницы и выйдут; hotline sweep join продолжит обход.",
        "Оның процестері жүктеліп жатқан беттерді аяқтап, шығады; "
        "hotline sweep join шолуды жалғастырады.",
    ),
    "sweep failed": ("сбой", "сәтсіз"),
    "started manual": ("вручную", "қолмен"),
    "started schedule": ("по расписанию", "кесте бойынша"),
    "Trigger": ("Запуск", "Іске қосу"),
    "Started": ("Начат", "Басталды"),
    "Finished": ("Завершён", "Аяқталды"),
    "Duration": ("Длительность", "Ұзақтығы"),
    "Pages": ("Страницы", "Беттер"),
    "pages": ("страниц", "бет"),
    "Pages fetched": ("Загружено страниц", "Жүктелген беттер"),
    "pages of the budget": ("страниц из лимита", "беттің лимиттен"),
    "Pictures": ("Изображения", "Суреттер"),
    "Hosts": ("Сайты", "Сайттар"),
    "New cases": ("Новые дела", "Жаңа істер"),
    "Matches": ("Совпадения", "Сәйкестіктер"),
    "Errors": ("Ошибки", "Қателер"),
    "Already cases": ("Уже были делами", "Бұрыннан іс болған"),
    "Pending requests": ("Запросов в очереди", "Кезектегі сұраулар"),
    "Processes at work": ("Работающих процессов", "Жұмыстағы процестер"),
    "Requests": ("Запросы", "Сұраулар"),
    "Responses": ("Ответы", "Жауаптар"),
    "Refused by the egress policy": (
        "Отклонено правилами выхода в сеть",
        "Желіге шығу ережесімен қабылданбады",
    ),
    "Seeds": ("Начальные адреса", "Бастапқы мекенжайлар"),
    "Options": ("Параметры", "Параметрлер"),
    "Skipped": ("Пропущено", "Өткізілді"),
    "Cases opened": ("Открытые дела", "Ашылған істер"),
    "Case": ("Дело", "Іс"),
    "case": ("дело", "іс"),
    "Found": ("Найдено", "Табылды"),
    "Last progress": ("Последний прогресс", "Соңғы ілгерілеу"),
    "ago": ("назад", "бұрын"),
    "no progress written for": ("нет прогресса уже", "ілгерілеу жоқ"),
    "No case opened yet.": ("Дел пока не открыто.", "Әзірге іс ашылған жоқ."),
    "No sweep has run yet.": ("Обходов ещё не было.", "Әзірге шолу болған жоқ."),
    "The first": ("Первые", "Алғашқы"),
    "the API lists them all": ("полный список — в API", "толық тізім API-да"),
    "reloads every": ("обновляется каждые", "жаңартылады әр"),
    "a sweep is running; this page reloads every": (
        "идёт обход; страница обновляется каждые",
        "шолу жүріп жатыр; бет жаңартылады әр",
    ),
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
