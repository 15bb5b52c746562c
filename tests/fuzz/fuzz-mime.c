/* libFuzzer harness for the message modules (src/mail): any bytes are parsed as a
   message; the part tree must be consistent, ENVELOPE and BODYSTRUCTURE of every part
   well-formed IMAP lists, section results inside the message, SEARCH consistent with
   the decoded text, decoders within their bounds and Date: parsing reversible. */
#include <strings.h>
#include <time.h>
#include <unistr.h>

#include "fuzz-common.h"

#include "core/arena.h"
#include "core/buf.h"
#include "mail/bodystructure.h"
#include "mail/casemap.h"
#include "mail/charset.h"
#include "mail/envelope.h"
#include "mail/mime.h"
#include "mail/rfc822.h"
#include "mail/text-search.h"
#include "mail/section.h"

/* The part tree: offsets nested, pre-order, message children, siblings ordered. */
static void check_tree(const struct mail_structure *s, size_t size)
{
	FUZZ_CHECK(s->size == size, "size %u of %zu", s->size, size);
	FUZZ_CHECK(s->n_parts >= 1 && s->n_parts <= MAIL_MAX_PARTS + 1, "%u parts", s->n_parts);
	for (uint16_t i = 0; i < s->n_parts; i++) {
		const struct mail_part *p = &s->parts[i];

		FUZZ_CHECK(p->hdr_off <= p->body_off && p->body_off <= p->body_end &&
			   p->body_end <= size, "part %u offsets %u %u %u of %zu", i, p->hdr_off,
			   p->body_off, p->body_end, size);
		FUZZ_CHECK(p->depth <= MAIL_MAX_DEPTH + 1, "part %u depth %u", i, p->depth);
		FUZZ_CHECK(p->lines <= p->body_end - p->body_off, "part %u lines", i);
		FUZZ_CHECK(p->env == MAIL_NONE || p->env < s->n_envelopes, "part %u env", i);
		for (int f = 0; f < MAIL_F_COUNT; f++)
			FUZZ_CHECK(p->field[f].off == MAIL_SPAN_NONE ||
				   (uint64_t)p->field[f].off + p->field[f].len <= p->body_off,
				   "part %u field %d outside its header", i, f);
		if (i == 0) {
			FUZZ_CHECK(p->parent == MAIL_NONE && p->hdr_off == 0, "part 0");
			continue;
		}
		FUZZ_CHECK(p->parent < i, "part %u: parent %u not before it", i, p->parent);
		const struct mail_part *par = &s->parts[p->parent];

		FUZZ_CHECK(p->depth == par->depth + 1, "part %u depth", i);
		FUZZ_CHECK(p->hdr_off >= par->body_off && p->body_end <= par->body_end,
			   "part %u outside its parent", i);
		if (par->flags & MAIL_PART_MESSAGE)
			FUZZ_CHECK(p->hdr_off == par->body_off && p->body_end == par->body_end &&
				   p->env != MAIL_NONE, "part %u: message/rfc822 child", i);
		if (p->next != 0) {
			FUZZ_CHECK(p->next > i && p->next < s->n_parts, "part %u next", i);
			FUZZ_CHECK(s->parts[p->next].parent == p->parent, "part %u sibling parent", i);
			FUZZ_CHECK(s->parts[p->next].hdr_off >= p->body_end, "part %u siblings", i);
		}
	}
	for (uint16_t e = 0; e < s->n_envelopes; e++)
		for (int f = 0; f < MAIL_ENV_COUNT; f++)
			FUZZ_CHECK(s->envelopes[e].field[f].off == MAIL_SPAN_NONE ||
				   (uint64_t)s->envelopes[e].field[f].off +
				   s->envelopes[e].field[f].len <= size, "envelope %u field %d", e, f);
}

static void check_rendering(const char *data, const struct mail_structure *s)
{
	struct outq q = { 0 };
	size_t n;
	char *out;

	for (uint16_t i = 0; i < s->n_parts; i++) {
		for (int ext = 0; ext < 2; ext++) {
			mail_bodystructure_write(&q, data, s, i, ext);
			out = fuzz_outq_take(&q, &n);
			FUZZ_CHECK(fuzz_imap_list_ok(out, n), "part %u BODYSTRUCTURE %d: %s", i, ext, out);
			free(out);
		}
		if (i == 0 || s->parts[i].env != MAIL_NONE) {
			mail_envelope_write(&q, data, s, i);
			out = fuzz_outq_take(&q, &n);
			FUZZ_CHECK(fuzz_imap_list_ok(out, n), "part %u ENVELOPE: %s", i, out);
			free(out);
		}
	}
}

