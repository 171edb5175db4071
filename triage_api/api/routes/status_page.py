"""The reporters' status page: a tracking code in, where the report stands out, in Russian,
Kazakh or English. It shows only what `intake.public_status` returns (stage, outcome, dates)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from triage_api.api.deps import SessionDep
from triage_api.intake import public_status

router = APIRouter(prefix="/status", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent.parent / "templates")
LANGUAGES = ("ru", "kk", "en")

TEXT = {
    "ru": {
        "title": "Статус обращения",
        "code": "Код отслеживания",
        "check": "Проверить",
        "unknown": "Обращение с таким кодом не найдено. Проверьте код.",
        "received_at": "Получено",
        "decided_at": "Решение принято",
        "received": "Получено: страница сохраняется для проверки.",
        "under_review": "На рассмотрении у аналитика горячей линии.",
        "decided": "Рассмотрено.",
        "confirmed": "Подтверждено: материал признан незаконным, мы добиваемся его удаления.",
        "not_illegal": "Проверено: нарушения закона не найдено.",
        "forwarded": "Материал размещён за рубежом и передан партнёрской горячей линии.",
        "duplicate": "Этот материал уже рассмотрен по более раннему обращению.",
        "notice_sent": "Подтверждено: хостинг-провайдеру направлено уведомление об удалении.",
        "removed": "Материал удалён: повторная проверка показала, что его больше нет.",
        "notice_sent_at": "Уведомление отправлено",
        "removed_at": "Удалено",
        "privacy": "Мы не показываем здесь сам материал и подробности проверки.",
    },
    "kk": {
        "title": "Өтініш мәртебесі",
        "code": "Бақылау коды",
        "check": "Тексеру",
        "unknown": "Мұндай кодпен өтініш табылмады. Кодты тексеріңіз.",
        "received_at": "Қабылданды",
        "decided_at": "Шешім қабылданды",
        "received": "Қабылданды: бет тексеру үшін сақталуда.",
        "under_review": "Желі талдаушысының қарауында.",
        "decided": "Қаралды.",
        "confirmed": "Расталды: материал заңсыз деп танылды, біз оны жоюға күш саламыз.",
        "not_illegal": "Тексерілді: заң бұзушылық табылмады.",
        "forwarded": "Материал шетелде орналасқан және серіктес желіге жіберілді.",
        "duplicate": "Бұл материал бұрынғы өтініш бойынша қаралған.",
        "notice_sent": "Расталды: хостинг провайдеріне жою туралы хабарлама жіберілді.",
        "removed": "Материал жойылды: қайта тексеру оның жоқ екенін көрсетті.",
        "notice_sent_at": "Хабарлама жіберілді",
        "removed_at": "Жойылды",
        "privacy": "Мұнда материалдың өзі және тексеру мәліметтері көрсетілмейді.",
    },
    "en": {
        "title": "Report status",
        "code": "Tracking code",
        "check": "Check",
        "unknown": "No report has this tracking code. Please check it.",
        "received_at": "Received",
        "decided_at": "Decided",
        "received": "Received: the page is being saved for review.",
        "under_review": "Under review by a hotline analyst.",
        "decided": "Reviewed.",
        "confirmed": "Confirmed: the material is illegal, and we are working to have it removed.",
        "not_illegal": "Reviewed: no breach of the law was found.",
        "forwarded": "The material is hosted abroad and was passed to the partner hotline there.",
        "duplicate": "This material was already handled under an earlier report.",
        "notice_sent": "Confirmed: the hosting provider has been sent a removal notice.",
        "removed": "Removed: a recheck found the material is no longer online.",
        "notice_sent_at": "Notice sent",
        "removed_at": "Removed",
        "privacy": "This page never shows the material itself or details of the review.",
    },
}


def _language(request: Request, asked: str | None) -> str:
    if asked in LANGUAGES:
        return str(asked)
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "ru"


@router.get("", response_class=HTMLResponse)
def status_form(
    request: Request,
    lang: Annotated[str | None, Query(max_length=5)] = None,
    code: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    language = _language(request, lang)
    if code:
        return RedirectResponse(f"/status/{code.strip()}?lang={language}", status_code=303)
    return _render(request, language, None, None)


@router.get("/{tracking_code}", response_class=HTMLResponse)
def status_of(
    tracking_code: str,
    request: Request,
    session: SessionDep,
    lang: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    language = _language(request, lang)
    found = public_status(session, tracking_code)
    return _render(request, language, tracking_code, found, 200 if found else 404)


def _render(
    request: Request,
    language: str,
    code: str | None,
    found: dict[str, object] | None,
    status_code: int = 200,
) -> Response:
    response = templates.TemplateResponse(
        request,
        "status.html",
        {
            "t": TEXT[language],
            "lang": language,
            "languages": LANGUAGES,
            "code": code,
            "found": found,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
