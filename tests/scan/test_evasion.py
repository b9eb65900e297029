"""Detection gaps an attacker (or a careless export) uses to walk PII past the scan gate
(issue 19, hole 4). Each attack failed on the scanner before its fix; each has a look-alike
that must stay untagged.

- Unicode: zero-width characters inside cards and phones, full-width and homoglyph e-mails,
  non-ASCII digits: one normalisation (NFKC, invisible characters removed, decimal digits of
  every script as ASCII, Cyrillic/Greek look-alikes folded inside Latin words) before every
  recognizer;
- spelled-out e-mails (`name at domain dot com`, `name [at] domain [dot] com`);
- full names under a header that vetoes persons (`vendor_name`, `merchant`): values that are
  mostly "Given Surname" with known names are persons whatever the header;
- names inside free text, read by NER on a bounded sample of the text.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from policyengine.scan import scan_paths
from policyengine.scan.normalise import normalise

rng = random.Random(19)
N = 150
CARDS = ["4111111111111111", "5500005555555559", "4012888888881881", "5105105105105100", "4222222222222",
         "378282246310005", "6011111111111117", "3530111333300000", "5555555555554444", "4917610000000000003"]
PHONES = ["+44 20 7946 0958", "+49 30 901820", "+33 1 42 68 53 00", "+1 212 555 0134", "+34 912 345 678",
          "+39 06 6982 1234", "+31 20 624 1111", "+41 44 668 1800", "+43 1 515 560", "+46 8 405 10 00"]
GIVEN = ["James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen", "Thomas", "Nancy", "George",
         "Helen", "Edward", "Ruth", "Frank", "Alice", "Henry", "Clara", "Walter", "Edith", "Arthur", "Grace"]
SURNAMES = ["Harris", "Johnson", "Williams", "Smith", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Roberts",
            "Walker", "Wright", "Thompson", "White", "Hughes", "Edwards", "Hall", "Wood", "Jackson", "Clarke"]
ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


def scan(tmp_path: Path, columns: dict[str, list], model: str = "none") -> dict[str, set[str]]:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(columns), path)
    return {c["column"]: set(c["entities"]) for c in scan_paths([path], model=model).columns}


def _sprinkle(text: str) -> str:
    """A zero-width or soft-hyphen character between every two characters."""
    return "".join(c + rng.choice(ZW) for c in text[:-1]) + text[-1]


def test_normalise_is_the_identity_on_ascii_and_cheap_to_skip() -> None:
    for x in ["john@example.com", "4111 1111 1111 1111", "", "Straße"[:3]]:
        assert normalise(x) == x
    assert normalise("４１１１\u200b１１１１") == "41111111"
    assert normalise("٠١٢٣٤٥٦٧٨٩ ०१२३ ۰۱۲") == "0123456789 0123 012"
    assert normalise("jоhn@exаmple.com") == "john@example.com"  # Cyrillic о and а inside Latin words
    assert normalise("Иван Петров") == "Иван Петров"  # a Cyrillic word stays Cyrillic
    assert normalise("Ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "John@example.com"


def test_cards_and_phones_with_zero_width_characters(tmp_path: Path) -> None:
    found = scan(tmp_path, {
        "c1": [_sprinkle(rng.choice(CARDS)) for _ in range(N)],
        "c2": [_sprinkle(rng.choice(PHONES)) for _ in range(N)],
        "c3": [_sprinkle(f"SKU-{rng.randint(1000, 9999)}-{rng.randint(10, 99)}") for _ in range(N)],
    })
    assert found == {"c1": {"CREDIT_CARD"}, "c2": {"PHONE_NUMBER"}, "c3": set()}


def test_full_width_and_homoglyph_emails(tmp_path: Path) -> None:
    users = ["john.smith", "mary", "r.jones", "linda99", "mike_b", "susan.k", "dave", "karen.w"]
    domains = ["example.com", "mail.co.uk", "company.de", "post.fr"]
    full_width = ["".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in f"{rng.choice(users)}{i}@{rng.choice(domains)}")
                  for i in range(N)]
    homoglyph = [f"{rng.choice(users)}{i}@{rng.choice(domains)}".replace("a", "а").replace("o", "о").replace("e", "е")
                 for i in range(N)]
    found = scan(tmp_path, {"c1": full_width, "c2": homoglyph})
    assert found == {"c1": {"EMAIL_ADDRESS"}, "c2": {"EMAIL_ADDRESS"}}


def test_card_and_phone_in_non_ascii_digits(tmp_path: Path) -> None:
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    devanagari = str.maketrans("0123456789", "०१२३४५६७८९")
    found = scan(tmp_path, {
        "c1": [rng.choice(CARDS).translate(arabic) for _ in range(N)],
        "c2": [rng.choice(PHONES).translate(devanagari) for _ in range(N)],
    })
    assert found == {"c1": {"CREDIT_CARD"}, "c2": {"PHONE_NUMBER"}}


def test_spelled_out_emails(tmp_path: Path) -> None:
    forms = ["{u} at {d} dot {t}", "{u} [at] {d} [dot] {t}", "{u}(at){d}(dot){t}", "{u} AT {d} DOT {t}",
             "{u} @ {d} dot {t}", "{u} {{at}} {d} {{dot}} {t}"]
    values = [rng.choice(forms).format(u=f"{rng.choice(GIVEN).lower()}{i}", d=rng.choice(["gmail", "example", "acme"]),
                                       t=rng.choice(["com", "org", "net"])) for i in range(N)]
    notes = [f"Customer asked to be mailed at {v} about the refund." if i % 5 == 0 else
             f"Order {i} shipped on time, no issue reported." for i, v in enumerate(values)]
    look = [f"{rng.choice(['Look', 'Aim', 'Arrive'])} at the {rng.choice(['gate', 'door', 'top'])} now" for _ in range(N)]
    found = scan(tmp_path, {"c1": values, "notes": notes, "c3": look})
    assert found == {"c1": {"EMAIL_ADDRESS"}, "notes": {"EMAIL_ADDRESS"}, "c3": set()}


def test_full_names_under_a_vendor_or_merchant_header(tmp_path: Path) -> None:
    people = [f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}" for _ in range(N)]
    firms = [rng.choice(["Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Stark Industries", "Wayne Enterprises",
                         "Hooli", "Vandelay Imports", "Soylent", "Tyrell Corp", "Cyberdyne Systems", "Wonka Foods"])
             for _ in range(N)]
    brands = [rng.choice(["Wells Fargo", "Jack Daniels", "Tim Hortons", "Ben Sherman", "Ruby Tuesday", "Tommy Hilfiger",
                          "Ralph Lauren", "Calvin Klein", "Hugo Boss", "Marie Callender", "Dick Smith", "Ted Baker",
                          "Paul Smith", "Kate Spade", "Karl Lagerfeld", "Victoria Beckham", "Louis Vuitton",
                          "Anne Klein", "Vera Wang", "Stella McCartney", "Michael Kors", "Tory Burch"])
              for _ in range(N)]
    found = scan(tmp_path, {"vendor_name": people, "merchant": list(people), "company_name": list(people),
                            "supplier": firms, "brand_name": brands})
    assert found == {"vendor_name": {"PERSON"}, "merchant": {"PERSON"}, "company_name": {"PERSON"},
                     "supplier": set(), "brand_name": set()}


def test_names_inside_free_text(nlp_model: str, tmp_path: Path) -> None:
    templates = ["Spoke with {p} about the delayed delivery; {p2} will call back on Monday morning.",
                 "Refund approved by {p} after a long review of the damaged parcel and the photos sent.",
                 "{p} complained that the courier left the box outside in the rain again this week.",
                 "Escalated to {p} in the billing team because the invoice total was wrong twice."]
    plain = ["The parcel arrived on time and the customer was satisfied with the packaging overall.",
             "Invoice corrected after the second review; no further action is needed on this ticket.",
             "Delivery was delayed by the storm; the courier rescheduled it for the following week."]
    notes = []
    for i in range(N):
        if i % 3 == 0:
            notes.append(rng.choice(templates).format(p=f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}",
                                                      p2=f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}"))
        else:
            notes.append(rng.choice(plain) + f" Ref {i}.")
    reviews = [rng.choice(["Great coffee maker, brews fast and the carafe keeps it hot for an hour.",
                           "The Jack Daniels barrel smoked sauce tastes amazing on ribs and wings.",
                           "Works with the Wells Fargo app and Apple Pay without any trouble at all.",
                           "Battery life is shorter than advertised but the screen is bright and clear.",
                           "Ordered the Ruby Tuesday salad bar kit; the dressing was missing again."]) + f" #{i}"
               for i in range(N)]
    found = scan(tmp_path, {"agent_notes": notes, "review": reviews}, model=nlp_model)
    assert found == {"agent_notes": {"PERSON"}, "review": set()}


def test_base64_encoded_values(tmp_path: Path) -> None:
    """E-mails and cards stored base64-encoded read as what they encode; random bytes and
    base64 of plain words stay untagged."""
    import base64
    import os

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    users = ["john.smith", "mary", "r.jones", "linda99", "mike_b", "susan.k", "dave", "karen.w"]
    found = scan(tmp_path, {
        "c1": [b64(f"{rng.choice(users)}{i}@example.com") for i in range(N)],
        "c2": [b64(rng.choice(CARDS)) for _ in range(N)],
        "c3": [base64.b64encode(os.urandom(24)).decode() for _ in range(N)],
        "c4": [b64(rng.choice(["shipped", "pending review", "delivered late", "cancelled by customer"])) for _ in range(N)],
    })
    assert found == {"c1": {"EMAIL_ADDRESS"}, "c2": {"CREDIT_CARD"}, "c3": set(), "c4": set()}