static void check_section(struct arena *a, const char *data, size_t size,
			  const struct mail_structure *s, const char *spec, size_t len)
{
	struct mail_section sec;
	struct mail_section_result res;
	const char *err = NULL;

	if (mail_section_parse(spec, len, &sec, &err) < 0) {
		FUZZ_CHECK(err != NULL, "section error without text");
		return;
	}
	FUZZ_CHECK(sec.n_parts <= MAIL_SECTION_MAX_PARTS && sec.n_fields <= MAIL_SECTION_MAX_FIELDS,
		   "section counts");
	mail_section_resolve(s, &sec, &res);
	FUZZ_CHECK((uint64_t)res.off + res.len <= size, "section [%.*s] at %u+%u of %zu",
		   (int)len, spec, res.off, res.len, size);
	if (res.kind == MAIL_SECTION_FILTER) {
		size_t flen;
		const char *f = mail_section_filter(a, data, &res, &sec, &flen);

		FUZZ_CHECK(flen <= 2 * (size_t)res.len + 2, "filtered %zu of %u", flen, res.len);
		FUZZ_CHECK(flen == 0 || f != NULL, "filter output");
	}
}

static void check_sections(const char *data, size_t size, const struct mail_structure *s)
{
	static const char *const specs[] = { "", "1", "1.MIME", "2.HEADER", "TEXT", "HEADER",
		"1.1.1", "2.1", "3.TEXT", "HEADER.FIELDS (From To Subject)",
		"HEADER.FIELDS.NOT (Received)", "1.HEADER.FIELDS (Subject)", "2.MIME", "1.2.3.4",
		"1.1.HEADER.FIELDS.NOT (X)" };
	static const char *const kinds[] = { "", ".MIME", ".HEADER", ".TEXT",
		".HEADER.FIELDS (Content-Type Subject)", ".HEADER.FIELDS.NOT (From)", "", "" };
	struct arena a;
	char spec[128];

	arena_init(&a, 4096);
	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++)
		check_section(&a, data, size, s, specs[k], strlen(specs[k]));
	/* part numbers chosen by the input's last bytes */
	for (size_t k = 0; k < 4 && k < size; k++) {
		unsigned char c = (unsigned char)data[size - 1 - k];
		int n = snprintf(spec, sizeof(spec), "%u", 1u + (c & 3));

		for (unsigned d = 0; d < ((c >> 2) & 3); d++)
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ".%u", 1u + ((c >> (4 + d)) & 3));
		n += snprintf(spec + n, sizeof(spec) - (size_t)n, "%s", kinds[c >> 5]);
		check_section(&a, data, size, s, spec, (size_t)n);
	}
	/* the first line as a section spec */
	const char *eol = memchr(data, '\n', size < 200 ? size : 200);

	check_section(&a, data, size, s, data, eol != NULL ? (size_t)(eol - data) :
		      (size < 200 ? size : 200));
	arena_free(&a);
}

/* The decoded text parts, each as a separate string. */
struct texts {
	struct buf all;
	size_t off[64], len[64];
	unsigned n;
};

static int collect_text(void *ctx, const char *text, size_t len)
{
	struct texts *t = ctx;

	if (t->n < 64) {
		t->off[t->n] = t->all.len;
		t->len[t->n] = len;
		t->n++;
		buf_append(&t->all, text, len);
	}
	return 0;
}

/* The byte length of the UTF-8 sequence at s (1 for a byte that starts none, which
   mail_casemap() copies alone). */
static size_t fold_seq(const unsigned char *s, size_t n)
{
	ucs4_t uc;
	int l = u8_mbtoucr(&uc, s, n);

	return l > 0 ? (size_t)l : 1;
}

/* Whether the casemap key of needle is in that of text (what SEARCH compares). */
static bool key_contains(const char *text, size_t len, const char *needle, size_t nlen)
{
	struct buf t = { 0 }, n = { 0 };

	mail_casemap(&t, text, len);
	mail_casemap(&n, needle, nlen);
	bool r = n.len == 0 || (t.len >= n.len && memmem(t.data, t.len, n.data, n.len) != NULL);

	buf_free(&t);
	buf_free(&n);
	return r;
}

static bool all_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* A needle cut from text at sequence boundaries, from position pick. */
static size_t cut_needle(const char *text, size_t len, unsigned pick, size_t *start_r)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0, start = 0, end, want = 1 + pick % 7, seqs = 0;
	size_t skip = len > 0 ? (pick / 7) % len : 0;

	while (i < len && i < skip)
		i += fold_seq(p + i, len - i);
	start = i;
	end = i;
	while (end < len && seqs < want) {
		end += fold_seq(p + end, len - end);
		seqs++;
	}
	*start_r = start;
	return end - start;
}

