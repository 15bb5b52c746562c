"""SEARCH over text in every charset iconv(3) knows (RFC 3501 §6.4.4): bodies and
RFC 2047 subjects in ISO-2022-JP, Shift_JIS, EUC-JP, EUC-KR, GB2312, Big5, KOI8-R,
windows-1251, UTF-16 and UTF-7 (made here with str.encode), SEARCH CHARSET X with the
needle in X, NO [BADCHARSET (...)] for a charset iconv does not know, the raw bytes of
a part in such a charset; the i;unicode-casemap comparator (RFC 5051) in SEARCH and
SORT; and real CJK spam from the SpamAssassin corpus (tests/unit/mail/fixtures/charset,
imported by make-fixtures.py import-charset)."""

import base64
import os
import quopri
import unittest

from mailhelpers import MailTestCase, command_raw, search_numbers

HERE = os.path.dirname(os.path.abspath(__file__))
SA = os.path.join(HERE, "..", "unit", "mail", "fixtures", "charset")


def b64(data):
    return base64.b64encode(data).decode()


def message(charset, codec, subject, body, cte="base64"):
    """A text/plain message: subject as one RFC 2047 B word, body in cte."""
    raw = body.encode(codec)
    if cte == "base64":
        text = base64.encodebytes(raw)
    elif cte == "quoted-printable":
        text = quopri.encodestring(raw)
    else:   # 7bit / 8bit: as it is
        text = raw
    head = (f"From: sender@x.test\r\nTo: rcpt@x.test\r\n"
            f"Subject: =?{charset}?B?{b64(subject.encode(codec))}?=\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"{charset}\"\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n\r\n").encode()
    return head + text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"


# (charset, Python codec, subject, body, transfer encoding): message n is MESSAGES[n-1]
MESSAGES = [
    ("ISO-2022-JP", "iso2022_jp", "会議の予定", "明日の会議は東京で行います。", "7bit"),
    ("Shift_JIS", "shift_jis", "請求書の送付", "お支払いの確認をお願いします。", "base64"),
    ("EUC-KR", "euc_kr", "회의 일정", "내일 서울에서 만나요.", "base64"),
    ("GB2312", "gb2312", "会议通知", "明天在北京开会。", "base64"),
    ("Big5", "big5", "會議通知", "明天在台北開會。", "base64"),
    ("KOI8-R", "koi8_r", "Встреча завтра", "Привет, до встречи в Москве.", "8bit"),
    ("windows-1251", "cp1251", "Счёт-фактура", "Оплата по счёту в Киеве.", "quoted-printable"),
    ("UTF-16", "utf-16", "Grüße aus Köln", "Schöne Straße am Rhein", "base64"),
    ("EUC-JP", "euc_jp", "東京タワー", "展望台から富士山が見えます。", "quoted-printable"),
    ("UTF-7", "utf-7", "Größe", "Das Café am Markt", "7bit"),
    ("UTF-8", "utf-8", "Hauptstraße", "Un café noir à la Hauptstraße", "8bit"),
]
UNKNOWN = (b"Subject: raw\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=x-unknown-8bit\r\n\r\nolder caf\xe9 text\r\n")


