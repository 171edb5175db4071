"""Pages of the Kaznet sandbox that only a browser reads: a shop front on tehno-bazar.kz whose
HTML is an empty `<div id="app">` and a script that writes the text and a picture, then fetches
its catalogue from a JSON endpoint and writes links to two item pages. Those item pages are
linked from nowhere else, and the shop front is linked from no page of the site map: sweeps
reach it from a seed. Everything is invented.
"""

from __future__ import annotations

import html
import json

APP_HOST = "tehno-bazar.kz"
APP_URL = f"http://{APP_HOST}/app/"
APP_API = f"http://{APP_HOST}/app/api/showcase.json"
APP_IMAGE = "tehno-bazar-app.jpg"
APP_TITLE = "Tehno Bazar — онлайн-витрина"
APP_TEXT = (
    "Онлайн-витрина Tehno Bazar собирается прямо в браузере: выберите товар из списка ниже.",
    "Самовывоз из пункта выдачи в Павлодаре, доставка по городу за один день.",
)
APP_ITEMS: dict[str, tuple[str, str]] = {  # url: (name, text)
    f"http://{APP_HOST}/app/item/1": (
        "Умная колонка Dauys Mini",
        "Умная колонка Dauys Mini играет музыку и читает прогноз погоды на казахском и русском.",
    ),
    f"http://{APP_HOST}/app/item/2": (
        "Электросамокат Jel 8",
        "Электросамокат Jel 8 проезжает до 25 км на одном заряде и складывается за три секунды.",
    ),
}

_SHELL = """<!doctype html><html lang="ru"><head><meta charset="utf-8">
<title>Tehno Bazar</title></head><body><div id="app"></div>
<noscript>Для работы витрины включите JavaScript.</noscript>
<script>
(function () {
  var app = document.getElementById('app'), shop = %s;
  function add(tag, text) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    return app.appendChild(node);
  }
  add('h1', shop.title);
  shop.text.forEach(function (line) { add('p', line); });
  add('img').src = shop.image;
  fetch(shop.api).then(function (answer) { return answer.json(); }).then(function (data) {
    var list = add('ul');
    data.items.forEach(function (item) {
      var link = document.createElement('a');
      link.href = item.href;
      link.textContent = item.name;
      list.appendChild(document.createElement('li')).appendChild(link);
    });
  });
})();
</script></body></html>"""


def _shell() -> bytes:
    shop = {
        "title": APP_TITLE,
        "text": APP_TEXT,
        "image": f"/img/{APP_IMAGE}",
        "api": APP_API.removeprefix(f"http://{APP_HOST}"),
    }
    # ASCII-escaped: the shop's words are nowhere in the HTML a plain fetch reads.
    return (_SHELL % json.dumps(shop).replace("</", "<\\/")).encode()


def _catalogue() -> bytes:
    items = [
        {"href": url.removeprefix(f"http://{APP_HOST}"), "name": name}
        for url, (name, _) in APP_ITEMS.items()
    ]
    return json.dumps({"items": items}).encode()


def _item(name: str, text: str) -> bytes:
    return (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        f"<title>{html.escape(name)} — Tehno Bazar</title></head><body><main>"
        f"<h1>{html.escape(name)}</h1><p>{html.escape(text)}</p></main>"
        '<nav><ul><li><a href="/">Tehno Bazar</a></li></ul></nav>'
        "<footer>Synthetic Kaznet sandbox page of Kaznet Hotline Triage.</footer></body></html>"
    ).encode()


def answer(url: str) -> tuple[str, bytes] | None:
    """(content type, body) for one of these pages, or None."""
    if url == APP_URL:
        return "text/html; charset=utf-8", _shell()
    if url == APP_API:
        return "application/json", _catalogue()
    if url in APP_ITEMS:
        return "text/html; charset=utf-8", _item(*APP_ITEMS[url])
    return None
