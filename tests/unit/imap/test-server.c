/* The public server API's promise that several servers run in several threads of
   one process, each with its own configuration and logger. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "uimap/uimap.h"

struct running {
	struct uimap_server *srv;
	pthread_t thread;
	int ret;
	char log[64];
};

static void *serve(void *arg)
{
	struct running *r = arg;
	const char *err;
	r->ret = uimap_server_run(r->srv, &err);
	return NULL;
}

static void start(struct running *r, const char *level)
{
	struct uimap_config *cfg = uimap_config_new();
	const char *err;
	char dir[] = "/tmp/uimap-servers-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	snprintf(r->log, sizeof(r->log), "%s/log", dir);
	cr_assert_eq(uimap_config_set(cfg, "listen", "127.0.0.1:0", &err), 0, "%s", err);
	cr_assert_eq(uimap_config_set(cfg, "log-level", level, &err), 0, "%s", err);
	cr_assert_eq(uimap_config_set(cfg, "log-file", r->log, &err), 0, "%s", err);
	cr_assert_eq(uimap_server_new(cfg, &r->srv, &err), 0, "%s", err);
	uimap_config_free(&cfg);
	cr_assert_eq(uimap_server_bind(r->srv, &err), 0, "%s", err);
	cr_assert_eq(pthread_create(&r->thread, NULL, serve, r), 0);
}

/* Connect, read the greeting, LOGOUT, read until the server closes. */
static void talk(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 10 };
	char buf[4096];
	size_t n = 0;
	ssize_t k;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(write(fd, "a LOGOUT\r\n", 10), 10);
	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	cr_assert(strstr(buf, "* OK [CAPABILITY") == buf, "%s", buf);
	cr_assert(strstr(buf, "a OK ") != NULL, "%s", buf);
	close(fd);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char text[65536];
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return strdup(text);
}

Test(servers, two_servers_in_two_threads_log_apart)
{
	struct running a = { 0 }, b = { 0 };
	char want[64];

	start(&a, "debug");
	start(&b, "info");
	int pa = uimap_server_port(a.srv, 0), pb = uimap_server_port(b.srv, 0);
	cr_assert_gt(pa, 0);
	cr_assert_gt(pb, 0);
	for (int i = 0; i < 3; i++) {
		talk(pa);
		talk(pb);
	}
	uimap_server_stop(a.srv);
	uimap_server_stop(b.srv);
	pthread_join(a.thread, NULL);
	pthread_join(b.thread, NULL);
	cr_assert_eq(a.ret, 0);
	cr_assert_eq(b.ret, 0);
	char *la = slurp(a.log), *lb = slurp(b.log);
	/* each server's lines in its own file, at its own level */
	snprintf(want, sizeof(want), "port %d", pa);
	cr_assert(strstr(la, want) != NULL, "%s", la);
	cr_assert(strstr(lb, want) == NULL, "%s", lb);
	snprintf(want, sizeof(want), "port %d", pb);
	cr_assert(strstr(lb, want) != NULL, "%s", lb);
	cr_assert(strstr(la, want) == NULL, "%s", la);
	cr_assert(strstr(la, "DEBUG") != NULL, "A logs at debug: %s", la);
	cr_assert(strstr(lb, "DEBUG") == NULL, "B logs at info: %s", lb);
	free(la);
	free(lb);
	uimap_server_free(&a.srv);
	uimap_server_free(&b.srv);
}

/* An embedder's log callback gets the lines (and stderr does not). */
static void collect(void *ctx, enum uimap_log_level level, const char *line)
{
	struct uimap_server **srvp = ctx;
	(void)level;
	if (strstr(line, "listening on") != NULL)
		uimap_server_stop(*srvp);
}

Test(servers, log_callback_receives_lines)
{
	struct uimap_config *cfg = uimap_config_new();
	struct uimap_server *srv;
	const char *err;

	cr_assert_eq(uimap_config_set(cfg, "listen", "127.0.0.1:0", &err), 0);
	cr_assert_eq(uimap_server_new(cfg, &srv, &err), 0, "%s", err);
	uimap_config_free(&cfg);
	uimap_server_set_log_callback(srv, collect, &srv);
	/* run returns only because the callback saw "listening on" and stopped it */
	cr_assert_eq(uimap_server_run(srv, &err), 0);
	uimap_server_free(&srv);
}

