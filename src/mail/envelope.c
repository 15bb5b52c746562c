/* ENVELOPE: address-list parsing in Dovecot's manner and the response rendering. */
#include "mail/envelope.h"
#include "core/alloc.h"
#include "mail/imapstr.h"
#include "mail/rfc822.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct aparser {
	struct rfc822 r;
	struct mail_address_list *list;
	struct mail_address cur;
	bool cur_invalid;
	struct buf str;         /* scratch */
	struct buf comment;     /* last comment */
};

static int32_t text_add(struct mail_address_list *l, const char *s, size_t len)
{
	int32_t off = (int32_t)l->text.len;

	buf_append(&l->text, s, len);
	/* NUL cannot be sent: 0x80 instead (Dovecot's replacement) */
	if (len > 0) {
		char *p = l->text.data + off, *e = p + len;

		while ((p = memchr(p, '\0', (size_t)(e - p))) != NULL)
			*p = (char)0x80;
	}
	buf_append(&l->text, "", 1);
	return off;
}

static void addr_reset(struct aparser *a)
{
	a->cur.name = a->cur.route = a->cur.mailbox = a->cur.domain = -1;
	a->cur_invalid = false;
}

static void add_address(struct aparser *a)
{
	struct mail_address_list *l = a->list;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->addrs = xrealloc(l->addrs, l->cap * sizeof(*l->addrs));
	}
	l->addrs[l->n++] = a->cur;
	addr_reset(a);
}

static bool str_empty(const struct aparser *a, int32_t off)
{
	return off < 0 || a->list->text.data[off] == '\0';
}

static int parse_local_part(struct aparser *a)
{
	int ret;

	a->str.len = 0;
	if (*a->r.p == '"')
		ret = rfc822_quoted_string(&a->r, &a->str);
	else
		ret = rfc822_dot_atom(&a->r, &a->str);
	if (ret < 0)
		return -1;
	a->cur.mailbox = text_add(a->list, a->str.data ? a->str.data : "", a->str.len);
	return ret;
}

static int parse_domain(struct aparser *a)
{
	int ret;

	a->str.len = 0;
	if ((ret = rfc822_domain(&a->r, &a->str)) < 0)
		return -1;
	a->cur.domain = text_add(a->list, a->str.data ? a->str.data : "", a->str.len);
	return ret;
}

static int parse_domain_list(struct aparser *a)
{
	a->str.len = 0;
	for (;;) {
		int ret;

		if (a->r.p >= a->r.end)
			return 0;
		if (*a->r.p != '@')
			break;
		if (a->str.len > 0)
			buf_append(&a->str, ",", 1);
		buf_append(&a->str, "@", 1);
		if ((ret = rfc822_domain(&a->r, &a->str)) <= 0)
			return ret;
		while (rfc822_skip_lwsp(&a->r) > 0 && *a->r.p == ',')
			a->r.p++;
	}
	a->cur.route = text_add(a->list, a->str.data, a->str.len);
	return 1;
}

static int parse_angle_addr(struct aparser *a)
{
	a->r.p++; /* '<' */
	if (rfc822_skip_lwsp(&a->r) <= 0)
		return -1;
	if (*a->r.p == '@') {
		if (parse_domain_list(a) > 0 && *a->r.p == ':') {
			a->r.p++;
		} else {
			a->cur.route = text_add(a->list, "INVALID_ROUTE", 13);
			if (a->r.p >= a->r.end)
				return -1;
		}
		if (rfc822_skip_lwsp(&a->r) <= 0)
			return -1;
	}
	if (*a->r.p != '>') {
		if (parse_local_part(a) <= 0)
			return -1;
		if (*a->r.p == '@' && parse_domain(a) <= 0)
			return -1;
	}
	if (*a->r.p != '>')
		return -1;
	a->r.p++;
	return rfc822_skip_lwsp(&a->r);
}

static int parse_name_addr(struct aparser *a)
{
	a->str.len = 0;
	if (rfc822_phrase(&a->r, &a->str) <= 0 || *a->r.p != '<')
		return -1;
	if (a->str.len > 0)
		a->cur.name = text_add(a->list, a->str.data, a->str.len);
	if (parse_angle_addr(a) < 0) {
		a->cur.domain = text_add(a->list, "SYNTAX_ERROR", 12);
		a->cur_invalid = true;
	}
	return a->r.p < a->r.end ? 1 : 0;
}

static int parse_addr_spec(struct aparser *a)
{
	int ret, ret2 = -2;
	bool quoted = *a->r.p == '"';

	a->comment.len = 0;
	ret = parse_local_part(a);
	if (ret <= 0)
		a->cur_invalid = true;
	if (ret != 0 && a->r.p < a->r.end && *a->r.p == '@') {
		ret2 = parse_domain(a);
		if (ret2 <= 0)
			ret = ret2;
	}
	if (a->comment.len > 0) {
		a->cur.name = text_add(a->list, a->comment.data, a->comment.len);
	} else if (ret2 == -2) {
		/* "user" without @domain or comment: a lone word is the mailbox, but
		   when more words follow they all are a display name */
		buf_append(&a->str, " ", 1);
		size_t orig = a->str.len;

		(void)rfc822_phrase(&a->r, &a->str);
		if (a->str.len != orig) {
			a->cur.mailbox = -1;
			a->cur.name = text_add(a->list, a->str.data, a->str.len);
		} else if (!quoted) {
			a->cur.domain = text_add(a->list, "", 0);
		}
		a->cur_invalid = true;
		ret = -1;
	}
	return ret;
}

