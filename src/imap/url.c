/* IMAP URLs for CATENATE and URLAUTH: RFC 5092's message and section forms with
   RFC 4467's authorization part, resolved against a user's mailboxes through a
   read-only view. */
#include "imap/url.h"
#include "core/mutf7.h"
#include "mail/binary.h"
#include "mail/bodystructure.h"
#include "mail/mime.h"
#include "mail/section.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into a fresh string from a; NULL on a bad escape or NUL. */
static char *pct_decode(struct arena *a, const char *s, size_t n, size_t *len_r)
{
	char *out = arena_alloc(a, n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return NULL;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return NULL;
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

static bool parse_u32(const char *s, size_t n, uint32_t *v_r)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*v_r = (uint32_t)v;
	return true;
}

/* ";NAME=value" at *p (up to '/', ';' or the end): returns true with the value span. */
static bool param(const char **p, const char *end, const char *name, const char **v,
		  size_t *vn)
{
	size_t nl = strlen(name);
	if ((size_t)(end - *p) < nl + 2 || (*p)[0] != ';' ||
	    strncasecmp(*p + 1, name, nl) != 0 || (*p)[nl + 1] != '=')
		return false;
	*v = *p + nl + 2;
	const char *e = *v;
	while (e < end && *e != '/' && *e != ';')
		e++;
	*vn = (size_t)(e - *v);
	*p = e;
	return true;
}

static bool digits(const char *s, size_t n, int *v_r)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return true;
}

/* RFC 3339 date-time "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" (RFC 4467 §3's
   EXPIRE) into *t_r. */
static bool parse_rfc3339(const char *s, size_t n, time_t *t_r)
{
	struct tm tm = { 0 };
	int zh = 0, zm = 0, sign = 0;
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || !digits(s, 4, &tm.tm_year) ||
	    !digits(s + 5, 2, &tm.tm_mon) || !digits(s + 8, 2, &tm.tm_mday) ||
	    !digits(s + 11, 2, &tm.tm_hour) || !digits(s + 14, 2, &tm.tm_min) ||
	    !digits(s + 17, 2, &tm.tm_sec))
		return false;
	size_t i = 19;
	if (s[i] == '.') {
		i++;
		size_t f = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f)
			return false;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
		   digits(s + i + 1, 2, &zh) && digits(s + i + 4, 2, &zm) && zh < 24 && zm < 60) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return false;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*t_r = t - sign * (zh * 3600 + zm * 60);
	return true;
}

/* RFC 4467 §3's access identifier (v, n bytes) into u. */
static bool parse_access(struct arena *a, const char *v, size_t n, struct imap_url *u)
{
	static const struct { const char *name; enum imap_url_access access; } ids[] = {
		{ "submit+", IMAP_URL_ACCESS_SUBMIT }, { "user+", IMAP_URL_ACCESS_USER },
	};
	size_t ul;
	if (n == 9 && strncasecmp(v, "anonymous", 9) == 0) {
		u->access = IMAP_URL_ACCESS_ANONYMOUS;
		return true;
	}
	if (n == 8 && strncasecmp(v, "authuser", 8) == 0) {
		u->access = IMAP_URL_ACCESS_AUTHUSER;
		return true;
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		size_t pl = strlen(ids[i].name);
		if (n > pl && strncasecmp(v, ids[i].name, pl) == 0) {
			u->access_user = pct_decode(a, v + pl, n - pl, &ul);
			if (u->access_user == NULL || ul == 0)
				return false;
			u->access = ids[i].access;
			return true;
		}
	}
	return false;
}

