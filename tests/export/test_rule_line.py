"""Reports say what their "everyone" means (issue 22): the acceptable lane is named for its rule, the rule
is written beside it in one line, and no report calls it everyone's."""

from __future__ import annotations

import html
import re

import pytest

from facilitation.export import render
from facilitation.export.i18n import catalog
from tests.export.test_statement_numbers import summary_of

OVERCLAIMS = re.compile(r"大家都能接受|所有人都能接受|everyone can accept|everyone accepts", re.IGNORECASE)


@pytest.mark.parametrize("language", ["zh-TW", "en"])
@pytest.mark.parametrize("form", ["md", "html"])
def test_reports_name_the_lane_for_its_rule_and_write_the_rule(language: str, form: str) -> None:
    """Markdown and HTML carry the lane's name (每組多數可接受), its rule in one line, and no "everyone"."""
    summary = summary_of(language)
    cat = catalog(language)
    text = html.unescape(render(summary, form).decode()).replace("\\", "")
    assert cat.lane("acceptable") in text
    rule = cat.t("acceptable_intro")
    assert rule in text, rule
    assert len(rule.splitlines()) == 1
    assert not OVERCLAIMS.search(text), OVERCLAIMS.search(text)
