"""Every user-visible string of the pages is in both catalogs (zh-TW and en), and the catalogs agree."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
CATALOGS = {lang: json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8")) for lang in ("zh-TW", "en")}
NAMESPACES = {key.split(".")[0] for key in CATALOGS["en"]}
ATTRIBUTE_KEY = re.compile(r'data-i18n(?:-[a-z-]+)?="([^"]+)"')
STRING_KEY = re.compile(r"""["'`]([a-z_]+(?:\.[a-z0-9_]+)+)["'`]""")
TEMPLATE_KEY = re.compile(r"""\bt\(\s*`(?!error\.)""")


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for html in STATIC.glob("*.html"):
        keys |= set(ATTRIBUTE_KEY.findall(html.read_text("utf-8")))
    for script in (STATIC / "js").glob("*.js"):
        for key in STRING_KEY.findall(script.read_text("utf-8")):
            if key.split(".")[0] in NAMESPACES:
                keys.add(key)
    return keys


class _TextOutsideI18n(HTMLParser):
    """Collects text in the HTML that no data-i18n attribute will replace (hard-coded strings). An element
    with ``data-lang`` is a passage written out in that language (the accessibility statement's long
    text), shown only when it is chosen: test_passages_exist_in_every_language holds the pages to both."""

    VOID = frozenset({"meta", "link", "img", "input", "br", "hr", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        translated = (any(name in ("data-i18n", "data-lang") or (name, value) == ("aria-hidden", "true")
                          for name, value in attrs)
                      or tag in ("script", "style"))
        self.stack.append(translated or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and self.stack[-1]):
            self.found.append(data.strip())


def test_catalogs_have_the_same_keys() -> None:
    """zh-TW and en define exactly the same keys, none of them empty."""
    assert set(CATALOGS["zh-TW"]) == set(CATALOGS["en"])
    for lang, catalog in CATALOGS.items():
        assert all(isinstance(v, str) and v for v in catalog.values()), lang


def test_every_used_key_is_in_both_catalogs() -> None:
    """Keys used by the HTML (data-i18n*) and the scripts (t('...') and key maps) exist in both catalogs."""
    used = _used_keys()
    assert len(used) > 150
    for lang, catalog in CATALOGS.items():
        missing = sorted(used - set(catalog))
        assert not missing, f"missing in {lang}: {missing}"


def test_scripts_build_no_keys_from_templates() -> None:
    """A key built at run time (t(`x.${y}`)) would escape the check above; only error codes may be dynamic."""
    for script in (STATIC / "js").glob("*.js"):
        assert not TEMPLATE_KEY.search(script.read_text("utf-8")), script.name


def test_no_hard_coded_text_in_the_pages() -> None:
    """Every text in the HTML sits in an element with data-i18n, so the language toggle reaches it."""
    for html in STATIC.glob("*.html"):
        parser = _TextOutsideI18n()
        parser.feed(html.read_text("utf-8"))
        assert parser.found == [], f"{html.name}: {parser.found}"


def test_passages_exist_in_every_language() -> None:
    """A page with passages written out per language (data-lang) has one for each catalog language."""
    for html in STATIC.glob("*.html"):
        langs = re.findall(r'data-lang="([^"]+)"', html.read_text("utf-8"))
        if langs:
            assert sorted(langs) == sorted(CATALOGS), html.name


def test_placeholders_match_between_languages() -> None:
    """A {name} placeholder in one language exists in the other, so no value is lost in translation."""
    for key, zh in CATALOGS["zh-TW"].items():
        assert set(re.findall(r"\{(\w+)\}", zh)) == set(re.findall(r"\{(\w+)\}", CATALOGS["en"][key])), key