/* "[;EXPIRE=date-time];URLAUTH=access[:mechanism:token]" at *p (RFC 4467 §3). */
static bool parse_urlauth(struct arena *a, const char *url, const char **p, const char *end,
			  struct imap_url *u)
{
	const char *v;
	size_t vn;
	if (param(p, end, "EXPIRE", &v, &vn)) {
		if (!parse_rfc3339(v, vn, &u->expire))
			return false;
		u->has_expire = true;
	}
	if (!param(p, end, "URLAUTH", &v, &vn))
		return false;
	const char *colon = memchr(v, ':', vn);
	size_t an = colon != NULL ? (size_t)(colon - v) : vn;
	if (!parse_access(a, v, an, u))
		return false;
	u->rump_len = (size_t)(v + an - url);
	if (colon == NULL)
		return true;
	/* ":" uauth-mechanism ":" enc-urlauth (32*HEXDIG) */
	const char *m = colon + 1, *vend = v + vn;
	const char *c2 = memchr(m, ':', (size_t)(vend - m));
	if (c2 == NULL || c2 == m || vend - (c2 + 1) < 32)
		return false;
	for (const char *q = m; q < c2; q++)
		if (!((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
		      (*q >= '0' && *q <= '9') || *q == '-' || *q == '.'))
			return false;
	for (const char *q = c2 + 1; q < vend; q++)
		if (hexval(*q) < 0)
			return false;
	u->mech = arena_strndup(a, m, (size_t)(c2 - m));
	u->token = arena_strndup(a, c2 + 1, (size_t)(vend - c2 - 1));
	return true;
}

int imap_url_parse(struct arena *a, const char *url, size_t len, const char *user,
		   struct imap_url *u, const char **error_r)
{
	const char *p = url, *end = url + len, *v;
	size_t vn;
	memset(u, 0, sizeof(*u));
	*error_r = "not an IMAP URL of a message";
	if (len > 7 && strncasecmp(p, "imap://", 7) == 0) {
		/* iserver: [iuserinfo "@"] host [":" port] */
		p += 7;
		const char *slash = memchr(p, '/', (size_t)(end - p));
		if (slash == NULL)
			return -1;
		const char *at = memchr(p, '@', (size_t)(slash - p));
		if (at != NULL) {
			const char *semi = memchr(p, ';', (size_t)(at - p));
			size_t ul;
			char *name = pct_decode(a, p, (size_t)((semi ? semi : at) - p), &ul);
			if (name == NULL || ul == 0)
				return -1;
			if (user != NULL && strcmp(name, user) != 0) {
				*error_r = "the URL names another user's mail";
				return -1;
			}
			u->user = name;
		}
		if ((at != NULL ? at + 1 : p) == slash)
			return -1;   /* no host */
		p = slash;
	}
	if (p < end && *p == '/') {
		/* enc-mailbox [uidvalidity] "/" */
		p++;
		const char *e = p;
		while (e < end && *e != '/' && *e != ';')
			e++;
		size_t ml;
		char *utf8 = pct_decode(a, p, (size_t)(e - p), &ml);
		if (utf8 == NULL || ml == 0)
			return -1;
		/* RFC 5092 §5: mailbox names are UTF-8 in URLs; stored in modified UTF-7 */
		size_t cap = ml * 4 + 8, ol;
		u->mailbox = arena_alloc(a, cap);
		if (mutf7_encode(utf8, ml, u->mailbox, cap, &ol) < 0)
			return -1;
		u->mailbox[ol] = '\0';
		p = e;
		if (param(&p, end, "UIDVALIDITY", &v, &vn) &&
		    (!parse_u32(v, vn, &u->uidvalidity) || u->uidvalidity == 0))
			return -1;
		if (p >= end || *p != '/')
			return -1;
		p++;
	}
	if (!param(&p, end, "UID", &v, &vn) || !parse_u32(v, vn, &u->uid) || u->uid == 0)
		return -1;
	if (p < end && *p == '/' && p + 1 < end && p[1] == ';') {
		p++;
		if (param(&p, end, "SECTION", &v, &vn)) {
			size_t sl;
			u->section = pct_decode(a, v, vn, &sl);
			if (u->section == NULL || sl == 0)
				return -1;
			if (p < end && *p == '/')
				p++;
		}
		if (p < end && param(&p, end, "PARTIAL", &v, &vn)) {
			const char *dot = memchr(v, '.', vn);
			u->partial = true;
			u->length = UINT32_MAX;
			if (!parse_u32(v, dot ? (size_t)(dot - v) : vn, &u->origin) ||
			    (dot != NULL && (!parse_u32(dot + 1, vn - (size_t)(dot - v) - 1,
							&u->length) || u->length == 0)))
				return -1;
		}
	}
	if (p < end && *p == ';' && !parse_urlauth(a, url, &p, end, u))
		return -1;
	if (p != end)
		return -1;
	return 0;
}

int imap_url_fetch(struct arena *a, struct uimap_store_user *mail, const char *selected,
		   const struct imap_url *u, const char **data_r, size_t *len_r,
		   const char **error_r)
{
	struct imap_url_fetch_opts o = { .binary = false, .structure = NULL };
	return imap_url_fetch_ext(a, mail, selected, u, &o, data_r, len_r, error_r);
}

/* BINARY[sec] of blob (RFC 3516 semantics) into memory from a. */
static int binary_copy(struct arena *a, struct uimap_blob *blob, const struct mail_section *sec,
		       const char **data_r, size_t *len_r, const char **error_r)
{
	struct mail_structure *st = (struct mail_structure *)mail_structure_get(blob);
	if (st == NULL || sec->kind != MAIL_SECTION_ALL) {
		*error_r = "BINARY takes part numbers only";
		return -1;
	}
	struct mail_piece *pieces = arena_alloc(a, (3 * (size_t)st->n_parts + 1) * sizeof(*pieces));
	int n = mail_binary_pieces(blob->data, st, sec, pieces);
	if (n < 0) {
		*error_r = "the part's encoding cannot be undone";
		return -1;
	}
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += pieces[i].size;
	char *out = arena_alloc(a, total + 1), *o = out;
	for (int i = 0; i < n; i++) {
		const struct mail_piece *p = &pieces[i];
		if (p->kind == MAIL_PIECE_SLICE)
			memcpy(o, blob->data + p->off, p->size);
		else if (p->kind == MAIL_PIECE_BINARY_WORD)
			memcpy(o, "binary", p->size);
		else
			mail_binary_decode(blob->data, st, p, o);
		o += p->size;
	}
	*data_r = out;
	*len_r = total;
	return 0;
}

int imap_url_fetch_ext(struct arena *a, struct uimap_store_user *mail, const char *selected,
		       const struct imap_url *u, struct imap_url_fetch_opts *opts,
		       const char **data_r, size_t *len_r, const char **error_r)
{
	const char *box = u->mailbox != NULL ? u->mailbox : selected;
	struct uimap_store_view *view;
	struct uimap_select_info info;
	struct uimap_msg_info msg;
	uint32_t seq;
	int ret = -1;
	if (box == NULL) {
		*error_r = "a relative URL needs a selected mailbox";
		return -1;
	}
	if (mail->vt->view_open(mail, box, true, &view, &info) < 0) {
		*error_r = "no such mailbox";
		return -1;
	}
	if (u->uidvalidity != 0 && u->uidvalidity != info.uidvalidity) {
		*error_r = "the mailbox's UIDVALIDITY changed";
		goto out;
	}
	if (view->vt->view_uid_to_seq(view, u->uid, &seq) != 1 ||
	    view->vt->view_msg(view, seq, &msg) < 0) {
		*error_r = "no such message";
		goto out;
	}
	const char *data = msg.blob->data;
	size_t off = 0, len = msg.blob->size;
	if (opts->binary || opts->structure != NULL) {
		/* RFC 5524: the part's bytes decoded, its structure */
		struct mail_section sec = { .kind = MAIL_SECTION_ALL };
		const struct mail_structure *st = mail_structure_get(msg.blob);
		if ((u->section != NULL &&
		     mail_section_parse(u->section, strlen(u->section), &sec, error_r) < 0))
			goto out;
		uint16_t part = st != NULL ? mail_section_part(st, &sec) : MAIL_NONE;
		if (part == MAIL_NONE) {
			*error_r = "no such part";
			goto out;
		}
		if (opts->structure != NULL)
			mail_bodystructure_write(opts->structure, msg.blob->data, st, part, true);
		if (opts->binary) {
			if (binary_copy(a, msg.blob, &sec, &data, &len, error_r) < 0)
				goto out;
			goto partial;
		}
	}
	if (u->section != NULL) {
		struct mail_section sec;
		struct mail_section_result res;
		const struct mail_structure *st = mail_structure_get(msg.blob);
		if (mail_section_parse(u->section, strlen(u->section), &sec, error_r) < 0)
			goto out;
		if (st == NULL) {
			*error_r = "the message cannot be parsed";
			goto out;
		}
		mail_section_resolve(st, &sec, &res);
		if (res.kind == MAIL_SECTION_EMPTY) {
			*error_r = "no such part";
			goto out;
		}
		if (res.kind == MAIL_SECTION_FILTER) {
			data = mail_section_filter(a, msg.blob->data, &res, &sec, &len);
		} else {
			off = res.off;
			len = res.len;
		}
	}
partial:
	if (u->partial) {
		/* RFC 5092 §5: PARTIAL=origin[.length]; an origin past the end is empty */
		size_t o = u->origin < len ? u->origin : len;
		off += o;
		len -= o;
		if (len > u->length)
			len = u->length;
	}
	char *copy = arena_alloc(a, len + 1);
	memcpy(copy, data + off, len);
	opts->nul = memchr(copy, '\0', len) != NULL;
	*data_r = copy;
	*len_r = len;
	ret = 0;
out:
	view->vt->view_close(view);
	return ret;
}
