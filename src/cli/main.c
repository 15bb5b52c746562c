/* uimapd: a thin command-line program over the uimap library. */
#include "uimap/uimap.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "net/tls.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: uimapd [OPTIONS]\n"
		"  --config FILE                 read \"key = value\" options from FILE first\n"
		"  --listen HOST:PORT            plain IMAP listener (repeatable; default 127.0.0.1:1430)\n"
		"  --tls-listen HOST:PORT        implicit-TLS listener (repeatable)\n"
		"  --listen-proxy-protocol HOST:PORT  plain listener where a --trusted-proxy sends\n"
		"                                a PROXY protocol v1/v2 header first (repeatable)\n"
		"  --tls-listen-proxy-protocol HOST:PORT  the same with implicit TLS after the header\n"
		"  --cert FILE, --key FILE       TLS certificate chain and key (PEM)\n"
		"  --tls-workers N               TLS handshake threads (one per CPU; 0 = on the loop)\n"
		"  --tls-worker-nice N           their niceness above the loop's (10; 0..19)\n"
		"  --passwd FILE                 Dovecot-style passwd-file with the users\n"
		"  --master-passwd FILE          master users, who log in as anyone: \"user*master\"\n"
		"  --master-separator CHAR       between user and master in a login name (*)\n"
		"  --data-dir DIR                where mail data is kept\n"
		"  --allow-plaintext-auth        allow LOGIN/AUTHENTICATE without TLS\n"
		"  --log-level LEVEL             error, warn, info (default) or debug\n"
		"  --log-file FILE               log there instead of stderr (reopened on SIGHUP)\n"
		"  --user USER, --group GROUP    drop root to them once listening (names or numbers)\n"
		"  --chroot DIR                  and chroot there first\n"
		"  --allow-root                  serve as root (refused without --user otherwise)\n"
		"  --pid-file FILE               write the pid there once listening; removed at exit;\n"
		"                                a second uimapd with the same file is refused\n"
		"  --syslog                      log to syslog instead of stderr\n"
		"  --syslog-ident NAME           syslog ident (uimapd)\n"
		"  --syslog-facility NAME        mail (default), daemon, user, auth, local0..local7\n"
		"  --syslog-options LIST         pid (default), ndelay, nowait, cons, perror\n"
		"  --syslog-socket PATH          the syslog daemon's socket (/dev/log)\n"
		"  --unauth-commands N           commands allowed before login (10; 0 = no limit)\n"
		"  --unauth-idle SECONDS         idle timeout before login (300; 0 = none)\n"
		"  --login-timeout SECONDS       time from connect to login, however busy (180; 0 = none)\n"
		"  --auth-idle SECONDS           idle timeout after login (3600; 0 = none)\n"
		"  --poll-every SECONDS          mailbox poll interval (0 = after every command)\n"
		"  --max-connections N           global connection limit (10000; 0 = none)\n"
		"  --max-connections-per-ip N    per client address (0 = none)\n"
		"  --max-unauth-connections-per-ip N  not yet logged in, per address (20; 0 = none)\n"
		"  --max-connections-per-user N  logged-in sessions of one user (0 = none)\n"
		"  --trusted-proxy CIDR          a proxy (Dovecot's, HAProxy) whose ID x-originating-ip\n"
		"                                and -port name the real client (repeatable)\n"
		"  --allow REGEX, --deny REGEX   client address rules (POSIX extended, repeatable;\n"
		"                                also on the host name with --reverse-lookups)\n"
		"  --cidr-allow CIDR, --cidr-deny CIDR  the same by network (IPv4/IPv6, repeatable);\n"
		"                                deny wins; with allow rules, only those match\n"
		"  --reverse-lookups             look up client host names (forward-confirmed) for\n"
		"                                logs and rules; the greeting waits for the name\n"
		"  --reverse-lookup-timeout MS   at most this long (5s; also 500ms, 2s)\n"
		"  --reverse-lookup-workers N    resolver threads (4)\n"
		"  --max-line BYTES              command line limit outside literals (64K)\n"
		"  --max-literal BYTES           literal size limit (64M)\n"
		"  --login-delay MS              first failed-login delay (1000)\n"
		"  --login-delay-max MS          cap of the doubling failed-login delay (15000)\n"
		"  --quota-storage BYTES         message data per user (2G; 0 = none)\n"
		"  --quota-messages N            messages per user (1000000; 0 = none)\n"
		"  --max-mailbox-messages N      messages per mailbox (1000000; 0 = none)\n"
		"  --max-mailboxes N             mailboxes per user (5000; 0 = none)\n"
		"  --max-subscriptions N         subscriptions per user (5000; 0 = none)\n"
		"  --max-command-messages N      messages one FETCH/STORE/COPY/MOVE may name (0 = none)\n"
		"  --auth-workers N              password-hashing threads (2)\n"
		"  --snapshot-interval SECONDS   snapshot the store every N seconds (300; 0 = off)\n"
		"  --snapshot-changes N          snapshot after N changes (10000; 0 = off)\n"
		"  --journal-fsync MODE          always (default), periodic or off\n"
		"  --ignore-corrupt-snapshot     start with what verified of a damaged snapshot\n"
		"  --metrics-listen HOST:PORT    serve Prometheus metrics over HTTP at /metrics\n"
		"                                (plain HTTP, no authentication: bind to loopback)\n"
		"  --help, --version\n");
}

