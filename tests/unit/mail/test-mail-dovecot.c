/* Differential test: uimap's BODYSTRUCTURE, BODY, ENVELOPE and BODY[section] against
   Dovecot 2.3's answers saved by make-fixtures.py (fixtures/expected/NAME.txt).
   Deliberate differences are in fixtures/expected/NAME.uimap.txt (same format), whose
   records replace Dovecot's. */
#include "mail-test.h"

#include "mail/bodystructure.h"
#include "mail/envelope.h"
#include "mail/mime.h"
#include "mail/section.h"
#include "core/arena.h"

struct record {
	char name[256];
	const char *value;  /* NULL for NIL */
	size_t len;
};

/* Parse "ITEM name len\r\nbytes\r\n" / "ITEM name NIL\r\n" records. */
static size_t parse_records(const char *buf, size_t len, struct record *recs, size_t max)
{
	size_t n = 0, pos = 0;

	while (pos < len && n < max) {
		const char *line = buf + pos;
		const char *eol = memmem(line, len - pos, "\r\n", 2);

		cr_assert_not_null(eol);
		cr_assert(strncmp(line, "ITEM ", 5) == 0);
		const char *sp = eol;

		while (sp > line && sp[-1] != ' ')
			sp--;
		size_t nlen = (size_t)(sp - 1 - (line + 5));

		cr_assert(nlen < sizeof(recs[n].name));
		memcpy(recs[n].name, line + 5, nlen);
		recs[n].name[nlen] = '\0';
		pos = (size_t)(eol - buf) + 2;
		if (strncmp(sp, "NIL", 3) == 0) {
			recs[n].value = NULL;
			recs[n].len = 0;
		} else {
			recs[n].len = strtoul(sp, NULL, 10);
			recs[n].value = buf + pos;
			pos += recs[n].len + 2;
		}
		n++;
	}
	return n;
}

static const struct record *find_record(const struct record *recs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(recs[i].name, name) == 0)
			return &recs[i];
	return NULL;
}

static size_t failures;

static void compare(const char *msg, const char *item, const char *got, size_t got_len,
		    const struct record *want)
{
	bool same = want->value != NULL && got_len == want->len &&
		    memcmp(got, want->value, got_len) == 0;

	if (!same) {
		failures++;
		cr_log_error("%s %s:\n  uimap:   %.*s\n  dovecot: %.*s", msg, item, (int)got_len,
			     got, want->value ? (int)want->len : 3,
			     want->value ? want->value : "NIL");
	}
}

static void check_message(const char *name)
{
	char path[512];
	size_t mlen, elen, olen = 0;
	struct record recs[64], overrides[64];
	size_t n, n_over = 0;

	snprintf(path, sizeof(path), "%s/%s.eml", MAIL_FIXTURES_DIR, name);
	char *msg = file_read(path, &mlen);

	snprintf(path, sizeof(path), "%s/expected/%s.txt", MAIL_FIXTURES_DIR, name);
	char *exp = file_read(path, &elen);

	cr_assert_not_null(msg, "%s", name);
	cr_assert_not_null(exp, "expected output for %s", name);
	n = parse_records(exp, elen, recs, 64);
	snprintf(path, sizeof(path), "%s/expected/%s.uimap.txt", MAIL_FIXTURES_DIR, name);
	char *over = file_read(path, &olen);

	if (over != NULL)
		n_over = parse_records(over, olen, overrides, 64);

	struct mail_structure *s = mail_structure_parse(msg, mlen);

	cr_assert_not_null(s, "%s parses", name);
	struct arena arena;

	arena_init(&arena, 4096);
	for (size_t i = 0; i < n; i++) {
		const struct record *want = find_record(overrides, n_over, recs[i].name);
		struct outq q = { 0 };
		char *got;
		size_t got_len;

		if (want == NULL)
			want = &recs[i];
		if (strcmp(recs[i].name, "BODYSTRUCTURE") == 0 || strcmp(recs[i].name, "BODY") == 0) {
			mail_bodystructure_write(&q, msg, s, 0, recs[i].name[4] == 'S');
			got = outq_take(&q, &got_len);
			compare(name, recs[i].name, got, got_len, want);
			free(got);
			continue;
		}
		if (strcmp(recs[i].name, "ENVELOPE") == 0) {
			mail_envelope_write(&q, msg, s, 0);
			got = outq_take(&q, &got_len);
			compare(name, recs[i].name, got, got_len, want);
			free(got);
			continue;
		}
		/* [section] */
		struct mail_section sec;
		struct mail_section_result res;
		const char *error;
		size_t slen = strlen(recs[i].name);

		cr_assert_eq(mail_section_parse(recs[i].name + 1, slen - 2, &sec, &error), 1,
			     "%s: %s", recs[i].name, error);
		mail_section_resolve(s, &sec, &res);
		switch (res.kind) {
		case MAIL_SECTION_EMPTY:
			compare(name, recs[i].name, "", 0, want);
			break;
		case MAIL_SECTION_SLICE:
			cr_assert_leq((uint64_t)res.off + res.len, mlen);
			compare(name, recs[i].name, msg + res.off, res.len, want);
			break;
		case MAIL_SECTION_FILTER: {
			size_t flen;
			char *f = mail_section_filter(&arena, msg, &res, &sec, &flen);

			compare(name, recs[i].name, f, flen, want);
			break;
		}
		}
	}
	arena_free(&arena);
	mail_structure_free(&s);
	free(msg);
	free(exp);
	free(over);
}

static void fini(void)
{
	outq_cache_free();
}

Test(dovecot, fixtures_match, .fini = fini)
{
	size_t n;
	char **names = fixture_names(&n);

	cr_assert_gt(n, 40, "fixture messages present");
	for (size_t i = 0; i < n; i++) {
		check_message(names[i]);
		free(names[i]);
	}
	free(names);
	cr_assert_eq(failures, 0, "%zu items differ from Dovecot (see the log)", failures);
}
