"""The one text validator (facilitation/core/text.py) and the duplicate key, without a server."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facilitation.core.errors import ProtocolError
from facilitation.core.fields import check_op, text_field
from facilitation.core.text import FORBIDDEN, FORMAT_CHARACTERS, clean, collapse, dedup_key, is_plain_word, is_visible


def refusal(value: object, *, max_chars: int = 100, multiline: bool = False, visible: bool = False) -> str:
    with pytest.raises(ProtocolError) as info:
        clean(value, "text", max_chars=max_chars, multiline=multiline, visible=visible)
    return info.value.code


def test_lone_surrogates_from_a_json_escape_are_refused() -> None:
    for raw in ('"\\ud800"', '"a\\udfffb"', '"\\ud83d"'):
        assert refusal(json.loads(raw)) == "invalid_field"


def test_a_surrogate_pair_escape_is_one_valid_character() -> None:
    assert clean(json.loads('"\\ud83d\\ude42"'), "text", max_chars=1) == "🙂"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u202a", "\u2066",
                                  "\u2069"])
def test_control_and_bidi_override_characters_are_refused(char: str) -> None:
    assert refusal(f"abc{char}def") == "invalid_field"


def test_whitespace_controls_are_normalised_not_refused() -> None:
    assert clean("a\tb\r\nc\n\n d", "text", max_chars=100) == "a b c d"
    assert clean("line one\r\nline  two\u2028three", "text", max_chars=100, multiline=True) == (
        "line one\nline two\nthree"
    )


def test_direction_marks_are_kept() -> None:
    assert clean("שלום\u200f!", "text", max_chars=100) == "שלום\u200f!"


def test_stored_in_nfc_and_counted_in_characters() -> None:
    decomposed = "Cafe\u0301"
    stored = clean(decomposed, "text", max_chars=4)
    assert stored == unicodedata.normalize("NFC", decomposed) and len(stored) == 4
    assert clean("字" * 10, "text", max_chars=10) == "字" * 10
    assert refusal("字" * 11, max_chars=10) == "too_long"


@pytest.mark.parametrize("value", [5, 1.5, True, None, ["a"], {"a": 1}])
def test_only_strings_are_text_never_coerced(value: object) -> None:
    assert refusal(value) == "invalid_field"


@pytest.mark.parametrize("value", ["\u200b", "\u200b\u200c\u200d\ufeff", "\u0301\u0301", "\u3164", "\u00ad ",
                                   "\u2800", " \u200b "])
def test_text_made_only_of_invisible_characters_is_not_visible(value: str) -> None:
    assert not is_visible(value)
    assert refusal(value, visible=True) == "empty"


def test_visible_text_passes_with_its_joiners() -> None:
    family = "👨\u200d👩\u200d👧"
    assert is_visible(family) and clean(family, "text", max_chars=10, visible=True) == family
    assert clean("   ", "text", max_chars=10, visible=True) == ""  # empty is the caller's decision


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("應該增設機車停車區。", "應該增設\u200b機車停車區。"),
        ("More bike parking", "MORE bike parking"),
        ("More bike parking", "More bi\u00adke parking"),
        ("ABC 123", "ＡＢＣ　１２３"),
        ("Straße", "STRASSE"),
        ("a b", "a\u2060 \u2060b"),
        ("🙂", "🙂\ufe0f"),
        ("Café", "Cafe\u0301"),
    ],
)
def test_lookalikes_share_the_duplicate_key(a: str, b: str) -> None:
    assert dedup_key(a) == dedup_key(b)


def test_whitespace_of_any_kind_separates_words_in_the_key() -> None:
    assert dedup_key("a\tb") == dedup_key("a\u2028b") == dedup_key("a\u3000b") == "a b" != dedup_key("ab")


def test_different_texts_keep_different_keys() -> None:
    assert dedup_key("agree") != dedup_key("disagree")
    assert dedup_key("résumé") != dedup_key("resume")
    assert dedup_key("夜市") != dedup_key("夜間")


@given(st.text(max_size=60))
def test_clean_either_refuses_or_returns_storable_text(value: str) -> None:
    """Whatever a client sends, what comes out encodes as UTF-8, is NFC and has no forbidden character."""
    try:
        stored = clean(value, "text", max_chars=60, multiline=True)
    except ProtocolError as exc:
        assert exc.code in ("invalid_field", "too_long")
        return
    stored.encode("utf-8")
    assert unicodedata.is_normalized("NFC", stored)
    assert FORBIDDEN.search(stored) is None
    assert len(stored) <= 60


@given(st.text(max_size=40))
def test_dedup_key_is_idempotent(value: str) -> None:
    key = dedup_key(collapse(value))
    assert dedup_key(key) == key


def test_format_character_table_matches_this_pythons_unicode_data() -> None:
    """The duplicate key's hard-coded table is exactly the Cf, Cc, Zl and Zp characters unicodedata knows."""
    table = re.compile(f"[{FORMAT_CHARACTERS}]")
    for code in [*range(0x20000), *range(0xE0000, 0xE1000)]:
        char = chr(code)
        expected = unicodedata.category(char) in ("Cf", "Cc", "Zl", "Zp")
        assert (table.match(char) is not None) == expected, f"U+{code:04X}"


_WORDISH = st.one_of(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40),
                     st.text(max_size=40), st.sampled_from(["agree", "", " ", "a b", "x\x7f", "é", "a\tb"]))


@given(_WORDISH, st.integers(min_value=0, max_value=40), st.booleans(), st.booleans())
def test_a_plain_word_is_what_clean_returns(value: str, max_chars: int, multiline: bool, visible: bool) -> None:
    """The fast path of text fields accepts only values :func:`clean` returns unchanged."""
    if is_plain_word(value, max_chars):
        assert clean(value, "f", max_chars=max_chars, multiline=multiline, visible=visible) == value


@given(_WORDISH, st.integers(min_value=0, max_value=40), st.booleans(), st.booleans())
def test_a_text_field_refuses_or_cleans_as_clean_does(value: str, max_chars: int, multiline: bool,
                                                      visible: bool) -> None:
    """A text field's check (with its fast path) is exactly :func:`clean`: the same value or the same refusal."""
    check = text_field(max_chars, multiline=multiline, visible=visible)
    try:
        expected: str | ProtocolError = clean(value, "f", max_chars=max_chars, multiline=multiline, visible=visible)
    except ProtocolError as exc:
        expected = exc
    try:
        got: str | ProtocolError = check(value, "f")
    except ProtocolError as exc:
        got = exc
    if isinstance(expected, ProtocolError):
        assert isinstance(got, ProtocolError) and (got.code, got.message) == (expected.code, expected.message)
    else:
        assert got == expected


@given(st.one_of(_WORDISH, st.text(alphabet=st.characters(max_codepoint=0x7F), min_size=60, max_size=70)))
def test_check_op_fast_path_agrees_with_the_rule(value: str) -> None:
    """An op is accepted exactly when it has at most 64 characters, none forbidden, and is empty or visible."""
    valid = len(value) <= 64 and FORBIDDEN.search(value) is None and (not value or is_visible(value))
    try:
        assert check_op(value) == value and valid
    except ProtocolError:
        assert not valid
