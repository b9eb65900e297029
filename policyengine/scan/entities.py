"""The scanner's built-in entities, each declared once: the registry.

An entity is one `Entity` entry: its patterns (RE2, run by pyarrow.compute) with the validator
each match must pass, whether its values can be stored as numbers, the column-name words that
hint at it, and the text reports show for it. Its place in `ENTITIES` is its precedence: a
value claimed whole by an earlier entity (an IBAN) is not counted again for a later one (a
phone inside it). Entities without patterns (PERSON, DATE_OF_BIRTH) are decided from NER or
from the column's type and name, and are listed for their hints and text.

Adding a built-in entity means one entry here (plus a validator function in `validators` if it
has one, and a taxonomy tag); `tests/scan/test_entities.py` checks that every entry is complete.
This is the shape of Presidio's recognizer classes, kept as data: one row per entity.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recognizer:
    """A regex (RE2) that finds candidates in a value, and an optional validator for them.

    `whole_only`: only values that are, as a whole, a match count (addresses, custom codes).
    `needs_hint`: the recognizer counts only for columns whose name suggests its entity (bare
    9-digit SSNs, NHS numbers: too many innocent numbers have that shape).
    `names`: extra column-name hints (custom recognizers).
    """

    name: str
    entity: str
    pattern: str
    validator: str | None = None
    whole_only: bool = False
    needs_hint: bool = False
    names: tuple[str, ...] = ()
    tag: str | None = None
    min_share: float = 0.5
    builtin: bool = True


@dataclass(frozen=True)
class Pattern:
    """One regex of an entity: `name` (unique), the RE2 `regex`, the `validator` (a key of
    `validators.VALIDATORS`, or None for an unvalidated shape), and the two gates of `Recognizer`."""

    name: str
    regex: str
    validator: str | None = None
    whole_only: bool = False
    needs_hint: bool = False


@dataclass(frozen=True)
class Entity:
    """Everything the scanner knows about one built-in entity type.

    `text`: what a report says a column holds ("payment card numbers").
    `numeric`: values may be stored in an integer or float column (cards, phones, tax ids), so
    the data-type gate lets number columns be checked for it.
    `hints` / `weak_hints`: column-name words (normalised: lower-case, `_` between words) that
    suggest the entity strongly / weakly (see `names`).
    """

    name: str
    text: str
    patterns: tuple[Pattern, ...] = ()
    numeric: bool = False
    hints: str = ""
    weak_hints: str = ""

    def recognizers(self) -> tuple[Recognizer, ...]:
        """The entity's patterns as recognizers, in declaration order."""
        return tuple(Recognizer(p.name, self.name, p.regex, p.validator, p.whole_only, p.needs_hint) for p in self.patterns)