static bool search(const char *data, const struct mail_structure *s,
		   enum mail_search_scope scope, const char *name, const char *needle, size_t len)
{
	struct mail_search_key key;

	mail_search_key_init(&key, needle, len);
	bool r = mail_search_match(data, s, scope, name, &key);

	mail_search_key_free(&key);
	return r;
}

static void check_search(const char *data, size_t size, const struct mail_structure *s)
{
	static const char *const needles[] = { "the", "\xc3\xa9t\xc3\xa9", "=?", "a", "" };
	struct texts t = { 0 };
	unsigned pick = size >= 2 ? (unsigned char)data[size / 2] * 31u + (unsigned char)data[1] : 0;

	mail_text_foreach(data, s, collect_text, &t);
	const char *all = t.all.data != NULL ? t.all.data : "";

	for (unsigned i = 0; i < t.n; i++) {
		/* whatever the decoded text contains, BODY and TEXT find */
		size_t start, len = cut_needle(all + t.off[i], t.len[i], pick + i, &start);
		const char *needle = all + t.off[i] + start;

		/* NFKD reorders combining marks, so a piece cut between two of them may
		   not be in the text's key: ASCII pieces always are, the others when the
		   keys say so (what is checked then is the decoding and the walk) */
		if (!all_ascii(needle, len) &&
		    !key_contains(all + t.off[i], t.len[i], needle, len))
			continue;
		FUZZ_CHECK(search(data, s, MAIL_SEARCH_BODY, NULL, needle, len),
			   "BODY misses \"%.*s\" of text part %u", (int)len, needle, i);
		FUZZ_CHECK(search(data, s, MAIL_SEARCH_TEXT, NULL, needle, len),
			   "TEXT misses \"%.*s\" of text part %u", (int)len, needle, i);
	}
	buf_free(&t.all);
	/* one of the fixed needles per input, in every scope */
	{
		size_t k = pick % (sizeof(needles) / sizeof(needles[0]));
		size_t len = strlen(needles[k]);
		bool body = search(data, s, MAIL_SEARCH_BODY, NULL, needles[k], len);
		bool text = search(data, s, MAIL_SEARCH_TEXT, NULL, needles[k], len);

		FUZZ_CHECK(!body || text, "BODY \"%s\" matches but TEXT does not", needles[k]);
		(void)search(data, s, MAIL_SEARCH_HEADER, "Subject", needles[k], len);
		(void)search(data, s, MAIL_SEARCH_ADDRESS, "From", needles[k], len);
		(void)search(data, s, MAIL_SEARCH_ADDRESS, "To", needles[k], len);
	}
	/* the first header field: a piece of its decoded value is found by HEADER */
	uint32_t pos = 0, line_end;
	const char *name;
	size_t name_len;
	struct mail_span v;

	if (mail_header_next(data, &pos, s->parts[0].body_off, &name, &name_len, &v,
			     &line_end) == 1 && name_len > 0 && name_len < 64 &&
	    memchr(name, '\0', name_len) == NULL) {
		char field[64];
		struct buf dec = { 0 };
		size_t start, len;

		FUZZ_CHECK((uint64_t)v.off + v.len <= size && line_end <= size, "header span");
		memcpy(field, name, name_len);
		field[name_len] = '\0';
		mail_rfc2047_decode(&dec, data + v.off, v.len);
		len = cut_needle(dec.data != NULL ? dec.data : "", dec.len, pick, &start);
		if (all_ascii(dec.data != NULL ? dec.data + start : "", len) ||
		    key_contains(dec.data != NULL ? dec.data : "", dec.len,
				 dec.data != NULL ? dec.data + start : "", len))
			FUZZ_CHECK(search(data, s, MAIL_SEARCH_HEADER, field,
					  dec.data != NULL ? dec.data + start : "", len),
				   "HEADER %s misses a piece of its value", field);
		buf_free(&dec);
		/* the field's addresses, written out, parse without trouble */
		struct mail_address_list l = { 0 };
		struct buf w = { 0 };

		mail_address_parse(&l, data + v.off, v.len);
		mail_address_write(&w, &l);
		for (size_t i = 0; i < l.n; i++) {
			const struct mail_address *ad = &l.addrs[i];

			FUZZ_CHECK(ad->name < (int32_t)l.text.len && ad->route < (int32_t)l.text.len &&
				   ad->mailbox < (int32_t)l.text.len && ad->domain < (int32_t)l.text.len,
				   "address offsets");
		}
		mail_address_list_free(&l);
		buf_free(&w);
	}
}

