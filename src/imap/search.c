/* SEARCH key parsing and evaluation (RFC 3501 §6.4.4). */
#include "imap/search.h"
#include "mail/charset.h"
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
	struct arena *arena;          /* where the program goes (it may outlive the command) */
	const struct imap_arg *a;
	unsigned n, i;
	const char *error;
	struct search_key *texts;     /* keys holding a prepared needle */
	const char *charset;          /* the needles' CHARSET; NULL: UTF-8 */
	bool uses_modseq;
};

static struct search_key *key_new(struct parse *p, enum search_op op)
{
	struct search_key *k = arena_zalloc(p->arena, sizeof(*k));
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

static void prepare_text(struct parse *p, struct search_key *k)
{
	/* the needle is copied: the program may outlive the command's arguments; in
	   UTF-8 from the command's CHARSET (RFC 3501 §6.4.4) */
	if (p->charset != NULL) {
		struct buf utf8 = { 0 };

		mail_charset_convert(&utf8, p->charset, strlen(p->charset), k->value,
				     k->value_len);
		k->value = arena_strndup(p->arena, utf8.data != NULL ? utf8.data : "", utf8.len);
		k->value_len = utf8.len;
		buf_free(&utf8);
	} else {
		k->value = arena_strndup(p->arena, k->value, k->value_len);
	}
	if (k->field != NULL)
		k->field = arena_strndup(p->arena, k->field, strlen(k->field));
	k->text = arena_alloc(p->arena, sizeof(*k->text));
	mail_search_key_init(k->text, k->value, k->value_len);
	k->next_text = p->texts;
	p->texts = k;
}

/* What follows a key's name (Dovecot's mail-search-register): */
enum key_arg {
	ARG_NONE,        /* ALL, and the flag keys (flag set) */
	ARG_DATE,        /* BEFORE ... SENTSINCE: "d-Mon-yyyy" */
	ARG_NUMBER,      /* LARGER, SMALLER */
	ARG_KEYWORD,     /* KEYWORD, UNKEYWORD */
	ARG_UIDSET,      /* UID */
	ARG_STRING,      /* FROM ... BODY, TEXT: the needle (field = the key's field) */
	ARG_FIELD_STRING, /* HEADER: a field name, then the needle */
	ARG_KEY,         /* NOT: one key */
	ARG_TWO_KEYS,    /* OR: two keys */
	ARG_NEW,         /* NEW = RECENT UNSEEN */
	ARG_MODSEQ,      /* MODSEQ: [entry-name entry-type] mod-sequence-valzer */
};

/* The SEARCH keys of RFC 3501 §6.4.4, by name. */
static const struct key_def {
	const char *name;
	enum search_op op;
	enum key_arg arg;
	uint32_t flag;          /* ARG_NONE flag keys */
	const char *field;      /* ARG_STRING header keys */
} key_defs[] = {
	{ "ALL", SEARCH_ALL, ARG_NONE, 0, NULL },
	{ "ANSWERED", SEARCH_FLAG_SET, ARG_NONE, UIMAP_FLAG_ANSWERED, NULL },
	{ "DELETED", SEARCH_FLAG_SET, ARG_NONE, UIMAP_FLAG_DELETED, NULL },
	{ "DRAFT", SEARCH_FLAG_SET, ARG_NONE, UIMAP_FLAG_DRAFT, NULL },
	{ "FLAGGED", SEARCH_FLAG_SET, ARG_NONE, UIMAP_FLAG_FLAGGED, NULL },
	{ "RECENT", SEARCH_FLAG_SET, ARG_NONE, UIMAP_FLAG_RECENT, NULL },
	{ "SEEN", SEARCH_FLAG_SET, ARG_NONE, UIMAP_FLAG_SEEN, NULL },
	{ "UNANSWERED", SEARCH_FLAG_UNSET, ARG_NONE, UIMAP_FLAG_ANSWERED, NULL },
	{ "UNDELETED", SEARCH_FLAG_UNSET, ARG_NONE, UIMAP_FLAG_DELETED, NULL },
	{ "UNDRAFT", SEARCH_FLAG_UNSET, ARG_NONE, UIMAP_FLAG_DRAFT, NULL },
	{ "UNFLAGGED", SEARCH_FLAG_UNSET, ARG_NONE, UIMAP_FLAG_FLAGGED, NULL },
	{ "UNSEEN", SEARCH_FLAG_UNSET, ARG_NONE, UIMAP_FLAG_SEEN, NULL },
	{ "OLD", SEARCH_FLAG_UNSET, ARG_NONE, UIMAP_FLAG_RECENT, NULL },
	{ "NEW", SEARCH_AND, ARG_NEW, 0, NULL },
	{ "BEFORE", SEARCH_BEFORE, ARG_DATE, 0, NULL },
	{ "ON", SEARCH_ON, ARG_DATE, 0, NULL },
	{ "SINCE", SEARCH_SINCE, ARG_DATE, 0, NULL },
	{ "SENTBEFORE", SEARCH_SENTBEFORE, ARG_DATE, 0, NULL },
	{ "SENTON", SEARCH_SENTON, ARG_DATE, 0, NULL },
	{ "SENTSINCE", SEARCH_SENTSINCE, ARG_DATE, 0, NULL },
	{ "LARGER", SEARCH_LARGER, ARG_NUMBER, 0, NULL },
	{ "SMALLER", SEARCH_SMALLER, ARG_NUMBER, 0, NULL },
	{ "KEYWORD", SEARCH_KEYWORD, ARG_KEYWORD, 0, NULL },
	{ "UNKEYWORD", SEARCH_UNKEYWORD, ARG_KEYWORD, 0, NULL },
	{ "UID", SEARCH_UIDSET, ARG_UIDSET, 0, NULL },
	{ "NOT", SEARCH_NOT, ARG_KEY, 0, NULL },
	{ "OR", SEARCH_OR, ARG_TWO_KEYS, 0, NULL },
	{ "FROM", SEARCH_ADDRESS, ARG_STRING, 0, "FROM" },
	{ "TO", SEARCH_ADDRESS, ARG_STRING, 0, "TO" },
	{ "CC", SEARCH_ADDRESS, ARG_STRING, 0, "CC" },
	{ "BCC", SEARCH_ADDRESS, ARG_STRING, 0, "BCC" },
	{ "SUBJECT", SEARCH_HEADER, ARG_STRING, 0, "SUBJECT" },
	{ "HEADER", SEARCH_HEADER, ARG_FIELD_STRING, 0, NULL },
	{ "BODY", SEARCH_BODY, ARG_STRING, 0, NULL },
	{ "TEXT", SEARCH_TEXT, ARG_STRING, 0, NULL },
	{ "MODSEQ", SEARCH_MODSEQ, ARG_MODSEQ, 0, NULL },
};

/* RFC 7162 §3.1.5: MODSEQ ["/flags/<flag>" priv|shared|all] <valzer>. Messages have
   one mod-sequence for all their flags, so the entry only has to be well formed. */
static bool parse_modseq(struct parse *p, struct search_key *k)
{
	if (p->i < p->n && p->a[p->i].type != IMAP_ARG_ATOM) {
		const char *entry, *type;
		size_t len;
		if (!next_string(p, &entry, &len) || strncasecmp(entry, "/flags/", 7) != 0 ||
		    len == 7 || !next_string(p, &type, &len) ||
		    (strcasecmp(type, "priv") != 0 && strcasecmp(type, "shared") != 0 &&
		     strcasecmp(type, "all") != 0)) {
			p->error = "Invalid MODSEQ entry in SEARCH";
			return false;
		}
	}
	if (p->i >= p->n || !arg_modseq(&p->a[p->i], true, &k->number)) {
		p->error = "MODSEQ takes a mod-sequence";
		return false;
	}
	p->i++;
	p->uses_modseq = true;
	return true;
}

static const struct key_def *key_lookup(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(key_defs); i++)
		if (strcasecmp(name, key_defs[i].name) == 0)
			return &key_defs[i];
	return NULL;
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
		struct parse sub = { .cmd = p->cmd, .arena = p->arena, .a = a->u.list, .n = a->len,
				     .texts = p->texts };
		struct search_key *k = parse_and(&sub, depth + 1);
		p->texts = sub.texts;
		p->uses_modseq |= sub.uses_modseq;
		if (k == NULL)
			p->error = sub.error;
		return k;
	}
	if (a->type != IMAP_ARG_ATOM) {
		p->error = "Invalid SEARCH key";
		return NULL;
	}
	const char *name = a->u.str;
	if (strcmp(name, "$") == 0) {
		/* RFC 5182 §2.1: the saved result, as a set of UIDs */
		struct search_key *k = key_new(p, SEARCH_UIDSET);
		searchres_seqset(s, p->arena, &k->set);
		return k;
	}
	if (isdigit((unsigned char)name[0]) || name[0] == '*') {
		struct search_key *k = key_new(p, SEARCH_SEQSET);
		uint32_t count = s->view->vt->view_count(s->view);
		if (seqset_parse(p->arena, name, count, &k->set, &p->error) < 0)
			return NULL;
		return k;
	}
	const struct key_def *def = key_lookup(name);
	if (def == NULL) {
		p->error = "Unknown SEARCH key";
		return NULL;
	}
	struct search_key *k = key_new(p, def->op);
	const char *str;
	size_t len;
	switch (def->arg) {
	case ARG_NONE:
		k->flag = def->flag;
		return k;
	case ARG_NEW: {
		struct search_key *r = key_new(p, SEARCH_FLAG_SET), *u = key_new(p, SEARCH_FLAG_UNSET);
		r->flag = UIMAP_FLAG_RECENT;
		u->flag = UIMAP_FLAG_SEEN;
		k->child = r;
		r->next = u;
		return k;
	}
	case ARG_DATE:
		return next_date(p, &k->number) ? k : NULL;
	case ARG_NUMBER:
		return next_number(p, &k->number) ? k : NULL;
	case ARG_KEYWORD:
		if (!next_string(p, &str, &len))
			return NULL;
		k->keyword = s->view->vt->view_keyword_index(s->view, str, false);
		/* kept so a search context can find it once it exists */
		k->value = arena_strndup(p->arena, str, len);
		return k;
	case ARG_UIDSET: {
		if (!next_string(p, &str, &len))
			return NULL;
		if (strcmp(str, "$") == 0) {
			searchres_seqset(s, p->arena, &k->set);
			return k;
		}
		uint32_t count = s->view->vt->view_count(s->view), star = 0;
		struct uimap_msg_info last;
		if (count > 0 && s->view->vt->view_msg(s->view, count, &last) == 0)
			star = last.uid;
		return seqset_parse(p->arena, str, star, &k->set, &p->error) < 0 ? NULL : k;
	}
	case ARG_FIELD_STRING:
		if (!next_string(p, &k->field, &len))
			return NULL;
		/* fall through */
	case ARG_STRING:
		if (def->field != NULL)
			k->field = def->field;
		if (!next_string(p, &k->value, &k->value_len))
			return NULL;
		prepare_text(p, k);
		return k;
	case ARG_MODSEQ:
		return parse_modseq(p, k) ? k : NULL;
	case ARG_KEY:
		if (p->i >= p->n) {
			p->error = "NOT needs a key";
			return NULL;
		}
		k->child = parse_key(p, depth + 1);
		return k->child ? k : NULL;
	case ARG_TWO_KEYS:
		if (p->i + 1 >= p->n) {
			p->error = "OR needs two keys";
			return NULL;
		}
		k->child = parse_key(p, depth + 1);
		if (k->child == NULL)
			return NULL;
		if (p->i >= p->n) {
			p->error = "OR needs two keys";
			return NULL;
		}
		k->child->next = parse_key(p, depth + 1);
		return k->child->next ? k : NULL;
	}
	p->error = "Unknown SEARCH key";
	return NULL;
}

