"""Finding an item in the catalogue index: by name, by pinyin initials, by group.

Pure: the index is the server's `guide` answer without an item. pypinyin turns each name
into its initials once ("残疾人证" -> "cjrz"), so a resident who cannot write the
characters types the first letters on the on-screen keyboard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin


@dataclass(frozen=True)
class Entry:
    code: str
    name: str
    kind: str  # "item" | "bundle"
    department: str
    life_events: tuple[str, ...]
    version_date: str


@lru_cache(maxsize=2048)
def initials(text: str) -> str:
    """Lower-case pinyin initials of the Chinese characters in `text` (others kept as is)."""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")
    return "".join(p[:1] for p in letters if p).lower()


@lru_cache(maxsize=2048)
def full_pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text)).lower()


def entries(index: dict[str, Any]) -> list[Entry]:
    out = [Entry(str(i["code"]), str(i["name"]), "item", str(i.get("department") or ""),
                 tuple(i.get("life_events") or ()), str(i.get("version_date") or ""))
           for i in index.get("items") or ()]
    out += [Entry(str(b["code"]), str(b["name"]), "bundle", "一件事一次办",
                  (str(b.get("life_event") or ""),), str(b.get("version_date") or ""))
            for b in index.get("bundles") or ()]
    return out


def department_names(department: str) -> list[str]:
    """"县民政局、县残疾人联合会" is two departments; "县民政局（老龄办）" is 县民政局: a
    resident browsing 县民政局 expects all of its items."""
    out = []
    for part in re.split(r"[、，,/]", department):
        name = re.sub(r"[（(].*?[）)]", "", part).strip()
        if name:
            out.append(name)
    return out


def departments(index: dict[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for e in entries(index):
        if e.kind == "item":
            for name in department_names(e.department):
                seen.setdefault(name)
    return list(seen)


def life_events(index: dict[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for e in entries(index):
        for ev in e.life_events:
            if ev:
                seen.setdefault(ev)
    return list(seen)


def in_group(index: dict[str, Any], tab: str, group: str) -> list[Entry]:
    """The entries of one department (tab "dept") or life event (tab "event", bundles first)."""
    es = entries(index)
    if tab == "dept":
        return [e for e in es if e.kind == "item" and group in department_names(e.department)]
    if tab == "event":
        hits = [e for e in es if group in e.life_events]
        return sorted(hits, key=lambda e: e.kind != "bundle")
    if tab == "bundle":
        return [e for e in es if e.kind == "bundle"]
    return es


def search(index: dict[str, Any], query: str) -> list[Entry]:
    """Entries whose name contains the query, or whose pinyin initials or full pinyin do.

    Name matches come first, then initials at the start of the name, then elsewhere."""
    q = "".join(query.split()).lower()
    if not q:
        return []
    ranked: list[tuple[int, int, Entry]] = []
    for n, e in enumerate(entries(index)):
        if q in e.name or q in e.department:
            rank = 0
        elif q.isascii() and initials(e.name).startswith(q):
            rank = 1
        elif q.isascii() and (q in initials(e.name) or q in full_pinyin(e.name)
                              or q in e.code.replace("-", "")):
            rank = 2  # the code spells common short names: dibao (低保), canji (残疾)
        else:
            continue
        ranked.append((rank, n, e))
    return [e for _, _, e in sorted(ranked, key=lambda t: (t[0], t[1]))]