/* Decoders: output within their bounds, conversions to UTF-8 valid. */
static void check_decoders(const char *data, size_t size)
{
	static const char *const charsets[] = { "iso-8859-1", "windows-1252", "ISO-8859-15",
		"utf-8", "koi8-r", "iso-2022-jp", "shift_jis", "gb2312", "big5", "euc-kr",
		"utf-16", "utf-7", "us-ascii", "x-nope" };
	struct buf out = { 0 }, again = { 0 };

	for (size_t k = 0; k < sizeof(charsets) / sizeof(charsets[0]); k++) {
		out.len = 0;
		bool known = mail_charset_convert(&out, charsets[k], strlen(charsets[k]), data, size);

		FUZZ_CHECK(out.len <= 3 * size, "%s: %zu bytes from %zu", charsets[k], out.len, size);
		if (strcmp(charsets[k], "us-ascii") != 0 && known)
			FUZZ_CHECK(fuzz_utf8_valid(out.data, out.len, false),
				   "%s: invalid UTF-8 out", charsets[k]);
		else
			FUZZ_CHECK(out.len == size && (size == 0 || memcmp(out.data, data, size) == 0),
				   "%s: not copied", charsets[k]);
		/* each conversion starts from the initial shift state: the same again */
		if (strcmp(charsets[k], "iso-2022-jp") != 0 && strcmp(charsets[k], "utf-7") != 0)
			continue;
		again.len = 0;
		mail_charset_convert(&again, charsets[k], strlen(charsets[k]), data, size);
		FUZZ_CHECK(again.len == out.len &&
			   (out.len == 0 || memcmp(again.data, out.data, out.len) == 0),
			   "%s: a second conversion differs", charsets[k]);
	}
	buf_free(&again);
	/* the casemap key of any bytes: UTF-8 where the input was */
	out.len = 0;
	mail_casemap(&out, data, size);
	if (fuzz_utf8_valid(data, size, false))
		FUZZ_CHECK(fuzz_utf8_valid(out.data, out.len, false), "casemap: invalid UTF-8 out");
	for (int header = 0; header < 2; header++) {
		out.len = 0;
		mail_qp_decode(&out, data, size, header);
		FUZZ_CHECK(out.len <= size, "QP: %zu bytes from %zu", out.len, size);
	}
	out.len = 0;
	mail_base64_decode(&out, data, size);
	FUZZ_CHECK(out.len <= size / 4 * 3 + 2, "base64: %zu bytes from %zu", out.len, size);
	out.len = 0;
	mail_rfc2047_decode(&out, data, size);
	buf_free(&out);
}

/* A parsed date, written back as RFC 5322 text, parses to the same instant and zone. */
static void check_date(const char *text, size_t len)
{
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
					 "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t, t2;
	int tz, tz2;
	const char *err = NULL;
	struct tm tm;

	if (rfc822_date_parse(text, len, &t, &tz, &err) < 0) {
		FUZZ_CHECK(err != NULL, "date error without text");
		return;
	}
	FUZZ_CHECK(tz > -24 * 60 && tz < 24 * 60, "zone %d", tz);
	time_t local = t + (time_t)tz * 60;

	FUZZ_CHECK(gmtime_r(&local, &tm) != NULL, "date out of range");
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return; /* a leap second rolled over into year 10000 */
	char again[96];
	int n = snprintf(again, sizeof(again), "%d %s %04d %02d:%02d:%02d %c%02d%02d",
			 tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, tz < 0 ? '-' : '+', abs(tz) / 60, abs(tz) % 60);

	FUZZ_CHECK(rfc822_date_parse(again, (size_t)n, &t2, &tz2, &err) == 1,
		   "\"%s\" (from \"%.*s\") does not parse: %s", again, (int)len, text, err);
	FUZZ_CHECK(t2 == t && tz2 == tz, "\"%.*s\" -> %lld %d, \"%s\" -> %lld %d", (int)len, text,
		   (long long)t, tz, again, (long long)t2, tz2);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	const char *data = (const char *)in;
	struct mail_structure *s = mail_structure_parse(data, size);

	FUZZ_CHECK(s != NULL, "parse failed");
	check_tree(s, size);
	check_rendering(data, s);
	check_sections(data, size, s);
	check_search(data, size, s);
	for (uint16_t e = 0; e < s->n_envelopes; e++) {
		struct mail_span d = s->envelopes[e].field[MAIL_ENV_DATE];

		if (d.off != MAIL_SPAN_NONE)
			check_date(data + d.off, d.len);
	}
	mail_structure_free(&s);
	FUZZ_CHECK(s == NULL, "free did not NULL");
	check_date(data, size < 128 ? size : 128);
	check_decoders(data, size < 4096 ? size : 4096);
	outq_cache_free();
	return 0;
}
