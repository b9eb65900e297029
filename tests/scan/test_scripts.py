"""Names, headers, addresses and phones in other scripts (issue 26), without the NER model: the
name gazetteer in every script Faker's person providers hold, script-aware name forms (CJK family
name first without a space, Cyrillic patronymics, Arabic particles), header words of those
languages with the same veto logic, street words and house numbers of those countries, phones in
their own digits. Each has a look-alike in the same script that must stay untagged. Values are
written literally (no Faker at test time)."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from policyengine.scan import scan_paths
from policyengine.scan.names import name_hint
from policyengine.scan.personnames import script_name

rng = random.Random(26)
N = 120
ZH_FAMILY, ZH_GIVEN = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"], ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "桂英", "建华"]
RU_GIVEN = ["Иван", "Анна", "Сергей", "Мария", "Алексей", "Елена", "Дмитрий", "Ольга", "Николай", "Татьяна"]
RU_FAMILY = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов", "Волков"]
RU_PATRONYMIC = ["Иванович", "Сергеевна", "Петрович", "Алексеевна", "Николаевич", "Дмитриевна"]
AR_GIVEN = ["محمد", "أحمد", "فاطمة", "علي", "عمر", "خالد", "نورة", "سارة", "عبدالله", "يوسف"]
AR_FAMILY = ["العتيبي", "القحطاني", "الغامدي", "الشمري", "الحربي", "الزهراني", "المطيري", "الدوسري"]
DISHES_ZH = ["宫保鸡丁", "麻婆豆腐", "红烧肉", "鱼香肉丝", "北京烤鸭", "回锅肉", "糖醋排骨", "水煮鱼", "小笼包", "酸辣汤", "蛋炒饭", "东坡肉"]
PRODUCTS_RU = ["Беспроводная мышь", "Электрочайник", "Ноутбук", "Увлажнитель воздуха", "Мультиварка", "Наручные часы",
               "Складной зонт", "Пылесос", "Настольная лампа", "Вентилятор", "Наушники", "Кофемолка"]


def scan(tmp_path: Path, columns: dict[str, list]) -> dict[str, set[str]]:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(columns), path)
    return {c["column"]: set(c["entities"]) for c in scan_paths([path], model="none").columns}


def _zh() -> str:
    return rng.choice(ZH_FAMILY) + rng.choice(ZH_GIVEN)


def _ru() -> str:
    g, f, p = rng.choice(RU_GIVEN), rng.choice(RU_FAMILY), rng.choice(RU_PATRONYMIC)
    f = f + "а" if p.endswith("на") else f
    return rng.choice([f"{f} {g} {p}", f"{g} {p} {f}", f"{g} {f}"])


def _ar() -> str:
    return rng.choice(["{g} {f}", "{g} بن {g2} {f}", "{g} آل {f}"]).format(
        g=rng.choice(AR_GIVEN), g2=rng.choice(AR_GIVEN), f=rng.choice(AR_FAMILY))


@pytest.mark.parametrize("value,expected", [
    ("王伟", True), ("陈秀英", True), ("Смирнова Анна Сергеевна", True), ("محمد بن علي العتيبي", True), ("前田 舞", True),
    ("宫保鸡丁", False), ("王府井", False), ("Котлета по-киевски", False), ("شارع محمد 12", False), ("Шопска салата", False),
])
def test_script_name_forms(value: str, expected: bool) -> None:
    assert script_name(value) is expected


def test_full_names_in_other_scripts_under_meaningless_headers(tmp_path: Path) -> None:
    found = scan(tmp_path, {
        "c1": [_zh() for _ in range(N)], "c2": [_ru() for _ in range(N)], "c3": [_ar() for _ in range(N)],
        "c4": [rng.choice(DISHES_ZH) for _ in range(N)], "c5": [rng.choice(PRODUCTS_RU) + f" {rng.randint(1, 300)}" for _ in range(N)],
    })
    assert found == {"c1": {"PERSON"}, "c2": {"PERSON"}, "c3": {"PERSON"}, "c4": set(), "c5": set()}


@pytest.mark.parametrize("header,entity,not_person", [
    ("氏名", "PERSON", False), ("顧客氏名", "PERSON", False), ("이름", "PERSON", False), ("姓名", "PERSON", False),
    ("фамилия", "PERSON", False), ("имя", "PERSON", False), ("ім'я", "PERSON", False), ("الاسم", "PERSON", False),
    ("نام", "PERSON", False), ("שם", "PERSON", False), ("όνομα", "PERSON", False), ("नाम", "PERSON", False),
    ("电话", "PHONE_NUMBER", False), ("телефон", "PHONE_NUMBER", False), ("الهاتف", "PHONE_NUMBER", False),
    ("住所", "LOCATION", False), ("адрес", "LOCATION", False), ("כתובת", "LOCATION", False),
    ("公司名称", None, True), ("商品名", None, True), ("название_товара", None, True), ("نام_محصول", None, True),
    ("שם_רחוב", "LOCATION", True), ("όνομα_προϊόντος", None, True),
])
def test_headers_in_other_scripts(header: str, entity: str | None, not_person: bool) -> None:
    hint = name_hint(header)
    assert hint.not_person is not_person
    if entity:
        assert hint.strength(entity) == 1.0
    else:
        assert hint.strength("PERSON") == 0.0


def test_addresses_in_other_scripts(tmp_path: Path) -> None:
    found = scan(tmp_path, {
        "c1": [f"ул. {rng.choice(RU_FAMILY)}а, д. {rng.randint(1, 99)}, кв. {rng.randint(1, 200)}" for _ in range(N)],
        "c2": [f"{rng.choice(['北京市', '上海市'])}{rng.choice(['中山路', '解放街', '人民路'])}{rng.randint(1, 500)}号" for _ in range(N)],
        "c3": [f"東京都港区{rng.choice(['芝', '六本木', '赤坂'])}{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号" for _ in range(N)],
        "c4": [f"شارع {rng.choice(AR_GIVEN)} {rng.randint(1, 300)}، {rng.choice(['الرياض', 'جدة'])}" for _ in range(N)],
        "c5": [f"רחוב {rng.choice(['הרצל', 'ויצמן', 'בן גוריון'])} {rng.randint(1, 120)}" for _ in range(N)],
        "c6": [rng.choice(PRODUCTS_RU) + f" {rng.randint(1, 300)}" for _ in range(N)],
    })
    assert found == {"c1": {"LOCATION"}, "c2": {"LOCATION"}, "c3": {"LOCATION"}, "c4": {"LOCATION"},
                     "c5": {"LOCATION"}, "c6": set()}


def test_phones_in_arabic_indic_and_devanagari_digits_under_local_headers(tmp_path: Path) -> None:
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    devanagari = str.maketrans("0123456789", "०१२३४५६७८९")
    sa = [f"05{rng.randint(0, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}".translate(arabic) for _ in range(N)]
    india = [f"+91 98{rng.randint(100, 999)} {rng.randint(10000, 99999)}".translate(devanagari) for _ in range(N)]
    found = scan(tmp_path, {"الجوال": sa, "फ़ोन": india, "المعرف": [str(100000 + 7 * i).translate(arabic) for i in range(N)]})
    assert found == {"الجوال": {"PHONE_NUMBER"}, "फ़ोन": {"PHONE_NUMBER"}, "المعرف": set()}


def test_national_phone_forms_without_a_header(tmp_path: Path) -> None:
    """Chinese mobiles have one written form (11 digits from 13x-19x, no trunk prefix); Russian
    national numbers carry the trunk 8 (`8 (914) 177-76-31`); 11-digit ids stay ids."""
    cn = [f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}" for _ in range(N)]
    ru = [f"8 ({rng.choice(['495', '812', '914', '903', '916'])}) {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
          for _ in range(N)]
    ids = [str(rng.randint(10_000_000_000, 99_999_999_999)) for _ in range(N)]
    found = scan(tmp_path, {"c1": cn, "c2": ru, "c3": ids})
    assert found == {"c1": {"PHONE_NUMBER"}, "c2": {"PHONE_NUMBER"}, "c3": set()}
