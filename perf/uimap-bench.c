/* uimap-bench: an IMAP load generator for uimapd (and any IMAP server).
 *
 * One or more threads, each with its own epoll loop, drive N client
 * connections (spread over 127.0.0.2.. source addresses when N is large).
 * Every connection logs in and runs a named scenario for a fixed time or a
 * fixed number of operations.  Latencies are kept per command type in
 * log-linear histograms (~1.5% precision) and reported as p50/p90/p99/p99.9/max,
 * next to the throughput and the server's memory (VmRSS and PSS of --pid and
 * its children, read from /proc) before, after setup and after the run.
 *
 * Output: a human-readable table on stdout, then one JSON line starting with
 * '{' (also written to --json-out FILE) for perf/compare.sh.
 *
 * TLS (--tls: implicit, --starttls): a wolfSSL client on the same non-blocking
 * sockets and epoll loop (WANT_READ/WANT_WRITE drive the epoll events); the
 * certificate is not verified.  --tls-resume reuses each connection's last
 * session (ticket) when it reconnects (login scenario).
 *
 * Exit status: 0 ok, 1 error (no operation completed, connections failed,
 * TLS handshakes failed), 2 usage, 3 the scenario's commands are unsupported
 * by the server (BAD).
 */
#ifdef BENCH_HAVE_WOLFSSL
#define WOLFSSL_OPTIONS_IGNORE_SYS /* keep our own _FORTIFY_SOURCE */
#include <wolfssl/options.h>      /* first: the library's build configuration */
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* ------------------------------------------------------------------------ */
/* histogram: values in nanoseconds, 64 sub-buckets per power of two         */

#define H_SUB_BITS 7
#define H_HALF (1u << (H_SUB_BITS - 1))  /* 64 */
#define H_MAX_EXP 44                     /* up to ~4.9 hours */
#define H_BUCKETS ((H_MAX_EXP - H_SUB_BITS + 2) * H_HALF + H_HALF)

struct hist {
	uint64_t count;
	uint64_t errors;  /* tagged NO */
	uint64_t bad;     /* tagged BAD */
	uint64_t max;
	uint64_t min;
	double sum;
	uint32_t b[H_BUCKETS];
};

static unsigned h_index(uint64_t v)
{
	if (v < 2 * H_HALF)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	if (msb > H_MAX_EXP) {
		msb = H_MAX_EXP;
		v = (1ull << (H_MAX_EXP + 1)) - 1;
	}
	unsigned shift = msb - (H_SUB_BITS - 1);
	return (shift + 1) * H_HALF + (unsigned)((v >> shift) - H_HALF);
}

static uint64_t h_value(unsigned idx)  /* middle of the bucket */
{
	if (idx < 2 * H_HALF)
		return idx;
	unsigned shift = idx / H_HALF - 1;
	uint64_t lo = ((uint64_t)(idx % H_HALF) + H_HALF) << shift;
	return lo + ((1ull << shift) >> 1);
}

static void h_record(struct hist *h, uint64_t v)
{
	h->b[h_index(v)]++;
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += (double)v;
}

static void h_merge(struct hist *dst, const struct hist *src)
{
	if (src->count && (dst->count == 0 || src->min < dst->min))
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->errors += src->errors;
	dst->bad += src->bad;
	dst->sum += src->sum;
	for (unsigned i = 0; i < H_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

static uint64_t h_pct(const struct hist *h, double p)
{
	if (h->count == 0)
		return 0;
	uint64_t want = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (want < 1)
		want = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = h_value(i);
			return v > h->max ? h->max : v < h->min ? h->min : v;
		}
	}
	return h->max;
}

/* ------------------------------------------------------------------------ */
/* command kinds and scenarios                                               */

enum kind {
	K_NOOP, K_CONNECT, K_LOGIN, K_LOGOUT, K_SESSION,
	K_FETCH_FLAGS, K_FETCH_ENVELOPE, K_FETCH_BODY, K_APPEND, K_SELECT,
	K_SEARCH, K_STATUS, K_LIST, K_IDLE_WAKE, K_FANOUT, K_ALL,
	K_HANDSHAKE, K_STARTTLS,
	K_SETUP,  /* not reported */
	K_COUNT
};

static const char *const kind_name[K_COUNT] = {
	"NOOP", "connect", "LOGIN", "LOGOUT", "session",
	"FETCH-FLAGS", "FETCH-ENVELOPE", "FETCH-BODY", "APPEND", "SELECT",
	"SEARCH", "STATUS", "LIST", "idle-wake", "fanout", "all",
	"TLS-handshake", "STARTTLS",
	"setup",
};

enum scen {
	S_NOOP, S_LOGIN, S_FETCH_SMALL, S_FETCH_BODY, S_APPEND, S_SELECT_LARGE,
	S_SEARCH, S_IDLE_HOLD, S_MIXED, S_POPULATE,
};

static const struct {
	const char *name;
	enum kind primary;
	const char *help;
} scen_info[] = {
	[S_NOOP] = {"noop", K_NOOP, "NOOP ping-pong, --depth commands in flight per connection"},
	[S_LOGIN] = {"login", K_SESSION, "connect, greeting, LOGIN, LOGOUT, close; repeat"},
	[S_FETCH_SMALL] = {"fetch-small", K_ALL, "FETCH n FLAGS / FETCH n ENVELOPE of random messages"},
	[S_FETCH_BODY] = {"fetch-body", K_FETCH_BODY, "FETCH n BODY.PEEK[] of random messages (--msg-size)"},
	[S_APPEND] = {"append", K_APPEND, "APPEND --msg-size messages to --mailbox"},
	[S_SELECT_LARGE] = {"select-large", K_SELECT, "SELECT of a mailbox with many messages (--populate)"},
	[S_SEARCH] = {"search", K_SEARCH, "SEARCH UNSEEN / FROM / SUBJECT / BODY / SINCE"},
	[S_IDLE_HOLD] = {"idle-hold", K_FANOUT, "N idlers, one APPEND per round, fan-out latency"},
	[S_MIXED] = {"mixed", K_ALL, "weighted mix: NOOP FETCH STATUS LIST SEARCH APPEND"},
	[S_POPULATE] = {"populate", K_APPEND, "only append --populate messages to --mailbox and exit"},
};
#define N_SCEN (sizeof scen_info / sizeof scen_info[0])

/* ------------------------------------------------------------------------ */
/* options                                                                   */

static struct {
	const char *host;
	int port;
	const char *user, *pass;
	enum scen scen;
	int conns;
	int threads;
	int depth;
	double duration;
	double warmup;
	long long count;
	int msg_size;
	const char *mailbox;
	long populate;
	int sources;
	const char *src_base;
	pid_t pids[8];
	int n_pids;
	const char *label;
	const char *json_out;
	double round_timeout;
	double idle_gap;
	double setup_timeout;
	unsigned seed;
	int tls;              /* enum tls_mode */
	bool tls_resume;
	int tls_version;      /* 0: 1.2 or 1.3; 12; 13 */
	const char *tls_ciphers;
	const char *tls_groups;
	bool quiet;
} opt = {
	.host = "127.0.0.1", .port = 1430, .user = "bench", .pass = "bench",
	.scen = S_NOOP, .conns = 16, .threads = 1, .depth = 1, .duration = 5,
	.warmup = 0.5, .msg_size = 2048, .mailbox = "INBOX", .sources = 0,
	.src_base = "127.0.0.2", .round_timeout = 5, .idle_gap = 0.05,
	.setup_timeout = 60, .seed = 42,
};

enum tls_mode { TLS_OFF, TLS_IMPLICIT, TLS_STARTTLS };

static struct sockaddr_in target_addr;
static uint32_t src_base_ip; /* host order */

/* ------------------------------------------------------------------------ */
/* time, global run state                                                    */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

enum phase { PH_SETUP, PH_RUN, PH_STOP, PH_QUIT };

static _Atomic int g_phase = PH_SETUP;
static _Atomic int g_recording;
static atomic_llong g_ops;        /* primary operations completed while recording */
static atomic_llong g_issued;     /* --count: operations started */
static atomic_int g_ready;        /* connections that finished setup */
static atomic_int g_failed;       /* connections that failed for good */
static atomic_int g_unsupported[K_COUNT];
static atomic_llong g_conn_errors;
static char g_first_error[256];
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;

/* idle-hold rounds */
static atomic_uint_fast64_t g_round_start;
static atomic_int g_round;        /* current round number, 1-based */
static atomic_int g_woken;        /* idlers that saw this round's EXISTS */
static int g_n_idlers;
static int g_wake_efd = -1;