_STREET_WORDS = (
    # English (USPS suffixes, as Faker and real US/UK data use them; plurals are allowed)
    "street|st|avenue|ave|av|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|square|sq|"
    "terrace|ter|crescent|cres|close|way|highway|hwy|parkway|pkwy|row|mews|garden|grove|hill|park|"
    "alley|aly|bridge|brook|burg|bypass|canyon|causeway|circle|cir|cliff|corner|cove|creek|crest|"
    "crossing|crossroad|curve|dale|estate|expressway|expy|extension|falls|ferry|field|flat|ford|"
    "forest|forge|fork|fort|freeway|fwy|gateway|glen|green|harbor|harbour|haven|heights|hollow|inlet|"
    "island|isle|junction|knoll|lake|landing|lodge|loop|mall|manor|meadow|mill|mission|motorway|"
    "mount|mountain|neck|orchard|oval|overpass|path|pike|pine|plain|plaza|point|port|prairie|ranch|"
    "ridge|river|route|shoal|shore|skyway|spur|station|stravenue|stream|summit|throughway|trace|"
    "track|trafficway|trail|trl|tunnel|turnpike|underpass|valley|via|viaduct|view|village|ville|vista|"
    "walk|wall|wynd|camp|cape|center|centre|divide|passage|radial|ramp|rapid|spring|common|course|lock|loaf|pass|"
    "club|union|key|light|well|dam|bluff|bend|beach|branch|"
    "straße|strasse|str|gasse|weg|allee|platz|ring|damm|ufer|"
    "rue|chemin|impasse|allée|quai|cours|"
    "calle|c/|avenida|avda|paseo|camino|carrer|ronda|travesía|"
    "viale|piazza|corso|vicolo|largo|strada|"
    "straat|laan|plein|gracht|kade|singel|dijk|steeg|dreef|hof|baan|"
    "utca|ulica|cesta|trg|jalan|jl|jln"
)
# Street words that come first, the number after: Calle Mayor, 12 · Via Roma 12 · Rue de Rivoli 12
_STREET_FIRST = (
    "calle|c/|c|avenida|avda|av|plaza|pza|paseo|camino|carrer|ronda|travesía|travesia|glorieta|rambla|vial|"
    "vía|acceso|alameda|callejón|callejon|cuesta|cañada|canada|pasaje|pasadizo|urbanización|urbanizacion|urb|"
    "carretera|ctra|senda|bulevar|"
    "via|viale|piazza|piazzale|corso|vicolo|largo|strada|contrada|borgo|rotonda|stretto|canale|incrocio|"
    "lungomare|salita|traversa|vico|"
    "rue|avenue|boulevard|bd|bvd|chemin|impasse|allée|allee|place|quai|cours|route|"
    "rua|praça|praca|travessa|ulica|ul|jalan|jl|jln|gang|gg"
)
_COMPOUND = (
    "straße|strasse|str\\.|gasse|weg|allee|platz|straat|laan|plein|gracht|kade|singel|dijk|steeg|"
    "gatan|gata|gate|vägen|vagen|vej|veien|vei|katu|ring|hof|baan|boulevard|dreef|pad|markt|wal"
)
_UNIT = "(?:flat|apt|apartment|unit|suite|ste|studio|wohnung|appartement|piso)\\.?\\s*[\\w-]+,?\\s+"
# a house number: 12 · 12a · 12-14 · 6-3-249 (Indian door numbers) · D No 12-3 · A1 - 2820 (a unit first)
_HOUSE = (r"(?:[a-z]{1,2}\d{0,4}\s*[-–]\s*)?(?:(?:d|h|door|house)\.?\s?no\.?\s*)?"
          r"\d{1,6}[a-z]?(?:[-/]\d{1,4}){0,3},?\s+")

