/* echo-server: the physical ceiling for IMAP-like round trips on this machine.
 *
 * A bare single-threaded io_uring server: multishot accept, multishot recv
 * into a provided-buffer ring, one send in flight per connection.  It speaks
 * just enough IMAP for uimap-bench's noop and login scenarios:
 *   greeting  "* OK echo\r\n"
 *   "TAG ..." -> "TAG OK done\r\n"          (every command, LOGIN included)
 *   "TAG LOGOUT" -> "* BYE echo\r\nTAG OK done\r\n", then close
 *
 * Usage: echo-server [--listen HOST:PORT]   (default 127.0.0.1:1431)
 * Prints "listening on HOST port N" on stderr; SIGINT/SIGTERM stop it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define RING_ENTRIES 4096
#define BUF_GROUP 1
#define BUF_COUNT 4096 /* power of two */
#define BUF_SIZE 4096
#define LINE_MAX_LEN 8192

enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND };

struct conn {
	int fd;
	int refs;          /* requests in flight */
	bool closing;      /* close after the in-flight send */
	bool recv_armed;
	char line[LINE_MAX_LEN];
	size_t llen;
	char *out;         /* being sent */
	size_t out_len, out_off, out_cap;
	char *pend;        /* queued while a send is in flight */
	size_t pend_len, pend_cap;
	bool sending;
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static int listen_fd;
static volatile sig_atomic_t stop;
static unsigned long long n_accepted, n_lines;

static inline uint64_t ud(enum op op, struct conn *c)
{
	return (uint64_t)(uintptr_t)c | (uint64_t)op;
}

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (!sqe) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	if (!sqe) {
		fprintf(stderr, "echo-server: submission queue full\n");
		exit(1);
	}
	return sqe;
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = get_sqe();
	io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, (uint64_t)OP_ACCEPT);
}

static void arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BUF_GROUP;
	io_uring_sqe_set_data64(sqe, ud(OP_RECV, c));
	c->refs++;
	c->recv_armed = true;
}

static void conn_maybe_free(struct conn *c)
{
	if (c->refs > 0)
		return;
	close(c->fd);
	free(c->out);
	free(c->pend);
	free(c);
}

static void start_send(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();
	io_uring_prep_send(sqe, c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, ud(OP_SEND, c));
	c->refs++;
	c->sending = true;
}

static void grow(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t n = *cap ? *cap : 1024;
	while (n < need)
		n *= 2;
	*p = realloc(*p, n);
	if (!*p)
		abort();
	*cap = n;
}

static void out_put(struct conn *c, const char *s, size_t n)
{
	/* while a send is in flight its buffer must not move: queue in pend */
	grow(&c->pend, &c->pend_cap, c->pend_len + n);
	memcpy(c->pend + c->pend_len, s, n);
	c->pend_len += n;
}

static void out_kick(struct conn *c)
{
	if (c->sending || c->pend_len == 0)
		return;
	/* swap pend into out */
	char *tp = c->out;
	size_t tc = c->out_cap;
	c->out = c->pend;
	c->out_cap = c->pend_cap;
	c->out_len = c->pend_len;
	c->out_off = 0;
	c->pend = tp;
	c->pend_cap = tc;
	c->pend_len = 0;
	start_send(c);
}

static void handle_line(struct conn *c, const char *l, size_t n)
{
	n_lines++;
	if (n > 0 && l[n - 1] == '\r')
		n--;
	const char *sp = memchr(l, ' ', n);
	size_t taglen = sp ? (size_t)(sp - l) : n;
	if (taglen == 0)
		return;
	const char *cmd = sp ? sp + 1 : l + n;
	size_t cmdlen = (size_t)(l + n - cmd);
	bool logout = cmdlen >= 6 && strncasecmp(cmd, "LOGOUT", 6) == 0 &&
	              (cmdlen == 6 || cmd[6] == ' ');
	if (logout)
		out_put(c, "* BYE echo\r\n", 12);
	out_put(c, l, taglen);
	out_put(c, " OK done\r\n", 10);
	if (logout)
		c->closing = true;
}

static void handle_data(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (c->llen + take > LINE_MAX_LEN)
			c->llen = 0; /* absurd line: drop what we had */
		if (c->llen == 0 && nl) {
			handle_line(c, p, take); /* fast path, no copy */
		} else {
			memcpy(c->line + c->llen, p, take);
			c->llen += take;
			if (nl) {
				handle_line(c, c->line, c->llen);
				c->llen = 0;
			}
		}
		if (!nl)
			break;
		p += take + 1;
		n -= take + 1;
		if (c->closing)
			break;
	}
}

static void recycle_buf(unsigned bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
	                      io_uring_buf_ring_mask(BUF_COUNT), 0);
	io_uring_buf_ring_advance(br, 1);
}

static void on_accept(struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		arm_accept();
	if (cqe->res < 0) {
		if (cqe->res != -ECANCELED)
			fprintf(stderr, "echo-server: accept: %s\n", strerror(-cqe->res));
		return;
	}
	n_accepted++;
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->fd = cqe->res;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	out_put(c, "* OK echo\r\n", 11);
	out_kick(c);
	arm_recv(c);
}

