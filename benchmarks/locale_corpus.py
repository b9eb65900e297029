#!/usr/bin/env python3
"""Generate a labelled multi-locale PII corpus in the style of tests/data/pii-columns.

  python locale_corpus.py [OUT_DIR] [--seed N] [--rows N] [--scripts]

Needs Faker (`pip install -e '.[bench]'`; the project itself does not depend on it at run
time). Default OUT_DIR: /tmp/locale-corpus.

For each locale (en_GB, de_DE, fr_FR, es_ES, nl_NL, it_IT and, as a control, en_US) it writes
six tables of 200 rows into OUT_DIR/<locale>/, plus a labels.json there (same shape as the public
corpus: file → column → [Presidio entity types], [] for PII-free, null for unscored) and a
combined OUT_DIR/labels.json. The six tables vary the way the hidden corpora do:

  t00  English column names, Parquet
  t01  column names in the locale's language, Parquet
  t02  meaningless column names (c01, c02, …), Parquet
  t03  local-language names, CSV, some values upper-cased
  t04  abbreviated names (fn, tel_no, addr1, …), Parquet, ~30 % nulls, numbers as integers
  t05  meaningless names, CSV, ~30 % nulls, some values upper-cased

Labels follow the public corpus: city/town and street or full addresses are LOCATION;
order `status`/`state`, `country_code`, company names, product names in `name`, job titles,
amounts, dates, ids, EANs, SKUs, hashes are PII-free ([]); dates of birth, postcodes alone and
country names are unscored (null). Free-text notes that embed a phone number or e-mail address
in a share of rows are labelled with that entity.

With `--scripts` it writes, instead, the locales in other scripts (issue 26: ja_JP, ko_KR, zh_CN,
zh_TW, ru_RU, uk_UA, bg_BG, el_GR, he_IL, ar_SA, fa_IR, hi_IN): six tables per locale laid out the
same way, each with names, phones, addresses and towns and look-alikes in the same script
(companies, products, dishes, job titles, statuses; bare street names, unscored).

Scan and score one locale:
  policyengine scan /tmp/locale-corpus --format json -o /tmp/lc.json
  python benchmarks/score_pii.py /tmp/locale-corpus/de_DE /tmp/lc.json
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from faker import Faker

LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL", "it_IT", "en_US")
ROWS = 200

# key → label (list of entities, [] PII-free, None unscored)
PII = {
    "first_name": ["PERSON"], "last_name": ["PERSON"], "full_name": ["PERSON"], "email": ["EMAIL_ADDRESS"],
    "phone": ["PHONE_NUMBER"], "street_address": ["LOCATION"], "address": ["LOCATION"], "city": ["LOCATION"],
    "iban": ["IBAN_CODE"], "credit_card": ["CREDIT_CARD"], "ipv4": ["IP_ADDRESS"], "ipv6": ["IP_ADDRESS"],
    "notes_phone": ["PHONE_NUMBER"], "notes_email": ["EMAIL_ADDRESS"], "postcode": None, "country": None,
    "date_of_birth": None,
}
CLEAN = ("id", "ean", "sku", "hash", "amount", "price_label", "order_date", "company", "product_name", "job",
         "country_code", "quantity", "status", "description", "event_id", "app_version")

ENGLISH = {
    "first_name": "first_name", "last_name": "surname", "full_name": "customer_name", "email": "email_address",
    "phone": "phone", "street_address": "street_address", "address": "address", "city": "city",
    "iban": "iban", "credit_card": "card_number", "ipv4": "client_ip", "ipv6": "ipv6_address",
    "notes_phone": "support_notes", "notes_email": "comment", "postcode": "postcode", "country": "country",
    "date_of_birth": "date_of_birth", "ssn": "ssn", "id": "id", "ean": "ean", "sku": "sku", "hash": "checksum",
    "amount": "amount", "price_label": "price_label", "order_date": "order_date", "company": "company",
    "product_name": "name", "job": "job_title", "country_code": "country_code", "quantity": "quantity",
    "status": "status", "description": "description", "event_id": "event_id", "app_version": "app_version",
}
ABBREV = {
    "first_name": "fn", "last_name": "lname", "full_name": "cust_nm", "email": "eml", "phone": "tel_no",
    "street_address": "addr1", "address": "addr", "city": "cty", "iban": "acct_iban", "credit_card": "cc_num",
    "ipv4": "ip", "ipv6": "ip6", "notes_phone": "rmk", "notes_email": "txt", "postcode": "zip",
    "country": "ctry", "date_of_birth": "dob", "ssn": "ssn", "id": "id", "ean": "ean13", "sku": "sku",
    "hash": "sha", "amount": "amt", "price_label": "prc", "order_date": "ord_dt", "company": "co",
    "product_name": "name", "job": "occ", "country_code": "cc", "quantity": "qty", "status": "stat",
    "description": "desc", "event_id": "evt_id", "app_version": "ver",
}
LOCAL = {
    "de_DE": {
        "first_name": "vorname", "last_name": "nachname", "full_name": "kundenname", "email": "e_mail",
        "phone": "telefon", "street_address": "strasse", "address": "anschrift", "city": "ort", "iban": "iban",
        "credit_card": "kreditkarte", "ipv4": "ip_adresse", "ipv6": "ipv6_adresse", "notes_phone": "bemerkung",
        "notes_email": "notizen", "postcode": "plz", "country": "land", "date_of_birth": "geburtsdatum",
        "id": "id", "ean": "ean", "sku": "artikelnummer", "hash": "pruefsumme", "amount": "betrag",
        "price_label": "preis", "order_date": "bestelldatum", "company": "firma", "product_name": "bezeichnung",
        "job": "beruf", "country_code": "laendercode", "quantity": "menge", "status": "status",
        "description": "beschreibung", "event_id": "ereignis_id", "app_version": "app_version",
    },
    "fr_FR": {
        "first_name": "prenom", "last_name": "nom", "full_name": "nom_complet", "email": "courriel",
        "phone": "telephone", "street_address": "adresse", "address": "adresse_postale", "city": "ville",
        "iban": "iban", "credit_card": "carte_bancaire", "ipv4": "adresse_ip", "ipv6": "adresse_ipv6",
        "notes_phone": "remarques", "notes_email": "commentaire", "postcode": "code_postal", "country": "pays",
        "date_of_birth": "date_naissance", "id": "identifiant", "ean": "ean", "sku": "reference",
        "hash": "empreinte", "amount": "montant", "price_label": "prix", "order_date": "date_commande",
        "company": "societe", "product_name": "nom_produit", "job": "profession", "country_code": "code_pays",
        "quantity": "quantite", "status": "statut", "description": "description", "event_id": "id_evenement",
        "app_version": "version_appli",
    },
    "es_ES": {
        "first_name": "nombre", "last_name": "apellidos", "full_name": "nombre_completo", "email": "correo",
        "phone": "telefono", "street_address": "calle", "address": "direccion", "city": "ciudad", "iban": "cuenta",
        "credit_card": "tarjeta", "ipv4": "direccion_ip", "ipv6": "ip_v6", "notes_phone": "observaciones",
        "notes_email": "notas", "postcode": "codigo_postal", "country": "pais", "date_of_birth": "fecha_nacimiento",
        "id": "id", "ean": "ean", "sku": "referencia", "hash": "huella", "amount": "importe", "price_label": "precio",
        "order_date": "fecha_pedido", "company": "empresa", "product_name": "nombre_producto", "job": "puesto",
        "country_code": "codigo_pais", "quantity": "cantidad", "status": "estado", "description": "descripcion",
        "event_id": "id_evento", "app_version": "version",
    },
    "it_IT": {
        "first_name": "nome", "last_name": "cognome", "full_name": "nominativo", "email": "email",
        "phone": "telefono", "street_address": "indirizzo", "address": "indirizzo_completo", "city": "comune",
        "iban": "iban", "credit_card": "carta_credito", "ipv4": "indirizzo_ip", "ipv6": "ipv6",
        "notes_phone": "note", "notes_email": "commenti", "postcode": "cap", "country": "nazione",
        "date_of_birth": "data_nascita", "id": "id", "ean": "ean", "sku": "codice_articolo", "hash": "impronta",
        "amount": "importo", "price_label": "prezzo", "order_date": "data_ordine", "company": "azienda",
        "product_name": "nome_prodotto", "job": "professione", "country_code": "codice_paese",
        "quantity": "quantita", "status": "stato", "description": "descrizione", "event_id": "id_evento",
        "app_version": "versione",
    },
    "nl_NL": {
        "first_name": "voornaam", "last_name": "achternaam", "full_name": "klantnaam", "email": "e_mailadres",
        "phone": "telefoonnummer", "street_address": "straat", "address": "adres", "city": "woonplaats",
        "iban": "rekeningnummer", "credit_card": "creditcard", "ipv4": "ip_adres", "ipv6": "ipv6_adres",
        "notes_phone": "opmerkingen", "notes_email": "toelichting", "postcode": "postcode", "country": "land",
        "date_of_birth": "geboortedatum", "id": "id", "ean": "ean", "sku": "artikelnummer", "hash": "hash",
        "amount": "bedrag", "price_label": "prijs", "order_date": "besteldatum", "company": "bedrijf",
        "product_name": "productnaam", "job": "beroep", "country_code": "landcode", "quantity": "aantal",
        "status": "status", "description": "omschrijving", "event_id": "gebeurtenis_id", "app_version": "versie",
    },
    "en_GB": {
        "first_name": "forename", "last_name": "surname", "full_name": "account_holder", "email": "email",
        "phone": "telephone", "street_address": "address_line_1", "address": "postal_address", "city": "town",
        "iban": "bank_account", "credit_card": "card_no", "ipv4": "ip_address", "ipv6": "ipv6",
        "notes_phone": "call_notes", "notes_email": "notes", "postcode": "postcode", "country": "country",
        "date_of_birth": "dob", "id": "id", "ean": "barcode", "sku": "product_code", "hash": "content_hash",
        "amount": "amount_gbp", "price_label": "price", "order_date": "order_date", "company": "organisation",
        "product_name": "name", "job": "occupation", "country_code": "country_code", "quantity": "qty",
        "status": "status", "description": "description", "event_id": "request_id", "app_version": "build",
    },
}
LOCAL["en_US"] = {**ENGLISH, "first_name": "given_name", "last_name": "last_name", "full_name": "employee_name",
                  "phone": "mobile", "city": "town", "iban": "bank_account", "credit_card": "card_no",
                  "notes_phone": "notes", "notes_email": "remarks", "postcode": "zip", "ssn": "social_security_number"}

PHONE_TEXT = {
    "en": ["Customer called from {} about delivery.", "Please call back on {}.", "Left a voicemail, phone {}."],
    "de": ["Kunde rief von {} wegen der Lieferung an.", "Bitte Rückruf unter {}.", "Telefon: {} (abends)."],
    "fr": ["Le client a appelé du {} pour la livraison.", "Merci de rappeler au {}.", "Tél. {} après 18h."],
    "es": ["El cliente llamó desde el {} por la entrega.", "Por favor, llamar al {}.", "Teléfono de contacto {}."],
    "it": ["Il cliente ha chiamato dal {} per la consegna.", "Richiamare al numero {}.", "Tel. {} dopo le 18."],
    "nl": ["Klant belde vanaf {} over de levering.", "Graag terugbellen op {}.", "Telefoon {} (na 18u)."],
}
EMAIL_TEXT = {
    "en": ["Contact {} for details.", "Invoice sent to {} yesterday."],
    "de": ["Rechnung an {} geschickt.", "Kontakt: {} für Rückfragen."],
    "fr": ["Contacter {} pour plus de détails.", "Facture envoyée à {} hier."],
    "es": ["Enviar la factura a {} mañana.", "Contacto: {} para más detalles."],
    "it": ["Contattare {} per i dettagli.", "Fattura inviata a {} ieri."],
    "nl": ["Factuur gestuurd naar {} gisteren.", "Contact via {} voor details."],
}
STATUS = {
    "en": ["pending", "shipped", "delivered", "cancelled", "returned"],
    "de": ["offen", "versendet", "zugestellt", "storniert", "retourniert"],
    "fr": ["en attente", "expédiée", "livrée", "annulée", "retournée"],
    "es": ["pendiente", "enviado", "entregado", "cancelado", "devuelto"],
    "it": ["in attesa", "spedito", "consegnato", "annullato", "reso"],
    "nl": ["open", "verzonden", "geleverd", "geannuleerd", "geretourneerd"],
}
CURRENCY = {"en_GB": "£{:,.2f}", "en_US": "${:,.2f}"}


def _lang(locale: str) -> str:
    return locale.split("_")[0]


def _price(locale: str, x: float) -> str:
    if locale in CURRENCY:
        return CURRENCY[locale].format(x)
    text = f"{x:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")  # 1.234,56
    return f"{text} €"


def _phone_int(text: str) -> int:
    """A phone number as an integer column would hold it: digits only, the '(0)' dropped."""
    s = text.replace("(0)", "")
    s = re.sub(r"(?i)\s*(?:x|ext\.?)\s*\d+$", "", s)
    return int(re.sub(r"\D", "", s))


def _group(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def value(key: str, fake: Faker, rng: random.Random, locale: str, i: int, opts: dict) -> object:
    lang = _lang(locale)
    if key == "first_name":
        return fake.first_name()
    if key == "last_name":
        return fake.last_name()
    if key == "full_name":
        return fake.name()
    if key == "email":
        return fake.email() if rng.random() < 0.6 else fake.free_email()
    if key == "phone":
        p = fake.phone_number()
        return _phone_int(p) if opts.get("int") else p
    if key == "street_address":
        return fake.street_address()
    if key == "address":
        return fake.address().replace("\n", ", ")
    if key == "city":
        return fake.city()
    if key == "postcode":
        return fake.postcode()
    if key == "country":
        return fake.country()
    if key == "date_of_birth":
        return fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat()
    if key == "iban":
        iban = fake.iban()
        return _group(iban) if opts.get("grouped") else iban
    if key == "credit_card":
        c = fake.credit_card_number()
        return int(c) if opts.get("int") else c
    if key == "ipv4":
        return fake.ipv4_public() if rng.random() < 0.7 else fake.ipv4_private()
    if key == "ipv6":
        return fake.ipv6()
    if key == "ssn":
        return fake.ssn()
    if key in ("notes_phone", "notes_email"):
        if rng.random() < opts["share"]:
            if key == "notes_phone":
                return rng.choice(PHONE_TEXT[lang]).format(fake.phone_number())
            return rng.choice(EMAIL_TEXT[lang]).format(fake.email())
        return fake.sentence(nb_words=rng.randint(4, 10))
    if key == "id":
        return 100000 + 7 * i
    if key == "ean":
        return fake.ean13()
    if key == "sku":
        return rng.choice(["SKU-", "ART-", ""]) + fake.bothify("??##-####").upper() if opts.get("alt") else f"SKU-{fake.bothify('????####').upper()}"
    if key == "hash":
        return hashlib.sha256(f"{i}-{rng.random()}".encode()).hexdigest()
    if key == "amount":
        return round(rng.uniform(1, 5000), 2)
    if key == "price_label":
        return _price(locale, rng.uniform(1, 2000))
    if key == "order_date":
        return fake.date_time_between(start_date="-2y", end_date="+1y").isoformat(sep=" ")
    if key == "company":
        return fake.company()
    if key == "product_name":
        try:
            return fake.catch_phrase()
        except AttributeError:
            return " ".join(fake.words(rng.randint(2, 3))).capitalize()
    if key == "job":
        return fake.job()
    if key == "country_code":
        return fake.country_code()
    if key == "quantity":
        return rng.randint(1, 40)
    if key == "status":
        return rng.choice(STATUS[lang])
    if key == "description":
        return fake.paragraph(nb_sentences=rng.randint(1, 3))
    if key == "event_id":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if key == "app_version":
        return ".".join(str(rng.randint(0, 20)) for _ in range(rng.choice([3, 4])))
    raise KeyError(key)


LAYOUTS = (  # (naming, format, nulls, upper, integers)
    ("english", "parquet", 0.0, False, False),
    ("local", "parquet", 0.0, False, False),
    ("meaningless", "parquet", 0.0, False, False),
    ("local", "csv", 0.0, True, False),
    ("abbrev", "parquet", 0.3, False, True),
    ("meaningless", "csv", 0.3, True, False),
)
UPPER_KEYS = {"first_name", "last_name", "full_name", "email", "street_address", "address", "city", "company"}


def build_locale(locale: str, out: Path, seed: int, rows: int) -> dict:
    rng = random.Random(f"{seed}-{locale}")
    fake = Faker(locale)
    fake.seed_instance(seed)
    pii = [k for k in PII if k != "ssn"] + (["ssn"] if locale == "en_US" else [])
    clean = list(CLEAN)
    rng.shuffle(pii)
    rng.shuffle(clean)
    per_pii, per_clean = 7, 6
    labels: dict = {}
    out.mkdir(parents=True, exist_ok=True)
    for t, (naming, fmt, null_share, upper, integers) in enumerate(LAYOUTS):
        keys = [pii[(t * per_pii + j) % len(pii)] for j in range(per_pii)]
        keys += [clean[(t * per_clean + j) % len(clean)] for j in range(per_clean)]
        keys = list(dict.fromkeys(keys))
        rng.shuffle(keys)
        opts_table = {"grouped": rng.random() < 0.4, "alt": rng.random() < 0.5}
        cols: dict[str, list] = {}
        table_labels: dict = {}
        for n, key in enumerate(keys, start=1):
            if naming == "english":
                name = ENGLISH[key]
            elif naming == "local":
                name = LOCAL[locale][key]
            elif naming == "abbrev":
                name = ABBREV[key]
            else:
                name = f"c{n:02d}"
            if name in cols:
                name = f"{name}_{n}"
            opts = dict(opts_table, share=rng.uniform(0.1, 0.35),
                        int=integers and key in ("credit_card", "phone") and fmt == "parquet")
            vals = [value(key, fake, rng, locale, i, opts) for i in range(rows)]
            if upper and key in UPPER_KEYS:
                vals = [x.upper() if isinstance(x, str) else x for x in vals]
            if null_share and key != "id":
                vals = [None if rng.random() < null_share else x for x in vals]
            cols[name] = vals
            table_labels[name] = PII.get(key, ["US_SSN"] if key == "ssn" else [])
        fname = f"t{t:02d}_{locale}.{fmt}"
        table = pa.table(cols)
        if fmt == "csv":
            pacsv.write_csv(table, out / fname)
        else:
            pq.write_table(table, out / fname)
        labels[fname] = table_labels
    (out / "labels.json").write_text(json.dumps(labels, indent=1, ensure_ascii=False) + "\n")
    return labels


# ---- locales in other scripts (issue 26) -------------------------------------------------------
# Names from Faker; addresses written the way each country writes them (Faker's own street
# addresses are English templates for some of these locales), with Faker's street names, towns and
# surnames; phones that are valid numbers of the country, some written with the script's own
# digits (Arabic-Indic, Persian, Devanagari) or full-width; look-alikes in the same script:
# companies (often made of surnames), products, dishes, job titles, streets named after people
# (bare street names, unscored), order statuses.
SCRIPT_LOCALES = ("ja_JP", "ko_KR", "zh_CN", "zh_TW", "ru_RU", "uk_UA", "bg_BG", "el_GR", "he_IL", "ar_SA", "fa_IR",
                  "hi_IN")
REGION = {"ja_JP": "JP", "ko_KR": "KR", "zh_CN": "CN", "zh_TW": "TW", "ru_RU": "RU", "uk_UA": "UA", "bg_BG": "BG",
          "el_GR": "GR", "he_IL": "IL", "ar_SA": "SA", "fa_IR": "IR", "hi_IN": "IN"}
SCRIPT_PII = ("first_name", "last_name", "full_name", "phone", "street_address", "address", "city")
SCRIPT_CLEAN = ("company", "product_name", "dish", "job", "status", "street_name", "id", "amount")
SCRIPT_LABELS = {"street_name": None}
DIGITS = {"ar_SA": "٠١٢٣٤٥٦٧٨٩", "fa_IR": "۰۱۲۳۴۵۶۷۸۹", "hi_IN": "०१२३४५६७८९", "ja_JP": "０１２３４５６７８９",
          "zh_CN": "０１２３４５６７８９"}
SCRIPT_HEADERS = {
    "ja_JP": ("名", "姓", "氏名", "電話番号", "番地", "住所", "市区町村", "会社名", "商品名", "料理", "職業", "状態", "通り", "ID", "金額"),
    "ko_KR": ("이름", "성", "성명", "전화번호", "도로명주소", "주소", "도시", "회사명", "상품명", "음식", "직업", "상태", "거리명", "ID", "금액"),
    "zh_CN": ("名", "姓", "姓名", "电话", "街道地址", "地址", "城市", "公司名称", "产品名称", "菜名", "职位", "状态", "街道", "编号", "金额"),
    "zh_TW": ("名字", "姓氏", "姓名", "電話", "街道地址", "地址", "城市", "公司名稱", "產品名稱", "菜名", "職稱", "狀態", "街道", "編號", "金額"),
    "ru_RU": ("имя", "фамилия", "фио", "телефон", "улица_дом", "адрес", "город", "компания", "товар", "блюдо", "должность", "статус", "название_улицы", "id", "сумма"),
    "uk_UA": ("ім'я", "прізвище", "піб", "телефон", "вулиця_будинок", "адреса", "місто", "компанія", "товар", "страва", "посада", "статус", "назва_вулиці", "id", "сума"),
    "bg_BG": ("име", "фамилия", "три_имена", "телефон", "улица_номер", "адрес", "град", "фирма", "продукт", "ястие", "длъжност", "статус", "име_на_улица", "id", "сума"),
    "el_GR": ("όνομα", "επώνυμο", "ονοματεπώνυμο", "τηλέφωνο", "οδός", "διεύθυνση", "πόλη", "εταιρεία", "προϊόν", "πιάτο", "επάγγελμα", "κατάσταση", "όνομα_οδού", "id", "ποσό"),
    "he_IL": ("שם_פרטי", "שם_משפחה", "שם_מלא", "טלפון", "רחוב", "כתובת", "עיר", "חברה", "מוצר", "מנה", "מקצוע", "סטטוס", "שם_רחוב", "מזהה", "סכום"),
    "ar_SA": ("الاسم_الأول", "اسم_العائلة", "الاسم_الكامل", "الهاتف", "الشارع", "العنوان", "المدينة", "الشركة", "المنتج", "الطبق", "الوظيفة", "الحالة", "اسم_الشارع", "المعرف", "المبلغ"),
    "fa_IR": ("نام", "نام_خانوادگی", "نام_کامل", "تلفن", "خیابان", "نشانی", "شهر", "شرکت", "محصول", "غذا", "شغل", "وضعیت", "نام_خیابان", "شناسه", "مبلغ"),
    "hi_IN": ("पहला_नाम", "उपनाम", "पूरा_नाम", "फ़ोन", "गली", "पता", "शहर", "कंपनी", "उत्पाद", "व्यंजन", "पेशा", "स्थिति", "सड़क_का_नाम", "आईडी", "राशि"),
}
SCRIPT_KEYS = ("first_name", "last_name", "full_name", "phone", "street_address", "address", "city", "company",
               "product_name", "dish", "job", "status", "street_name", "id", "amount")
PRODUCTS = {
    "ja_JP": ["ワイヤレスマウス", "電気ケトル", "ノートパソコン", "加湿器", "炊飯器", "腕時計", "折りたたみ傘", "電子辞書", "掃除機", "卓上ライト", "扇風機", "ヘッドホン"],
    "ko_KR": ["무선 마우스", "전기 주전자", "노트북", "가습기", "전기밥솥", "손목시계", "접이식 우산", "청소기", "탁상 조명", "선풍기", "헤드폰", "보조배터리"],
    "zh_CN": ["无线鼠标", "电水壶", "笔记本电脑", "加湿器", "电饭煲", "手表", "折叠伞", "吸尘器", "台灯", "电风扇", "耳机", "充电宝"],
    "zh_TW": ["無線滑鼠", "電熱水壺", "筆記型電腦", "加濕器", "電子鍋", "手錶", "折疊傘", "吸塵器", "檯燈", "電風扇", "耳機", "行動電源"],
    "ru_RU": ["Беспроводная мышь", "Электрочайник", "Ноутбук", "Увлажнитель воздуха", "Мультиварка", "Наручные часы", "Складной зонт", "Пылесос", "Настольная лампа", "Вентилятор", "Наушники", "Кофемолка"],
    "uk_UA": ["Бездротова миша", "Електрочайник", "Ноутбук", "Зволожувач повітря", "Мультиварка", "Наручний годинник", "Складна парасолька", "Пилосос", "Настільна лампа", "Вентилятор", "Навушники", "Кавомолка"],
    "bg_BG": ["Безжична мишка", "Електрическа кана", "Лаптоп", "Овлажнител", "Мултикукър", "Ръчен часовник", "Сгъваем чадър", "Прахосмукачка", "Настолна лампа", "Вентилатор", "Слушалки", "Кафемелачка"],
    "el_GR": ["Ασύρματο ποντίκι", "Βραστήρας", "Φορητός υπολογιστής", "Υγραντήρας", "Πολυμάγειρας", "Ρολόι χειρός", "Πτυσσόμενη ομπρέλα", "Ηλεκτρική σκούπα", "Φωτιστικό γραφείου", "Ανεμιστήρας", "Ακουστικά", "Μύλος καφέ"],
    "he_IL": ["עכבר אלחוטי", "קומקום חשמלי", "מחשב נייד", "מכשיר אדים", "סיר בישול", "שעון יד", "מטרייה מתקפלת", "שואב אבק", "מנורת שולחן", "מאוורר", "אוזניות", "מטחנת קפה"],
    "ar_SA": ["فأرة لاسلكية", "غلاية كهربائية", "حاسوب محمول", "جهاز ترطيب", "طباخ أرز", "ساعة يد", "مظلة قابلة للطي", "مكنسة كهربائية", "مصباح مكتب", "مروحة", "سماعات رأس", "مطحنة قهوة"],
    "fa_IR": ["موس بی‌سیم", "کتری برقی", "لپ‌تاپ", "دستگاه بخور", "پلوپز", "ساعت مچی", "چتر تاشو", "جاروبرقی", "چراغ مطالعه", "پنکه", "هدفون", "آسیاب قهوه"],
    "hi_IN": ["वायरलेस माउस", "इलेक्ट्रिक केतली", "लैपटॉप", "ह्यूमिडिफ़ायर", "राइस कुकर", "कलाई घड़ी", "फोल्डिंग छाता", "वैक्यूम क्लीनर", "टेबल लैंप", "पंखा", "हेडफ़ोन", "कॉफ़ी ग्राइंडर"],
}
DISHES = {
    "ja_JP": ["寿司", "天ぷら", "親子丼", "味噌汁", "焼き鳥", "お好み焼き", "ラーメン", "うどん", "すき焼き", "たこ焼き", "カレーライス", "とんかつ"],
    "ko_KR": ["김치찌개", "비빔밥", "불고기", "된장찌개", "떡볶이", "삼겹살", "냉면", "잡채", "김밥", "갈비탕", "순두부찌개", "닭갈비"],
    "zh_CN": ["宫保鸡丁", "麻婆豆腐", "红烧肉", "鱼香肉丝", "北京烤鸭", "回锅肉", "糖醋排骨", "水煮鱼", "小笼包", "酸辣汤", "蛋炒饭", "东坡肉"],
    "zh_TW": ["牛肉麵", "滷肉飯", "蚵仔煎", "小籠包", "鹽酥雞", "珍珠奶茶", "臭豆腐", "刈包", "擔仔麵", "蔥油餅", "鳳梨酥", "三杯雞"],
    "ru_RU": ["Борщ", "Пельмени", "Блины с икрой", "Оливье", "Солянка", "Сырники", "Щи", "Голубцы", "Котлета по-киевски", "Бефстроганов", "Вареники", "Шашлык"],
    "uk_UA": ["Борщ", "Вареники", "Деруни", "Голубці", "Куліш", "Банош", "Вергуни", "Галушки", "Котлета по-київськи", "Сало", "Пампушки", "Узвар"],
    "bg_BG": ["Шопска салата", "Баница", "Мусака", "Таратор", "Кавърма", "Сарми", "Кебапчета", "Гювеч", "Лютеница", "Пълнени чушки", "Боб чорба", "Шкембе чорба"],
    "el_GR": ["Μουσακάς", "Σουβλάκι", "Παστίτσιο", "Σπανακόπιτα", "Γεμιστά", "Χωριάτικη σαλάτα", "Τζατζίκι", "Κλέφτικο", "Φασολάδα", "Ντολμαδάκια", "Γύρος", "Στιφάδο"],
    "he_IL": ["שקשוקה", "פלאפל", "חומוס", "סביח", "מלאווח", "ג'חנון", "קובה", "בורקס", "חמין", "שניצל", "מג'דרה", "פתיתים"],
    "ar_SA": ["كبسة", "مندي", "جريش", "مطازيز", "سليق", "مرقوق", "حنيذ", "مضغوط", "شاورما", "فلافل", "حمص", "كنافة"],
    "fa_IR": ["قورمه سبزی", "چلو کباب", "قیمه", "فسنجان", "آش رشته", "باقالی پلو", "زرشک پلو", "کشک بادمجان", "میرزا قاسمی", "دیزی", "ته چین", "شیرین پلو"],
    "hi_IN": ["पनीर टिक्का", "दाल मखनी", "छोले भटूरे", "आलू पराठा", "बिरयानी", "राजमा चावल", "पाव भाजी", "मसाला डोसा", "गुलाब जामुन", "समोसा", "कढ़ी पकौड़ा", "मलाई कोफ्ता"],
}
SCRIPT_STATUS = {
    "ja_JP": ["保留中", "発送済み", "配達済み", "キャンセル"], "ko_KR": ["대기", "배송중", "배송완료", "취소"],
    "zh_CN": ["待处理", "已发货", "已送达", "已取消"], "zh_TW": ["待處理", "已出貨", "已送達", "已取消"],
    "ru_RU": ["ожидает", "отправлен", "доставлен", "отменён"], "uk_UA": ["очікує", "відправлено", "доставлено", "скасовано"],
    "bg_BG": ["чакащ", "изпратен", "доставен", "отказан"], "el_GR": ["σε αναμονή", "απεστάλη", "παραδόθηκε", "ακυρώθηκε"],
    "he_IL": ["ממתין", "נשלח", "נמסר", "בוטל"], "ar_SA": ["قيد الانتظار", "تم الشحن", "تم التسليم", "ملغى"],
    "fa_IR": ["در انتظار", "ارسال شد", "تحویل شد", "لغو شد"], "hi_IN": ["लंबित", "भेजा गया", "पहुँचा दिया", "रद्द"],
}


def _valid_phone(fake: Faker, rng: random.Random, locale: str) -> str:
    """A phone number of the locale's country as Faker writes it, kept only if it is a valid
    number there (Faker's templates give invalid numbers for several of these locales); Saudi
    numbers are written from the national plan (Faker's ar_SA phones are US numbers)."""
    import phonenumbers

    region = REGION[locale]
    for _ in range(200):
        if locale == "ar_SA":
            p = rng.choice(["05{} {} {}", "+966 5{} {} {}", "9665{}{}{}"]).format(
                rng.randint(0, 9), rng.randint(100, 999), rng.randint(1000, 9999))
        else:
            p = fake.phone_number()
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(p, region)):
                return p
        except phonenumbers.NumberParseException:
            continue
    raise RuntimeError(f"no valid phone for {locale}")


def _script_address(key: str, fake: Faker, rng: random.Random, locale: str) -> str:
    n, m = rng.randint(1, 199), rng.randint(1, 60)
    city = fake.city()
    if locale == "ja_JP":
        line = f"{fake.city()}{fake.town()}{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
        return line if key == "street_address" else f"{fake.prefecture()}{line}"
    if locale == "ko_KR":
        return fake.road_address() if key == "street_address" else fake.address()
    if locale in ("zh_CN", "zh_TW"):
        num = "号" if locale == "zh_CN" else "號"
        line = f"{fake.street_name()}{n}{num}"
        return line if key == "street_address" else f"{city}{line}"
    if locale in ("ru_RU", "uk_UA"):
        return fake.street_address() if key == "street_address" else fake.address().replace("\n", ", ")
    if locale == "bg_BG":
        line = rng.choice(["ул. „{s}“ № {n}", "бул. „{s}“ {n}", "ул. {s} {n}, ет. {m}"]).format(s=fake.last_name(), n=n, m=m % 9 + 1)
        return line if key == "street_address" else f"{line}, {rng.randint(1000, 9999)} {city}"
    if locale == "el_GR":
        line = rng.choice(["Οδός {s} {n}", "Λεωφόρος {s} {n}", "{s} {n}", "Οδ. {s} {n}"]).format(s=fake.street_name(), n=n)
        return line if key == "street_address" else f"{line}, {rng.randint(100, 999)} {rng.randint(10, 99)} {city}"
    if locale == "he_IL":
        line = rng.choice(["רחוב {s} {n}", "רח' {s} {n}", "{s} {n}"]).format(s=fake.street_name(), n=n)
        return line if key == "street_address" else f"{line}, {city}"
    if locale == "ar_SA":
        line = rng.choice(["شارع {s} {n}", "{n} شارع {s}", "طريق {s}، مبنى {n}"]).format(s=fake.first_name(), n=n)
        return line if key == "street_address" else f"{line}، حي {fake.first_name()}، {rng.choice(['الرياض', 'جدة', 'الدمام', 'مكة', 'المدينة المنورة'])}"
    if locale == "fa_IR":
        line = rng.choice(["خیابان {s}، پلاک {n}", "خیابان {s}، کوچه {m}، پلاک {n}", "بلوار {s}، پلاک {n}"]).format(s=fake.last_name(), n=n, m=m)
        return line if key == "street_address" else f"{city}، {line}"
    if locale == "hi_IN":
        line = rng.choice(["{n}, {s} मार्ग", "मकान नं. {n}, {s} नगर", "{n}/{m}, {s} रोड", "{n}, {s} गली"]).format(s=fake.last_name(), n=n, m=m)
        return line if key == "street_address" else f"{line}, {city} - {rng.randint(110001, 855999)}"
    raise KeyError(locale)


def script_value(key: str, fake: Faker, rng: random.Random, locale: str, i: int) -> object:
    digits = DIGITS.get(locale)
    if key in ("first_name", "last_name", "city", "company", "job"):
        return getattr(fake, key)()
    if key == "full_name":
        return fake.name()
    if key == "phone":
        p = _valid_phone(fake, rng, locale)
        return p.translate(str.maketrans("0123456789", digits)) if digits and rng.random() < 0.3 else p
    if key in ("street_address", "address"):
        return _script_address(key, fake, rng, locale)
    if key == "product_name":
        return rng.choice(PRODUCTS[locale]) + (f" {rng.randint(2, 9)}" if rng.random() < 0.3 else "")
    if key == "dish":
        return rng.choice(DISHES[locale])
    if key == "status":
        return rng.choice(SCRIPT_STATUS[locale])
    if key == "street_name":
        return fake.street_name() if locale not in ("bg_BG", "ar_SA", "hi_IN", "ja_JP") else fake.last_name()
    if key == "id":
        return 100000 + 7 * i
    if key == "amount":
        return round(rng.uniform(1, 5000), 2)
    raise KeyError(key)


def build_script_locale(locale: str, out: Path, seed: int, rows: int) -> dict:
    """Six tables as `build_locale` lays them out (English, local, meaningless, local CSV,
    abbreviated with nulls, meaningless CSV with nulls), each with every key of this locale."""
    rng = random.Random(f"{seed}-{locale}")
    fake = Faker(locale)
    fake.seed_instance(seed)
    labels: dict = {}
    out.mkdir(parents=True, exist_ok=True)
    local = dict(zip(SCRIPT_KEYS, SCRIPT_HEADERS[locale], strict=True))
    english = {**ENGLISH, "dish": "dish", "street_name": "street_name", "product_name": "product_name"}
    abbrev = {**ABBREV, "dish": "dsh", "street_name": "str_nm", "product_name": "prod"}
    for t, (naming, fmt, null_share, _upper, _integers) in enumerate(LAYOUTS):
        keys = list(SCRIPT_KEYS)
        rng.shuffle(keys)
        cols: dict[str, list] = {}
        table_labels: dict = {}
        for n, key in enumerate(keys, start=1):
            name = {"english": english, "local": local, "abbrev": abbrev}.get(naming, {}).get(key, f"c{n:02d}")
            vals = [script_value(key, fake, rng, locale, i) for i in range(rows)]
            if null_share and key != "id":
                vals = [None if rng.random() < null_share else x for x in vals]
            cols[name] = vals
            table_labels[name] = SCRIPT_LABELS.get(key, PII.get(key, []))
        fname = f"t{t:02d}_{locale}.{fmt}"
        table = pa.table(cols)
        if fmt == "csv":
            pacsv.write_csv(table, out / fname)
        else:
            pq.write_table(table, out / fname)
        labels[fname] = table_labels
    (out / "labels.json").write_text(json.dumps(labels, indent=1, ensure_ascii=False) + "\n")
    return labels


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    rows = int(argv[argv.index("--rows") + 1]) if "--rows" in argv else ROWS
    if "--seed" in argv:
        args.remove(str(seed))
    if "--rows" in argv:
        args.remove(str(rows))
    root = Path(args[0]) if args else Path("/tmp/locale-corpus")
    combined = {}
    if "--scripts" in argv:  # the locales in other scripts (issue 26), a corpus of their own
        for locale in SCRIPT_LOCALES:
            combined.update(build_script_locale(locale, root / locale, seed, rows))
    else:
        for locale in LOCALES:
            combined.update(build_locale(locale, root / locale, seed, rows))
    (root / "labels.json").write_text(json.dumps(combined, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(combined)} tables to {root}")


if __name__ == "__main__":
    main(sys.argv[1:])