static void note_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note_error(const char *fmt, ...)
{
	atomic_fetch_add(&g_conn_errors, 1);
	pthread_mutex_lock(&g_err_lock);
	if (!g_first_error[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(g_first_error, sizeof g_first_error, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&g_err_lock);
}

static bool primary_unsupported(void)
{
	switch (opt.scen) {
	case S_FETCH_SMALL:
		return g_unsupported[K_FETCH_FLAGS] && g_unsupported[K_FETCH_ENVELOPE];
	case S_MIXED:
		return false;
	default:
		return g_unsupported[scen_info[opt.scen].primary] != 0;
	}
}

/* ------------------------------------------------------------------------ */
/* messages: deterministic, so every server gets the same data               */

static const char *const names[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"};

static char *make_message(unsigned i, int size, int *len_out)
{
	char hdr[1024];
	int h = snprintf(hdr, sizeof hdr,
		"From: %s <%s@example.org>\r\n"
		"To: %s <%s@example.org>\r\n"
		"Subject: %s message %u about things\r\n"
		"Date: %02u Mar 2023 %02u:%02u:00 +0000\r\n"
		"Message-ID: <bench-%u@example.org>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"\r\n",
		names[i % 8], names[i % 8], names[(i + 3) % 8], names[(i + 3) % 8],
		i % 10 == 0 ? "needle" : "bench", i, 1 + i % 28, i % 24, i % 60, i);
	int total = size > h + 2 ? size : h + 2;
	char *m = malloc((size_t)total + 1);
	if (!m)
		abort();
	memcpy(m, hdr, (size_t)h);
	static const char words[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
		"eiusmod tempor incididunt ut labore et dolore magna aliqua haystack ";
	int p = h, col = 0;
	unsigned w = i * 7;
	while (p < total - 2) {
		if (col >= 72) {
			m[p++] = '\r';
			if (p < total - 2)
				m[p++] = '\n';
			col = 0;
			continue;
		}
		char ch = words[w++ % (sizeof words - 1)];
		m[p++] = ch;
		col++;
	}
	m[total - 2] = '\r';
	m[total - 1] = '\n';
	/* a bare CR right before the final CRLF would be malformed; fix it */
	for (int k = h; k < total - 2; k++)
		if (m[k] == '\r' && m[k + 1] != '\n')
			m[k] = ' ';
	m[total] = 0;
	*len_out = total;
	return m;
}

/* ------------------------------------------------------------------------ */
/* connections                                                               */

enum cstate {
	C_CONNECTING, C_HANDSHAKE, C_GREETING, C_STARTTLS, C_LOGIN, C_SETUP, C_READY,
	C_RUN, C_IDLING, C_LOGOUT, C_DEAD,
};

#ifndef BENCH_HAVE_WOLFSSL
typedef struct bench_no_tls WOLFSSL;
typedef struct bench_no_tls WOLFSSL_SESSION;
#endif

/* the socket as wolfSSL's I/O callbacks see it */
struct tlsio {
	int fd;
	bool eof;                  /* the server closed the connection */
	bool reset;
	int nfirst;                /* the server's first bytes, to explain a failure */
	unsigned char first[32];
};

#define MAX_DEPTH 256

struct pending {
	uint64_t t0;
	uint32_t tag;
	uint8_t kind;
};

struct thread;

struct conn {
	int fd;
	int id;
	bool writer;          /* idle-hold: the connection that APPENDs */
	enum cstate st;
	struct thread *t;
	char *rbuf;
	size_t rlen, rcap, scan; /* scan: where the CRLF search resumes */
	char *wbuf;
	size_t wlen, woff, wcap;
	bool want_out;
	uint32_t next_tag;
	struct pending q[MAX_DEPTH];
	unsigned qhead, qn;
	int setup_step;
	uint32_t exists;
	uint32_t idle_base;
	bool literal_plus;
	const char *sync_lit;   /* waiting for '+' to send this literal */
	int sync_lit_len;
	uint64_t t_conn, t_cycle;
	unsigned rnd;
	unsigned search_i;
	bool logged_out;
	bool setup_tolerant;  /* the setup command may fail (CREATE) */
	unsigned gen;         /* bumped when the socket is replaced */
	/* TLS */
	WOLFSSL *ssl;         /* NULL: plaintext */
	WOLFSSL_SESSION *sess; /* --tls-resume: the last session of this connection */
	struct tlsio io;
	bool tls_up;          /* handshake done */
	bool tls_bad;         /* fatal TLS error: no close_notify */
	bool tls_wwant;       /* wolfSSL has ciphertext waiting for EPOLLOUT */
	uint64_t t_hs;        /* handshake start */
};

struct thread {
	int idx;
	pthread_t th;
	int ep;
	struct conn **conns;
	int n_conns;
	struct hist *h[K_COUNT];
	bool kicked;
	/* idle-hold writer state (thread 0) */
	struct conn *writer;
	uint64_t next_round_at;
	bool round_open;
	uint64_t round_deadline;
	long long rounds_timed_out;
	long long append_i;
	uint64_t rx_bytes;    /* plaintext received while recording */
};

static struct thread *threads;
static char *append_msg;
static int append_len;

static unsigned xrand(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void rec(struct thread *t, enum kind k, uint64_t ns)
{
	if (!t->h[k]) {
		t->h[k] = calloc(1, sizeof(struct hist));
		if (!t->h[k])
			abort();
	}
	h_record(t->h[k], ns);
}

static struct hist *hist_of(struct thread *t, enum kind k)
{
	if (!t->h[k]) {
		t->h[k] = calloc(1, sizeof(struct hist));
		if (!t->h[k])
			abort();
	}
	return t->h[k];
}

static void conn_update_events(struct conn *c)
{
	bool want = c->st == C_CONNECTING || c->wlen > c->woff || c->tls_wwant;
	if (want == c->want_out)
		return;
	c->want_out = want;
	struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(c->t->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void wbuf_put(struct conn *c, const char *p, size_t n)
{
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
	if (c->wlen + n > c->wcap) {
		if (c->woff > 0) {
			memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
			c->wlen -= c->woff;
			c->woff = 0;
		}
		size_t cap = c->wcap ? c->wcap : 4096;
		while (cap < c->wlen + n)
			cap *= 2;
		if (cap != c->wcap) {
			c->wbuf = realloc(c->wbuf, cap);
			if (!c->wbuf)
				abort();
			c->wcap = cap;
		}
	}
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
}

static void conn_kill(struct conn *c, const char *why);
static void on_readable(struct conn *c);

/* ------------------------------------------------------------------------ */
/* TLS (wolfSSL).  wolfSSL reads and writes the non-blocking socket through   */
/* the callbacks below; WANT_READ / WANT_WRITE become epoll interest.         */

static atomic_llong g_tls_ok;          /* handshakes completed */
static atomic_llong g_tls_failed;      /* handshakes failed */
static atomic_llong g_tls_full_rec;    /* while recording: full handshakes */
static atomic_llong g_tls_resumed_rec; /* while recording: resumed sessions */
static _Atomic int g_tls_info_set;
static char g_tls_version[32], g_tls_cipher[96], g_tls_group[32];

static const char *tls_mode_name(void)
{
	return opt.tls == TLS_IMPLICIT ? "implicit" : opt.tls == TLS_STARTTLS ? "starttls" : "off";
}

/* why a handshake failed, in words: a plaintext server, a close, wolfSSL's error */
static void tls_explain(const struct tlsio *io, int err, char *buf, size_t n);

#ifdef BENCH_HAVE_WOLFSSL
static WOLFSSL_CTX *g_tls_ctx;

static int tio_recv(WOLFSSL *ssl, char *buf, int sz, void *vctx)
{
	(void)ssl;
	struct tlsio *io = vctx;
	for (;;) {
		ssize_t n = recv(io->fd, buf, (size_t)sz, 0);
		if (n > 0) {
			if (io->nfirst < (int)sizeof io->first) {
				size_t k = sizeof io->first - (size_t)io->nfirst;
				if (k > (size_t)n)
					k = (size_t)n;
				memcpy(io->first + io->nfirst, buf, k);
				io->nfirst += (int)k;
			}
			return (int)n;
		}
		if (n == 0) {
			io->eof = true;
			return WOLFSSL_CBIO_ERR_CONN_CLOSE;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return WOLFSSL_CBIO_ERR_WANT_READ; /* populate: SO_RCVTIMEO */
		if (errno == ECONNRESET) {
			io->reset = true;
			return WOLFSSL_CBIO_ERR_CONN_RST;
		}
		return WOLFSSL_CBIO_ERR_GENERAL;
	}
}

static int tio_send(WOLFSSL *ssl, char *buf, int sz, void *vctx)
{
	(void)ssl;
	struct tlsio *io = vctx;
	for (;;) {
		ssize_t n = send(io->fd, buf, (size_t)sz, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return WOLFSSL_CBIO_ERR_WANT_WRITE;
		if (errno == ECONNRESET) {
			io->reset = true;
			return WOLFSSL_CBIO_ERR_CONN_RST;
		}
		if (errno == EPIPE) {
			io->eof = true;
			return WOLFSSL_CBIO_ERR_CONN_CLOSE;
		}
		return WOLFSSL_CBIO_ERR_GENERAL;
	}
}

static int tls_init(void)
{
	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		fprintf(stderr, "uimap-bench: wolfSSL_Init failed\n");
		return -1;
	}
	WOLFSSL_METHOD *m;
	if (opt.tls_version == 12)
		m = wolfTLSv1_2_client_method();
#ifdef WOLFSSL_TLS13
	else if (opt.tls_version == 13)
		m = wolfTLSv1_3_client_method();
#endif
	else if (opt.tls_version == 0)
		m = wolfSSLv23_client_method();
	else {
		fprintf(stderr, "uimap-bench: this wolfSSL has no TLS 1.3\n");
		return -1;
	}
	g_tls_ctx = wolfSSL_CTX_new(m);
	if (!g_tls_ctx) {
		fprintf(stderr, "uimap-bench: wolfSSL_CTX_new failed\n");
		return -1;
	}
	if (opt.tls_version == 0)
		wolfSSL_CTX_SetMinVersion(g_tls_ctx, WOLFSSL_TLSV1_2);
	/* self-signed test certificates: no verification */
	wolfSSL_CTX_set_verify(g_tls_ctx, WOLFSSL_VERIFY_NONE, NULL);
	if (opt.tls_ciphers && wolfSSL_CTX_set_cipher_list(g_tls_ctx, opt.tls_ciphers) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "uimap-bench: --tls-ciphers %s: not accepted by wolfSSL\n", opt.tls_ciphers);
		return -1;
	}
	if (opt.tls_groups) {
#ifdef WOLFSSL_TLS13
		/* the first group is the one the TLS 1.3 ClientHello sends a key share for */
		static const struct { const char *name; int id; } gnames[] = {
			{"X25519", WOLFSSL_ECC_X25519}, {"X448", WOLFSSL_ECC_X448},
			{"P-256", WOLFSSL_ECC_SECP256R1}, {"P-384", WOLFSSL_ECC_SECP384R1},
			{"P-521", WOLFSSL_ECC_SECP521R1},
		};
		int groups[8], ng = 0;
		char list[128];
		snprintf(list, sizeof list, "%s", opt.tls_groups);
		for (char *save = NULL, *g = strtok_r(list, ":,", &save); g; g = strtok_r(NULL, ":,", &save)) {
			unsigned i;
			for (i = 0; i < sizeof gnames / sizeof gnames[0]; i++)
				if (strcasecmp(g, gnames[i].name) == 0)
					break;
			if (i == sizeof gnames / sizeof gnames[0] || ng == 8) {
				fprintf(stderr, "uimap-bench: --tls-groups: unknown group %s (X25519 X448 P-256 P-384 P-521)\n", g);
				return -1;
			}
			groups[ng++] = gnames[i].id;
		}
		if (ng == 0 || wolfSSL_CTX_set_groups(g_tls_ctx, groups, ng) != WOLFSSL_SUCCESS) {
			fprintf(stderr, "uimap-bench: --tls-groups %s: not accepted by wolfSSL\n", opt.tls_groups);
			return -1;
		}
#else
		fprintf(stderr, "uimap-bench: --tls-groups needs TLS 1.3 support in wolfSSL\n");
		return -1;
#endif
	}
#ifdef HAVE_SESSION_TICKET
	if (opt.tls_resume)
		wolfSSL_CTX_UseSessionTicket(g_tls_ctx); /* TLS 1.2 tickets; TLS 1.3 has them anyway */
#endif
	wolfSSL_CTX_SetIORecv(g_tls_ctx, tio_recv);
	wolfSSL_CTX_SetIOSend(g_tls_ctx, tio_send);
	return 0;
}

static WOLFSSL *tls_new(struct tlsio *io, WOLFSSL_SESSION *sess)
{
	WOLFSSL *ssl = wolfSSL_new(g_tls_ctx);
	if (!ssl)
		return NULL;
	wolfSSL_SetIOReadCtx(ssl, io);
	wolfSSL_SetIOWriteCtx(ssl, io);
	if (sess)
		wolfSSL_set_session(ssl, sess); /* a stale session just means a full handshake */
	return ssl;
}

static void tls_explain(const struct tlsio *io, int err, char *buf, size_t n)
{
	unsigned char b0 = io->nfirst > 0 ? io->first[0] : 0;
	if (io->nfirst > 0 && (b0 < 0x14 || b0 > 0x17)) {
		/* not a TLS record (handshake 0x16, alert 0x15, ...): a plaintext greeting? */
		unsigned char raw[64];
		int nr = io->nfirst;
		memcpy(raw, io->first, (size_t)nr);
		/* wolfSSL read only the 5-byte record header: peek at the rest of the line */
		ssize_t more = recv(io->fd, raw + nr, sizeof raw - (size_t)nr, MSG_PEEK | MSG_DONTWAIT);
		if (more > 0)
			nr += (int)more;
		char txt[sizeof raw + 1];
		int k = 0;
		for (int i = 0; i < nr && raw[i] != '\r' && raw[i] != '\n'; i++)
			txt[k++] = isprint(raw[i]) ? (char)raw[i] : '.';
		txt[k] = 0;
		snprintf(buf, n, "TLS handshake failed: the server answered in plaintext (\"%s\"): "
		         "not a TLS port? (use --starttls for STARTTLS)", txt);
	} else if (io->eof && io->nfirst == 0) {
		snprintf(buf, n, "TLS handshake failed: connection closed by the server");
	} else if (io->reset) {
		snprintf(buf, n, "TLS handshake failed: connection reset by the server");
	} else {
		char e[WOLFSSL_MAX_ERROR_SZ];
		wolfSSL_ERR_error_string_n((unsigned long)err, e, sizeof e);
		snprintf(buf, n, "TLS handshake failed: %s (wolfSSL %d)", e, err);
	}
}

static void tls_note_info(WOLFSSL *ssl)
{
	if (atomic_load(&g_tls_info_set))
		return;
	pthread_mutex_lock(&g_err_lock);
	if (!atomic_load(&g_tls_info_set)) {
		const char *v = wolfSSL_get_version(ssl), *ci = wolfSSL_get_cipher_name(ssl);
		const char *gr = wolfSSL_get_curve_name(ssl);
		snprintf(g_tls_version, sizeof g_tls_version, "%s", v ? v : "?");
		snprintf(g_tls_cipher, sizeof g_tls_cipher, "%s", ci ? ci : "?");
		snprintf(g_tls_group, sizeof g_tls_group, "%s", gr ? gr : "");
		atomic_store(&g_tls_info_set, 1);
	}
	pthread_mutex_unlock(&g_err_lock);
}

/* a wolfSSL call failed with err: -1 would block (epoll interest set), -2 fatal */
static int tls_io_result(struct conn *c, int err)
{
	if (err == WOLFSSL_ERROR_WANT_READ)
		return -1;
	if (err == WOLFSSL_ERROR_WANT_WRITE) {
		c->tls_wwant = true;
		return -1;
	}
	c->tls_bad = true;
	return -2;
}

static void tls_free_conn(struct conn *c)
{
	if (c->tls_up && !c->tls_bad) {
		if (opt.tls_resume) {
			WOLFSSL_SESSION *s = wolfSSL_get1_session(c->ssl);
			if (s) {
				if (c->sess)
					wolfSSL_SESSION_free(c->sess);
				c->sess = s;
			}
		}
		(void)wolfSSL_shutdown(c->ssl); /* close_notify, once, not waiting for the server's */
	}
	wolfSSL_free(c->ssl);
	c->ssl = NULL;
}
#else
static int tls_init(void)
{
	fprintf(stderr, "uimap-bench: built without wolfSSL: no TLS\n");
	return -1;
}

__attribute__((unused)) static void tls_explain(const struct tlsio *io, int err, char *buf, size_t n)
{
	(void)io;
	snprintf(buf, n, "TLS error %d", err);
}

static void tls_free_conn(struct conn *c)
{
	c->ssl = NULL;
}
#endif

/* read: > 0 bytes, 0 the server closed, -1 would block, -2 error (*why) */
static ssize_t conn_recv(struct conn *c, char *buf, size_t n, const char **why)
{
	if (!c->ssl) {
		for (;;) {
			ssize_t r = recv(c->fd, buf, n, 0);
			if (r >= 0)
				return r;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return -1;
			*why = strerror(errno);
			return -2;
		}
	}
#ifdef BENCH_HAVE_WOLFSSL
	c->tls_wwant = false;
	int r = wolfSSL_read(c->ssl, buf, n > (1u << 30) ? 1 << 30 : (int)n);
	if (r > 0)
		return r;
	int err = wolfSSL_get_error(c->ssl, r);
	if (err == WOLFSSL_ERROR_ZERO_RETURN)
		return 0; /* close_notify */
	int res = tls_io_result(c, err);
	if (res == -1)
		return -1;
	if (c->io.eof)
		return 0; /* closed without close_notify, as after LOGOUT */
	static __thread char msg[300];
	if (c->io.reset) {
		snprintf(msg, sizeof msg, "connection reset by the server");
	} else {
		char e[WOLFSSL_MAX_ERROR_SZ];
		wolfSSL_ERR_error_string_n((unsigned long)err, e, sizeof e);
		snprintf(msg, sizeof msg, "TLS read failed: %s (wolfSSL %d)", e, err);
	}
	*why = msg;
#endif
	return -2;
}

/* write: > 0 bytes taken, -1 would block, -2 error (*why).  wolfSSL wants a
   retry after WANT_WRITE with the same data: wbuf keeps it at woff (it may move
   but never changes) and only grows at the end. */
static ssize_t conn_send(struct conn *c, const char *p, size_t n, const char **why)
{
	if (!c->ssl) {
		for (;;) {
			ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
			if (r >= 0)
				return r;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return -1;
			*why = strerror(errno);
			return -2;
		}
	}
#ifdef BENCH_HAVE_WOLFSSL
	c->tls_wwant = false;
	int r = wolfSSL_write(c->ssl, p, n > (1u << 30) ? 1 << 30 : (int)n);
	if (r > 0)
		return r;
	int err = wolfSSL_get_error(c->ssl, r);
	if (tls_io_result(c, err) == -1)
		return -1;
	static __thread char msg[300];
	char e[WOLFSSL_MAX_ERROR_SZ];
	wolfSSL_ERR_error_string_n((unsigned long)err, e, sizeof e);
	snprintf(msg, sizeof msg, "TLS write failed: %s (wolfSSL %d)", e, err);
	*why = c->io.reset ? "connection reset by the server" : c->io.eof ? "connection closed by server" : msg;
#endif
	return -2;
}

static void conn_flush(struct conn *c)
{
	if (c->st == C_CONNECTING || c->st == C_HANDSHAKE)
		return; /* nothing may be written yet */
	while (c->woff < c->wlen) {
		const char *why = "?";
		ssize_t n = conn_send(c, c->wbuf + c->woff, c->wlen - c->woff, &why);
		if (n == -1)
			break;
		if (n < 0) {
			conn_kill(c, why);
			return;
		}
		c->woff += (size_t)n;
	}
	conn_update_events(c);
}

/* queue "TAG text\r\n" and remember when it was sent */
static void send_cmd(struct conn *c, enum kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void send_cmd(struct conn *c, enum kind k, const char *fmt, ...)
{
	char line[1024];
	uint32_t tag = ++c->next_tag;
	int n = snprintf(line, sizeof line, "a%u ", tag);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 3)
		n = (int)sizeof line - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	wbuf_put(c, line, (size_t)n);
	if (c->qn >= MAX_DEPTH) {
		conn_kill(c, "too many commands in flight");
		return;
	}
	struct pending *p = &c->q[(c->qhead + c->qn++) % MAX_DEPTH];
	p->tag = tag;
	p->kind = (uint8_t)k;
	p->t0 = now_ns();
}

static void send_append(struct conn *c, enum kind k, const char *mbox)
{
	if (c->literal_plus) {
		send_cmd(c, k, "APPEND \"%s\" (\\Seen) {%d+}", mbox, append_len);
		wbuf_put(c, append_msg, (size_t)append_len);
		wbuf_put(c, "\r\n", 2);
	} else {
		send_cmd(c, k, "APPEND \"%s\" (\\Seen) {%d}", mbox, append_len);
		c->sync_lit = append_msg;
		c->sync_lit_len = append_len;
	}
}

/* ------------------------------------------------------------------------ */
/* scenario logic                                                            */

static const char *const search_cmds[] = {
	"SEARCH UNSEEN", "SEARCH FROM \"alice\"", "SEARCH SUBJECT \"needle\"",
	"SEARCH BODY \"haystack\"", "SEARCH SINCE 10-Mar-2023",
};

static bool issue_one(struct conn *c);

static uint32_t rand_msg(struct conn *c)
{
	return c->exists ? 1 + xrand(&c->rnd) % c->exists : 1;
}

/* pick and send the next scenario command; false when nothing can be sent */
static bool issue_one(struct conn *c)
{
	switch (opt.scen) {
	case S_NOOP:
		send_cmd(c, K_NOOP, "NOOP");
		return true;
	case S_FETCH_SMALL: {
		bool env = xrand(&c->rnd) & 1;
		if (env && g_unsupported[K_FETCH_ENVELOPE])
			env = false;
		else if (!env && g_unsupported[K_FETCH_FLAGS])
			env = true;
		if (env)
			send_cmd(c, K_FETCH_ENVELOPE, "FETCH %u ENVELOPE", rand_msg(c));
		else
			send_cmd(c, K_FETCH_FLAGS, "FETCH %u FLAGS", rand_msg(c));
		return true;
	}
	case S_FETCH_BODY:
		send_cmd(c, K_FETCH_BODY, "FETCH %u BODY.PEEK[]", rand_msg(c));
		return true;
	case S_APPEND:
	case S_POPULATE:
		if (!c->literal_plus && c->qn > 0)
			return false;
		send_append(c, K_APPEND, opt.mailbox);
		return true;
	case S_SELECT_LARGE:
		send_cmd(c, K_SELECT, "SELECT \"%s\"", opt.mailbox);
		return true;
	case S_SEARCH:
		send_cmd(c, K_SEARCH, "%s", search_cmds[c->search_i++ % 5]);
		return true;
	case S_MIXED: {
		static const struct { enum kind k; int w; } mix[] = {
			{K_NOOP, 15}, {K_FETCH_FLAGS, 25}, {K_FETCH_ENVELOPE, 15},
			{K_FETCH_BODY, 15}, {K_STATUS, 10}, {K_LIST, 5}, {K_SEARCH, 10},
			{K_APPEND, 5},
		};
		int total = 0;
		for (unsigned i = 0; i < sizeof mix / sizeof mix[0]; i++)
			if (!g_unsupported[mix[i].k] && (mix[i].k != K_APPEND || c->literal_plus))
				total += mix[i].w;
		if (total == 0)
			return false;
		int r = (int)(xrand(&c->rnd) % (unsigned)total);
		enum kind k = K_NOOP;
		for (unsigned i = 0; i < sizeof mix / sizeof mix[0]; i++) {
			if (g_unsupported[mix[i].k] || (mix[i].k == K_APPEND && !c->literal_plus))
				continue;
			if (r < mix[i].w) {
				k = mix[i].k;
				break;
			}
			r -= mix[i].w;
		}
		switch (k) {
		case K_FETCH_FLAGS: send_cmd(c, k, "FETCH %u FLAGS", rand_msg(c)); break;
		case K_FETCH_ENVELOPE: send_cmd(c, k, "FETCH %u ENVELOPE", rand_msg(c)); break;
		case K_FETCH_BODY: send_cmd(c, k, "FETCH %u BODY.PEEK[]", rand_msg(c)); break;
		case K_STATUS: send_cmd(c, k, "STATUS \"%s\" (MESSAGES UNSEEN UIDNEXT)", opt.mailbox); break;
		case K_LIST: send_cmd(c, k, "LIST \"\" \"*\""); break;
		case K_SEARCH: send_cmd(c, k, "%s", search_cmds[c->search_i++ % 5]); break;
		case K_APPEND: send_append(c, k, "bench-mixed"); break;
		default: send_cmd(c, K_NOOP, "NOOP"); break;
		}
		return true;
	}
	case S_LOGIN:
	case S_IDLE_HOLD:
		return false;
	}
	return false;
}

/* --count: may one more operation be started? */
static bool take_budget(void)
{
	if (opt.count <= 0)
		return true;
	return atomic_fetch_add(&g_issued, 1) < opt.count;
}

static void fill_pipeline(struct conn *c)
{
	if (atomic_load(&g_phase) != PH_RUN || c->st != C_RUN)
		return;
	int depth = opt.depth;
	while ((int)c->qn < depth) {
		if (c->sync_lit)
			break;
		if (opt.scen == S_LOGIN || opt.scen == S_IDLE_HOLD)
			break;
		if (!take_budget())
			break;
		if (!issue_one(c))
			break;
	}
}

static int conn_open(struct conn *c);

/* setup steps after LOGIN; returns false when setup is complete */
static bool setup_next(struct conn *c)
{
	int step = c->setup_step++;
	c->setup_tolerant = false;
	switch (opt.scen) {
	case S_FETCH_SMALL:
	case S_FETCH_BODY:
	case S_SEARCH:
	case S_MIXED:
		if (step == 0) {
			send_cmd(c, K_SETUP, "SELECT \"%s\"", opt.mailbox);
			return true;
		}
		if (step == 1 && opt.scen == S_MIXED) {
			c->setup_tolerant = true;
			send_cmd(c, K_SETUP, "CREATE \"bench-mixed\"");
			return true;
		}
		return false;
	case S_APPEND:
		if (step == 0 && strcasecmp(opt.mailbox, "INBOX") != 0) {
			c->setup_tolerant = true;
			send_cmd(c, K_SETUP, "CREATE \"%s\"", opt.mailbox);
			return true;
		}
		return false;
	case S_IDLE_HOLD:
		if (c->writer)
			return false;
		if (step == 0) {
			send_cmd(c, K_SETUP, "SELECT INBOX");
			return true;
		}
		if (step == 1) {
			send_cmd(c, K_SETUP, "IDLE");
			c->st = C_IDLING;
			return true;
		}
		return false;
	default:
		return false;
	}
}

static void conn_ready(struct conn *c)
{
	c->st = C_RUN;
	atomic_fetch_add(&g_ready, 1);
	if (opt.scen == S_IDLE_HOLD && !c->writer)
		c->st = C_IDLING;
	fill_pipeline(c);
}

static void after_login(struct conn *c)
{
	c->st = C_SETUP;
	c->setup_step = 0;
	if (!setup_next(c))
		conn_ready(c);
}

static void idle_saw_exists(struct conn *c, uint32_t n)
{
	if (n <= c->exists)
		return;
	c->exists = n;
	if (c->writer || c->st != C_IDLING)
		return;
	int round = atomic_load(&g_round);
	if (round <= 0 || n < c->idle_base + (uint32_t)round)
		return;
	uint64_t start = atomic_load(&g_round_start);
	uint64_t lat = now_ns() - start;
	rec(c->t, K_IDLE_WAKE, lat);
	if (atomic_fetch_add(&g_woken, 1) + 1 == g_n_idlers) {
		rec(c->t, K_FANOUT, lat);
		uint64_t one = 1;
		if (write(g_wake_efd, &one, sizeof one) < 0) {
			/* the writer times out instead */
		}
	}
}

/* ------------------------------------------------------------------------ */
/* TLS handshake, driven by epoll events                                     */

static void conn_tls_handshake(struct conn *c)
{
#ifdef BENCH_HAVE_WOLFSSL
	c->tls_wwant = false;
	int r = wolfSSL_connect(c->ssl);
	if (r != WOLFSSL_SUCCESS) {
		int err = wolfSSL_get_error(c->ssl, r);
		if (tls_io_result(c, err) == -1) {
			conn_update_events(c);
			return;
		}
		char why[300];
		tls_explain(&c->io, err, why, sizeof why);
		atomic_fetch_add(&g_tls_failed, 1);
		conn_kill(c, why);
		return;
	}
	c->tls_up = true;
	atomic_fetch_add(&g_tls_ok, 1);
	if (atomic_load(&g_recording)) {
		atomic_fetch_add(wolfSSL_session_reused(c->ssl) ? &g_tls_resumed_rec : &g_tls_full_rec, 1);
		if (opt.scen == S_LOGIN)
			rec(c->t, K_HANDSHAKE, now_ns() - c->t_hs);
	}
	tls_note_info(c->ssl);
	if (opt.tls == TLS_STARTTLS) {
		/* no second greeting after STARTTLS */
		c->st = C_LOGIN;
		send_cmd(c, K_LOGIN, "LOGIN \"%s\" \"%s\"", opt.user, opt.pass);
		conn_flush(c);
		return;
	}
	c->st = C_GREETING;
	conn_update_events(c);
	/* the greeting may have arrived with the server's last flight: wolfSSL
	   holds it already and epoll will not report it again */
	on_readable(c);
#else
	conn_kill(c, "no TLS");
#endif
}

/* start the handshake on the connected socket (implicit TLS, or after STARTTLS) */
static void conn_tls_start(struct conn *c)
{
#ifdef BENCH_HAVE_WOLFSSL
	memset(&c->io, 0, sizeof c->io);
	c->io.fd = c->fd;
	c->tls_up = c->tls_bad = c->tls_wwant = false;
	c->ssl = tls_new(&c->io, opt.tls_resume ? c->sess : NULL);
	if (!c->ssl) {
		atomic_fetch_add(&g_tls_failed, 1);
		conn_kill(c, "wolfSSL_new failed");
		return;
	}
	c->st = C_HANDSHAKE;
	c->t_hs = now_ns();
	conn_tls_handshake(c);
#else
	conn_kill(c, "no TLS");
#endif
}

/* a tagged response for the command at the head of the queue */
static void on_tagged(struct conn *c, uint32_t tag, const char *status, const char *rest)
{
	/* find the command (normally the head) */
	unsigned i;
	for (i = 0; i < c->qn; i++)
		if (c->q[(c->qhead + i) % MAX_DEPTH].tag == tag)
			break;
	if (i == c->qn) {
		note_error("conn %d: response for unknown tag a%u", c->id, tag);
		return;
	}
	struct pending p = c->q[(c->qhead + i) % MAX_DEPTH];
	for (unsigned j = i; j > 0; j--)
		c->q[(c->qhead + j) % MAX_DEPTH] = c->q[(c->qhead + j - 1) % MAX_DEPTH];
	c->qhead = (c->qhead + 1) % MAX_DEPTH;
	c->qn--;
	uint64_t now = now_ns();
	bool ok = strcasecmp(status, "OK") == 0;
	bool bad = strcasecmp(status, "BAD") == 0;
	enum kind k = (enum kind)p.kind;
	bool recording = atomic_load(&g_recording) != 0;

	if (k == K_SETUP) {
		if (!ok && !c->setup_tolerant) {
			/* CREATE of an existing mailbox may fail; anything else is fatal */
			char why[200];
			snprintf(why, sizeof why, "setup command failed: %s %.150s", status, rest);
			conn_kill(c, why);
			return;
		}
		if (c->st == C_IDLING && !ok && opt.scen == S_IDLE_HOLD) {
			conn_kill(c, "IDLE refused");
			return;
		}
		if (c->st == C_IDLING)
			return; /* IDLE ended (DONE): connection is stopping */
		if (!setup_next(c))
			conn_ready(c);
		return;
	}
	if (k == K_LOGIN) {
		if (!ok) {
			char why[200];
			snprintf(why, sizeof why, "LOGIN failed: %s %.150s", status, rest);
			conn_kill(c, why);
			return;
		}
		if (strstr(rest, "LITERAL+") || strstr(rest, "LITERAL-"))
			c->literal_plus = true;
		if (opt.scen == S_LOGIN) {
			if (recording)
				rec(c->t, K_LOGIN, now - p.t0);
			c->st = C_LOGOUT;
			send_cmd(c, K_LOGOUT, "LOGOUT");
			return;
		}
		after_login(c);
		return;
	}
	if (k == K_STARTTLS) {
		if (!ok) {
			char why[200];
			snprintf(why, sizeof why, "STARTTLS refused: %s %.150s", status, rest);
			atomic_fetch_add(&g_tls_failed, 1);
			conn_kill(c, why);
			return;
		}
		if (recording && opt.scen == S_LOGIN)
			rec(c->t, K_STARTTLS, now - p.t0);
		/* whatever followed the OK came before TLS: dropped (RFC 3501 6.2.1) */
		c->rlen = c->scan = 0;
		c->gen++; /* stops parse_input() and on_readable() on the plaintext path */
		conn_tls_start(c);
		return;
	}
	if (k == K_LOGOUT) {
		if (recording && opt.scen == S_LOGIN) {
			rec(c->t, K_LOGOUT, now - p.t0);
			rec(c->t, K_SESSION, now - c->t_cycle);
			atomic_fetch_add(&g_ops, 1);
		}
		c->logged_out = true;
		return;
	}
	/* scenario commands */
	struct hist *h = hist_of(c->t, k);
	if (bad) {
		if (!g_unsupported[k]) {
			atomic_store(&g_unsupported[k], 1);
			if (!opt.quiet)
				fprintf(stderr, "uimap-bench: %s unsupported by server: %s %.150s\n",
				        kind_name[k], status, rest);
		}
		h->bad++;
	} else if (!ok) {
		if (recording)
			h->errors++;
	} else if (recording) {
		h_record(h, now - p.t0);
		enum kind prim = scen_info[opt.scen].primary;
		if (prim == K_ALL)
			rec(c->t, K_ALL, now - p.t0);
		if (prim == K_ALL || prim == k)
			atomic_fetch_add(&g_ops, 1);
	}
	if (c->writer && opt.scen == S_IDLE_HOLD)
		return; /* the round logic runs from the thread loop */
	if (primary_unsupported())
		return;
	fill_pipeline(c);
}

static void on_untagged(struct conn *c, const char *line)
{
	/* "* N EXISTS" */
	if (isdigit((unsigned char)line[2])) {
		char *end;
		unsigned long n = strtoul(line + 2, &end, 10);
		if (strncasecmp(end, " EXISTS", 7) == 0) {
			if (c->st == C_IDLING || (opt.scen == S_IDLE_HOLD && !c->writer))
				idle_saw_exists(c, (uint32_t)n);
			else
				c->exists = (uint32_t)n;
		}
		return;
	}
	if (c->st == C_GREETING) {
		if (strncasecmp(line, "* OK", 4) != 0) {
			conn_kill(c, "bad greeting");
			return;
		}
		if (strstr(line, "LITERAL+"))
			c->literal_plus = true;
		if (opt.scen == S_LOGIN && atomic_load(&g_recording))
			rec(c->t, K_CONNECT, now_ns() - c->t_conn);
		if (opt.tls == TLS_STARTTLS && !c->ssl) {
			c->st = C_STARTTLS;
			send_cmd(c, K_STARTTLS, "STARTTLS");
			return;
		}
		c->st = C_LOGIN;
		send_cmd(c, K_LOGIN, "LOGIN \"%s\" \"%s\"", opt.user, opt.pass);
		return;
	}
	if (strncasecmp(line, "* CAPABILITY", 12) == 0 && strstr(line, "LITERAL+"))
		c->literal_plus = true;
}

static void on_continuation(struct conn *c)
{
	if (c->sync_lit) {
		wbuf_put(c, c->sync_lit, (size_t)c->sync_lit_len);
		wbuf_put(c, "\r\n", 2);
		c->sync_lit = NULL;
		return;
	}
	if (c->st == C_IDLING) {
		/* IDLE accepted */
		c->idle_base = c->exists;
		if (!setup_next(c))
			conn_ready(c);
	}
}

/* process one complete response (literals included) */
static void on_response(struct conn *c, char *line, size_t len)
{
	line[len] = 0;
	if (len >= 2 && line[0] == '*' && line[1] == ' ') {
		on_untagged(c, line);
		return;
	}
	if (line[0] == '+') {
		on_continuation(c);
		return;
	}
	if (line[0] != 'a') {
		note_error("conn %d: unexpected response: %.80s", c->id, line);
		return;
	}
	char *end;
	unsigned long tag = strtoul(line + 1, &end, 10);
	if (*end != ' ')
		return;
	char *status = end + 1;
	char *sp = strchr(status, ' ');
	const char *rest = "";
	if (sp) {
		*sp = 0;
		rest = sp + 1;
	}
	on_tagged(c, (uint32_t)tag, status, rest);
}

/* scan rbuf for complete responses; literals "{N}\r\n" + N bytes are skipped */
static void parse_input(struct conn *c)
{
	size_t start = 0;
	size_t pos = c->scan;
	while (c->st != C_DEAD) {
		char *nl = memchr(c->rbuf + pos, '\n', c->rlen - pos);
		if (!nl)
			break;
		size_t eol = (size_t)(nl - c->rbuf);
		/* literal? "...{123}\r\n" */
		size_t e = eol;
		if (e > start && c->rbuf[e - 1] == '\r')
			e--;
		if (e > start && c->rbuf[e - 1] == '}') {
			size_t b = e - 1;
			while (b > start && isdigit((unsigned char)c->rbuf[b - 1]))
				b--;
			if (b > start && c->rbuf[b - 1] == '{' && b < e - 1) {
				unsigned long long lit = strtoull(c->rbuf + b, NULL, 10);
				if (c->rlen - (eol + 1) < lit) {
					pos = eol + 1 + 0; /* wait for the literal */
					c->scan = start;   /* rescan this line when more arrives */
					goto need_more;
				}
				pos = eol + 1 + (size_t)lit;
				continue;
			}
		}
		unsigned gen = c->gen;
		on_response(c, c->rbuf + start, e - start);
		if (gen != c->gen)
			return; /* the socket was closed or replaced meanwhile */
		start = eol + 1;
		pos = start;
	}
	c->scan = 0;
need_more:
	if (c->st == C_DEAD)
		return;
	if (start > 0) {
		memmove(c->rbuf, c->rbuf + start, c->rlen - start);
		c->rlen -= start;
		if (c->scan >= start)
			c->scan -= start;
		else
			c->scan = 0;
	}
	(void)pos;
}

static void conn_close_fd(struct conn *c)
{
	c->gen++;
	if (c->ssl)
		tls_free_conn(c);
	c->tls_up = c->tls_bad = c->tls_wwant = false;
	if (c->fd >= 0) {
		epoll_ctl(c->t->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static void conn_kill(struct conn *c, const char *why)
{
	if (c->st == C_DEAD)
		return;
	int ph = atomic_load(&g_phase);
	if (ph < PH_STOP)
		note_error("conn %d: %s", c->id, why);
	conn_close_fd(c);
	bool was_setup = c->st < C_READY;
	c->st = C_DEAD;
	c->qn = 0;
	c->sync_lit = NULL;
	if (opt.scen == S_LOGIN && ph == PH_RUN) {
		/* keep cycling */
		if (conn_open(c) == 0)
			return;
	}
	if (was_setup || opt.scen != S_LOGIN)
		atomic_fetch_add(&g_failed, 1);
}

static void on_readable(struct conn *c)
{
	if (c->st == C_HANDSHAKE) {
		conn_tls_handshake(c);
		return;
	}
	/* TLS: read until wolfSSL wants more from the socket, since records it
	   already holds raise no epoll event */
	bool tls = c->ssl != NULL;
	for (;;) {
		if (c->rcap - c->rlen < 4096) {
			size_t cap = c->rcap ? c->rcap * 2 : 16384;
			c->rbuf = realloc(c->rbuf, cap + 1);
			if (!c->rbuf)
				abort();
			c->rcap = cap;
		}
		const char *why = "?";
		ssize_t n = conn_recv(c, c->rbuf + c->rlen, c->rcap - c->rlen, &why);
		if (n == -1)
			break;
		if (n < 0) {
			conn_kill(c, why);
			return;
		}
		if (n == 0) {
			if (c->logged_out) {
				/* normal end of a login cycle or of a stopped connection */
				conn_close_fd(c);
				c->st = C_DEAD;
				if (opt.scen == S_LOGIN && atomic_load(&g_phase) == PH_RUN)
					conn_open(c);
				return;
			}
			conn_kill(c, "connection closed by server");
			return;
		}
		if (atomic_load(&g_recording))
			c->t->rx_bytes += (uint64_t)n;
		c->rlen += (size_t)n;
		unsigned gen = c->gen;
		parse_input(c);
		if (c->st == C_DEAD || gen != c->gen)
			return;
		if (!tls && (size_t)n < 4096)
			break;
	}
	/* login cycle: the tagged LOGOUT reply arrived; close from our side */
	if (c->logged_out && opt.scen == S_LOGIN) {
		conn_close_fd(c);
		c->st = C_DEAD;
		if (atomic_load(&g_phase) == PH_RUN)
			conn_open(c);
		return;
	}
	conn_flush(c);
}

static int conn_open(struct conn *c)
{
	if (opt.scen == S_LOGIN && !take_budget()) {
		c->st = C_DEAD;
		return -1;
	}
	c->gen++;
	c->rlen = c->scan = 0;
	c->wlen = c->woff = 0;
	c->qn = 0;
	c->qhead = 0;
	c->logged_out = false;
	c->want_out = true;
	c->sync_lit = NULL;
	c->exists = 0;
	c->tls_up = c->tls_bad = c->tls_wwant = false;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		note_error("socket: %s", strerror(errno));
		c->st = C_DEAD;
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (opt.sources > 0) {
		struct sockaddr_in src = {.sin_family = AF_INET};
		src.sin_addr.s_addr = htonl(src_base_ip + (uint32_t)(c->id % opt.sources));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
			note_error("bind %s: %s", inet_ntoa(src.sin_addr), strerror(errno));
			close(fd);
			c->st = C_DEAD;
			return -1;
		}
	}
	c->t_conn = c->t_cycle = now_ns();
	int r = connect(fd, (struct sockaddr *)&target_addr, sizeof target_addr);
	if (r < 0 && errno != EINPROGRESS) {
		note_error("connect: %s", strerror(errno));
		close(fd);
		c->st = C_DEAD;
		return -1;
	}
	c->fd = fd;
	c->st = C_CONNECTING;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	epoll_ctl(c->t->ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static void on_event(struct conn *c, uint32_t events)
{
	if (c->st == C_DEAD || c->fd < 0)
		return;
	if (c->st == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_kill(c, strerror(err));
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLIN)))
			return;
		c->want_out = true;
		if (opt.tls == TLS_IMPLICIT) {
			conn_tls_start(c);
			return;
		}
		c->st = C_GREETING;
		conn_update_events(c); /* drops EPOLLOUT */
	}
	if (c->st == C_HANDSHAKE) {
		conn_tls_handshake(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(c);
	else if (events & EPOLLOUT) {
		if (c->tls_wwant && c->woff == c->wlen)
			on_readable(c); /* a wolfSSL_read() had a record to send (KeyUpdate) */
		else
			conn_flush(c);
	}
}

/* ------------------------------------------------------------------------ */
/* idle-hold rounds (driven by thread 0)                                     */

static void round_tick(struct thread *t, uint64_t now)
{
	struct conn *w = t->writer;
	if (!w || w->st == C_DEAD)
		return;
	int ph = atomic_load(&g_phase);
	if (t->round_open) {
		uint64_t v;
		bool done = atomic_load(&g_woken) >= g_n_idlers;
		if (!done && now < t->round_deadline)
			return;
		if (read(g_wake_efd, &v, sizeof v) < 0) {
			/* nothing to drain */
		}
		if (!done)
			t->rounds_timed_out++;
		else
			atomic_fetch_add(&g_ops, 1);
		t->round_open = false;
		t->next_round_at = now + (uint64_t)(opt.idle_gap * 1e9);
		if (opt.count > 0 && atomic_load(&g_ops) >= opt.count)
			atomic_store(&g_phase, PH_STOP);
		return;
	}
	if (ph != PH_RUN || now < t->next_round_at || w->qn > 0 || w->sync_lit)
		return;
	atomic_store(&g_woken, 0);
	atomic_store(&g_round_start, now_ns());
	atomic_fetch_add(&g_round, 1);
	t->round_open = true;
	t->round_deadline = now + (uint64_t)(opt.round_timeout * 1e9);
	send_append(w, K_APPEND, "INBOX");
	conn_flush(w);
}

/* ------------------------------------------------------------------------ */
/* threads                                                                   */

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	struct epoll_event evs[256];
	if (opt.scen != S_LOGIN)
		for (int i = 0; i < t->n_conns; i++)
			conn_open(t->conns[i]);
	uint64_t drain_deadline = 0;
	for (;;) {
		int ph = atomic_load(&g_phase);
		if (ph == PH_QUIT)
			break;
		if (ph == PH_RUN && !t->kicked) {
			t->kicked = true;
			for (int i = 0; i < t->n_conns; i++) {
				struct conn *c = t->conns[i];
				if (opt.scen == S_LOGIN && c->st == C_DEAD && c->fd < 0)
					conn_open(c);
				fill_pipeline(c);
				if (c->fd >= 0)
					conn_flush(c);
			}
		}
		if (ph == PH_STOP) {
			uint64_t now = now_ns();
			if (!drain_deadline)
				drain_deadline = now + 2000000000ull;
			bool busy = false;
			for (int i = 0; i < t->n_conns; i++)
				if (t->conns[i]->st != C_DEAD && t->conns[i]->qn > 0 &&
				    t->conns[i]->st != C_IDLING)
					busy = true;
			if (!busy || now > drain_deadline)
				break;
		}
		int timeout = ph == PH_SETUP ? 20 : (opt.scen == S_IDLE_HOLD ? 1 : 10);
		int n = epoll_wait(t->ep, evs, 256, timeout);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c)
				continue; /* the wake eventfd */
			on_event(c, evs[i].events);
			if (c->st != C_DEAD && c->fd >= 0 && c->wlen > c->woff)
				conn_flush(c);
		}
		if (t->writer)
			round_tick(t, now_ns());
	}
	/* close politely: idlers leave IDLE, everyone logs out */
	for (int i = 0; i < t->n_conns; i++) {
		struct conn *c = t->conns[i];
		if (c->fd < 0 || c->st == C_DEAD)
			continue;
		if (c->st == C_IDLING)
			wbuf_put(c, "DONE\r\n", 6);
		wbuf_put(c, "z LOGOUT\r\n", 10);
		if (c->ssl) {
			const char *why;
			if (c->tls_up && !c->tls_bad)
				(void)conn_send(c, c->wbuf + c->woff, c->wlen - c->woff, &why);
		} else if (send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* ignore */
		}
		conn_close_fd(c);
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* populate: a simple blocking session (plaintext or TLS)                    */

struct bconn {
	int fd;
	WOLFSSL *ssl;
	struct tlsio io;
};

static ssize_t b_recv(struct bconn *b, void *buf, size_t n)
{
	if (!b->ssl) {
		for (;;) {
			ssize_t r = recv(b->fd, buf, n, 0);
			if (r < 0 && errno == EINTR)
				continue;
			return r;
		}
	}
#ifdef BENCH_HAVE_WOLFSSL
	int r = wolfSSL_read(b->ssl, buf, (int)n);
	if (r > 0)
		return r;
	int err = wolfSSL_get_error(b->ssl, r);
	if (err == WOLFSSL_ERROR_ZERO_RETURN || b->io.eof)
		return 0;
	errno = err == WOLFSSL_ERROR_WANT_READ ? ETIMEDOUT : EPROTO;
#endif
	return -1;
}

static int b_send(struct bconn *b, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w;
		if (b->ssl) {
#ifdef BENCH_HAVE_WOLFSSL
			int r = wolfSSL_write(b->ssl, p, n > (1u << 30) ? 1 << 30 : (int)n);
			if (r <= 0) {
				errno = EPROTO;
				return -1;
			}
			w = r;
#else
			return -1;
#endif
		} else {
			w = send(b->fd, p, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* blocking handshake on b->fd; on failure *why explains */
static int b_tls_start(struct bconn *b, char *why, size_t why_len)
{
#ifdef BENCH_HAVE_WOLFSSL
	memset(&b->io, 0, sizeof b->io);
	b->io.fd = b->fd;
	b->ssl = tls_new(&b->io, NULL);
	if (!b->ssl) {
		snprintf(why, why_len, "wolfSSL_new failed");
		return -1;
	}
	int r = wolfSSL_connect(b->ssl);
	if (r == WOLFSSL_SUCCESS)
		return 0;
	int err = wolfSSL_get_error(b->ssl, r);
	if (err == WOLFSSL_ERROR_WANT_READ)
		snprintf(why, why_len, "TLS handshake timed out");
	else
		tls_explain(&b->io, err, why, why_len);
	wolfSSL_free(b->ssl);
	b->ssl = NULL;
	return -1;
#else
	snprintf(why, why_len, "no TLS");
	return -1;
#endif
}

static void b_close(struct bconn *b)
{
#ifdef BENCH_HAVE_WOLFSSL
	if (b->ssl) {
		(void)wolfSSL_shutdown(b->ssl);
		wolfSSL_free(b->ssl);
		b->ssl = NULL;
	}
#endif
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

static int read_until_tagged(struct bconn *b, char *buf, size_t cap, size_t *len, const char *tag,
                             char *status, size_t status_cap)
{
	size_t tl = strlen(tag);
	for (;;) {
		/* look for a complete line starting with the tag */
		size_t start = 0;
		for (;;) {
			char *nl = memchr(buf + start, '\n', *len - start);
			if (!nl)
				break;
			size_t eol = (size_t)(nl - buf);
			if (eol - start > tl && memcmp(buf + start, tag, tl) == 0 && buf[start + tl] == ' ') {
				size_t n = eol - start - tl - 1;
				if (n >= status_cap)
					n = status_cap - 1;
				memcpy(status, buf + start + tl + 1, n);
				status[n] = 0;
				memmove(buf, nl + 1, *len - eol - 1);
				*len -= eol + 1;
				return 0;
			}
			start = eol + 1;
		}
		/* keep only an unfinished tail (responses are not interpreted here) */
		if (start > 0) {
			memmove(buf, buf + start, *len - start);
			*len -= start;
		}
		if (*len == cap)
			*len = 0;
		ssize_t n = b_recv(b, buf + *len, cap - *len);
		if (n <= 0)
			return -1;
		*len += (size_t)n;
	}
}

static int blocking_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&target_addr, sizeof target_addr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int populate(void)
{
	static char buf[1 << 16];
	size_t len = 0;
	char st[512] = "", line[1024], why[300];
	struct bconn bc = {.fd = blocking_connect(), .ssl = NULL}, *b = &bc;
	if (b->fd < 0) {
		fprintf(stderr, "populate: connect: %s\n", strerror(errno));
		return -1;
	}
	if (opt.tls == TLS_IMPLICIT && b_tls_start(b, why, sizeof why) < 0) {
		fprintf(stderr, "populate: %s\n", why);
		b_close(b);
		return -1;
	}
	/* greeting */
	char greeting[1024];
	ssize_t n = b_recv(b, greeting, sizeof greeting - 1);
	if (n <= 0) {
		fprintf(stderr, "populate: no greeting: %s\n", n == 0 ? "connection closed" : strerror(errno));
		b_close(b);
		return -1;
	}
	greeting[n] = 0;
	if (opt.tls == TLS_STARTTLS) {
		if (b_send(b, "p0 STARTTLS\r\n", 13) < 0 ||
		    read_until_tagged(b, buf, sizeof buf, &len, "p0", st, sizeof st) < 0 ||
		    strncasecmp(st, "OK", 2) != 0) {
			fprintf(stderr, "populate: STARTTLS failed: %s\n", st);
			b_close(b);
			return -1;
		}
		len = 0;
		if (b_tls_start(b, why, sizeof why) < 0) {
			fprintf(stderr, "populate: %s\n", why);
			b_close(b);
			return -1;
		}
	}
	snprintf(line, sizeof line, "p1 LOGIN \"%s\" \"%s\"\r\n", opt.user, opt.pass);
	if (b_send(b, line, strlen(line)) < 0 ||
	    read_until_tagged(b, buf, sizeof buf, &len, "p1", st, sizeof st) < 0 ||
	    strncasecmp(st, "OK", 2) != 0) {
		fprintf(stderr, "populate: LOGIN failed: %s\n", st);
		b_close(b);
		return -1;
	}
	bool lplus = strstr(st, "LITERAL+") != NULL || strstr(greeting, "LITERAL+") != NULL;
	if (strcasecmp(opt.mailbox, "INBOX") != 0) {
		snprintf(line, sizeof line, "p2 CREATE \"%s\"\r\n", opt.mailbox);
		b_send(b, line, strlen(line));
		read_until_tagged(b, buf, sizeof buf, &len, "p2", st, sizeof st);
	}
	/* how many are there already? */
	snprintf(line, sizeof line, "p3 STATUS \"%s\" (MESSAGES)\r\n", opt.mailbox);
	b_send(b, line, strlen(line));
	long have = 0;
	{
		/* parse "* STATUS mbox (MESSAGES n)" from the raw buffer */
		char tmp[1 << 12];
		size_t tl = len < sizeof tmp - 1 ? len : 0; /* what read_until_tagged left */
		memcpy(tmp, buf, tl);
		tmp[tl] = 0;
		len = 0;
		while (!strstr(tmp, "p3 ")) {
			ssize_t r = b_recv(b, tmp + tl, sizeof tmp - 1 - tl);
			if (r <= 0)
				break;
			tl += (size_t)r;
			tmp[tl] = 0;
		}
		char *m = strstr(tmp, "MESSAGES ");
		if (m)
			have = strtol(m + 9, NULL, 10);
	}
	long want = opt.populate;
	uint64_t t0 = now_ns();
	long done = 0;
	for (long i = have; i < want;) {
		long batch = lplus ? 64 : 1;
		long j;
		for (j = 0; j < batch && i + j < want; j++) {
			int ml;
			char *msg = make_message((unsigned)(i + j), opt.msg_size, &ml);
			snprintf(line, sizeof line, "q%ld APPEND \"%s\" %s{%d%s}\r\n", i + j, opt.mailbox,
			         (i + j) % 3 ? "(\\Seen) " : "", ml, lplus ? "+" : "");
			b_send(b, line, strlen(line));
			if (!lplus) {
				char tmp[512];
				ssize_t r = b_recv(b, tmp, sizeof tmp);
				if (r <= 0 || tmp[0] != '+') {
					fprintf(stderr, "populate: no continuation\n");
					free(msg);
					b_close(b);
					return -1;
				}
			}
			b_send(b, msg, (size_t)ml);
			b_send(b, "\r\n", 2);
			free(msg);
		}
		for (long k = 0; k < j; k++) {
			char tag[32];
			snprintf(tag, sizeof tag, "q%ld", i + k);
			if (read_until_tagged(b, buf, sizeof buf, &len, tag, st, sizeof st) < 0 ||
			    strncasecmp(st, "OK", 2) != 0) {
				fprintf(stderr, "populate: APPEND failed: %s\n", st);
				b_close(b);
				return -1;
			}
		}
		i += j;
		done += j;
	}
	b_send(b, "p9 LOGOUT\r\n", 11);
	read_until_tagged(b, buf, sizeof buf, &len, "p9", st, sizeof st);
	b_close(b);
	double secs = (double)(now_ns() - t0) / 1e9;
	if (!opt.quiet)
		printf("populate: %s had %ld messages, appended %ld of %d bytes in %.2f s%s\n",
		       opt.mailbox, have, done, opt.msg_size, secs, opt.tls ? " (TLS)" : "");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* server memory from /proc                                                  */

/* cpu_s: user + system time of the processes, plus that of their reaped
   children (cutime/cstime), so that Dovecot's short-lived imap processes count */
struct mem { long rss_kb, pss_kb; int procs; double cpu_s; };

static long status_field(pid_t pid, const char *file, const char *key)
{
	char path[64], l[256];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	size_t kl = strlen(key);
	while (fgets(l, sizeof l, f))
		if (strncmp(l, key, kl) == 0) {
			v = strtol(l + kl, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static pid_t stat_of(pid_t pid, double *cpu_s)
{
	char path[64], b[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(b, 1, sizeof b - 1, f);
	fclose(f);
	b[n] = 0;
	char *p = strrchr(b, ')');
	if (!p)
		return -1;
	int pp = -1;
	char stc;
	unsigned long long ut = 0, st = 0, cut = 0, cst = 0;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime */
	int got = sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
	                 &stc, &pp, &ut, &st, &cut, &cst);
	if (got < 2)
		return -1;
	if (cpu_s) {
		static long hz;
		if (!hz)
			hz = sysconf(_SC_CLK_TCK);
		*cpu_s = got == 6 ? (double)(ut + st + cut + cst) / (double)(hz > 0 ? hz : 100) : 0;
	}
	return pp;
}

static pid_t ppid_of(pid_t pid)
{
	return stat_of(pid, NULL);
}

static bool in_tree(pid_t pid)
{
	for (int depth = 0; pid > 1 && depth < 16; depth++) {
		for (int i = 0; i < opt.n_pids; i++)
			if (pid == opt.pids[i])
				return true;
		pid = ppid_of(pid);
	}
	return false;
}

static struct mem read_mem(void)
{
	struct mem m = {0, 0, 0, 0};
	if (opt.n_pids == 0)
		return m;
	DIR *d = opendir("/proc");
	if (!d)
		return m;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (!in_tree(pid))
			continue;
		long rss = status_field(pid, "status", "VmRSS:");
		long pss = status_field(pid, "smaps_rollup", "Pss:");
		if (rss < 0)
			continue;
		m.rss_kb += rss;
		m.pss_kb += pss > 0 ? pss : rss;
		m.procs++;
		double cpu = 0;
		if (stat_of(pid, &cpu) >= 0)
			m.cpu_s += cpu;
	}
	closedir(d);
	return m;
}

/* ------------------------------------------------------------------------ */
/* report                                                                    */

static void fmt_ns(char *b, size_t n, uint64_t v)
{
	if (v < 10000)
		snprintf(b, n, "%.1fus", (double)v / 1e3);
	else if (v < 10000000)
		snprintf(b, n, "%.0fus", (double)v / 1e3);
	else if (v < 10000000000ull)
		snprintf(b, n, "%.1fms", (double)v / 1e6);
	else
		snprintf(b, n, "%.1fs", (double)v / 1e9);
}

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static double g_server_cpu_s = -1; /* server CPU seconds while measuring (--pid) */

static uint64_t total_rx_bytes(void)
{
	uint64_t b = 0;
	for (int i = 0; i < opt.threads; i++)
		b += threads[i].rx_bytes;
	return b;
}

static void write_json(FILE *f, struct hist **tot, double secs, const char *status,
                       struct mem m0, struct mem m1, struct mem m2, long long timed_out)
{
	long long ops = atomic_load(&g_ops);
	uint64_t rx = total_rx_bytes();
	fprintf(f, "{\"tool\":\"uimap-bench\",\"scenario\":\"%s\",\"label\":", scen_info[opt.scen].name);
	json_escape(f, opt.label ? opt.label : "");
	fprintf(f, ",\"target\":\"%s:%d\",\"status\":\"%s\",\"conns\":%d,\"threads\":%d,"
	           "\"depth\":%d,\"msg_size\":%d,\"duration_s\":%.3f,\"ops\":%lld,\"ops_per_s\":%.1f,"
	           "\"primary\":\"%s\",\"conn_errors\":%lld,\"failed_conns\":%d,\"rounds_timed_out\":%lld,",
	        opt.host, opt.port, status, opt.conns, opt.threads, opt.depth, opt.msg_size, secs, ops,
	        secs > 0 ? (double)ops / secs : 0.0, kind_name[scen_info[opt.scen].primary],
	        (long long)atomic_load(&g_conn_errors), atomic_load(&g_failed), timed_out);
	fprintf(f, "\"rx_bytes\":%" PRIu64 ",\"rx_MBps\":%.2f,", rx, secs > 0 ? (double)rx / secs / 1e6 : 0.0);
	if (g_server_cpu_s >= 0)
		fprintf(f, "\"server_cpu_s\":%.3f,\"server_cpu_us_per_op\":%.2f,", g_server_cpu_s,
		        ops > 0 ? g_server_cpu_s * 1e6 / (double)ops : 0.0);
	if (opt.tls) {
		fprintf(f, "\"tls\":{\"mode\":\"%s\",\"resume\":%s,\"version\":", tls_mode_name(),
		        opt.tls_resume ? "true" : "false");
		json_escape(f, g_tls_version);
		fprintf(f, ",\"cipher\":");
		json_escape(f, g_tls_cipher);
		fprintf(f, ",\"group\":");
		json_escape(f, g_tls_group);
		fprintf(f, ",\"handshakes_ok\":%lld,\"handshakes_failed\":%lld,\"full_measured\":%lld,"
		           "\"resumed_measured\":%lld},",
		        (long long)atomic_load(&g_tls_ok), (long long)atomic_load(&g_tls_failed),
		        (long long)atomic_load(&g_tls_full_rec), (long long)atomic_load(&g_tls_resumed_rec));
	} else {
		fprintf(f, "\"tls\":null,");
	}
	fprintf(f, "\"unsupported\":[");
	bool first = true;
	for (int k = 0; k < K_COUNT; k++)
		if (g_unsupported[k]) {
			fprintf(f, "%s\"%s\"", first ? "" : ",", kind_name[k]);
			first = false;
		}
	fprintf(f, "],\"mem_kb\":{\"before_rss\":%ld,\"setup_rss\":%ld,\"after_rss\":%ld,"
	           "\"before_pss\":%ld,\"setup_pss\":%ld,\"after_pss\":%ld,\"procs\":%d},",
	        m0.rss_kb, m1.rss_kb, m2.rss_kb, m0.pss_kb, m1.pss_kb, m2.pss_kb, m2.procs);
	fprintf(f, "\"commands\":{");
	first = true;
	for (int k = 0; k < K_SETUP; k++) {
		struct hist *h = tot[k];
		if (!h || (h->count == 0 && h->errors == 0 && h->bad == 0))
			continue;
		fprintf(f, "%s\"%s\":{\"count\":%" PRIu64 ",\"rate\":%.1f,\"errors\":%" PRIu64
		           ",\"bad\":%" PRIu64 ",\"mean_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,"
		           "\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f}",
		        first ? "" : ",", kind_name[k], h->count, secs > 0 ? (double)h->count / secs : 0,
		        h->errors, h->bad, h->count ? h->sum / (double)h->count / 1e3 : 0,
		        (double)h_pct(h, 50) / 1e3, (double)h_pct(h, 90) / 1e3, (double)h_pct(h, 99) / 1e3,
		        (double)h_pct(h, 99.9) / 1e3, (double)h->max / 1e3);
		first = false;
	}
	fprintf(f, "}}\n");
}

static void report(double secs, struct mem m0, struct mem m1, struct mem m2, long long timed_out)
{
	static struct hist *tot[K_COUNT];
	for (int k = 0; k < K_COUNT; k++) {
		for (int i = 0; i < opt.threads; i++) {
			if (!threads[i].h[k])
				continue;
			if (!tot[k]) {
				tot[k] = calloc(1, sizeof(struct hist));
				if (!tot[k])
					abort();
			}
			h_merge(tot[k], threads[i].h[k]);
		}
	}
	long long ops = atomic_load(&g_ops);
	const char *status = "ok";
	if (primary_unsupported())
		status = "unsupported";
	else if (ops == 0)
		status = "error";
	if (!opt.quiet) {
		printf("uimap-bench %s -> %s:%d%s%s: %d conns, %d threads, depth %d, %.2f s measured\n",
		       scen_info[opt.scen].name, opt.host, opt.port, opt.label ? " " : "",
		       opt.label ? opt.label : "", opt.conns, opt.threads, opt.depth, secs);
		printf("%-15s %10s %10s %9s %9s %9s %9s %9s %7s\n", "command", "count", "rate/s", "p50",
		       "p90", "p99", "p99.9", "max", "errors");
		for (int k = 0; k < K_SETUP; k++) {
			struct hist *h = tot[k];
			if (!h || (h->count == 0 && h->errors == 0 && h->bad == 0))
				continue;
			if (h->count == 0 && h->bad) {
				printf("%-15s unsupported by server (BAD)\n", kind_name[k]);
				continue;
			}
			char a[16], b[16], c[16], d[16], e[16];
			fmt_ns(a, sizeof a, h_pct(h, 50));
			fmt_ns(b, sizeof b, h_pct(h, 90));
			fmt_ns(c, sizeof c, h_pct(h, 99));
			fmt_ns(d, sizeof d, h_pct(h, 99.9));
			fmt_ns(e, sizeof e, h->max);
			printf("%-15s %10" PRIu64 " %10.1f %9s %9s %9s %9s %9s %7" PRIu64 "\n", kind_name[k],
			       h->count, secs > 0 ? (double)h->count / secs : 0, a, b, c, d, e,
			       h->errors + h->bad);
		}
		printf("throughput: %.1f %s/s (%lld in %.2f s), received %.2f MB/s\n",
		       secs > 0 ? (double)ops / secs : 0,
		       opt.scen == S_LOGIN ? "sessions" : opt.scen == S_IDLE_HOLD ? "rounds" : "ops",
		       ops, secs, secs > 0 ? (double)total_rx_bytes() / secs / 1e6 : 0);
		if (opt.tls)
			printf("TLS (%s%s): %s %s%s%s; handshakes: %lld ok, %lld failed; measured: %lld full, "
			       "%lld resumed\n", tls_mode_name(), opt.tls_resume ? ", resume" : "",
			       g_tls_version[0] ? g_tls_version : "-", g_tls_cipher,
			       g_tls_group[0] ? " " : "", g_tls_group,
			       (long long)atomic_load(&g_tls_ok), (long long)atomic_load(&g_tls_failed),
			       (long long)atomic_load(&g_tls_full_rec), (long long)atomic_load(&g_tls_resumed_rec));
		if (opt.scen == S_IDLE_HOLD)
			printf("idle-hold: %d idlers, %lld rounds timed out (%.1f s)\n", g_n_idlers,
			       timed_out, opt.round_timeout);
		if (opt.n_pids && g_server_cpu_s >= 0)
			printf("server CPU: %.2f s (%.0f%% of a core), %.1f us per %s\n", g_server_cpu_s,
			       secs > 0 ? g_server_cpu_s / secs * 100 : 0,
			       ops > 0 ? g_server_cpu_s * 1e6 / (double)ops : 0,
			       opt.scen == S_LOGIN ? "session" : opt.scen == S_IDLE_HOLD ? "round" : "op");
		if (opt.n_pids)
			printf("server memory (%d procs): RSS before %.1f MiB, after setup %.1f MiB, after %.1f MiB"
			       " | PSS %.1f / %.1f / %.1f MiB\n",
			       m2.procs, m0.rss_kb / 1024.0, m1.rss_kb / 1024.0, m2.rss_kb / 1024.0,
			       m0.pss_kb / 1024.0, m1.pss_kb / 1024.0, m2.pss_kb / 1024.0);
		if (atomic_load(&g_conn_errors))
			printf("connection errors: %lld (first: %s)\n", (long long)atomic_load(&g_conn_errors),
			       g_first_error);
		if (strcmp(status, "unsupported") == 0)
			printf("scenario %s: unsupported by server\n", scen_info[opt.scen].name);
	}
	write_json(stdout, tot, secs, status, m0, m1, m2, timed_out);
	if (opt.json_out) {
		FILE *f = fopen(opt.json_out, "w");
		if (f) {
			write_json(f, tot, secs, status, m0, m1, m2, timed_out);
			fclose(f);
		} else {
			fprintf(stderr, "uimap-bench: %s: %s\n", opt.json_out, strerror(errno));
		}
	}
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: uimap-bench [OPTIONS]\n"
		"  -s, --scenario NAME     scenario (default noop), see below\n"
		"  -H, --host ADDR         server IPv4 address (127.0.0.1)\n"
		"  -p, --port PORT         server port (1430)\n"
		"  -u, --user USER         login user (bench)\n"
		"  -w, --pass PASS         login password (bench)\n"
		"  -c, --conns N           connections (16); idle-hold: idlers (+1 writer)\n"
		"  -t, --threads N         client threads (1)\n"
		"  -d, --depth N           commands in flight per connection (1, max %d)\n"
		"  -D, --duration SECS     measured time (5)\n"
		"      --warmup SECS       unmeasured time before (0.5; idle-hold: 0)\n"
		"  -n, --count N           stop after N operations instead (0 = use duration)\n"
		"      --msg-size BYTES    message size for append/populate/fetch-body (2048)\n"
		"  -m, --mailbox NAME      mailbox used by the scenario (INBOX)\n"
		"      --populate N        first make sure the mailbox holds N messages (APPEND)\n"
		"      --sources N         spread connections over N source addresses from\n"
		"                          --src-base (127.0.0.2); 0 = auto (1 per 20000 conns,\n"
		"                          16 for login), -1 = never bind\n"
		"      --pid PID           server pid: report its (and its children's) memory;\n"
		"                          repeatable\n"
		"      --label TEXT        label stored in the JSON result\n"
		"      --json-out FILE     also write the JSON result line to FILE\n"
		"      --round-timeout S   idle-hold: give up on a round after S seconds (5)\n"
		"      --idle-gap S        idle-hold: pause between rounds (0.05)\n"
		"      --setup-timeout S   give up when setup takes longer (60)\n"
		"      --seed N            random seed (42)\n"
		"      --tls               implicit TLS (connect to a TLS port, e.g. --tls-listen);\n"
		"                          the certificate is not verified\n"
		"      --starttls          STARTTLS after the greeting instead\n"
		"      --tls-resume        reconnections resume the connection's last session\n"
		"                          (ticket); default: a full handshake every time\n"
		"      --tls-version V     1.2 or 1.3 only (default: either, the server picks)\n"
		"      --tls-ciphers LIST  wolfSSL cipher list the client offers\n"
		"      --tls-groups LIST   key exchange groups, the first gets the TLS 1.3 key\n"
		"                          share: X25519 X448 P-256 P-384 P-521 (e.g. X25519:P-256;\n"
		"                          default: wolfSSL's, a P-256 key share)\n"
		"  -q, --quiet             only the JSON line\n"
		"Scenarios:\n", MAX_DEPTH);
	for (unsigned i = 0; i < N_SCEN; i++)
		fprintf(f, "  %-13s %s\n", scen_info[i].name, scen_info[i].help);
}

static long parse_num(const char *s, const char *what, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "uimap-bench: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static double parse_dbl(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);
	if (*end || v < 0) {
		fprintf(stderr, "uimap-bench: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	enum { O_WARMUP = 256, O_MSGSIZE, O_POPULATE, O_SOURCES, O_SRCBASE, O_PID, O_LABEL, O_JSON,
	       O_RTIMEOUT, O_GAP, O_SETUPT, O_SEED, O_TLS, O_STARTTLS, O_TLS_RESUME, O_TLS_VERSION,
	       O_TLS_CIPHERS, O_TLS_GROUPS };
	static const struct option lo[] = {
		{"scenario", 1, 0, 's'}, {"host", 1, 0, 'H'}, {"port", 1, 0, 'p'},
		{"user", 1, 0, 'u'}, {"pass", 1, 0, 'w'}, {"conns", 1, 0, 'c'},
		{"threads", 1, 0, 't'}, {"depth", 1, 0, 'd'}, {"duration", 1, 0, 'D'},
		{"warmup", 1, 0, O_WARMUP}, {"count", 1, 0, 'n'}, {"msg-size", 1, 0, O_MSGSIZE},
		{"mailbox", 1, 0, 'm'}, {"populate", 1, 0, O_POPULATE}, {"sources", 1, 0, O_SOURCES},
		{"src-base", 1, 0, O_SRCBASE}, {"pid", 1, 0, O_PID}, {"label", 1, 0, O_LABEL},
		{"json-out", 1, 0, O_JSON}, {"round-timeout", 1, 0, O_RTIMEOUT},
		{"idle-gap", 1, 0, O_GAP}, {"setup-timeout", 1, 0, O_SETUPT}, {"seed", 1, 0, O_SEED},
		{"tls", 0, 0, O_TLS}, {"starttls", 0, 0, O_STARTTLS}, {"tls-resume", 0, 0, O_TLS_RESUME},
		{"tls-version", 1, 0, O_TLS_VERSION}, {"tls-ciphers", 1, 0, O_TLS_CIPHERS},
		{"tls-groups", 1, 0, O_TLS_GROUPS},
		{"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
	};
	bool warmup_set = false, duration_set = false;
	int o;
	while ((o = getopt_long(argc, argv, "s:H:p:u:w:c:t:d:D:n:m:qh", lo, NULL)) != -1) {
		switch (o) {
		case 's': {
			unsigned i;
			for (i = 0; i < N_SCEN; i++)
				if (strcmp(optarg, scen_info[i].name) == 0)
					break;
			if (i == N_SCEN) {
				fprintf(stderr, "uimap-bench: unknown scenario %s\n", optarg);
				usage(stderr);
				return 2;
			}
			opt.scen = (enum scen)i;
			break;
		}
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = (int)parse_num(optarg, "port", 1, 65535); break;
		case 'u': opt.user = optarg; break;
		case 'w': opt.pass = optarg; break;
		case 'c': opt.conns = (int)parse_num(optarg, "conns", 1, 1000000); break;
		case 't': opt.threads = (int)parse_num(optarg, "threads", 1, 256); break;
		case 'd': opt.depth = (int)parse_num(optarg, "depth", 1, MAX_DEPTH); break;
		case 'D': opt.duration = parse_dbl(optarg, "duration"); duration_set = true; break;
		case O_WARMUP: opt.warmup = parse_dbl(optarg, "warmup"); warmup_set = true; break;
		case 'n': opt.count = parse_num(optarg, "count", 0, 1L << 50); break;
		case O_MSGSIZE: opt.msg_size = (int)parse_num(optarg, "msg-size", 64, 1 << 28); break;
		case 'm': opt.mailbox = optarg; break;
		case O_POPULATE: opt.populate = parse_num(optarg, "populate", 0, 100000000); break;
		case O_SOURCES: opt.sources = (int)parse_num(optarg, "sources", -1, 250); break;
		case O_SRCBASE: opt.src_base = optarg; break;
		case O_PID:
			if (opt.n_pids < 8)
				opt.pids[opt.n_pids++] = (pid_t)parse_num(optarg, "pid", 1, 1 << 30);
			break;
		case O_LABEL: opt.label = optarg; break;
		case O_JSON: opt.json_out = optarg; break;
		case O_RTIMEOUT: opt.round_timeout = parse_dbl(optarg, "round-timeout"); break;
		case O_GAP: opt.idle_gap = parse_dbl(optarg, "idle-gap"); break;
		case O_SETUPT: opt.setup_timeout = parse_dbl(optarg, "setup-timeout"); break;
		case O_SEED: opt.seed = (unsigned)parse_num(optarg, "seed", 0, 0x7fffffff); break;
		case O_TLS:
		case O_STARTTLS: {
			int m = o == O_TLS ? TLS_IMPLICIT : TLS_STARTTLS;
			if (opt.tls && opt.tls != m) {
				fprintf(stderr, "uimap-bench: --tls and --starttls exclude each other\n");
				return 2;
			}
			opt.tls = m;
			break;
		}
		case O_TLS_RESUME: opt.tls_resume = true; break;
		case O_TLS_VERSION:
			if (strcmp(optarg, "1.2") == 0)
				opt.tls_version = 12;
			else if (strcmp(optarg, "1.3") == 0)
				opt.tls_version = 13;
			else {
				fprintf(stderr, "uimap-bench: --tls-version: 1.2 or 1.3\n");
				return 2;
			}
			break;
		case O_TLS_CIPHERS: opt.tls_ciphers = optarg; break;
		case O_TLS_GROUPS: opt.tls_groups = optarg; break;
		case 'q': opt.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "uimap-bench: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!opt.tls && (opt.tls_resume || opt.tls_version || opt.tls_ciphers || opt.tls_groups)) {
		fprintf(stderr, "uimap-bench: --tls-resume/--tls-version/--tls-ciphers/--tls-groups need --tls or --starttls\n");
		return 2;
	}
	if (opt.tls && tls_init() < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(opt.host, NULL, &hints, &ai) != 0) {
		fprintf(stderr, "uimap-bench: cannot resolve %s\n", opt.host);
		return 2;
	}
	target_addr = *(struct sockaddr_in *)ai->ai_addr;
	target_addr.sin_port = htons((uint16_t)opt.port);
	freeaddrinfo(ai);
	struct in_addr sb;
	if (inet_pton(AF_INET, opt.src_base, &sb) != 1) {
		fprintf(stderr, "uimap-bench: bad --src-base %s\n", opt.src_base);
		return 2;
	}
	src_base_ip = ntohl(sb.s_addr);
	bool loopback = (ntohl(target_addr.sin_addr.s_addr) >> 24) == 127;
	if (opt.sources == 0) {
		opt.sources = (opt.conns + 19999) / 20000;
		if (opt.scen == S_LOGIN)
			opt.sources = 16;
		if (opt.sources <= 1)
			opt.sources = 0;
	}
	if (opt.sources < 0 || !loopback)
		opt.sources = 0;
	if ((opt.scen == S_IDLE_HOLD || opt.count > 0) && !warmup_set)
		opt.warmup = 0;
	if (opt.scen == S_LOGIN || opt.scen == S_IDLE_HOLD || opt.scen == S_SELECT_LARGE)
		opt.depth = opt.scen == S_SELECT_LARGE ? opt.depth : 1;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (opt.populate > 0 || opt.scen == S_POPULATE) {
		if (opt.scen == S_POPULATE && opt.populate == 0)
			opt.populate = opt.count;
		if (populate() < 0)
			return 1;
		if (opt.scen == S_POPULATE)
			return 0;
	}
	append_msg = make_message(opt.seed, opt.msg_size, &append_len);

	if (opt.threads > opt.conns)
		opt.threads = opt.conns;
	threads = calloc((size_t)opt.threads, sizeof *threads);
	int total_conns = opt.conns + (opt.scen == S_IDLE_HOLD ? 1 : 0);
	struct conn *conns = calloc((size_t)total_conns, sizeof *conns);
	if (!threads || !conns)
		abort();
	for (int i = 0; i < opt.threads; i++) {
		threads[i].idx = i;
		threads[i].ep = epoll_create1(EPOLL_CLOEXEC);
		threads[i].conns = calloc((size_t)total_conns / (size_t)opt.threads + 2, sizeof(struct conn *));
	}
	if (opt.scen == S_IDLE_HOLD) {
		g_n_idlers = opt.conns;
		g_wake_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
		epoll_ctl(threads[0].ep, EPOLL_CTL_ADD, g_wake_efd, &ev);
	}
	for (int i = 0; i < total_conns; i++) {
		struct conn *c = &conns[i];
		c->id = i;
		c->fd = -1;
		c->st = C_DEAD;
		c->rnd = opt.seed * 2654435761u + (unsigned)i * 40503u + 1;
		c->search_i = (unsigned)i;
		struct thread *t = &threads[i == opt.conns ? 0 : i % opt.threads];
		c->t = t;
		t->conns[t->n_conns++] = c;
		if (i == opt.conns) {
			c->writer = true;
			t->writer = c;
		}
	}

	struct mem m0 = read_mem();
	for (int i = 0; i < opt.threads; i++)
		pthread_create(&threads[i].th, NULL, thread_main, &threads[i]);

	/* setup: wait until every connection is ready (login scenario: none needed) */
	uint64_t t_setup = now_ns();
	if (opt.scen != S_LOGIN) {
		for (;;) {
			int ready = atomic_load(&g_ready), failed = atomic_load(&g_failed);
			if (ready + failed >= total_conns)
				break;
			if ((double)(now_ns() - t_setup) / 1e9 > opt.setup_timeout) {
				fprintf(stderr, "uimap-bench: setup timed out: %d of %d connections ready\n",
				        ready, total_conns);
				break;
			}
			usleep(2000);
		}
		if (atomic_load(&g_ready) == 0) {
			fprintf(stderr, "uimap-bench: no connection got ready: %s\n",
			        g_first_error[0] ? g_first_error
			        : !opt.tls ? "no greeting (a TLS port? use --tls)" : "handshake or greeting pending");
			atomic_store(&g_phase, PH_QUIT);
			for (int i = 0; i < opt.threads; i++)
				pthread_join(threads[i].th, NULL);
			return 1;
		}
		if (!opt.quiet && atomic_load(&g_failed))
			fprintf(stderr, "uimap-bench: %d connections failed during setup (%s)\n",
			        atomic_load(&g_failed), g_first_error);
		if (opt.scen == S_IDLE_HOLD)
			g_n_idlers = atomic_load(&g_ready) - (threads[0].writer->st == C_DEAD ? 0 : 1);
	}
	double setup_secs = (double)(now_ns() - t_setup) / 1e9;
	struct mem m1 = read_mem();
	if (!opt.quiet && opt.scen != S_LOGIN)
		fprintf(stderr, "uimap-bench: %d connections ready in %.2f s\n", atomic_load(&g_ready),
		        setup_secs);

	uint64_t t0;
	struct mem mrun = m1; /* server CPU time when measuring starts */
	if (opt.warmup > 0) {
		atomic_store(&g_phase, PH_RUN);
		usleep((useconds_t)(opt.warmup * 1e6));
		mrun = read_mem();
		atomic_store(&g_ops, 0);
		atomic_store(&g_recording, 1);
		t0 = now_ns();
	} else {
		atomic_store(&g_recording, 1);
		t0 = now_ns();
		atomic_store(&g_phase, PH_RUN);
	}
	/* --count: --duration (default 600 s then) is only a safety cap */
	uint64_t limit = (uint64_t)((opt.count > 0 && !duration_set ? 600 : opt.duration) * 1e9);
	for (;;) {
		if (atomic_load(&g_phase) != PH_RUN)
			break;
		uint64_t el = now_ns() - t0;
		if (el >= limit)
			break;
		if (opt.count > 0 && atomic_load(&g_ops) >= opt.count)
			break;
		if (primary_unsupported())
			break;
		if (opt.scen != S_LOGIN && atomic_load(&g_failed) >= total_conns)
			break;
		/* login keeps reconnecting: stop when no handshake ever succeeds */
		if (opt.tls && atomic_load(&g_tls_ok) == 0 && atomic_load(&g_tls_failed) >= opt.conns)
			break;
		uint64_t left = limit - el;
		usleep(left < 2000000 ? (useconds_t)(left / 1000 + 1) : 2000); /* <= 2 ms */
	}
	atomic_store(&g_recording, 0);
	double secs = (double)(now_ns() - t0) / 1e9;
	struct mem m2 = read_mem(); /* connections still open */
	if (opt.n_pids)
		g_server_cpu_s = m2.cpu_s - mrun.cpu_s;
	atomic_store(&g_phase, PH_STOP);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(threads[i].th, NULL);
	long long timed_out = threads[0].rounds_timed_out;
	report(secs, m0, m1, m2, timed_out);
	if (opt.tls && atomic_load(&g_tls_ok) == 0 && atomic_load(&g_tls_failed) > 0)
		fprintf(stderr, "uimap-bench: no TLS handshake succeeded: %s\n", g_first_error);

	if (primary_unsupported())
		return 3;
	if (atomic_load(&g_ops) == 0)
		return 1;
	return 0;
}