static void add_fixed_address(struct aparser *a)
{
	if (a->cur.mailbox < 0)
		a->cur.mailbox = text_add(a->list, "MISSING_MAILBOX", 15);
	if (str_empty(a, a->cur.domain))
		a->cur.domain = text_add(a->list, "MISSING_DOMAIN", 14);
	add_address(a);
}

static int parse_mailbox(struct aparser *a)
{
	const unsigned char *start = a->r.p;
	int ret;

	if ((ret = parse_name_addr(a)) < 0) {
		a->r.p = start;
		addr_reset(a);
		ret = parse_addr_spec(a);
		if (a->cur_invalid && a->cur.name < 0 && a->cur.mailbox >= 0 &&
		    a->cur.domain < 0) {
			a->cur.name = a->cur.mailbox;
			a->cur.mailbox = -1;
		}
	}
	add_fixed_address(a);
	return ret;
}

static int parse_group(struct aparser *a)
{
	int ret;

	a->str.len = 0;
	if (rfc822_phrase(&a->r, &a->str) <= 0 || *a->r.p != ':')
		return -1;
	a->r.p++;
	ret = rfc822_skip_lwsp(&a->r);
	a->cur.mailbox = text_add(a->list, a->str.data, a->str.len);
	add_address(a);
	if (ret > 0 && *a->r.p != ';') {
		for (;;) {
			(void)parse_mailbox(a);
			if (a->r.p >= a->r.end || *a->r.p != ',')
				break;
			a->r.p++;
			if (rfc822_skip_lwsp(&a->r) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (a->r.p >= a->r.end || *a->r.p != ';') {
			ret = -1;
		} else {
			a->r.p++;
			ret = rfc822_skip_lwsp(&a->r);
		}
	}
	add_address(a); /* end of group: all NIL */
	return ret == 0 ? 0 : 1;
}

static int parse_address(struct aparser *a)
{
	const unsigned char *start = a->r.p;
	size_t n = a->list->n;
	int ret;

	if ((ret = parse_group(a)) < 0) {
		a->r.p = start;
		a->list->n = n;
		addr_reset(a);
		ret = parse_mailbox(a);
	}
	return ret;
}

/* CFWS and empty list elements (obs-addr-list allows ", ,"). */
static int skip_empty(struct aparser *a)
{
	int ret;

	while ((ret = rfc822_skip_lwsp(&a->r)) > 0 && *a->r.p == ',')
		a->r.p++;
	return ret;
}

void mail_address_parse(struct mail_address_list *list, const char *value, size_t len)
{
	struct aparser a;

	memset(&a, 0, sizeof(a));
	a.list = list;
	addr_reset(&a);
	rfc822_init(&a.r, value, len, &a.comment);
	if (skip_empty(&a) > 0) {
		/* Bounded: each address consumes input or ends the loop. */
		for (;;) {
			const unsigned char *before = a.r.p;

			if (parse_address(&a) == 0)
				break;
			if (a.r.p >= a.r.end || *a.r.p != ',')
				break;
			a.r.p++;
			int ret = skip_empty(&a);

			if (ret <= 0) {
				if (ret < 0)
					add_fixed_address(&a);
				break;
			}
			if (a.r.p <= before)
				break;
		}
	}
	buf_free(&a.str);
	buf_free(&a.comment);
}

void mail_address_list_free(struct mail_address_list *list)
{
	free(list->addrs);
	list->addrs = NULL;
	list->n = list->cap = 0;
	buf_free(&list->text);
}

void mail_address_write(struct buf *out, const struct mail_address_list *list)
{
	bool first = true, in_group = false;

	for (size_t i = 0; i < list->n; i++) {
		const struct mail_address *ad = &list->addrs[i];

		if (!first)
			buf_append(out, ", ", 2);
		first = false;
		if (ad->domain < 0) {
			/* a group's start (name in mailbox) or end (all NIL) */
			if (!in_group) {
				const char *name = ad->mailbox < 0 ? "" : mail_address_str(list, ad->mailbox);

				buf_append(out, name, strlen(name));
				buf_append(out, ": ", 2);
				first = true;
			} else {
				/* drop the ", " after the last member, or the " " after ':' */
				if (out->len >= 2 && out->data[out->len - 2] == ',')
					out->len -= 2;
				else if (out->len >= 1 && out->data[out->len - 1] == ' ')
					out->len--;
				buf_append(out, ";", 1);
			}
			in_group = !in_group;
			continue;
		}
		const char *name = ad->name < 0 ? "" : mail_address_str(list, ad->name);
		const char *mailbox = ad->mailbox < 0 ? "" : mail_address_str(list, ad->mailbox);
		const char *domain = mail_address_str(list, ad->domain);

		buf_append(out, name, strlen(name));
		if (ad->route < 0 && mailbox[0] == '\0' && domain[0] == '\0')
			continue;
		if (name[0] != '\0')
			buf_append(out, " ", 1);
		buf_append(out, "<", 1);
		if (ad->route >= 0) {
			const char *route = mail_address_str(list, ad->route);

			buf_append(out, route, strlen(route));
			buf_append(out, ":", 1);
		}
		buf_append(out, mailbox, strlen(mailbox));
		if (domain[0] != '\0') {
			buf_append(out, "@", 1);
			buf_append(out, domain, strlen(domain));
		}
		buf_append(out, ">", 1);
	}
}

static void write_nstr(struct outq *q, const struct mail_address_list *l, int32_t off)
{
	if (off < 0)
		imapstr_nstring(q, NULL, 0);
	else
		imapstr_nstring(q, l->text.data + off, strlen(l->text.data + off));
}

static void write_addresses(struct outq *q, const struct mail_address_list *l)
{
	if (l->n == 0) {
		outq_append(q, "NIL", 3);
		return;
	}
	outq_append(q, "(", 1);
	for (size_t i = 0; i < l->n; i++) {
		const struct mail_address *ad = &l->addrs[i];

		outq_append(q, "(", 1);
		if (ad->name < 0)
			outq_append(q, "NIL", 3);
		else
			imapstr_human(q, l->text.data + ad->name, strlen(l->text.data + ad->name));
		outq_append(q, " ", 1);
		write_nstr(q, l, ad->route);
		outq_append(q, " ", 1);
		write_nstr(q, l, ad->mailbox);
		outq_append(q, " ", 1);
		write_nstr(q, l, ad->domain);
		outq_append(q, ")", 1);
	}
	outq_append(q, ")", 1);
}

/* Parse every occurrence of address field f in the header of part into list. */
static void collect_addresses(struct mail_address_list *list, const char *data,
			      const struct mail_structure *s, uint16_t part, int f,
			      const struct mail_envelope_spans *e)
{
	static const char *const names[] = {
		[MAIL_ENV_FROM] = "From", [MAIL_ENV_SENDER] = "Sender",
		[MAIL_ENV_REPLY_TO] = "Reply-To", [MAIL_ENV_TO] = "To", [MAIL_ENV_CC] = "Cc",
		[MAIL_ENV_BCC] = "Bcc",
	};

	if (e->field[f].off == MAIL_SPAN_NONE)
		return;
	if (!(e->repeated & (1u << f))) {
		mail_address_parse(list, data + e->field[f].off, e->field[f].len);
		return;
	}
	uint32_t pos = s->parts[part].hdr_off, end = s->parts[part].body_off, line_end;
	const char *name;
	size_t name_len, want = strlen(names[f]);
	struct mail_span v;

	while (mail_header_next(data, &pos, end, &name, &name_len, &v, &line_end) == 1) {
		if (name_len == want && strncasecmp(name, names[f], want) == 0)
			mail_address_parse(list, data + v.off, v.len);
	}
}

void mail_envelope_write(struct outq *q, const char *data, const struct mail_structure *s,
			 uint16_t msg_part)
{
	const struct mail_envelope_spans *e;
	struct mail_address_list lists[MAIL_ENV_COUNT];

	if (msg_part >= s->n_parts || s->parts[msg_part].env == MAIL_NONE) {
		outq_puts(q, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return;
	}
	e = &s->envelopes[s->parts[msg_part].env];
	memset(lists, 0, sizeof(lists));
	for (int f = MAIL_ENV_FROM; f <= MAIL_ENV_BCC; f++)
		collect_addresses(&lists[f], data, s, msg_part, f, e);
	outq_append(q, "(", 1);
	for (int f = 0; f < MAIL_ENV_COUNT; f++) {
		struct mail_span sp = e->field[f];

		if (f > 0)
			outq_append(q, " ", 1);
		switch (f) {
		case MAIL_ENV_SUBJECT:
			if (sp.off == MAIL_SPAN_NONE)
				outq_append(q, "NIL", 3);
			else
				imapstr_human(q, data + sp.off, sp.len);
			break;
		case MAIL_ENV_DATE:
		case MAIL_ENV_IN_REPLY_TO:
		case MAIL_ENV_MESSAGE_ID:
			imapstr_nstring_nolf(q, sp.off == MAIL_SPAN_NONE ? NULL : data + sp.off,
					     sp.len);
			break;
		case MAIL_ENV_SENDER:
		case MAIL_ENV_REPLY_TO:
			write_addresses(q, lists[f].n > 0 ? &lists[f] : &lists[MAIL_ENV_FROM]);
			break;
		default:
			write_addresses(q, &lists[f]);
			break;
		}
	}
	outq_append(q, ")", 1);
	for (int f = 0; f < MAIL_ENV_COUNT; f++)
		mail_address_list_free(&lists[f]);
}
