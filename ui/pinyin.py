"""拼音输入 without Qt: split typed letters into pinyin syllables, find the Chinese they may
mean, and keep the state of an on-screen keyboard (letters typed, candidate page, mode).

Conversion is Pinyin2Hanzi's (a hidden Markov model over words with its own data): a kiosk
has no system input method, and this one needs no service. What it lacks is cutting a run
of letters into syllables ("zhangjiagang" -> zhang jia gang) and an IME's habits (pick a
first part, keep typing); those are here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

SEPARATOR = "'"
LONGEST_SYLLABLE = 6  # zhuang, shuang, chuang
# Segmentations tried for one string: the ones with the fewest syllables and one more
# (xian | xi an, fangan | fang an | fan gan); longer splits only add single characters.
MAX_SEGMENTATIONS = 6
PATHS = 8  # phrase paths asked of the model per syllable run
SINGLE_PATHS = 24  # single characters offered for the first syllable
MAX_TYPED = 48  # letters held before a pick; a resident never needs more

Span = tuple[int, int]  # [start, end) of one syllable in the typed string


_model: list[Any] = []
_model_lock = threading.Lock()


def _params() -> Any:
    # Loading the model's tables takes ~0.5 s: once per process, when first asked (the lock:
    # warm_up's thread and a first key touch may ask at the same time).
    with _model_lock:
        if not _model:
            from Pinyin2Hanzi import DefaultDagParams

            _model.append(DefaultDagParams())
        return _model[0]


def warm_up() -> None:
    """Load the model on a thread now, so the resident's first key touch does not wait."""
    if not _model:
        threading.Thread(target=_params, name="pinyin-model", daemon=True).start()


@cache
def syllables() -> frozenset[str]:
    from Pinyin2Hanzi import all_pinyin

    return frozenset(all_pinyin())


def _dag(pinyin: tuple[str, ...], paths: int) -> list[tuple[float, list[str]]]:
    from Pinyin2Hanzi import dag

    return [(r.score, list(r.path)) for r in dag(_params(), list(pinyin), path_num=paths)]


@dataclass(frozen=True)
class Candidate:
    text: str
    letters: int  # characters of the typed string it stands for, from the start
    score: float = 0.0


@dataclass(frozen=True)
class Split:
    """How the typed letters are read: syllables, then the letters not (yet) a syllable."""

    spans: tuple[Span, ...]
    typed: str

    @property
    def pinyin(self) -> tuple[str, ...]:
        return tuple(self.typed[a:b] for a, b in self.spans)

    @property
    def rest(self) -> str:
        end = self.spans[-1][1] if self.spans else 0
        return self.typed[end:].lstrip(SEPARATOR) if self.spans else self.typed

    def letters(self, n: int) -> int:
        """Characters of the typed string that the first n syllables take (with the
        separator after them, so picking them never leaves a dangling apostrophe)."""
        if n <= 0:
            return 0
        end = self.spans[n - 1][1]
        while end < len(self.typed) and self.typed[end] == SEPARATOR:
            end += 1
        return end

    def shown(self) -> str:
        """The typed letters as the resident should read them: zhang jia gang j."""
        parts = list(self.pinyin)
        if self.rest:
            parts.append(self.rest)
        return " ".join(parts)


def _reach(typed: str) -> list[bool]:
    """reach[i]: typed[:i] is whole syllables (and separators)."""
    syl = syllables()
    reach = [False] * (len(typed) + 1)
    reach[0] = True
    for i in range(len(typed)):
        if not reach[i]:
            continue
        if typed[i] == SEPARATOR:
            reach[i + 1] = True
            continue
        for n in range(1, LONGEST_SYLLABLE + 1):
            chunk = typed[i:i + n]
            if len(chunk) == n and SEPARATOR not in chunk and chunk in syl:
                reach[i + n] = True
    return reach


def segmentations(typed: str, limit: int = MAX_SEGMENTATIONS) -> list[tuple[Span, ...]]:
    """Ways to read all of `typed` as syllables (a separator is a forced boundary), fewest
    syllables first; [] when it cannot be read whole."""
    syl = syllables()
    end = len(typed)
    fewest: dict[int, int | None] = {end: 0}  # fewest syllables from i to the end

    def least(i: int) -> int | None:
        if i in fewest:
            return fewest[i]
        best: int | None = None
        if typed[i] == SEPARATOR:
            best = least(i + 1)
        else:
            for n in range(1, LONGEST_SYLLABLE + 1):
                chunk = typed[i:i + n]
                if len(chunk) == n and SEPARATOR not in chunk and chunk in syl:
                    rest = least(i + n)
                    if rest is not None and (best is None or rest + 1 < best):
                        best = rest + 1
        fewest[i] = best
        return best

    minimum = least(0) if typed else None
    if not minimum:
        return []
    found: list[tuple[Span, ...]] = []
    for budget in (minimum, minimum + 1):
        _walk(typed, 0, (), budget, least, syl, found, limit)
    return found[:limit]