Test(servers, set_store_refused_with_persistence)
{
	struct uimap_config *cfg = uimap_config_new();
	struct uimap_server *srv;
	struct uimap_store *store;
	char dir[] = "/tmp/uimap-store-XXXXXX";
	const char *err;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(uimap_config_set(cfg, "data-dir", dir, &err), 0);
	cr_assert_eq(uimap_server_new(cfg, &srv, &err), 0, "%s", err);
	uimap_config_free(&cfg);
	cr_assert_eq(uimap_store_memory_new(NULL, &store), 0);
	cr_assert_eq(uimap_server_set_store(srv, store, &err), -1);
	cr_assert(strstr(err, "data_dir") != NULL, "%s", err);
	cr_assert_neq(uimap_server_store(srv), store, "nothing changed");
	uimap_store_free(&store);
	uimap_server_free(&srv);
}

/* uimap_server_set_id: RFC 2971's limits, replacing, removing. */
Test(server_api, id_fields)
{
	struct uimap_config *cfg = uimap_config_new();
	struct uimap_server *srv;
	const char *err = NULL;
	cr_assert_eq(uimap_server_new(cfg, &srv, &err), 0);
	uimap_config_free(&cfg);
	cr_assert_eq(uimap_server_set_id(srv, "vendor", "Acme", &err), 0);
	cr_assert_eq(uimap_server_set_id(srv, "vendor", "Acme 2", &err), 0, "replaced");
	cr_assert_eq(uimap_server_set_id(srv, "a-field-name-longer-than-30-octets", "x", &err), -1);
	cr_assert_not_null(strstr(err, "30 octets"));
	cr_assert_eq(uimap_server_set_id(srv, "x", "line\r\nbreak", &err), -1);
	char big[1100];
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(uimap_server_set_id(srv, "x", big, NULL), -1, "value over 1024");
	/* name, version, vendor + 27 more = 30; the 31st is refused */
	for (int i = 0; i < 27; i++) {
		char f[8];
		snprintf(f, sizeof(f), "f%d", i);
		cr_assert_eq(uimap_server_set_id(srv, f, "v", &err), 0, "%d", i);
	}
	cr_assert_eq(uimap_server_set_id(srv, "one-too-many", "v", &err), -1);
	cr_assert_eq(uimap_server_set_id(srv, "f3", NULL, &err), 0, "removed");
	cr_assert_eq(uimap_server_set_id(srv, "one-too-many", "v", &err), 0, "room again");
	uimap_server_free(&srv);
}

/* uimap_server_capability: snprintf's contract, and the state-dependent items. */
Test(server_api, capability_string)
{
	struct uimap_config *cfg = uimap_config_new();
	struct uimap_server *srv;
	const char *err = NULL;
	cr_assert_eq(uimap_server_new(cfg, &srv, &err), 0);
	uimap_config_free(&cfg);
	char buf[2048], small[16];
	size_t n = uimap_server_capability(srv, false, false, buf, sizeof(buf));
	cr_assert_eq(n, strlen(buf));
	cr_assert_not_null(strstr(buf, "LOGINDISABLED"), "%s", buf);
	cr_assert_null(strstr(buf, "STARTTLS"), "no certificate: no STARTTLS");
	cr_assert_eq(uimap_server_capability(srv, false, false, small, sizeof(small)), n);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(strncmp(small, buf, sizeof(small) - 1), 0);
	cr_assert_eq(uimap_server_capability(srv, false, false, NULL, 0), n);
	uimap_server_capability(srv, false, true, buf, sizeof(buf));
	cr_assert_not_null(strstr(buf, "AUTH=PLAIN"), "TLS: plaintext auth allowed");
	uimap_server_capability(srv, true, true, buf, sizeof(buf));
	cr_assert_null(strstr(buf, "AUTH=PLAIN"), "after login: no AUTH=");
	cr_assert_eq(strncmp(buf, "IMAP4rev1 ", 10), 0);
	uimap_server_free(&srv);
}
