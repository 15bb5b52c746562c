/* RFC 5322 / MIME lexical scanning with Dovecot-compatible error recovery. */
#include "mail/rfc822.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1: atext, 2: alnum and 8-bit, 4: atext but a MIME tspecial ('/', '=', '?'). */
static const unsigned char atext_class[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['/'] = 4, ['='] = 4, ['?'] = 4, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
	['0' ... '9'] = 2, ['A' ... 'Z'] = 2, ['a' ... 'z'] = 2, [0x80 ... 0xff] = 2,
};

bool rfc822_is_atext(unsigned char c)
{
	return atext_class[c] != 0;
}

static bool is_token_char(unsigned char c)
{
	return (atext_class[c] & 3) != 0 || c == '.';
}

void rfc822_init(struct rfc822 *r, const char *data, size_t len, struct buf *comment)
{
	r->p = (const unsigned char *)data;
	r->end = r->p + len;
	r->comment = comment;
}

static int skip_comment(struct rfc822 *r)
{
	int level = 1;
	const unsigned char *start;

	if (r->comment != NULL)
		r->comment->len = 0;
	start = ++r->p;
	for (; r->p < r->end; r->p++) {
		switch (*r->p) {
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				if (r->comment != NULL)
					buf_append(r->comment, start, (size_t)(r->p - start));
				r->p++;
				return r->p < r->end;
			}
			break;
		case '\\':
			if (r->comment != NULL)
				buf_append(r->comment, start, (size_t)(r->p - start));
			start = r->p + 1;
			r->p++;
			if (r->p >= r->end)
				return -1;
			break;
		default:
			break;
		}
	}
	return -1;
}

int rfc822_skip_lwsp(struct rfc822 *r)
{
	while (r->p < r->end) {
		unsigned char c = *r->p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			r->p++;
			continue;
		}
		if (c != '(')
			break;
		if (skip_comment(r) < 0)
			return -1;
	}
	return r->p < r->end;
}

int rfc822_atom(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start = r->p;

	if (r->p >= r->end || !rfc822_is_atext(*r->p))
		return -1;
	while (r->p < r->end && rfc822_is_atext(*r->p))
		r->p++;
	buf_append(out, start, (size_t)(r->p - start));
	if (r->p >= r->end)
		return 0;
	return rfc822_skip_lwsp(r);
}

int rfc822_dot_atom(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start;
	int ret;

	if (r->p >= r->end || !rfc822_is_atext(*r->p))
		return -1;
	for (start = r->p++; r->p < r->end;) {
		if (rfc822_is_atext(*r->p)) {
			r->p++;
			continue;
		}
		buf_append(out, start, (size_t)(r->p - start));
		if ((ret = rfc822_skip_lwsp(r)) <= 0)
			return ret;
		if (*r->p != '.')
			return 1;
		r->p++;
		buf_append(out, ".", 1);
		if ((ret = rfc822_skip_lwsp(r)) <= 0)
			return ret;
		start = r->p;
	}
	buf_append(out, start, (size_t)(r->p - start));
	return 0;
}

int rfc822_quoted_string(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start;

	r->p++;
	for (start = r->p; r->p < r->end; r->p++) {
		switch (*r->p) {
		case '"':
			buf_append(out, start, (size_t)(r->p - start));
			r->p++;
			return rfc822_skip_lwsp(r);
		case '\n': {
			size_t len = (size_t)(r->p - start);

			if (len > 0 && start[len - 1] == '\r')
				len--;
			buf_append(out, start, len);
			start = r->p + 1;
			break;
		}
		case '\\':
			r->p++;
			if (r->p >= r->end)
				return -1;
			buf_append(out, start, (size_t)(r->p - start - 1));
			start = r->p;
			break;
		default:
			break;
		}
	}
	return -1;
}

/* atext and '.' without skipping the whitespace in between (obs-phrase words). */
static int atom_or_dot(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && (rfc822_is_atext(*r->p) || *r->p == '.'))
		r->p++;
	buf_append(out, start, (size_t)(r->p - start));
	if (r->p >= r->end)
		return 0;
	return rfc822_skip_lwsp(r);
}

