/* libFuzzer harness for the whole command engine: an IMAP session (the real
   session, parser, command table, commands, store and MIME code) over an in-memory
   connection, with the memory store holding a few messages. Any bytes in: no crash,
   no leak, no sanitizer report, bounded memory.

   The first input byte steers the run: bit 0 logs in and selects INBOX first (so
   most inputs reach the selected state), bits 1-3 choose the size of the chunks the
   rest arrives in, bit 4 lets the client read nothing until the end (the output
   queue fills: back-pressure), bit 5 opens a second session that idles on INBOX
   and sees the first one's changes, bit 6 has that session ask for every NOTIFY
   event first (RFC 5465: pushes of the first one's changes to all mailboxes). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/common.h"
#include "core/config.h"
#include "core/log.h"
#include "auth/penalty.h"
#include "net/admit.h"
#include "imap/usercount.h"
#include "imap/cmd.h"
#include "imap/server.h"
#include "imap/session.h"
#include "net/conn.h"
#include "net/transport.h"
#include "uimap/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the connection layer, in memory ------------------------------------------ */

/* What the fake connection layer was asked for since the harness last looked. */
struct fake {
	struct conn conn;
	bool wake;          /* conn_wake_soon */
	uint64_t wake_at;   /* conn_wake_at (clock_ms() time, 0 = none) */
};

static const struct transport_vfuncs fake_plain = { .name = "fuzz", .secure = 0 };

void conn_mark_dirty(struct conn *c)
{
	(void)c;
}

/* no trusted proxy in the harness: an ID's x-originating-ip is ignored */
int admit_client_address(struct conn *c, const struct sockaddr_storage *real)
{
	(void)c;
	(void)real;
	return -1;
}

void conn_close(struct conn *c, bool flush)
{
	(void)flush;
	c->closing = true;
}

void conn_pause_recv(struct conn *c)
{
	c->recv_paused = true;
}

void conn_resume_recv(struct conn *c)
{
	c->recv_paused = false;
}

void conn_hold_output(struct conn *c, bool hold)
{
	c->out_held = hold;
}

void conn_wake_soon(struct conn *c)
{
	((struct fake *)c)->wake = true;
}

void conn_wake_at(struct conn *c, uint64_t when_ms)
{
	((struct fake *)c)->wake_at = when_ms;
}

void conn_idle_reset(struct conn *c)
{
	(void)c;
}

int conn_starttls(struct conn *c)
{
	(void)c;
	return -1;
}

bool conn_can_starttls(const struct conn *c)
{
	(void)c;
	return false;
}

void conn_check_free(struct conn *c)
{
	(void)c;
}

/* COMPRESS is refused here: the fuzzer's bytes are plaintext */
int conn_compress(struct conn *c)
{
	(void)c;
	return -ENOMEM;
}

void conn_compress_input(struct conn *c, const unsigned char *data, size_t len)
{
	(void)c;
	(void)data;
	(void)len;
}

void conn_set_authenticated(struct conn *c)
{
	(void)c;
}

/* ---- the server around the session ------------------------------------------- */

static struct uimap_server srv;
static struct logger logger;

static const char *const messages[] = {
	"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: plain\r\n"
	"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <1@example.org>\r\n\r\n"
	"Hello world\r\n",
	"From: =?UTF-8?B?w6lsw6g=?= <e@example.org>\r\nSubject: mixed\r\n"
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody text\r\n"
	"--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n"
	"--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n"
	"--b2\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	"PGI+aGk8L2I+\r\n--b2--\r\n--b1--\r\n",
	"Subject: flags\r\n\r\nthird\r\n",
};

static void setup(void)
{
	char path[] = "/tmp/fuzz-engine-passwd-XXXXXX";
	int fd = mkstemp(path);
	const char *line = "alice:{PLAIN}secret\n";
	const char *err;
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		abort();
	close(fd);
	srv.cfg = uimap_config_new();
	srv.cfg->allow_plaintext_auth = true;
	srv.cfg->login_delay_ms = 0;
	srv.cfg->login_timeout = 0;
	srv.cfg->auth_workers = 0;
	srv.cfg->log_level = UIMAP_LOG_ERROR;
	srv.cfg->max_literal = 1 << 20;
	/* COPY of a mailbox into itself doubles it; the quota is what bounds that (in
	 * production too). A small one keeps every input's time bounded: the campaign's one
	 * timeout (regressions/engine/self-copy-doubling-timeout) was 2^k self-copies under 1M. */
	srv.cfg->quota_messages = 4096;
	if (log_open(&logger, srv.cfg, &err) < 0)
		abort();
	log_use(&logger);
	srv.commands = cmd_registry_new();
	srv.penalty = auth_penalty_new();
	srv.users = usercount_new();
	srv.auth = &uimap_auth_passwd_file;
	srv.auth_ctx = uimap_auth_passwd_file_open(path, &err);
	unlink(path);
	if (srv.auth_ctx == NULL)
		abort();
}

