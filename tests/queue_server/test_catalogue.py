"""The item catalogue: the shipped data loads, bad entries name their file and field,
form values are checked as the server and kiosk need."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from queue_server.catalogue import (
    DEFAULT_DIR,
    check_form,
    for_hall,
    load_catalogue,
)
from queue_server.config import ConfigError, load_hall
from tests.queue_server.engine_harness import DEMO, TOWNSHIP

TODAY = date(2026, 11, 23)


@pytest.fixture
def cat_dir(tmp_path: Path) -> Path:
    d = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_DIR, d)
    return d


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_shipped_catalogue_has_items_bundles_and_guides() -> None:
    cat = load_catalogue()
    assert len(cat.items) >= 12 and len(cat.bundles) >= 3
    for item in cat.items.values():
        g = item.guide()
        for key in ("name", "code", "type", "department", "legal_basis", "conditions",
                    "materials", "process", "legal_limit_days", "promised_limit_days", "fees",
                    "visits", "location", "hours", "enquiry_phone", "complaint_phone",
                    "service_object", "online_url", "version", "version_date", "service",
                    "form"):
            assert g[key] not in (None, "", []), (item.code, key)
        sources = {f["key"]: f["source"] for f in g["form"]}
        assert sources["id_number"] == "idcard" and sources["name"] == "idcard"
        assert any(m["capture"] for m in g["materials"])
    names = {i.name for i in cat.items.values()}
    assert {"城乡居民基本养老保险参保登记", "生育登记", "残疾人证申领", "临时救助申请",
            "高龄津贴申领", "个体工商户设立登记", "户籍证明开具"} <= names


def test_bundle_has_one_merged_form() -> None:
    cat = load_catalogue()
    t = cat.target("xinshenger-chusheng")
    assert t is not None and t.kind == "bundle" and len(t.items) == 3
    keys = [f.key for f in t.form]
    assert len(keys) == len(set(keys))  # each field asked once
    assert {"child_name", "spouse_name", "insured_name", "phone"} <= set(keys)
    assert keys.count("id_number") == 1
    assert {m.key for m in t.materials} >= {"birth_cert", "hukou_book", "id_card"}
    assert cat.target("no-such") is None


@pytest.mark.parametrize(("file", "old", "new", "key"), [
    ("items/gaoling-jintie.toml", 'type = "行政给付"', 'type = "行政奖励"', "type"),
    ("items/gaoling-jintie.toml", 'fees = "不收费"\n', "", "fees"),
    ("items/gaoling-jintie.toml", "promised_limit_days = 5", "promised_limit_days = 50",
     "promised_limit_days"),
    ("items/gaoling-jintie.toml", 'type = "bank_account"', 'type = "iban"', "form[10].type"),
    ("items/gaoling-jintie.toml", 'key = "phone"', 'key = "Phone"', "form[5].key"),
    ("items/gaoling-jintie.toml", 'key = "bank_card"', 'key = "hukou_book"',
     "materials[2].key"),
    ("items/gaoling-jintie.toml", "version_date = 2026-09-01", 'version_date = "soon"',
     "version_date"),
    ("items/gaoling-jintie.toml", 'online_url = "https', 'online_url = "ftp', "online_url"),
    ("items/gaoling-jintie.toml", 'code = "gaoling-jintie"', 'code = "gaoling"', "code"),
    ("items/gaoling-jintie.toml", "fees =", "fee =", "fee"),
    ("bundles/gaoling-laoren.toml", '"laonian-youdai"', '"laonian"', "items[1]"),
])
def test_bad_entry_names_file_and_field(cat_dir: Path, file: str, old: str, new: str,
                                        key: str) -> None:
    edit(cat_dir / file, old, new)
    with pytest.raises(ConfigError) as e:
        load_catalogue(cat_dir)
    assert e.value.path == str(cat_dir / file) and e.value.key == key, str(e.value)
    assert str(e.value).startswith(str(cat_dir / file))


def test_bundle_with_conflicting_field_types_is_refused(cat_dir: Path) -> None:
    edit(cat_dir / "items/laonian-youdai.toml", 'label = "紧急联系人电话"\ntype = "phone"',
         'label = "紧急联系人电话"\ntype = "text"')
    edit(cat_dir / "items/gaoling-jintie.toml", 'key = "agent_phone"', 'key = "emergency_phone"')
    with pytest.raises(ConfigError) as e:
        load_catalogue(cat_dir)
    assert e.value.key == "items" and "emergency_phone" in e.value.problem


def test_syntax_error_names_file(cat_dir: Path) -> None:
    (cat_dir / "items/gaoling-jintie.toml").write_text("code = \n", "utf-8")
    with pytest.raises(ConfigError) as e:
        load_catalogue(cat_dir)
    assert e.value.key == "(syntax)"


def test_hall_must_serve_each_items_service(tmp_path: Path) -> None:
    hall = load_hall(TOWNSHIP)
    _, shipped = for_hall(hall)  # the township maps its 民政/残联 items to its window C
    assert shipped.items["canji-zheng"].service == "C"
    plain = replace(hall, path=str(tmp_path / "plain.toml"), sections={})
    _, cat = for_hall(plain)  # no mapping: the catalogue's own letter (A: every hall has it)
    assert cat.items["canji-zheng"].service == "A"
    odd = replace(hall, path=str(tmp_path / "odd.toml"),
                  sections={"filing": {"services": {"canji-zheng": "B"}}})
    _, cat2 = for_hall(odd)
    assert cat2.items["canji-zheng"].service == "B"
    bad = replace(hall, path=str(tmp_path / "bad.toml"),
                  sections={"filing": {"services": {"canji-zheng": "Z"}}})
    with pytest.raises(ConfigError) as e:
        for_hall(bad)
    assert e.value.key == "filing.services.canji-zheng"
    worse = replace(hall, path=str(tmp_path / "w.toml"), sections={"filing": {"prefill": 3}})
    with pytest.raises(ConfigError, match=r"filing\.prefill"):
        for_hall(worse)


def test_form_values_checked() -> None:
    cat = load_catalogue()
    t = cat.target("linshi-jiuzhu")
    assert t is not None
    good = {"name": "张三", "gender": "男", "birth": "1950-01-01", "address": "浙江省某县某村1号",
            "id_number": "11010519491231002X", "phone": "13812345678",
            "address_now": "某县某镇某村1号", "family_size": "3", "hardship_reason": "意外事故",
            "amount_requested": "3000.50", "hardship_detail": "车祸住院",
            "bank_name": "中国农业银行", "bank_account": "6228480012345678901"}
    assert check_form(t.form, good, TODAY) == {}
    bad = {**good, "phone": "1381234", "family_size": "2.5", "amount_requested": "99999",
           "hardship_reason": "想要", "id_number": "110105194912310021", "extra": "x"}
    del bad["address_now"]
    problems = check_form(t.form, bad, TODAY)
    assert set(problems) == {"phone", "family_size", "amount_requested", "hardship_reason",
                             "id_number", "extra", "address_now"}
    assert problems["phone"].startswith("联系电话应为")
    assert problems["address_now"] == "请填写现居住地址"
    assert check_form(t.form, {**good, "amount_requested": "1.234"}, TODAY)[
        "amount_requested"].endswith("两位小数")


def test_demo_hall_catalogue_loads() -> None:
    settings, cat = for_hall(load_hall(DEMO))
    assert settings.prefill_days == 180 and settings.max_document_kb == 1536
    assert cat.index()["report_choices"][0] == "申请条件有误"