int rfc822_phrase(struct rfc822 *r, struct buf *out)
{
	int ret;

	if (r->p >= r->end)
		return 0;
	if (*r->p == '.')
		return -1;
	for (;;) {
		if (*r->p == '"')
			ret = rfc822_quoted_string(r, out);
		else
			ret = atom_or_dot(r, out);
		if (ret <= 0)
			return ret;
		if (!rfc822_is_atext(*r->p) && *r->p != '"' && *r->p != '.')
			break;
		buf_append(out, " ", 1);
	}
	return rfc822_skip_lwsp(r);
}

static int domain_literal(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start = r->p;

	for (; r->p < r->end; r->p++) {
		if (*r->p == '\\') {
			r->p++;
			if (r->p >= r->end)
				break;
		} else if (*r->p == ']') {
			r->p++;
			buf_append(out, start, (size_t)(r->p - start));
			return rfc822_skip_lwsp(r);
		}
	}
	return -1;
}

int rfc822_domain(struct rfc822 *r, struct buf *out)
{
	r->p++; /* '@' */
	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	if (*r->p == '[')
		return domain_literal(r, out);
	return rfc822_dot_atom(r, out);
}

int rfc822_mime_token(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && is_token_char(*r->p))
		r->p++;
	buf_append(out, start, (size_t)(r->p - start));
	if (r->p >= r->end)
		return 0;
	return rfc822_skip_lwsp(r);
}

int rfc822_content_type(struct rfc822 *r, struct buf *out)
{
	size_t mark = out->len;

	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	/* the main type: at least one byte */
	if (rfc822_mime_token(r, out) <= 0 || out->len == mark)
		return -1;
	if (*r->p != '/') {
		out->len = mark;
		return -1;
	}
	r->p++;
	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	buf_append(out, "/", 1);
	return rfc822_mime_token(r, out);
}

/* One "; name=value": 1 with the pair appended to out (name\0value\0), 0 at the end,
   -1 on a syntax error (nothing appended). */
static int content_param(struct rfc822 *r, struct buf *out)
{
	size_t mark = out->len;
	int ret;

	if (r->p >= r->end)
		return 0;
	if (*r->p != ';')
		return -1;
	r->p++;
	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	if (rfc822_mime_token(r, out) <= 0 || *r->p != '=') {
		out->len = mark;
		return -1;
	}
	buf_append(out, "", 1);
	size_t value_start = out->len;

	r->p++;
	if ((ret = rfc822_skip_lwsp(r)) <= 0) {
		/* no value */
	} else if (*r->p == '"') {
		ret = rfc822_quoted_string(r, out);
	} else if (*r->p == '=') {
		/* broken input such as name==?utf-8?b?...?= (Dovecot's workaround) */
		const unsigned char *start = r->p;

		while (r->p < r->end && *r->p != ';' && *r->p != ' ' && *r->p != '\t' &&
		       *r->p != '\r' && *r->p != '\n')
			r->p++;
		buf_append(out, start, (size_t)(r->p - start));
	} else {
		ret = rfc822_mime_token(r, out);
	}
	if (ret < 0) {
		out->len = mark;
		return -1;
	}
	/* NUL would end the value early: 0x80 instead, as Dovecot */
	for (size_t i = value_start; i < out->len; i++) {
		if (out->data[i] == '\0')
			out->data[i] = (char)0x80;
	}
	buf_append(out, "", 1);
	return 1;
}

struct cont {
	size_t key_off;     /* the name in the raw pair buffer (key = name up to '*') */
	size_t key_len;
	unsigned idx;
	bool extended;
	size_t value_off;
};

#define MIN_SZ(a, b) ((a) < (b) ? (a) : (b))

static const char *cont_raw;    /* qsort context: the raw pair buffer */

/* Dovecot sorts by strcmp() of the key, then by index. */
static int cont_cmp(const void *a, const void *b)
{
	const struct cont *x = a, *y = b;
	size_t n = MIN_SZ(x->key_len, y->key_len);
	int r = memcmp(cont_raw + x->key_off, cont_raw + y->key_off, n);

	if (r != 0)
		return r;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return 0;
}