# Other scripts (issue 26; RE2's \b is ASCII-only, so words are delimited by spaces and marks): a
# street word and a house number somewhere — Cyrillic (ул. Ленина, д. 5 · вул. Шевченка 12 · бул.
# „Витоша“ 12), Greek (Οδός Ερμού 12 · Λεωφ. Κηφισίας 5), Hebrew (רחוב הרצל 12 · רח' …), Arabic
# (شارع الملك فهد 12 · طريق …، مبنى 5), Persian (خیابان …، پلاک 12), Devanagari (12, … मार्ग · मकान नं.
# 5, … नगर); Japanese blocks (3丁目5番10号, 5番地), Chinese numbers (邯郸路220号 · 象山巷324號),
# Korean road addresses (테헤란로 123 · 서초대길 지하144 · …동 123-4); and "street number, town"
# in Greek, Hebrew, Cyrillic or Arabic letters (Ερμού 12, 105 63 Αθήνα · הרצל 12, חיפה).
_SP = r"(?:^|[\s,،(«„\"'])"
_SCRIPT_STREETS = (
    r"|(?is)^.*" + _SP + r"(?:ул|улица|вул|вулиця|пр|пр-т|просп|проспект|пер|переулок|пров|провулок|бул|бульв|бульвар|"
    r"наб|набережная|набережна|ш|шоссе|пл|площадь|площа|алл|аллея|алея|узвіз|проезд|пр-д|туп|тупик|линия|лінія|мкр|"
    r"мікрорайон|майдан|спуск|ж\.к|жк|кв-л|д|дом|буд|будинок)\.?\s.*\d.*$"
    r"|(?is)^.*" + _SP + r"(?:οδός|οδος|οδ|λεωφόρος|λεωφορος|λεωφ|πλατεία|πλατεια|πάροδος|παροδος)\.?\s.*\d.*$"
    r"|(?s)^.*" + _SP + r"(?:רחוב|רח'|רח׳|שדרות|שד'|דרך|סמטת|כיכר|שכונת)\s.*\d.*$"
    r"|(?s)^.*" + _SP + r"(?:شارع|طريق|حي|جادة|زقاق|ميدان|مبنى|خیابان|کوچه|بلوار|میدان|پلاک|جاده|بزرگراه)\s.*\d.*$"
    r"|(?s)^.*\d.*\s(?:شارع|طريق|خیابان|کوچه)\s.*$"
    r"|(?s)^.*(?:मार्ग|रोड|नगर|गली|मोहल्ला|कॉलोनी|सेक्टर|चौक|बाज़ार|बाजार|मकान\s?नं|पथ).*\d.*$"
    r"|(?s)^.*\d.*(?:मार्ग|रोड|नगर|गली|मोहल्ला|कॉलोनी|सेक्टर|चौक|पथ).*$"
    r"|(?s)^.*\d+\s?(?:丁目|番地|番|号|號)"
    r"|(?s)^.*[\p{Hangul}\d](?:로|길|대로|거리)\s?(?:지하\s?)?\d+(?:-\d+)?(?:\s.*)?$"
    r"|(?s)^.*\p{Hangul}(?:동|리|가)\s\d+(?:-\d+)?(?:\s.*)?$"
    r"|^[\p{Greek}\p{Hebrew}\p{Cyrillic}\p{Arabic}][\p{Greek}\p{Hebrew}\p{Cyrillic}\p{Arabic}\p{M}\s.'’\"׳״-]*\s\d{1,3}[\p{L}]?\s?[,،]\s*"
    r"(?:\d[\d\s]{2,7}\s)?[\p{Greek}\p{Hebrew}\p{Cyrillic}\p{Arabic}]"
)

_STREET_ADDRESS = (
    # the number first, a street word somewhere after it (965 Elliott Ways Apt. 617, 12 rue de Rivoli)
    # (a flat or studio may stand in for the number: Flat 3, Buckley Skyway · Studio 8\nKing Ferry)
    # (an ordinal street name may follow the number: 175 1ST STREET)
    r"(?is)^(?:" + _UNIT + r"(?:" + _HOUSE + r")?|" + _HOUSE + r")(?:[\p{L}\d].*\s)?(?:" + _STREET_WORDS + r")s?\b.*$"
    # a street word, then the number (Main St. 5, Calle Mayor, 12, Piazza del Duomo, 5)
    r"|(?is)^.*\b(?:" + _STREET_WORDS + r")\b\.?\s*\d.*$"
    r"|(?is)^(?:" + _STREET_FIRST + r")\.?\s+\p{L}[\p{L}'’.\- ]*,?\s*(?:n[º°o.]?\s*)?\d{1,5}[a-z]?\b.*$"
    # German / Dutch compounds (Hauptstraße 5, Kerkstraat 12, Julianaboulevard 7)
    r"|(?is)^.*\p{L}{3,}(?:" + _COMPOUND + r")\s*\d.*$"
    # US military mail (Unit 8545 Box 6057, DPO AE 60995 · USNS Hall, FPO AE 97807)
    r"|(?i)^(?:unit|psc|usns|usnv|uss|uscgc)\b.*\b[adf]po\s+a[aep]\s+\d{5}$"
    # Hungarian street types that are not ASCII words (Kossuth Lajos út 12, Széchenyi tér 3, Váci u. 5)
    r"|(?is)^.*\p{L}\s+(?:út|tér|körút|krt|u)\.?\s*\d.*$"
    + _SCRIPT_STREETS
)
# An address line as a column named for addresses holds it, with or without a house number:
# a street or locality word anywhere (Beach Road, Banjara Hills, Lajpat Nagar), a post box
# (P.O. Box 100, P.B. No. 21, Postfach), care of (C/o Hotel Amar), a landmark (Near Hitech
# City), a door number. Only counted with such a column name (`classify`).
ADDRESS_LINE = (
    r"(?i)\b(?:" + _STREET_WORDS + r"|nagar|marg|bagh|ganj|gunj|colony|sector|phase|block|mandal|dist|taluk|"
    r"tehsil|chowk|bazar|bazaar|market|layout|enclave|vihar|puram|floor|flr|building|bldg|tower|complex|house|"
    r"bhavan|bhawan|mansion|apartments?|plot|estate|kampung|desa|kelurahan|kecamatan|quarter|quartier|barrio|"
    r"colonia|bairro|sitio|purok)s?\b"
    r"|(?i)\bp\.?\s?o\.?\s?box|\bp\.?\s?b\.?\s?no|\bpost\s?box|\bpo\s?box|\bbox\s+\d|postfach|apartado|casilla|\bpmb\b"
    r"|(?i)^c/o\b|\bc/o\s"
    r"|(?i)^(?:near|nr|opp|opposite|behind|beside)\.?\s"
    r"|(?i)^(?:(?:d|h|door|house|plot|flat|shop)\.?\s?no\.?|no\.?)\s*\d"
    r"|(?i)^\d{1,5}[a-z]?\s*[,/-]|^\d{1,5}[a-z]?\s+\p{L}"
)
_POSTAL_CODE = (
    r"(?i)^(?:\d{4,5}(?:-\d{4})?|[a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}|\d{4} ?[a-z]{2}|[a-z]\d[a-z] ?\d[a-z]\d|"
    r"\d{2}-\d{3}|\d{3} ?\d{2})$"
)

