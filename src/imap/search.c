/* SEARCH key parsing and evaluation (RFC 3501 §6.4.4). */
#include "imap/search.h"
#include "imap/session.h"
#include "imap/datetime.h"
#include "core/common.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_DEPTH 64

static const char months[12][4] = { "jan", "feb", "mar", "apr", "may", "jun",
				    "jul", "aug", "sep", "oct", "nov", "dec" };



int64_t search_days_from_civil(int y, int m, int d)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	return (int64_t)(timegm(&tm) / 86400);
}

int64_t search_parse_date(const char *s)
{
	int d = 0, y = 0, i = 0;
	if (s[i] == '"')
		i++;
	if (!isdigit((unsigned char)s[i]))
		return INT64_MIN;
	while (isdigit((unsigned char)s[i]) && i < 4)
		d = d * 10 + (s[i++] - '0');
	if (s[i++] != '-')
		return INT64_MIN;
	int m;
	for (m = 0; m < 12; m++)
		if (strncasecmp(s + i, months[m], 3) == 0)
			break;
	if (m == 12 || s[i + 3] != '-')
		return INT64_MIN;
	i += 4;
	for (int k = 0; k < 4; k++) {
		if (!isdigit((unsigned char)s[i]))
			return INT64_MIN;
		y = y * 10 + (s[i++] - '0');
	}
	if (s[i] != '\0' && s[i] != '"')
		return INT64_MIN;
	if (d < 1 || d > 31)
		return INT64_MIN;
	return search_days_from_civil(y, m, d);
}

struct parse {
	struct uimap_cmd *cmd;
	const struct imap_arg *a;
	unsigned n, i;
	const char *error;
	struct search_key *texts;     /* keys holding a prepared needle */
};

static struct search_key *key_new(struct parse *p, enum search_op op)
{
	struct search_key *k = arena_zalloc(&p->cmd->s->arena, sizeof(*k));
	k->op = op;
	k->keyword = -1;
	return k;
}

static bool next_string(struct parse *p, const char **s_r, size_t *len_r)
{
	if (p->i >= p->n || !arg_string(&p->a[p->i], s_r, len_r)) {
		p->error = "Missing SEARCH argument";
		return false;
	}
	p->i++;
	return true;
}

static bool next_number(struct parse *p, uint64_t *v_r)
{
	const char *s;
	size_t len;
	if (!next_string(p, &s, &len))
		return false;
	uint64_t v = 0;
	if (len == 0 || len > 19)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			goto bad;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*v_r = v;
	return true;
bad:
	p->error = "Invalid number in SEARCH";
	return false;
}

static bool next_date(struct parse *p, uint64_t *v_r)
{
	const char *s;
	size_t len;
	if (!next_string(p, &s, &len))
		return false;
	int64_t d = search_parse_date(s);
	if (d == INT64_MIN) {
		p->error = "Invalid date in SEARCH";
		return false;
	}
	*v_r = (uint64_t)d;
	return true;
}

static struct search_key *parse_key(struct parse *p, int depth);

/* Keys until the end of the list: an implicit AND. */
static struct search_key *parse_and(struct parse *p, int depth)
{
	struct search_key *and = key_new(p, SEARCH_AND), **tail = &and->child;
	if (p->i >= p->n) {
		p->error = "Missing SEARCH key";
		return NULL;
	}
	while (p->i < p->n) {
		struct search_key *k = parse_key(p, depth);
		if (k == NULL)
			return NULL;
		*tail = k;
		tail = &k->next;
	}
	return and;
}

static const struct {
	const char *name;
	enum search_op op;
	uint32_t flag;
} flag_keys[] = {
	{ "ANSWERED", SEARCH_FLAG_SET, UIMAP_FLAG_ANSWERED },
	{ "DELETED", SEARCH_FLAG_SET, UIMAP_FLAG_DELETED },
	{ "DRAFT", SEARCH_FLAG_SET, UIMAP_FLAG_DRAFT },
	{ "FLAGGED", SEARCH_FLAG_SET, UIMAP_FLAG_FLAGGED },
	{ "RECENT", SEARCH_FLAG_SET, UIMAP_FLAG_RECENT },
	{ "SEEN", SEARCH_FLAG_SET, UIMAP_FLAG_SEEN },
	{ "UNANSWERED", SEARCH_FLAG_UNSET, UIMAP_FLAG_ANSWERED },
	{ "UNDELETED", SEARCH_FLAG_UNSET, UIMAP_FLAG_DELETED },
	{ "UNDRAFT", SEARCH_FLAG_UNSET, UIMAP_FLAG_DRAFT },
	{ "UNFLAGGED", SEARCH_FLAG_UNSET, UIMAP_FLAG_FLAGGED },
	{ "UNSEEN", SEARCH_FLAG_UNSET, UIMAP_FLAG_SEEN },
	{ "OLD", SEARCH_FLAG_UNSET, UIMAP_FLAG_RECENT },
};