static void fill_store(void)
{
	struct uimap_store_user *user;
	if (uimap_store_memory_new(NULL, &srv.store) < 0 ||
	    srv.store->vt->user_open(srv.store, "alice", &user) < 0)
		abort();
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		struct uimap_append msg = { .internaldate = 760000000 + (int64_t)i * 86400,
					    .system_flags = i == 2 ? UIMAP_FLAG_SEEN : 0 };
		struct uimap_append_result res;
		msg.blob = uimap_blob_new_copy(messages[i], strlen(messages[i]));
		if (user->vt->mailbox_append(user, "INBOX", &msg, &res) < 0)
			abort();
		uimap_blob_unref(&msg.blob);
	}
	uimap_store_user_close(&user);
}

static struct fake *open_session(void **s_r)
{
	struct fake *f = calloc(1, sizeof(*f));
	f->conn.fd = -1;
	f->conn.id = 1;
	strcpy(f->conn.addr, "192.0.2.1:1143");
	f->conn.tv = &fake_plain;
	*s_r = session_handler.create(&srv, &f->conn);
	f->conn.proto = *s_r;
	return f;
}

/* The client reads everything queued (FUZZ_ENGINE_TRACE=1: onto stderr). */
static void client_reads(struct fake *f)
{
	static int trace = -1;
	if (trace < 0)
		trace = getenv("FUZZ_ENGINE_TRACE") != NULL;
	while (trace && f->conn.out.bytes > 0) {
		struct iovec iov[16];
		int n = outq_iov(&f->conn.out, iov, 16);
		size_t done = 0;
		for (int i = 0; i < n; i++) {
			fwrite(iov[i].iov_base, 1, iov[i].iov_len, stderr);
			done += iov[i].iov_len;
		}
		outq_consume(&f->conn.out, done);
	}
	outq_clear(&f->conn.out);
}

/* Run what the session asked for: wake-ups (time slices, deadlines) and, when the
   client reads, output drained. Bounded: a session that keeps asking is a bug
   only if it never ends, which the fuzzer's timeout catches. */
static void settle(struct fake *f, void *s, bool reading)
{
	for (unsigned i = 0; i < 100000 && !f->conn.closing; i++) {
		bool progress = false;
		if (reading && f->conn.out.bytes > 0 && !f->conn.out_held) {
			client_reads(f);
			session_handler.drained(s);
			progress = true;
		}
		if (f->wake || (f->wake_at != 0 && clock_ms() >= f->wake_at)) {
			if (!f->wake)
				f->wake_at = 0;
			f->wake = false;
			session_handler.wake(s);
			progress = true;
		}
		if (!progress)
			break;
	}
}

static void close_session(struct fake *f, void *s)
{
	client_reads(f);
	session_handler.destroy(s);
	outq_clear(&f->conn.out);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	static const size_t chunks[] = { 1, 2, 3, 7, 16, 64, 512, SIZE_MAX };
	size_t chunk = chunks[(mode >> 1) & 7];
	bool reading = (mode & 16) == 0;
	data++;
	size--;

	fill_store();
	void *s, *s2 = NULL;
	struct fake *f = open_session(&s), *f2 = NULL;
	if (mode & 32) {
		f2 = open_session(&s2);
		static const char idle[] = "i LOGIN alice secret\r\ni2 SELECT INBOX\r\ni3 IDLE\r\n";
		static const char notify[] =
			"i LOGIN alice secret\r\ni2 SELECT INBOX\r\n"
			"i3 NOTIFY SET STATUS (SELECTED (MessageNew (UID FLAGS ENVELOPE "
			"BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge FlagChange)) "
			"(PERSONAL (MessageNew MessageExpunge FlagChange MailboxName "
			"SubscriptionChange))\r\n";
		if (mode & 64)
			session_handler.input(s2, (const unsigned char *)notify, sizeof(notify) - 1);
		else
			session_handler.input(s2, (const unsigned char *)idle, sizeof(idle) - 1);
		settle(f2, s2, true);
	}
	if (mode & 1) {
		static const char pre[] = "p LOGIN alice secret\r\np2 SELECT INBOX\r\n";
		session_handler.input(s, (const unsigned char *)pre, sizeof(pre) - 1);
		settle(f, s, true);
	}
	while (size > 0 && !f->conn.closing) {
		size_t n = size < chunk ? size : chunk;
		if (!f->conn.recv_paused)
			session_handler.input(s, data, n);
		else
			/* the connection stopped reading: what the client sent waits */
			reading = true;
		data += n;
		size -= n;
		settle(f, s, reading);
		if (f2 != NULL)
			settle(f2, s2, true);
	}
	settle(f, s, true);
	if (f2 != NULL) {
		settle(f2, s2, true);
		close_session(f2, s2);
	}
	close_session(f, s);
	uimap_store_free(&srv.store);
	return 0;
}