static void append_escaped(struct buf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '%')
			buf_append(out, "%25", 3);
		else
			buf_append(out, v, 1);
	}
}

static void append_pair(struct buf *out, const char *k, size_t klen, const char *suffix,
			const char *v, size_t vlen)
{
	buf_append(out, k, klen);
	buf_append(out, suffix, strlen(suffix));
	buf_append(out, "", 1);
	buf_append(out, v, vlen);
	buf_append(out, "", 1);
}

/* Dovecot's rfc2231_parse(): plain parameters in order, then the RFC 2231 ones
   (key*, key*N, key*N*) sorted by key and index and merged when their indexes run
   0, 1, 2... (else listed one by one as key*N[*]). */
size_t rfc822_params(struct rfc822 *r, struct buf *out)
{
	struct buf raw = { 0 };
	struct cont *conts = NULL, cur = { 0 };
	size_t n_conts = 0, cap_conts = 0, n_pairs = 0;
	int ret;

	while ((ret = content_param(r, &raw)) != 0) {
		if (ret < 0) {
			/* skip one byte and try again, as Dovecot does */
			if (r->p >= r->end)
				break;
			r->p++;
		}
	}
	for (size_t off = 0; off < raw.len;) {
		const char *name = raw.data + off;
		size_t name_len = strlen(name);
		size_t value_off = off + name_len + 1;
		size_t value_len = strlen(raw.data + value_off);
		const char *star = memchr(name, '*', name_len);
		bool is_cont = false;

		if (star != NULL) {
			const char *q = star;

			if (q[1] != '\0') {
				q++;
				cur.idx = 0;
				for (; *q >= '0' && *q <= '9'; q++)
					cur.idx = cur.idx * 10 + (unsigned)(*q - '0');
			}
			cur.extended = *q == '*';
			if (cur.extended)
				q++;
			if (*q == '\0') {
				is_cont = true;
				cur.key_off = off;
				cur.key_len = (size_t)(star - name);
				cur.value_off = value_off;
				if (n_conts == cap_conts) {
					cap_conts = cap_conts ? cap_conts * 2 : 8;
					conts = xrealloc(conts, cap_conts * sizeof(*conts));
				}
				conts[n_conts++] = cur;
			}
		}
		if (!is_cont) {
			append_pair(out, name, name_len, "", raw.data + value_off, value_len);
			n_pairs++;
		}
		off = value_off + value_len + 1;
	}
	if (n_conts > 0) {
		struct buf v = { 0 };

		cont_raw = raw.data;
		qsort(conts, n_conts, sizeof(*conts), cont_cmp);
		for (size_t i = 0, next; i < n_conts; i = next) {
			bool ok = true, have_ext = false;
			unsigned next_idx = 0;
			size_t j;

			for (j = i; j < n_conts; j++) {
				if (conts[j].key_len != conts[i].key_len ||
				    strncasecmp(raw.data + conts[i].key_off,
						raw.data + conts[j].key_off, conts[i].key_len) != 0)
					break;
				if (conts[j].idx != next_idx)
					ok = false;
				if (conts[j].extended)
					have_ext = true;
				next_idx++;
			}
			next = j;
			if (!ok) {
				for (j = i; j < next; j++) {
					char suffix[24];
					const char *val = raw.data + conts[j].value_off;

					snprintf(suffix, sizeof(suffix), conts[j].extended ? "*%u*" : "*%u",
						 conts[j].idx);
					append_pair(out, raw.data + conts[j].key_off, conts[j].key_len,
						    suffix, val, strlen(val));
					n_pairs++;
				}
				continue;
			}
			v.len = 0;
			if (!conts[i].extended && have_ext)
				buf_append(&v, "''", 2);
			for (j = i; j < next; j++) {
				const char *val = raw.data + conts[j].value_off;

				if (!conts[j].extended && have_ext)
					append_escaped(&v, val);
				else
					buf_append(&v, val, strlen(val));
			}
			append_pair(out, raw.data + conts[i].key_off, conts[i].key_len,
				    have_ext ? "*" : "", v.data != NULL ? v.data : "", v.len);
			n_pairs++;
		}
		buf_free(&v);
	}
	free(conts);
	buf_free(&raw);
	return n_pairs;
}