int search_parse(struct uimap_cmd *cmd, const struct imap_arg *args, unsigned n,
		 struct search_key **program_r, const char **error_r)
{
	return search_parse_in(cmd, &cmd->s->arena, args, n, program_r, error_r);
}

int search_parse_in(struct uimap_cmd *cmd, struct arena *arena, const struct imap_arg *args,
		    unsigned n, struct search_key **program_r, const char **error_r)
{
	if (n >= 2 && args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].u.str, "CHARSET") == 0) {
		const char *cs;
		size_t len;
		/* RFC 6855 §3 (erratum 4029): no charset label once UTF-8 is enabled */
		if (cmd->s->utf8) {
			*error_r = "No CHARSET after ENABLE UTF8=ACCEPT (strings are UTF-8)";
			return -1;
		}
		if (!arg_string(&args[1], &cs, &len)) {
			*error_r = "Invalid CHARSET";
			return -1;
		}
		return search_parse_charset(cmd, arena, cs, args + 2, n - 2, program_r, error_r);
	}
	return search_parse_charset(cmd, arena, NULL, args, n, program_r, error_r);
}

int search_parse_charset(struct uimap_cmd *cmd, struct arena *arena, const char *charset,
			 const struct imap_arg *args, unsigned n, struct search_key **program_r,
			 const char **error_r)
{
	struct parse p = { .cmd = cmd, .arena = arena, .a = args, .n = n };
	/* RFC 6855 erratum 4029: SORT and THREAD name UTF-8 once it is enabled */
	if (charset != NULL && cmd->s->utf8 && strcasecmp(charset, "UTF-8") != 0) {
		*error_r = "Only CHARSET UTF-8 after ENABLE UTF8=ACCEPT";
		return -1;
	}
	if (charset != NULL) {
		if (!mail_charset_known(charset, strlen(charset))) {
			/* RFC 3501 §6.4.4, §7.1: NO, naming charsets we do know */
			*error_r = "[BADCHARSET (" MAIL_CHARSET_BADCHARSET_LIST ")] Unsupported charset";
			return 0;
		}
		if (strcasecmp(charset, "UTF-8") != 0 && strcasecmp(charset, "US-ASCII") != 0)
			p.charset = charset;
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
	prog->uses_modseq = p.uses_modseq;
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
	case SEARCH_MODSEQ:
		return info->modseq >= k->number;
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

void search_refresh_keywords(struct search_key *k, struct uimap_store_view *v)
{
	for (; k != NULL; k = k->next) {
		if ((k->op == SEARCH_KEYWORD || k->op == SEARCH_UNKEYWORD) && k->keyword < 0 &&
		    k->value != NULL)
			k->keyword = v->vt->view_keyword_index(v, k->value, false);
		search_refresh_keywords(k->child, v);
	}
}

void search_seqsets_to_uids(struct search_key *k, struct uimap_store_view *v)
{
	uint32_t count = v->vt->view_count(v);
	for (; k != NULL; k = k->next) {
		search_seqsets_to_uids(k->child, v);
		if (k->op != SEARCH_SEQSET)
			continue;
		/* UIDs ascend with sequence numbers and new messages get higher UIDs, so the
		   messages lo..hi are exactly those with UIDs uid(lo)..uid(hi), for good */
		unsigned o = 0;
		for (unsigned i = 0; i < k->set.n; i++) {
			struct uimap_msg_info lo, hi;
			uint32_t last = k->set.r[i].hi < count ? k->set.r[i].hi : count;
			if (k->set.r[i].lo > last || v->vt->view_msg(v, k->set.r[i].lo, &lo) != 0 ||
			    v->vt->view_msg(v, last, &hi) != 0)
				continue;
			k->set.r[o++] = (struct seq_range){ lo.uid, hi.uid };
		}
		k->set.n = o;
		k->op = SEARCH_UIDSET;
	}
}