# spelled-out e-mails: a bracketed "at" with any dots (`john(at)example.com`, `john [at] example [dot]
# com`), or a spaced one with spelled dots only (`john at example dot com`): `apply at www.x.com`
# and `now @ x.com` are a website and a price tag, not a mailbox
_BRACKETED_AT = r"\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*"
_SPELLED_DOT = r"(?:\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+)"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SPELLED_EMAIL = (
    r"(?i)\b[a-z0-9][a-z0-9._%+-]*(?:" + _BRACKETED_AT + _LABEL + r"(?:(?:" + _SPELLED_DOT + r"|\.)" + _LABEL + r")+"
    r"|\s+(?:at|@)\s+" + _LABEL + r"(?:" + _SPELLED_DOT + _LABEL + r")+)\b"
)

# In precedence order (see the module docstring).
ENTITIES: tuple[Entity, ...] = (
    Entity(
        "CREDENTIAL", "credentials or secrets (access keys, tokens, private keys, passwords)",
        (Pattern("cloud_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b", "secret"),
         Pattern("api_token", r"\bAIza[0-9A-Za-z_-]{35}\b|\bgh[pousr]_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{59,}\b"
                              r"|\bxox[abprs]-[A-Za-z0-9-]{10,}\b|\b[sr]k_live_[A-Za-z0-9]{20,}\b|\bglpat-[A-Za-z0-9_-]{20}\b", "secret"),
         Pattern("private_key_block", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
                 "secret")),
        # a column named for passwords holds credentials whatever its values look like (`classify`)
        hints="password passwd passwort pwd user_password contrasena contrasenya mot_de_passe motdepasse wachtwoord "
              "passcode passphrase",
    ),
    Entity(
        "CRYPTO", "cryptocurrency wallet addresses",
        (Pattern("btc_address", r"\b[13][1-9A-HJ-NP-Za-km-z]{24,33}\b|(?i)\bbc1[02-9ac-hj-np-z]{11,71}\b", "btc"),
         Pattern("eth_address", r"^0x[0-9a-fA-F]{40}$", None, whole_only=True, needs_hint=True)),
        hints="wallet wallet_address crypto_address btc_address bitcoin_address eth_address ethereum_address "
              "bitcoin ethereum",
    ),
    Entity(
        "IMEI", "device identifiers (IMEI)",
        (Pattern("imei", r"^\d{2}[- ]?\d{6}[- ]?\d{6}[- ]?\d$", "imei", whole_only=True, needs_hint=True),),
        numeric=True,
        hints="imei imei_number imeisv device_imei imei1 imei2",
    ),
    Entity(
        "IBAN_CODE", "IBANs",
        (Pattern("iban", r"(?i)\b[a-z]{2}\d{2}(?:[ -]?[a-z0-9]{4}){2,7}(?:[ -]?[a-z0-9]{1,4})?\b", "iban"),),
        hints="iban bank_account bankaccount account_number accountnumber konto kontonummer cuenta cuenta_bancaria "
              "compte compte_bancaire conto conto_corrente rekening rekeningnummer rib bban",
    ),
    Entity(
        "CREDIT_CARD", "payment card numbers",
        (Pattern("credit_card", r"\b(?:\d[ -]?){11,18}\d\b", "card"),),
        numeric=True,
        hints="card card_number cardnumber card_no cc cc_number ccnum credit_card creditcard kreditkarte tarjeta "
              "carte carta kaart pan kartennummer numero_tarjeta",
    ),
    Entity(
        "US_SSN", "US social security numbers",
        (Pattern("us_ssn", r"\b\d{3}[- .]\d{2}[- .]\d{4}\b", "ssn"),
         Pattern("us_ssn_bare", r"^\d{9}$", "ssn", whole_only=True, needs_hint=True)),
        numeric=True,
        hints="ssn social_security social_security_number socialsecurity ss_number",
    ),
    Entity(
        "UK_NINO", "UK National Insurance numbers",
        (Pattern("uk_nino", r"(?i)\b[a-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[a-d]\b", "nino"),),
    ),
    Entity(
        "ES_NIF", "Spanish NIF/NIE numbers",
        (Pattern("es_nif", r"(?i)\b(?:\d{8}|[xyz]\d{7})-?[a-z]\b", "nif"),),
    ),
    Entity(
        "IT_FISCAL_CODE", "Italian fiscal codes",
        (Pattern("it_fiscal_code", r"(?i)\b[a-z]{6}[0-9lmnp-v]{2}[a-z][0-9lmnp-v]{2}[a-z][0-9lmnp-v]{3}[a-z]\b",
                 "it_fiscal_code"),),
    ),
    Entity(
        "EMAIL_ADDRESS", "e-mail addresses",
        (Pattern("email", r"(?i)[\p{L}\p{N}!#$%&'*+/=?^_{|}~.-]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
                 "email"),
         # spelled out to dodge scanners: `john at example dot com`, `john [at] example [dot] com`
         Pattern("email_spelled", _SPELLED_EMAIL, "email_spelled")),
        hints="email emails e_mail mail mailaddress emailaddress correo courriel emailadresse emailadres epost eposta "
              "sahkoposti posta_elettronica correo_electronico adresse_mail mailadresse"
              # other scripts (issue 26)
              "почта эл_почта электронная_почта пошта ел_пошта имейл ηλεκτρονικο_ταχυδρομειο דואל דוא_ל "
              "البريد_الإلكتروني البريد ایمیل پست_الکترونیک ईमेल メール メールアドレス 邮箱 电子邮件 電子郵件 이메일",
    ),
    Entity(
        "URL", "URLs",
        (Pattern("url", r"(?i)\b(?:https?://|www\.)[a-z0-9.-]+\.[a-z]{2,24}(?:[/?#][^\s<>\"']*)?", "url"),),
        hints="url website homepage profile_url link",
    ),
    Entity(
        "IP_ADDRESS", "IP addresses",
        (Pattern("ip", r"(?i)\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b"
                       r"|(?:[0-9a-f]{1,4}|:)(?::[0-9a-f]{0,4}){2,7}", "ip"),),
        hints="ip ipv4 ipv6 ip_address ipaddress ip_addr client_ip remote_ip remote_addr source_ip src_ip dst_ip "
              "dest_ip host_ip server_ip ipv4_address ipv6_address ip_addresses",
    ),
    Entity(
        "PASSPORT", "passport numbers",
        (Pattern("passport", r"(?i)^[a-z0-9]{1,3}[ -]?[a-z0-9]{3,8}$", "passport", whole_only=True, needs_hint=True),),
        numeric=True,
        hints="passport passport_no passport_number passportnumber passport_num reisepass reisepassnummer pasaporte "
              "passeport passaporto paspoort paspoortnummer",
    ),
    Entity(
        # hospital-assigned patient ids have no public format: 5-12 letters and digits (≥ 5 digits,
        # ≤ 3 letters), under a medical-record name only, and mostly unique (`classify`); the NHS
        # number has its own checksum and stays UK_NHS (claimed before this)
        "MEDICAL_RECORD_NUMBER", "medical record numbers",
        (Pattern("mrn", r"(?i)^[a-z]{0,3}[ -]?\d[\d -]{3,13}[a-z]?$", "mrn", whole_only=True, needs_hint=True),),
        numeric=True,
        hints="mrn mrn_no mrn_number medical_record medical_records medical_record_number medical_record_no "
              "medicalrecordnumber med_rec_no medrec patient_id patientid patient_number patient_no patientnumber "
              "chart_number chart_no hospital_number hospital_no emr_id ehr_id",
    ),
    Entity(
        "DE_TAX_ID", "German tax identification numbers",
        (Pattern("de_tax_id", r"^[1-9]\d ?\d{3} ?\d{3} ?\d{3}$", "de_tax_id", whole_only=True),),
        numeric=True,
        hints="steuer_id steuerid steueridentifikationsnummer steuer_identifikationsnummer idnr steuer_idnr tax_id_de",
    ),
    Entity(
        "FR_NIR", "French social security numbers (NIR)",
        (Pattern("fr_nir", r"(?i)^[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[ab]) ?\d{3} ?\d{3} ?\d{2}$", "fr_nir",
                 whole_only=True),),
        numeric=True,
        hints="nir insee numero_securite_sociale securite_sociale num_secu numero_secu",
    ),
    Entity(
        "UK_NHS", "NHS numbers",
        (Pattern("uk_nhs", r"^\d{3}[ -]?\d{3}[ -]?\d{4}$", "nhs", whole_only=True, needs_hint=True),),
        numeric=True,
        hints="nhs nhs_number",
    ),
    Entity(
        "NL_BSN", "Dutch citizen service numbers (BSN)",
        (Pattern("nl_bsn", r"^\d{8,9}$|^\d{4}\.\d{2}\.\d{3}$", "nl_bsn", whole_only=True),),
        numeric=True,
        hints="bsn burgerservicenummer sofinummer sofi_nummer",
    ),
    Entity(
        "PHONE_NUMBER", "phone numbers",
        (Pattern("phone", r"(?i)(?:\+\s?|\(\+?)?\d[\d ().\-/]{5,22}\d(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?", "phone"),),
        numeric=True,
        hints="phone phones telephone tel tele telefon telefono telefone telefoon telephone_number mobile mobil mobiel "
              "movil cell cellphone cellular cellulare handy fax gsm msisdn portable phonenumber phone_no phone_number "
              "tlf puhelin numero_telefono rufnummer telefonnummer contact_no contact_number contactno "
              "contact_phone contact_mobile mobile_no mobile_number whatsapp "
              # other scripts (issue 26)
              "телефон тел мобильный моб мобільний τηλεφωνο κινητο טלפון נייד هاتف الهاتف جوال الجوال رقم_الهاتف "
              "تلفن موبایل همراه شماره_تلفن फ़ोन फोन मोबाइल दूरभाष 電話 電話番号 携帯 携帯電話 电话 手机 手機 联系电话 "
              "전화 전화번호 휴대폰 핸드폰 연락처",
        weak_hints="contact",
    ),
    Entity(
        "LOCATION", "addresses or places",
        (Pattern("postal_code", _POSTAL_CODE, None, whole_only=True, needs_hint=True),
         Pattern("street_address", _STREET_ADDRESS, None, whole_only=True)),
        hints="address addresses addr street street_address streetaddress address_line address1 address2 addressline "
              "strasse str straat calle direccion domicilio adresse indirizzo via_indirizzo adres morada endereco rue "
              "ulica ulice utca gata gatan gade katu rua "
              "city town stadt ort wohnort ville ciudad citta localidad municipio comune gemeente plaats woonplaats "
              "village locality suburb hometown birthplace residence "
              "zip zipcode zip_code postcode post_code postal_code postalcode plz postleitzahl cp codigo_postal "
              "code_postal cap codice_postale postcode_nl "
              # address lines abbreviated: ADD1, ADD2, ADDR1
              "add1 add2 add3 addr1 addr2 addr3 "
              # other scripts (issue 26)
              "адрес адреса улица вулиця город місто град διευθυνση οδος πολη כתובת רחוב עיר العنوان عنوان الشارع "
              "شارع المدينة مدينة آدرس نشانی خیابان شهر पता शहर गली सड़क 住所 所在地 番地 市区町村 都市 地址 住址 城市 "
              "街道 街道地址 주소 도로명주소 도시",
        weak_hints="location place county district region province state",
    ),
    # decided from NER (values) or from a date column's name, not from patterns
    Entity(
        "PERSON", "a person's name",
        hints="firstname first_name given_name givenname forename fname lastname last_name lname surname surnames "
              "fullname full_name middle_name middlename maiden_name family_name familyname name_family family_names nachname vorname familienname apellido apellidos "
              "nombre_completo nombres prenom nom_famille nom_complet cognome nome_completo achternaam voornaam "
              "tussenvoegsel person persona customer_name client_name employee_name contact_name account_holder holder "
              "cardholder card_holder titular inhaber beneficiary patient_name student_name author_name owner_name "
              "user_full_name display_name "
              # reversed and plural forms (nameFirst, nameLast, Middle names), maiden names (MothersMaiden)
              "name_first name_last name_given name_middle namefirst namelast namegiven namemiddle first_names "
              "last_names given_names middle_names maiden mothers_maiden mothersmaiden mother_maiden "
              # other scripts (issue 26); the generic "name" words (имя, όνομα, שם, नाम …) are in `names`
              "фамилия отчество фио прізвище піб по_батькові презиме три_имена επωνυμο ονοματεπωνυμο πατρωνυμο "
              "שם_פרטי שם_משפחה שם_מלא الاسم_الأول الاسم_الكامل اسم_العائلة اللقب نام_خانوادگی نام_کامل पहला_नाम "
              "उपनाम पूरा_नाम 氏名 姓名 名前 苗字 名字 姓氏 姓 名 이름 성명 성함 성 고객명 联系人 收件人 顧客名 担当者 담당자",
        weak_hints="name names author owner fn ln nm fnm lnm",
    ),
    Entity(
        "DATE_OF_BIRTH", "dates of birth",
        hints="dob birth birthday birthdate birth_date date_of_birth geburtsdatum geburtstag fecha_nacimiento "
              "nacimiento date_naissance naissance data_nascita nascita geboortedatum",
    ),
)

BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}
BUILTIN: tuple[Recognizer, ...] = tuple(r for e in ENTITIES for r in e.recognizers())
# The order in which a whole value is claimed: a value validated as an IBAN is not also counted
# as a phone number, a card is not a phone, and so on.
PRECEDENCE: tuple[str, ...] = tuple(e.name for e in ENTITIES if e.patterns)
NUMERIC_ENTITIES: frozenset[str] = frozenset(e.name for e in ENTITIES if e.numeric)


def display_text(entity: str) -> str:
    """What a report says a column of `entity` holds (the entity name for custom entities)."""
    e = BY_NAME.get(entity)
    return e.text if e is not None else entity
