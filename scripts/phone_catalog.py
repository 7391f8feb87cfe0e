"""Write the phone's string catalogs (static/i18n/phone/<lang>.json) from the full ones (static/i18n/<lang>.json).

A phone joining a meeting downloads one catalog. The full catalogs also carry the host console's, the
projector's and the home page's strings (and the exports read them), about two thirds of their bytes, so
the participant page fetches a subset instead: every key its HTML and the modules it can load (imported
or imported on demand, followed from static/js/participant.js) name, with each key's ``_one`` plural form,
and, for a key a module builds at run time from a template (`` `phase.${phase}` ``, `` `error.${code}` ``,
`` `lane.acceptable${suffix}` ``), every key that starts with the template's fixed part. The full catalogs
stay the one place strings are written; this file only copies.

    python scripts/phone_catalog.py          # rewrite the phone catalogs
    python scripts/phone_catalog.py --check  # exit 1 when they are not what this would write

tests/e2e/test_i18n.py runs the same check.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "static"
LANGUAGES = ("zh-TW", "en")
PHONE_HTML = "participant.html"
PHONE_ENTRY = "participant.js"

ATTRIBUTE_KEY = re.compile(r'data-i18n(?:-[a-z-]+)?="([^"]+)"')
STRING_KEY = re.compile(r"""["'`]([a-z_]+(?:\.[a-z0-9_]+)+)["'`]""")
TEMPLATE_PREFIX = re.compile(r"`([a-z_]+\.[a-z0-9_]*)\$\{")
"""The fixed start of a key built from a template literal: `phase.${phase}` gives "phase."."""
IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(\s*)["']\./([\w.-]+\.js)["']""")


def full_catalog(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def phone_modules(entry: str = PHONE_ENTRY) -> list[str]:
    """The modules the participant page can load: its entry and everything imported from it, statically
    or on demand, followed transitively."""
    seen: list[str] = []
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        todo.extend(IMPORT.findall((STATIC / "js" / name).read_text("utf-8")))
    return sorted(seen)


def phone_keys(namespaces: set[str]) -> set[str]:
    """Keys the participant page names: its HTML's data-i18n attributes and its modules' key strings."""
    keys = set(ATTRIBUTE_KEY.findall((STATIC / PHONE_HTML).read_text("utf-8")))
    for name in phone_modules():
        for key in STRING_KEY.findall((STATIC / "js" / name).read_text("utf-8")):
            if key.split(".")[0] in namespaces:
                keys.add(key)
    return keys


def phone_prefixes() -> set[str]:
    """The fixed parts of the keys the participant page's modules build from templates."""
    return {prefix for name in phone_modules()
            for prefix in TEMPLATE_PREFIX.findall((STATIC / "js" / name).read_text("utf-8"))}


def phone_catalog(lang: str) -> dict[str, str]:
    full = full_catalog(lang)
    used = phone_keys({key.split(".")[0] for key in full})
    prefixes = tuple(phone_prefixes())
    return {key: text for key, text in full.items()
            if key in used or key.removesuffix("_one") in used or key.startswith(prefixes)}


def rendered(catalog: dict[str, str]) -> str:
    return json.dumps(catalog, ensure_ascii=False, indent=0, separators=(",", ":")) + "\n"


def path(lang: str) -> Path:
    return STATIC / "i18n" / "phone" / f"{lang}.json"


def stale() -> list[str]:
    """The phone catalogs that differ from what would be written now."""
    return [lang for lang in LANGUAGES
            if not path(lang).exists() or path(lang).read_text("utf-8") != rendered(phone_catalog(lang))]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        out = stale()
        if out:
            print(f"stale phone catalogs {out}: run python scripts/phone_catalog.py", file=sys.stderr)
        return 1 if out else 0
    for lang in LANGUAGES:
        path(lang).parent.mkdir(exist_ok=True)
        path(lang).write_text(rendered(phone_catalog(lang)), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