def _walk(typed: str, i: int, acc: tuple[Span, ...], budget: int, least: Any,
          syl: frozenset[str], out: list[tuple[Span, ...]], limit: int) -> None:
    if len(out) >= limit:
        return
    if i == len(typed):
        if len(acc) == budget and acc not in out:
            out.append(acc)
        return
    if typed[i] == SEPARATOR:
        _walk(typed, i + 1, acc, budget, least, syl, out, limit)
        return
    for n in range(LONGEST_SYLLABLE, 0, -1):  # longest syllable first: the usual reading
        chunk = typed[i:i + n]
        if len(chunk) != n or SEPARATOR in chunk or chunk not in syl:
            continue
        rest = least(i + n)
        if rest is not None and len(acc) + 1 + rest <= budget:
            _walk(typed, i + n, (*acc, (i, i + n)), budget, least, syl, out, limit)


def readable_prefix(typed: str) -> int:
    """Length of the longest start of `typed` that is whole syllables: "zhangj" -> 5."""
    reach = _reach(typed)
    for i in range(len(typed), 0, -1):
        if reach[i] and typed[:i].strip(SEPARATOR):
            return i
    return 0


def _best_score(split: Split) -> float:
    found = _dag(split.pinyin, PATHS)
    return found[0][0] if found else 0.0


@lru_cache(maxsize=64)  # the keyboard asks again for the line it shows
def splits(typed: str) -> tuple[Split, ...]:
    """Readings of the readable start of `typed`, best first: the fewest syllables, as
    every pinyin IME reads them (xian is 现, 西安 is typed xi'an), and among those the one
    whose candidates score best (fangan -> fang an 方案 before fan gan 反感). Scores of
    readings with more syllables are not comparable: the model rates 西安 above 现, and
    "xianjuzhudizhi" would read 西安居住地址."""
    typed = typed.lower()
    head = readable_prefix(typed)
    if not head:
        return ()
    found = [Split(spans, typed) for spans in segmentations(typed[:head])]
    # rest/letters are measured against the whole typed string
    return tuple(sorted(found, key=lambda sp: (len(sp.spans), -_best_score(sp))))


def split(typed: str) -> Split:
    """The best reading of `typed` (no syllables at all when nothing is readable)."""
    found = splits(typed)
    return found[0] if found else Split((), typed.lower())


def candidates(typed: str) -> list[Candidate]:
    """What the typed letters may mean, in the order to offer them: the whole readable part
    first, then phrases for shorter starts (pick 张家, keep typing), then single characters
    of the first syllable. Each says how many typed characters a pick takes away."""
    readings = splits(typed)
    if not readings:
        return []
    best = readings[0]
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()

    def add(text: str, letters: int, score: float) -> None:
        if text and (text, letters) not in seen:
            seen.add((text, letters))
            out.append(Candidate(text, letters, score))

    whole = best.letters(len(best.spans))
    full = _dag(best.pinyin, PATHS if len(best.spans) > 1 else SINGLE_PATHS)
    if full:  # the model's best sentence for all of it, even when it is several words
        add("".join(full[0][1]), whole, full[0][0])
    for sp in readings:  # whole phrases: the best reading's, then the others' (西安 for xian)
        for score, path in full if sp is best else _dag(sp.pinyin, PATHS):
            if len(path) == 1:
                add(path[0], sp.letters(len(sp.spans)), score)
    # Starts of the best reading, longest first: first words of the model's sentences and
    # the phrases for the first n syllables.
    for n in range(len(best.spans) - 1, 0, -1):
        firsts = [(s, p[0]) for s, p in full if len(p[0]) == n]
        head = [(s, p[0]) for s, p in _dag(best.pinyin[:n], PATHS if n > 1 else SINGLE_PATHS)
                if len(p) == 1]
        for score, text in sorted(firsts + head, key=lambda p: -p[0]):
            add(text, best.letters(n), score)
    return out


# --------------------------------------------------------------------------- keyboard state


@dataclass(frozen=True)
class Output:
    """What a key does to the field being typed in."""

    commit: str = ""  # insert at the cursor
    delete: bool = False  # delete the character before the cursor
    clear: bool = False  # empty the field