/* ---- Date: values (RFC 5322 §3.3, §4.3) ---- */

static const char date_months[12][10] = {
	"january", "february", "march", "april", "may", "june", "july", "august",
	"september", "october", "november", "december",
};
static const char date_days[7][10] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
};

/* Index of the name that word (lower case, len bytes) abbreviates to 3 letters or
   more, or -1. */
static int date_name(const char *word, size_t len, const char (*names)[10], int n)
{
	if (len < 3)
		return -1;
	for (int i = 0; i < n; i++)
		if (len <= strlen(names[i]) && memcmp(names[i], word, len) == 0)
			return i;
	return -1;
}

/* 1*ALPHA, lower-cased into word (cap bytes; longer words are cut but consumed). */
static size_t date_word(struct rfc822 *r, char *word, size_t cap)
{
	size_t n = 0;

	while (r->p < r->end && ((*r->p | 0x20) >= 'a' && (*r->p | 0x20) <= 'z')) {
		if (n < cap)
			word[n++] = (char)(*r->p | 0x20);
		r->p++;
	}
	return n;
}

/* 1*DIGIT (at most 9 read); returns the number of digits. */
static int date_number(struct rfc822 *r, int *v_r)
{
	int n = 0, v = 0;

	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		if (n < 9)
			v = v * 10 + (*r->p - '0');
		n++;
		r->p++;
	}
	*v_r = v;
	return n;
}

static bool date_is_alpha(const struct rfc822 *r)
{
	return r->p < r->end && (*r->p | 0x20) >= 'a' && (*r->p | 0x20) <= 'z';
}

static bool date_is_digit(const struct rfc822 *r)
{
	return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* Whether a ':' follows the number at the current position (CFWS allowed between:
   obs-time, RFC 5322 §4.3), i.e. the number starts a time of day. */
static bool date_starts_time(const struct rfc822 *r)
{
	struct rfc822 look = *r;
	int v;

	look.comment = NULL;
	(void)date_number(&look, &v);
	return rfc822_skip_lwsp(&look) > 0 && *look.p == ':';
}

/* hour ":" minute [":" second], CFWS allowed around the colons. */
static int date_time(struct rfc822 *r, int *hh_r, int *mm_r, int *ss_r)
{
	int n;

	*ss_r = 0;
	if ((n = date_number(r, hh_r)) < 1 || n > 2)
		return -1;
	(void)rfc822_skip_lwsp(r);
	r->p++; /* ':' (checked by date_starts_time) */
	(void)rfc822_skip_lwsp(r);
	if ((n = date_number(r, mm_r)) < 1 || n > 2)
		return -1;
	struct rfc822 look = *r;
	if (rfc822_skip_lwsp(&look) > 0 && *look.p == ':') {
		r->p = look.p + 1;
		(void)rfc822_skip_lwsp(r);
		if ((n = date_number(r, ss_r)) < 1 || n > 2)
			return -1;
	}
	return 0;
}

/* A zone after '+' or '-' (sign is -1 or 1): hhmm, hh:mm or hh. */
static int date_numeric_zone(struct rfc822 *r, int sign)
{
	int v, m = 0, n = date_number(r, &v);

	if (n == 2 && r->p + 1 < r->end && *r->p == ':' && r->p[1] >= '0' && r->p[1] <= '9') {
		r->p++;
		if (date_number(r, &m) != 2)
			return 0;
	} else if (n == 4) {
		m = v % 100;
		v /= 100;
	} else if (n > 2) {
		return 0;
	}
	if (v > 23 || m > 59)
		return 0;  /* nonsense: unknown, -0000 */
	return sign * (v * 60 + m);
}

static int date_named_zone(const char *word, size_t len)
{
	static const struct {
		const char *name;
		int minutes;
	} zones[] = {
		{ "ut", 0 },	  { "gmt", 0 },	    { "est", -300 }, { "edt", -240 },
		{ "cst", -360 }, { "cdt", -300 }, { "mst", -420 }, { "mdt", -360 },
		{ "pst", -480 }, { "pdt", -420 },
	};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strlen(zones[i].name) == len && memcmp(zones[i].name, word, len) == 0)
			return zones[i].minutes;
	/* military zones and unknown names count as -0000 (RFC 5322 §4.3) */
	return 0;
}

