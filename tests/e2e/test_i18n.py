"""Every user-visible string of the pages is in both catalogs (zh-TW and en), and the catalogs agree; the
phone's own catalogs (static/i18n/phone/, a subset) hold every key the participant page can show."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
CATALOGS = {lang: json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8")) for lang in ("zh-TW", "en")}
NAMESPACES = {key.split(".")[0] for key in CATALOGS["en"]}
ATTRIBUTE_KEY = re.compile(r'data-i18n(?:-[a-z-]+)?="([^"]+)"')
STRING_KEY = re.compile(r"""["'`]([a-z_]+(?:\.[a-z0-9_]+)+)["'`]""")
TEMPLATE_KEY = re.compile(r"""\bt\(\s*`(?!error\.)""")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "phone_catalog.py"
PHONE = {lang: json.loads((STATIC / "i18n" / "phone" / f"{lang}.json").read_text("utf-8")) for lang in CATALOGS}


def _phone_script() -> object:
    spec = importlib.util.spec_from_file_location("phone_catalog", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_phone_catalogs_are_the_full_catalogs_subset() -> None:
    """The phone catalogs are copies, never a second place to write a string: each text equals the full
    catalog's, and both languages have the same keys."""
    assert set(PHONE["zh-TW"]) == set(PHONE["en"])
    for lang, phone in PHONE.items():
        assert phone, lang
        assert all(CATALOGS[lang].get(key) == text for key, text in phone.items()), lang
    assert len(PHONE["en"]) < len(CATALOGS["en"]) * 0.6  # a phone does not carry the console's strings


def test_phone_catalogs_hold_every_key_the_phone_page_uses() -> None:
    """Every key in participant.html and in the modules the participant page loads (at once or on demand) is
    in both phone catalogs, so a phone never shows a key; the console's keys are not."""
    script = _phone_script()
    modules = script.phone_modules()  # type: ignore[attr-defined]
    assert {"participant.js", "mydata.js", "countdown.js", "publishing.js", "decision.js"} <= set(modules)
    assert "host.js" not in modules and "projector.js" not in modules
    used = script.phone_keys(NAMESPACES)  # type: ignore[attr-defined]
    assert {"vote.changing", "mydata.heading", "timer.left", "publish.phone", "check.heading"} <= used
    prefixes = script.phone_prefixes()  # type: ignore[attr-defined]
    assert {"phase.", "error.", "lane.acceptable"} <= prefixes  # keys built at run time: `phase.${phase}`
    for lang, phone in PHONE.items():
        missing = sorted(used - set(phone))
        assert not missing, f"missing in phone/{lang}.json: {missing}"
        built = sorted(k for k in CATALOGS[lang] if k.startswith(tuple(prefixes)) and k not in phone)
        assert not built, f"missing in phone/{lang}.json: {built}"
        assert {"phase.collecting", "lane.acceptable_classic", "results.everyone_accepts_classic"} <= set(phone)
        assert "host.accept" not in phone and "projector.scan_to_join" not in phone


def test_phone_catalogs_are_up_to_date() -> None:
    """The checked-in phone catalogs are what scripts/phone_catalog.py writes from the full ones now (after
    editing a string or a phone module, run it)."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
