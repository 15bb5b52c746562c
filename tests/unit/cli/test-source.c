/* Export destinations read back as import sources: every byte, flag, keyword, date and
   UID comes back (mbox and Maildir), and UIDs follow Dovecot's rules where the
   source lacks some. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/source.h"
#include "uimap/store.h"

/* A new directory; its name lives until the next call (each test runs in its own
   process, so nothing is freed or leaked). */
static char *tmpdir(void)
{
	static char d[32];

	snprintf(d, sizeof(d), "/tmp/uimap-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(d));
	return d;
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

struct sample {
	const char *text;
	unsigned flags;
	const char *keyword;
	int64_t date;
	uint32_t uid;
};

static const struct sample samples[] = {
	{ "Subject: one\r\n\r\nFrom the start of a line\r\n>From quoted\r\n", UIMAP_FLAG_SEEN,
	  NULL, 1000000000, 3 },
	{ "Subject: no final newline\r\n\r\nend", 0, "$Label1", 1100000000, 4 },
	{ "Status: RO\r\nSubject: a Status header of its own is taken\r\n\r\n\r\n\r\n",
	  UIMAP_FLAG_FLAGGED | UIMAP_FLAG_ANSWERED | UIMAP_FLAG_DRAFT | UIMAP_FLAG_DELETED,
	  "Junk", 1200000000, 10 },
	{ "", 0, NULL, 1300000000, 11 },
	{ "no header at all\r\n>>From x\r\n", UIMAP_FLAG_SEEN, "$Label1", 1400000000, 4000000000u },
};
#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static void write_samples(const char *path, bool maildir)
{
	struct sink *s;
	char err[512];

	cr_assert_eq(sink_open(&s, path, maildir, 777, 4000000005u, err, sizeof(err)), 0, "%s",
		     err);
	for (size_t i = 0; i < N_SAMPLES; i++) {
		struct msg m = { .data = (char *)samples[i].text, .len = strlen(samples[i].text),
				 .flags = samples[i].flags, .date = samples[i].date,
				 .uid = samples[i].uid };
		char *kw = (char *)samples[i].keyword;

		if (kw != NULL) {
			m.keywords = &kw;
			m.n_keywords = 1;
		}
		cr_assert_eq(sink_put(s, &m, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert_eq(sink_close(&s, NULL, err, sizeof(err)), 0, "%s", err);
}

static void check_samples(const char *path, bool maildir)
{
	struct source src;
	struct msg m = { 0 };
	char err[512];

	cr_assert_eq(source_open(path, &src, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(src.maildir, maildir);
	cr_assert_eq(src.n, N_SAMPLES);
	cr_assert_eq(src.uidvalidity, 777);
	cr_assert_eq(src.uidnext, 4000000005u);
	cr_assert_eq(src.renumbered, 0);
	for (size_t i = 0; i < N_SAMPLES; i++) {
		const struct sample *s = &samples[i];
		const char *want = s->text;

		cr_assert_eq(source_read(&src, i, &m, err, sizeof(err)), 0, "%s", err);
		unsigned flags = s->flags;

		if (!maildir && i == 2) {
			/* mbox metadata, as Dovecot reads it: the header is taken out and
			   its R is read as \Seen */
			want += strlen("Status: RO\r\n");
			flags |= UIMAP_FLAG_SEEN;
		}
		cr_assert_eq(m.len, strlen(want), "message %zu: %zu bytes", i, m.len);
		cr_assert_eq(memcmp(m.data, want, m.len), 0, "message %zu: %.*s", i, (int)m.len,
			     m.data);
		cr_assert_eq(m.flags, flags, "message %zu", i);
		cr_assert_eq(m.date, s->date, "message %zu", i);
		cr_assert_eq(m.uid, s->uid, "message %zu", i);
		cr_assert_eq(m.n_keywords, s->keyword != NULL ? 1u : 0u, "message %zu", i);
		if (s->keyword != NULL)
			cr_assert_str_eq(m.keywords[0], s->keyword);
	}
	msg_clear(&m);
	source_close(&src);
}

Test(source, maildir_round_trip)
{
	char *dir = tmpdir(), path[512];

	snprintf(path, sizeof(path), "%s/a/b/Maildir", dir);
	write_samples(path, true);
	check_samples(path, true);
	/* an export never writes into a Maildir with messages */
	struct sink *s;
	char err[256];

	cr_assert_eq(sink_open(&s, path, true, 1, 1, err, sizeof(err)), -1);
	cr_assert_neq(strstr(err, "holds messages"), NULL, "%s", err);
}

Test(source, mbox_round_trip)
{
	char *dir = tmpdir(), path[512];
	struct sink *s;
	char err[256];

	snprintf(path, sizeof(path), "%s/box.mbox", dir);
	write_samples(path, false);
	check_samples(path, false);
	cr_assert_eq(sink_open(&s, path, false, 1, 1, err, sizeof(err)), -1, "never overwritten");
}

Test(source, mbox_uids_as_dovecot_reads_them)
{
	char *dir = tmpdir(), path[512];
	struct source src;
	char err[256];

	snprintf(path, sizeof(path), "%s/in.mbox", dir);
	/* X-UIDs 5, (none), 3 (not growing), 9; X-IMAPbase's last UID 6 */
	put_file(path, "From a Mon Jan  2 10:00:00 2023\nX-IMAPbase: 42 6\nX-UID: 5\n\nx\n\n"
		       "From b Mon Jan  2 10:00:00 2023\nSubject: none\n\ny\n\n"
		       "From c Mon Jan  2 10:00:00 2023\nX-UID: 3\n\nz\n\n"
		       "From d Mon Jan  2 10:00:00 2023\nX-UID: 9\n\nw\n");
	cr_assert_eq(source_open(path, &src, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(src.n, 4);
	cr_assert_eq(src.uidvalidity, 42);
	cr_assert_eq(src.items[0].uid, 5);
	cr_assert_eq(src.items[1].uid, 7);
	cr_assert_eq(src.items[2].uid, 8);
	cr_assert_eq(src.items[3].uid, 9);
	cr_assert_eq(src.uidnext, 10);
	cr_assert_eq(src.renumbered, 2);
	source_close(&src);

	/* without X-IMAPbase there are no UIDs; a UW-IMAP pseudo message is skipped */
	snprintf(path, sizeof(path), "%s/uw.mbox", dir);
	put_file(path, "From MAILER-DAEMON Mon Jan  2 10:00:00 2023\nSubject: DON'T DELETE THIS "
		       "MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 77 0000000020\n\ninternal\n\n"
		       "From a Mon Jan  2 10:00:00 2023\nX-UID: 12\n\nreal\n");
	cr_assert_eq(source_open(path, &src, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(src.n, 1);
	cr_assert_eq(src.uidvalidity, 77);
	cr_assert_eq(src.items[0].uid, 12);
	cr_assert_eq(src.uidnext, 21);
	source_close(&src);

	snprintf(path, sizeof(path), "%s/bad.mbox", dir);
	put_file(path, "Subject: no From line\n\nx\n");
	cr_assert_eq(source_open(path, &src, err, sizeof(err)), -1);
	cr_assert_neq(strstr(err, "not an mbox"), NULL, "%s", err);
}

Test(source, maildir_unlisted_files_numbered_on)
{
	char *dir = tmpdir(), path[512];
	struct source src;
	char err[256];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, i == 0 ? "cur" : i == 1 ? "new" : "tmp");
		cr_assert_eq(mkdir(path, 0700), 0);
	}
	snprintf(path, sizeof(path), "%s/cur/1.a.host:2,S", dir);
	put_file(path, "a\n");
	snprintf(path, sizeof(path), "%s/cur/2.b.host:2,", dir);
	put_file(path, "b\n");
	snprintf(path, sizeof(path), "%s/new/0.c.host", dir);
	put_file(path, "c\n");
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", dir);
	put_file(path, "3 V99 N40\n30 :2.b.host\n31 :gone.host\n");
	cr_assert_eq(source_open(dir, &src, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(src.n, 3);
	cr_assert_eq(src.uidvalidity, 99);
	/* the listed one first, then the others in name order (cur/ before new/) */
	cr_assert_str_eq(src.items[0].name, "cur/2.b.host:2,");
	cr_assert_eq(src.items[0].uid, 30);
	cr_assert_str_eq(src.items[1].name, "cur/1.a.host:2,S");
	cr_assert_eq(src.items[1].uid, 40);
	cr_assert_eq(src.items[2].uid, 41);
	cr_assert_eq(src.uidnext, 42);
	cr_assert_eq(src.renumbered, 2);
	source_close(&src);

	snprintf(path, sizeof(path), "%s/dovecot-uidlist", dir);
	put_file(path, "3 V99 N40\n30 :x\n20 :y\n");
	cr_assert_eq(source_open(dir, &src, err, sizeof(err)), -1);
	cr_assert_neq(strstr(err, "dovecot-uidlist: line 3"), NULL, "%s", err);
}

/* An empty mailbox keeps its UIDVALIDITY and UIDNEXT: a dovecot-uidlist with its
   header only, an mbox with UW-IMAP's pseudo message (not a message when read). */
Test(source, empty_mailbox_keeps_uidvalidity)
{
	char *dir = tmpdir(), path[512], err[256];
	struct sink *s;
	struct source src;

	for (int maildir = 0; maildir < 2; maildir++) {
		snprintf(path, sizeof(path), "%s/empty-%d", dir, maildir);
		cr_assert_eq(sink_open(&s, path, maildir, 31337, 900, err, sizeof(err)), 0, "%s",
			     err);
		cr_assert_eq(sink_close(&s, NULL, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(source_open(path, &src, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(src.n, 0);
		cr_assert_eq(src.uidvalidity, 31337);
		cr_assert_eq(src.uidnext, 900);
		source_close(&src);
	}
	snprintf(path, sizeof(path), "%s/zero.mbox", dir);
	put_file(path, "");
	cr_assert_eq(source_open(path, &src, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(src.n, 0);
	cr_assert_eq(src.uidvalidity, 0);
	source_close(&src);
}