int rfc822_date_parse(const char *data, size_t len, time_t *time_r, int *tz_minutes_r,
		      const char **error_r)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct rfc822 r;
	char word[16];
	size_t wl;
	int day = 0, mon = -1, year = -1, year_digits = 0, hh = 0, mm = 0, ss = 0, tz = 0;
	bool have_time = false, have_zone = false;

	rfc822_init(&r, data, len, NULL);
	if (rfc822_skip_lwsp(&r) <= 0) {
		*error_r = "Empty date";
		return -1;
	}
	if (date_is_alpha(&r)) {
		wl = date_word(&r, word, sizeof(word));
		if (date_name(word, wl, date_days, 7) >= 0) {
			if (rfc822_skip_lwsp(&r) > 0 && *r.p == ',') {
				r.p++;
				(void)rfc822_skip_lwsp(&r);
			}
			if (date_is_alpha(&r)) {
				/* ctime order: "Wed Jan  1 ..." */
				wl = date_word(&r, word, sizeof(word));
				if ((mon = date_name(word, wl, date_months, 12)) < 0) {
					*error_r = "Invalid month";
					return -1;
				}
				(void)rfc822_skip_lwsp(&r);
			}
		} else if ((mon = date_name(word, wl, date_months, 12)) >= 0) {
			(void)rfc822_skip_lwsp(&r);
		} else {
			*error_r = "Invalid day name";
			return -1;
		}
	}
	int n = date_number(&r, &day);
	if (n < 1 || n > 2) {
		*error_r = "Invalid day";
		return -1;
	}
	if (mon < 0) {
		/* day month: separated by CFWS or '-' */
		(void)rfc822_skip_lwsp(&r);
		if (r.p < r.end && *r.p == '-')
			r.p++;
		(void)rfc822_skip_lwsp(&r);
		wl = date_word(&r, word, sizeof(word));
		if ((mon = date_name(word, wl, date_months, 12)) < 0) {
			*error_r = "Invalid month";
			return -1;
		}
		if (rfc822_skip_lwsp(&r) > 0 && *r.p == '-' && r.p + 1 < r.end &&
		    r.p[1] >= '0' && r.p[1] <= '9')
			r.p++;
	}
	/* then year, time and zone: in this order, or the year last (ctime) */
	while (rfc822_skip_lwsp(&r) > 0) {
		if (date_is_digit(&r) && !have_time && date_starts_time(&r)) {
			if (date_time(&r, &hh, &mm, &ss) < 0) {
				*error_r = "Invalid time";
				return -1;
			}
			have_time = true;
		} else if (date_is_digit(&r) && year < 0) {
			year_digits = date_number(&r, &year);
		} else if ((*r.p == '+' || *r.p == '-') && (have_time || year >= 0) && !have_zone) {
			int sign = *r.p == '-' ? -1 : 1;

			r.p++;
			tz = date_numeric_zone(&r, sign);
			have_zone = true;
		} else if (date_is_alpha(&r) && (have_time || year >= 0) && !have_zone) {
			wl = date_word(&r, word, sizeof(word));
			tz = date_named_zone(word, wl);
			have_zone = true;
		} else {
			break;
		}
	}
	if (year < 0 || year_digits < 2 || year_digits > 4) {
		*error_r = "Invalid year";
		return -1;
	}
	if (year_digits == 2)
		year += year < 50 ? 2000 : 1900;  /* RFC 5322 §4.3 */
	else if (year_digits == 3)
		year += 1900;                      /* RFC 5322 §4.3 */
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day < 1 || day > mdays[mon] || (mon == 1 && day == 29 && !leap)) {
		*error_r = "Invalid day";
		return -1;
	}
	if (hh > 23 || mm > 59 || ss > 60) {
		*error_r = "Invalid time";
		return -1;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*time_r = timegm(&tm) - (time_t)tz * 60;
	*tz_minutes_r = tz;
	return 1;
}