static char msg[512];

/* The configuration of the command line: the --config file first, then the flags
   (listeners given as flags replace the file's). NULL with *error_r (a static
   message) for a bad file or option. Read at start and again on SIGHUP. */
static struct uimap_config *load_config(int argc, char **argv, const char **error_r)
{
	struct uimap_config *cfg = uimap_config_new();
	const char *err;

	for (int i = 1; i < argc; i++) {
		const char *file = NULL;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
		if (file != NULL && uimap_config_load_file(cfg, file, &err) < 0) {
			snprintf(msg, sizeof(msg), "%s", err);
			goto fail;
		}
	}
	bool cli_listen = false, cli_tls_listen = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0) {
			snprintf(msg, sizeof(msg), "unexpected argument '%s' (see --help)", a);
			goto fail;
		}
		char key[64];
		const char *value = NULL;
		const char *eq = strchr(a + 2, '=');
		size_t klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (klen == 0 || klen >= sizeof(key)) {
			snprintf(msg, sizeof(msg), "unknown option '%s' (see --help)", a);
			goto fail;
		}
		memcpy(key, a + 2, klen);
		key[klen] = '\0';
		if (strcmp(key, "config") != 0 && uimap_config_key_is_bool(key) < 0) {
			snprintf(msg, sizeof(msg), "unknown option '%s' (see --help)", a);
			goto fail;
		}
		if (eq != NULL) {
			value = eq + 1;
		} else if (uimap_config_key_is_bool(key) == 0 && strcmp(key, "config") != 0) {
			if (i + 1 >= argc) {
				snprintf(msg, sizeof(msg), "option '--%s' needs a value", key);
				goto fail;
			}
			value = argv[++i];
		} else if (strcmp(key, "config") == 0) {
			i++;
		}
		if (strcmp(key, "config") == 0)
			continue;
		if (strcmp(key, "listen") == 0 && !cli_listen) {
			cli_listen = true;
			(void)uimap_config_reset(cfg, key, NULL);
		}
		if (strcmp(key, "tls-listen") == 0 && !cli_tls_listen) {
			cli_tls_listen = true;
			(void)uimap_config_reset(cfg, key, NULL);
		}
		if (uimap_config_set(cfg, key, value, &err) < 0) {
			snprintf(msg, sizeof(msg), "%s (see --help)", err);
			goto fail;
		}
	}
	return cfg;
fail:
	uimap_config_free(&cfg);
	*error_r = msg;
	return NULL;
}

struct cmdline {
	int argc;
	char **argv;
};

static struct uimap_config *reload_config(void *ctx, const char **error_r)
{
	const struct cmdline *c = ctx;
	return load_config(c->argc, c->argv, error_r);
}

int main(int argc, char **argv)
{
	const char *err;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("uimapd %s (%s, AES acceleration: %s)\n", uimap_version(),
			       tls_library_version(), tls_available_aes_accel() ? "yes" : "no");
			return 0;
		}
	}
	struct uimap_config *cfg = load_config(argc, argv, &err);
	if (cfg == NULL) {
		fprintf(stderr, "uimapd: %s\n", err);
		return 2;
	}
	/* a server reachable from the network keeps no root powers unless told to */
	if (geteuid() == 0 && cfg->user == NULL && !cfg->allow_root) {
		fprintf(stderr, "uimapd: refusing to serve as root: give --user (and --group) "
				"to drop privileges once listening, or --allow-root\n");
		uimap_config_free(&cfg);
		return 2;
	}

	struct uimap_server *srv;
	if (uimap_server_new(cfg, &srv, &err) < 0) {
		fprintf(stderr, "uimapd: %s\n", err);
		uimap_config_free(&cfg);
		return 1;
	}
	uimap_config_free(&cfg);
	/* SIGHUP reads the file and the flags again */
	struct cmdline cmdline = { argc, argv };
	uimap_server_set_config_loader(srv, reload_config, &cmdline);
	uimap_server_handle_signals(srv);
	int ret = 0;
	if (uimap_server_run(srv, &err) < 0) {
		fprintf(stderr, "uimapd: %s\n", err);
		ret = 1;
	}
	uimap_server_free(&srv);
	return ret;
}