static const struct {
	const char *name;
	enum search_op op;
} date_keys[] = {
	{ "BEFORE", SEARCH_BEFORE }, { "ON", SEARCH_ON }, { "SINCE", SEARCH_SINCE },
	{ "SENTBEFORE", SEARCH_SENTBEFORE }, { "SENTON", SEARCH_SENTON },
	{ "SENTSINCE", SEARCH_SENTSINCE },
};

static void prepare_text(struct parse *p, struct search_key *k)
{
	k->text = arena_alloc(&p->cmd->s->arena, sizeof(*k->text));
	mail_search_key_init(k->text, k->value, k->value_len);
	k->next_text = p->texts;
	p->texts = k;
}

static struct search_key *header_key(struct parse *p, enum search_op op, const char *field)
{
	struct search_key *k = key_new(p, op);
	k->field = field;
	if (!next_string(p, &k->value, &k->value_len))
		return NULL;
	prepare_text(p, k);
	return k;
}

static struct search_key *parse_key(struct parse *p, int depth)
{
	if (depth > MAX_DEPTH) {
		p->error = "SEARCH nested too deeply";
		return NULL;
	}
	const struct imap_arg *a = &p->a[p->i++];
	struct session *s = p->cmd->s;
	if (a->type == IMAP_ARG_LIST) {
		struct parse sub = { p->cmd, a->u.list, a->len, 0, NULL, p->texts };
		struct search_key *k = parse_and(&sub, depth + 1);
		p->texts = sub.texts;
		if (k == NULL)
			p->error = sub.error;
		return k;
	}
	if (a->type != IMAP_ARG_ATOM) {
		p->error = "Invalid SEARCH key";
		return NULL;
	}
	const char *name = a->u.str;
	if (isdigit((unsigned char)name[0]) || name[0] == '*') {
		struct search_key *k = key_new(p, SEARCH_SEQSET);
		uint32_t count = s->view->vt->view_count(s->view);
		if (seqset_parse(&s->arena, name, count, &k->set, &p->error) < 0)
			return NULL;
		return k;
	}
	if (strcasecmp(name, "ALL") == 0)
		return key_new(p, SEARCH_ALL);
	for (size_t i = 0; i < N_ELEMENTS(flag_keys); i++) {
		if (strcasecmp(name, flag_keys[i].name) == 0) {
			struct search_key *k = key_new(p, flag_keys[i].op);
			k->flag = flag_keys[i].flag;
			return k;
		}
	}
	if (strcasecmp(name, "NEW") == 0) {
		/* NEW = RECENT UNSEEN */
		struct search_key *and = key_new(p, SEARCH_AND);
		struct search_key *r = key_new(p, SEARCH_FLAG_SET), *u = key_new(p, SEARCH_FLAG_UNSET);
		r->flag = UIMAP_FLAG_RECENT;
		u->flag = UIMAP_FLAG_SEEN;
		and->child = r;
		r->next = u;
		return and;
	}
	for (size_t i = 0; i < N_ELEMENTS(date_keys); i++) {
		if (strcasecmp(name, date_keys[i].name) == 0) {
			struct search_key *k = key_new(p, date_keys[i].op);
			if (!next_date(p, &k->number))
				return NULL;
			return k;
		}
	}
	if (strcasecmp(name, "LARGER") == 0 || strcasecmp(name, "SMALLER") == 0) {
		struct search_key *k =
			key_new(p, toupper((unsigned char)name[0]) == 'L' ? SEARCH_LARGER : SEARCH_SMALLER);
		if (!next_number(p, &k->number))
			return NULL;
		return k;
	}
	if (strcasecmp(name, "KEYWORD") == 0 || strcasecmp(name, "UNKEYWORD") == 0) {
		struct search_key *k = key_new(p, toupper((unsigned char)name[0]) == 'K' ?
							  SEARCH_KEYWORD : SEARCH_UNKEYWORD);
		const char *kw;
		size_t len;
		if (!next_string(p, &kw, &len))
			return NULL;
		k->keyword = s->view->vt->view_keyword_index(s->view, kw, false);
		return k;
	}
	if (strcasecmp(name, "UID") == 0) {
		struct search_key *k = key_new(p, SEARCH_UIDSET);
		const char *set;
		size_t len;
		if (!next_string(p, &set, &len))
			return NULL;
		uint32_t count = s->view->vt->view_count(s->view), star = 0;
		struct uimap_msg_info last;
		if (count > 0 && s->view->vt->view_msg(s->view, count, &last) == 0)
			star = last.uid;
		if (seqset_parse(&s->arena, set, star, &k->set, &p->error) < 0)
			return NULL;
		return k;
	}
	if (strcasecmp(name, "NOT") == 0) {
		if (p->i >= p->n) {
			p->error = "NOT needs a key";
			return NULL;
		}
		struct search_key *k = key_new(p, SEARCH_NOT);
		k->child = parse_key(p, depth + 1);
		return k->child ? k : NULL;
	}
	if (strcasecmp(name, "OR") == 0) {
		if (p->i + 1 >= p->n) {
			p->error = "OR needs two keys";
			return NULL;
		}
		struct search_key *k = key_new(p, SEARCH_OR);
		k->child = parse_key(p, depth + 1);
		if (k->child == NULL || p->i >= p->n) {
			if (p->error == NULL)
				p->error = "OR needs two keys";
			return NULL;
		}
		k->child->next = parse_key(p, depth + 1);
		return k->child->next ? k : NULL;
	}
	static const char *const addr_fields[] = { "FROM", "TO", "CC", "BCC" };
	for (size_t i = 0; i < N_ELEMENTS(addr_fields); i++)
		if (strcasecmp(name, addr_fields[i]) == 0)
			return header_key(p, SEARCH_ADDRESS, addr_fields[i]);
	if (strcasecmp(name, "SUBJECT") == 0)
		return header_key(p, SEARCH_HEADER, "SUBJECT");
	if (strcasecmp(name, "HEADER") == 0) {
		const char *field;
		size_t len;
		if (!next_string(p, &field, &len))
			return NULL;
		return header_key(p, SEARCH_HEADER, field);
	}
	if (strcasecmp(name, "BODY") == 0 || strcasecmp(name, "TEXT") == 0) {
		struct search_key *k =
			key_new(p, toupper((unsigned char)name[0]) == 'B' ? SEARCH_BODY : SEARCH_TEXT);
		if (!next_string(p, &k->value, &k->value_len))
			return NULL;
		prepare_text(p, k);
		return k;
	}
	p->error = "Unknown SEARCH key";
	return NULL;
}