class Charsets(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        for i, (cs, codec, subj, body, cte) in enumerate(MESSAGES):
            self.append_ok(self.c, "INBOX", message(cs, codec, subj, body, cte), tag=f"a{i}")
        self.append_ok(self.c, "INBOX", UNKNOWN, tag="au")
        self.ok(self.c, "s", "SELECT INBOX")

    def search(self, key, needle, charset="UTF-8", tag="q"):
        """SEARCH CHARSET charset key {literal}: the numbers found."""
        data = needle if isinstance(needle, bytes) else needle.encode()
        self.c.send(f"{tag} SEARCH CHARSET {charset} {key} {{{len(data)}+}}\r\n".encode() +
                    data + b"\r\n")
        untagged, t = self.c.read_tagged(tag)
        self.assertTagged(t, tag, "OK")
        return search_numbers(untagged)

    def test_body_in_each_charset(self):
        for n, word in ((1, "東京で"), (2, "お支払い"), (3, "서울에서"), (4, "北京开会"),
                        (5, "台北開會"), (6, "Москве"), (7, "Киеве"), (8, "Schöne"),
                        (9, "富士山"), (10, "Café am"), (11, "café noir")):
            self.assertEqual(self.search("BODY", word, tag=f"b{n}"), [n], word)
        self.assertEqual(self.search("BODY", "明天在"), [4, 5])

    def test_subject_in_each_charset(self):
        for n, (_, _, subj, _, _) in enumerate(MESSAGES, 1):
            self.assertIn(n, self.search("SUBJECT", subj, tag=f"s{n}"), subj)
        self.assertEqual(self.search("SUBJECT", "会議"), [1])
        self.assertEqual(self.search("SUBJECT", "회의"), [3])
        self.assertEqual(self.search("TEXT", "Встреча"), [6])

    def test_needle_in_its_charset(self):
        """SEARCH CHARSET X: the needle (a literal in X) is converted to UTF-8 first."""
        self.assertEqual(self.search("BODY", "会議".encode("iso2022_jp"), "ISO-2022-JP"), [1])
        self.assertEqual(self.search("BODY", "お支払い".encode("shift_jis"), "SHIFT_JIS",
                                     tag="q2"), [2])
        self.assertEqual(self.search("SUBJECT", "ВСТРЕЧА".encode("koi8_r"), "KOI8-R",
                                     tag="q3"), [6])
        self.assertEqual(self.search("BODY", "서울".encode("euc_kr"), "EUC-KR", tag="q4"), [3])
        self.assertEqual(self.search("BODY", "開會".encode("big5"), "BIG5", tag="q5"), [5])
        self.assertEqual(self.search("BODY", "Stra\xdfe".encode("latin1"), "ISO-8859-1",
                                     tag="q6"), [8, 11])

    def test_badcharset(self):
        untagged, t = command_raw(self.c, "q", "SEARCH CHARSET X-NOPE TEXT a")
        self.assertTagged(t, "q", "NO", "[BADCHARSET (")
        self.assertIn("UTF-8", t)
        self.assertIn("ISO-2022-JP", t)
        self.assertIsNone(search_numbers(untagged))
        _, t = command_raw(self.c, "q2", "SORT (SUBJECT) X-NOPE ALL")
        self.assertTagged(t, "q2", "NO", "[BADCHARSET (")

    def test_unknown_message_charset_searches_raw_bytes(self):
        n = len(MESSAGES) + 1
        self.assertEqual(self.search("BODY", b"caf\xe9 text"), [n])
        self.assertEqual(self.search("BODY", "older", tag="q2"), [n])

    def test_casemap(self):
        """RFC 5051: upper case then NFKD; a substring of the keys is found."""
        self.assertEqual(self.search("BODY", "cafe"), [10, 11])          # café
        self.assertEqual(self.search("BODY", "CAFÉ", tag="q2"), [10, 11])
        self.assertEqual(self.search("BODY", "STRASSE", tag="q3"), [8, 11])  # Straße
        self.assertEqual(self.search("SUBJECT", "HAUPTSTRASSE", tag="q4"), [11])
        self.assertEqual(self.search("BODY", "ПРИВЕТ", tag="q5"), [6])
        self.assertEqual(self.search("SUBJECT", "счет", tag="q6"), [])    # ё is not е
        self.assertEqual(self.search("SUBJECT", "СЧЁТ", tag="q7"), [7])
        self.assertEqual(self.search("BODY", "ｍａｒｋｔ", tag="q8"), [10])  # full-width
        self.assertEqual(self.search("BODY", "cafe\u0301", tag="q9"), [10, 11])  # decomposed
        self.assertEqual(self.search("BODY", "café", "ISO-8859-1", tag="q10"), [])  # UTF-8 read as Latin-1


class SortCasemap(MailTestCase):
    def test_sort_subject(self):
        c = self.session()
        subjects = ["zulu", "Ébène", "alpha", "ebony", "Échelle", "STRASSE b", "straße a"]
        for i, s in enumerate(subjects):
            msg = (f"Subject: =?utf-8?B?{b64(s.encode())}?=\r\nFrom: a@x.test\r\n\r\nb\r\n")
            self.append_ok(c, "INBOX", msg.encode(), tag=f"a{i}")
        self.ok(c, "s", "SELECT INBOX")
        untagged = self.ok(c, "so", "SORT (SUBJECT) UTF-8 ALL")
        line = [t for t in untagged if t.startswith(b"* SORT")][0]
        got = [subjects[int(x) - 1] for x in line.split()[2:]]
        # keys: ALPHA, EBONY, E+U+0301 BE+U+0300 NE, E+U+0301 CHELLE, STRASSE A (ß = SS),
        # STRASSE B, ZULU (accents sort after the plain letter, not after Z)
        self.assertEqual(got, ["alpha", "ebony", "Ébène", "Échelle", "straße a", "STRASSE b",
                               "zulu"])
        untagged = self.ok(c, "so2", "SORT (REVERSE SUBJECT) UTF-8 SUBJECT STRASSE")
        line = [t for t in untagged if t.startswith(b"* SORT")][0]
        self.assertEqual([subjects[int(x) - 1] for x in line.split()[2:]],
                         ["STRASSE b", "straße a"])


class SpamAssassinCjk(MailTestCase):
    """Real spam (SpamAssassin corpus, Apache-2.0): found by its decoded words, each
    checked with Python's email package."""

    FILES = ["sa-spam-1-00397.eml",    # GB2312: HTML body, B subject
             "sa-spam-2-00977.eml",    # Big5: base64 HTML body, Q subject
             "sa-spam-1-00325.eml",    # ISO-2022-JP: 7bit body, B subject
             "sa-spam-2-01072.eml"]    # ks_c_5601-1987: base64 HTML body

    def setUp(self):
        super().setUp()
        self.c = self.session()
        for i, f in enumerate(self.FILES):
            with open(os.path.join(SA, f), "rb") as fp:
                self.append_ok(self.c, "INBOX", fp.read(), tag=f"a{i}")
        self.ok(self.c, "s", "SELECT INBOX")

    def search(self, key, needle, tag="q"):
        data = needle.encode()
        self.c.send(f"{tag} SEARCH CHARSET UTF-8 {key} {{{len(data)}+}}\r\n".encode() +
                    data + b"\r\n")
        untagged, t = self.c.read_tagged(tag)
        self.assertTagged(t, tag, "OK")
        return search_numbers(untagged)

    def test_decoded_words(self):
        for n, key, word in ((1, "BODY", "电子商务"), (1, "SUBJECT", "EMAIL地址"),
                             (1, "SUBJECT", "email地址"),
                             (2, "BODY", "網路兼職創業"), (2, "SUBJECT", "你找我"),
                             (3, "BODY", "出会い"), (3, "SUBJECT", "未承諾広告"),
                             (3, "SUBJECT", "灼熱!"),       # ！ (full-width): NFKD
                             (4, "BODY", "촛불 파티"), (4, "TEXT", "초대")):
            self.assertEqual(self.search(key, word, tag=f"w{n}"), [n], f"{key} {word}")


if __name__ == "__main__":
    unittest.main()