static void on_recv(struct conn *c, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;
	if (!more) {
		c->refs--;
		c->recv_armed = false;
	}
	if (cqe->res > 0) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		if (!c->closing)
			handle_data(c, bufs + (size_t)bid * BUF_SIZE, (size_t)cqe->res);
		recycle_buf(bid);
		out_kick(c);
		if (!more && !c->closing)
			arm_recv(c);
	} else if (cqe->res == -ENOBUFS) {
		if (!more && !c->closing)
			arm_recv(c); /* buffers come back as sends complete */
	} else {
		/* EOF or error: stop reading; free once the send is done */
		c->closing = true;
		if (more) {
			/* should not happen for res <= 0, but be safe */
			shutdown(c->fd, SHUT_RDWR);
		}
	}
	if (c->closing && !c->sending && c->pend_len == 0) {
		shutdown(c->fd, SHUT_RDWR); /* ends the multishot recv */
		conn_maybe_free(c);
	}
}

static void on_send(struct conn *c, struct io_uring_cqe *cqe)
{
	c->refs--;
	c->sending = false;
	if (cqe->res < 0) {
		c->closing = true;
		c->pend_len = 0;
	} else {
		c->out_off += (size_t)cqe->res;
		if (c->out_off < c->out_len) {
			start_send(c);
			return;
		}
		out_kick(c);
	}
	if (c->closing && !c->sending) {
		shutdown(c->fd, SHUT_RDWR);
		conn_maybe_free(c);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *listen_spec = "127.0.0.1:1431";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen_spec = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			printf("Usage: echo-server [--listen HOST:PORT]  (default 127.0.0.1:1431)\n");
			return 0;
		} else {
			fprintf(stderr, "echo-server: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	char host[64];
	const char *colon = strrchr(listen_spec, ':');
	if (!colon || (size_t)(colon - listen_spec) >= sizeof host) {
		fprintf(stderr, "echo-server: bad --listen %s\n", listen_spec);
		return 2;
	}
	memcpy(host, listen_spec, (size_t)(colon - listen_spec));
	host[colon - listen_spec] = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "echo-server: bad address %s\n", host);
		return 2;
	}
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listen_fd, 4096) < 0) {
		fprintf(stderr, "echo-server: %s: %s\n", listen_spec, strerror(errno));
		return 1;
	}
	socklen_t sl = sizeof sa;
	getsockname(listen_fd, (struct sockaddr *)&sa, &sl);

	struct io_uring_params p = {0};
	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
	p.cq_entries = RING_ENTRIES * 8;
	p.flags |= IORING_SETUP_CQSIZE;
	int r = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
	if (r < 0) {
		/* older kernels: plain setup */
		memset(&p, 0, sizeof p);
		r = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
	}
	if (r < 0) {
		fprintf(stderr, "echo-server: io_uring_queue_init: %s\n", strerror(-r));
		return 1;
	}
	/* provided buffer ring */
	size_t ring_sz = BUF_COUNT * sizeof(struct io_uring_buf);
	br = mmap(NULL, ring_sz, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
	if (br == MAP_FAILED || !bufs) {
		fprintf(stderr, "echo-server: out of memory\n");
		return 1;
	}
	struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br,
	                               .ring_entries = BUF_COUNT, .bgid = BUF_GROUP};
	r = io_uring_register_buf_ring(&ring, &reg, 0);
	if (r < 0) {
		fprintf(stderr, "echo-server: io_uring_register_buf_ring: %s\n", strerror(-r));
		return 1;
	}
	io_uring_buf_ring_init(br);
	for (unsigned i = 0; i < BUF_COUNT; i++)
		io_uring_buf_ring_add(br, bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
		                      io_uring_buf_ring_mask(BUF_COUNT), (int)i);
	io_uring_buf_ring_advance(br, BUF_COUNT);

	struct sigaction sact = {.sa_handler = on_signal};
	sigaction(SIGINT, &sact, NULL);
	sigaction(SIGTERM, &sact, NULL);
	signal(SIGPIPE, SIG_IGN);

	arm_accept();
	fprintf(stderr, "listening on %s port %d\n", host, ntohs(sa.sin_port));
	while (!stop) {
		struct io_uring_cqe *cqe;
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "echo-server: io_uring_submit_and_wait: %s\n", strerror(-r));
			break;
		}
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			seen++;
			uint64_t d = io_uring_cqe_get_data64(cqe);
			enum op op = (enum op)(d & 7);
			struct conn *c = (struct conn *)(uintptr_t)(d & ~(uint64_t)7);
			switch (op) {
			case OP_ACCEPT: on_accept(cqe); break;
			case OP_RECV: on_recv(c, cqe); break;
			case OP_SEND: on_send(c, cqe); break;
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	fprintf(stderr, "echo-server: %llu connections, %llu commands\n", n_accepted, n_lines);
	io_uring_queue_exit(&ring);
	return 0;
}