int search_parse(struct uimap_cmd *cmd, const struct imap_arg *args, unsigned n,
		 struct search_key **program_r, const char **error_r)
{
	struct parse p = { cmd, args, n, 0, NULL, NULL };
	if (n >= 2 && args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].u.str, "CHARSET") == 0) {
		const char *cs;
		size_t len;
		if (!arg_string(&args[1], &cs, &len)) {
			*error_r = "Invalid CHARSET";
			return -1;
		}
		if (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0) {
			*error_r = "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset";
			return 0;
		}
		p.i = 2;
	}
	struct search_key *prog = parse_and(&p, 0);
	if (prog == NULL) {
		/* release the needles prepared before the error */
		for (struct search_key *k = p.texts; k != NULL; k = k->next_text)
			mail_search_key_free(k->text);
		*error_r = p.error ? p.error : "Invalid SEARCH";
		return -1;
	}
	prog->next_text = p.texts;  /* the root keeps the list for search_free() */
	*program_r = prog;
	return 1;
}

/* Date of an INTERNALDATE in its own zone, as days since the epoch. */
static int64_t internal_day(const struct uimap_msg_info *info)
{
	time_t local = info->internaldate + (time_t)info->tz_minutes * 60;
	return (int64_t)(local >= 0 ? local / 86400 : (local - 86399) / 86400);
}

bool search_match(struct session *s, const struct search_key *k, uint32_t seq,
		  const struct uimap_msg_info *info)
{
	switch (k->op) {
	case SEARCH_ALL:
		return true;
	case SEARCH_AND:
		for (const struct search_key *c = k->child; c != NULL; c = c->next)
			if (!search_match(s, c, seq, info))
				return false;
		return true;
	case SEARCH_OR:
		return search_match(s, k->child, seq, info) ||
		       search_match(s, k->child->next, seq, info);
	case SEARCH_NOT:
		return !search_match(s, k->child, seq, info);
	case SEARCH_SEQSET:
		return seqset_contains(&k->set, seq);
	case SEARCH_UIDSET:
		return seqset_contains(&k->set, info->uid);
	case SEARCH_FLAG_SET:
		return (info->flags.system & k->flag) != 0;
	case SEARCH_FLAG_UNSET:
		return (info->flags.system & k->flag) == 0;
	case SEARCH_KEYWORD:
		return k->keyword >= 0 && (info->flags.keywords & (1ULL << k->keyword));
	case SEARCH_UNKEYWORD:
		return k->keyword < 0 || !(info->flags.keywords & (1ULL << k->keyword));
	case SEARCH_LARGER:
		return info->size > k->number;
	case SEARCH_SMALLER:
		return info->size < k->number;
	case SEARCH_BEFORE:
		return internal_day(info) < (int64_t)k->number;
	case SEARCH_ON:
		return internal_day(info) == (int64_t)k->number;
	case SEARCH_SINCE:
		return internal_day(info) >= (int64_t)k->number;
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE: {
		int64_t day = search_sent_day(info->blob);
		if (k->op == SEARCH_SENTBEFORE)
			return day < (int64_t)k->number;
		if (k->op == SEARCH_SENTON)
			return day == (int64_t)k->number;
		return day >= (int64_t)k->number;
	}
	case SEARCH_HEADER:
	case SEARCH_ADDRESS:
	case SEARCH_BODY:
	case SEARCH_TEXT:
		return search_text(info->blob, k);
	}
	return false;
}

void search_free(struct search_key *program)
{
	if (program == NULL)
		return;
	struct search_key *k = program->op == SEARCH_AND ? program->next_text : NULL;
	program->next_text = NULL;
	while (k != NULL) {
		struct search_key *next = k->next_text;
		if (k->text != NULL) {
			mail_search_key_free(k->text);
			k->text = NULL;
		}
		k = next;
	}
}
