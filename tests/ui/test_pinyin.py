"""拼音输入 engine and keyboard state, without Qt."""

from __future__ import annotations

import pytest

from ui import pinyin as p


def texts(typed: str, n: int = 8) -> list[str]:
    return [c.text for c in p.candidates(typed)[:n]]


@pytest.mark.parametrize(("typed", "shown"), [
    ("zhangjiagang", "zhang jia gang"),
    ("renminlu", "ren min lu"),
    ("xian", "xian"),  # the usual reading; 西安 is typed with the separator
    ("xi'an", "xi an"),
    ("fangan", "fang an"),  # same syllable count: the better-scoring reading (方案)
    ("xianjuzhudizhi", "xian ju zhu di zhi"),
    ("zhangj", "zhang j"),  # a syllable being typed stays as letters
    ("Zhang", "zhang"),
])
def test_segmentation(typed: str, shown: str) -> None:
    assert p.split(typed).shown() == shown


def test_every_reading_is_offered_fewest_syllables_first() -> None:
    readings = [s.pinyin for s in p.splits("xian")]
    assert readings == [("xian",), ("xi", "an")]
    assert p.segmentations("vvv") == []


def test_whole_phrases_come_first() -> None:
    assert texts("zhangjiagang")[0] == "张家港"
    assert texts("renminlu")[0] == "人民路"
    assert "东街" in texts("dongjie", 3)
    assert texts("xi'an")[0] == "西安"
    assert texts("xianjuzhudizhi")[0] == "现居住地址"
    assert texts("fangan")[0] == "方案"


def test_prefixes_and_single_characters_say_what_they_take() -> None:
    found = {(c.text, c.letters) for c in p.candidates("zhangjiagang")}
    assert ("张家", len("zhangjia")) in found
    assert ("张", len("zhang")) in found
    singles = [c.text for c in p.candidates("xian") if c.letters == 4]
    assert {"现", "先", "县"} <= set(singles)


def test_a_partial_last_syllable_offers_what_is_complete() -> None:
    found = p.candidates("zhangj")
    assert "张" in [c.text for c in found]
    assert all(c.letters == 5 for c in found)


@pytest.mark.parametrize("typed", ["vvv", "'", "''zh", "x", "q'q", "iii"])
def test_nothing_readable_gives_no_candidates(typed: str) -> None:
    assert p.candidates(typed) == []


def test_picking_a_prefix_leaves_the_rest() -> None:
    kb = p.KeyboardState(page_size=50)
    for ch in "zhangjiagang":
        assert kb.letter(ch) == p.Output()
    assert kb.preedit() == "zhang jia gang"
    zhangjia = [c.text for c in kb.shown()].index("张家")
    assert kb.pick(zhangjia) == p.Output(commit="张家")
    assert kb.typed == "gang"
    assert kb.pick([c.text for c in kb.shown()].index("港")) == p.Output(commit="港")
    assert kb.typed == "" and kb.shown() == []


def test_separator_is_dropped_with_the_pick() -> None:
    kb = p.KeyboardState(page_size=50)
    for ch in "xi'an":
        kb.separator() if ch == "'" else kb.letter(ch)
    kb.pick([c.text for c in kb.shown()].index("西"))
    assert kb.typed == "an"


def test_keys_with_nothing_typed_act_on_the_field() -> None:
    kb = p.KeyboardState()
    assert kb.backspace() == p.Output(delete=True)
    assert kb.clear() == p.Output(clear=True)
    assert kb.symbol("，") == p.Output(commit="，")
    assert kb.symbol("8") == p.Output(commit="8")
    kb.letter("d")
    assert kb.backspace() == p.Output() and kb.typed == ""


def test_space_and_punctuation_commit_the_first_candidate() -> None:
    kb = p.KeyboardState()
    for ch in "renminlu":
        kb.letter(ch)
    assert kb.symbol("8") == p.Output(commit="人民路8")
    for ch in "zhangj":
        kb.letter(ch)
    # the first candidate does not take every letter: the letters go in, nothing is lost
    assert kb.space() == p.Output(commit="zhangj")


def test_paging() -> None:
    kb = p.KeyboardState(page_size=5)
    for ch in "zhang":
        kb.letter(ch)
    first = kb.shown()
    assert len(first) == 5 and kb.pages > 1
    kb.prev_page()
    assert kb.page == 0
    kb.next_page()
    assert kb.shown() != first
    kb.letter("j")  # typing goes back to the first page
    assert kb.page == 0


def test_english_mode_types_letters_as_is() -> None:
    kb = p.KeyboardState()
    kb.letter("a")
    assert kb.toggle_chinese() == p.Output(commit="a")
    assert kb.letter("B") == p.Output(commit="b")
    kb.capitals = True
    assert kb.letter("a") == p.Output(commit="A")
    assert kb.space() == p.Output(commit=" ")
    assert kb.symbol(",") == p.Output(commit=",")
    kb.toggle_chinese()
    assert kb.chinese and kb.letter("b") == p.Output()


def test_nonsense_never_crashes() -> None:
    kb = p.KeyboardState()
    for ch in "vvvqqq'''xx":
        kb.separator() if ch == "'" else kb.letter(ch)
    assert kb.shown() == [] and kb.pick(0) == p.Output()
    assert kb.space() == p.Output(commit="vvvqqq'xx")


def test_a_page_holds_what_its_width_allows() -> None:
    kb = p.KeyboardState(page_size=8, page_width=12)
    for ch in "zhangjiagangshi":
        kb.letter(ch)
    pages = []
    while True:
        pages.append(kb.shown())
        if kb.page + 1 >= kb.pages:
            break
        kb.next_page()
    assert pages[0][0].text == "张家港市"
    for shown in pages:
        assert shown and (len(shown) == 1 or sum(len(c.text) + 1 for c in shown) <= 12)
    assert sum(len(s) for s in pages) == len(kb.candidates())


def test_the_model_loads_once_even_when_warmed_up_and_asked_at_once() -> None:
    p.warm_up()
    assert p.candidates("ren")[0].text
    p.warm_up()
    assert len(p._model) == 1