@dataclass
class KeyboardState:
    """An IME's state: letters typed but not yet turned into characters, the candidate page
    shown, Chinese or English. Every key is a method returning what goes into the field.

    A page holds at most `page_size` candidates whose texts, one character of room each
    between them, take at most `page_width` characters: the bar shows large characters and
    a long phrase (张家港市人民路) must not push the rest off the screen."""

    page_size: int = 6
    page_width: int = 1000
    chinese: bool = True
    typed: str = ""
    page: int = 0
    capitals: bool = False  # English letters as capitals (A座, B栋)
    _found: tuple[str, list[Candidate]] = field(default=("", []), repr=False)
    _paged: tuple[Any, list[int]] = field(default=(None, [0]), repr=False)

    def _computed(self) -> tuple[list[Candidate], list[int]]:
        if self._found[0] != self.typed:
            self._found = (self.typed, candidates(self.typed) if self.typed else [])
        found = self._found[1]
        key = (self.typed, self.page_size, self.page_width)
        if self._paged[0] != key:
            self._paged = (key, self._page_starts(found))
        return found, self._paged[1]

    def _page_starts(self, found: list[Candidate]) -> list[int]:
        starts = [0]
        count = width = 0
        for i, c in enumerate(found):
            cost = len(c.text) + 1
            if count and (count >= self.page_size or width + cost > self.page_width):
                starts.append(i)
                count = width = 0
            count += 1
            width += cost
        return starts

    def candidates(self) -> list[Candidate]:
        return self._computed()[0]

    def shown(self) -> list[Candidate]:
        found, starts = self._computed()
        if not found:
            return []
        end = starts[self.page + 1] if self.page + 1 < len(starts) else len(found)
        return found[starts[self.page]:end]

    @property
    def pages(self) -> int:
        found, starts = self._computed()
        return len(starts) if found else 0

    def preedit(self) -> str:
        return split(self.typed).shown() if self.typed else ""

    def _set(self, typed: str) -> None:
        self.typed = typed
        self.page = 0

    def reset(self) -> None:
        """Drops the letters typed (the resident moved to another field)."""
        self._set("")

    def letter(self, ch: str) -> Output:
        if not self.chinese:
            return Output(commit=ch.upper() if self.capitals else ch.lower())
        if len(self.typed) < MAX_TYPED and ch.isascii() and ch.isalpha():
            self._set(self.typed + ch.lower())
        return Output()

    def separator(self) -> Output:
        if not self.chinese:
            return Output(commit=SEPARATOR)
        if self.typed and not self.typed.endswith(SEPARATOR):
            self._set(self.typed + SEPARATOR)
        return Output()

    def backspace(self) -> Output:
        if self.typed:
            self._set(self.typed[:-1])
            return Output()
        return Output(delete=True)

    def clear(self) -> Output:
        """Drops the letters typed; with none, empties the field (as the numeric keypad)."""
        if self.typed:
            self._set("")
            return Output()
        return Output(clear=True)

    def pick(self, index: int) -> Output:
        """Index on the page shown. The letters the candidate stands for go; the rest stay
        for the next pick."""
        shown = self.shown()
        if not 0 <= index < len(shown):
            return Output()
        c = shown[index]
        rest = self.typed[c.letters:].lstrip(SEPARATOR)
        self._set(rest)
        return Output(commit=c.text)

    def _flush(self, then: str) -> Output:
        """Before a space, punctuation or digit: the first candidate goes in if it takes all
        letters, else the letters as typed (nothing a resident typed is lost)."""
        if not self.typed:
            return Output(commit=then)
        first = self.candidates()[:1]
        text = first[0].text if first and first[0].letters >= len(self.typed) else self.typed
        self._set("")
        return Output(commit=text + then)

    def space(self) -> Output:
        if self.typed and self.chinese:
            return self._flush("")
        return Output(commit=" ")

    def symbol(self, text: str) -> Output:
        """Punctuation, a digit or a word key (号, 单元), typed as it is."""
        if not self.chinese:
            return Output(commit=text)
        return self._flush(text)

    def toggle_chinese(self) -> Output:
        """中/英: letters waiting go into the field as typed."""
        out = Output(commit=self.typed.replace(SEPARATOR, "")) if self.typed else Output()
        self._set("")
        self.chinese = not self.chinese
        return out

    def next_page(self) -> None:
        if self.page + 1 < self.pages:
            self.page += 1

    def prev_page(self) -> None:
        if self.page > 0:
            self.page -= 1
