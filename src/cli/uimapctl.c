/* uimapctl: administration of a uimapd installation — password hashes and the users
   of a passwd-file (edited safely: a temporary file renamed over the old one), mail
   import and export (through a running server or straight into a data directory),
   a data directory's snapshot (info, verify, compact) and a running server's
   statistics. */
#include "cli/fail.h"
#include "cli/datadir.h"
#include "cli/import.h"
#include "cli/offline.h"
#include "cli/stats.h"

#include "core/log.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: uimapctl COMMAND ...\n"
		"  passwd [--scheme yescrypt|sha512|bcrypt]\n"
		"        read a password (twice on a terminal, once from a pipe) and print\n"
		"        its {CRYPT} hash for a passwd-file (yescrypt by default)\n"
		"  user add FILE USER [--scheme S] [--field KEY=VALUE]...\n"
		"        add USER to the passwd-file FILE (created when missing) with a\n"
		"        password read as above; fields such as userdb_quota_rule=*:storage=1G\n"
		"  user del FILE USER      remove USER\n"
		"  user list FILE          print the users, one per line\n"
		"uimapd reads the file again on SIGHUP.\n"
		"  import SOURCE MAILBOX --user USER [--host H] [--port P]\n"
		"        append an mbox file or a Maildir to MAILBOX of USER on a running\n"
		"        uimapd (default 127.0.0.1:1430; the password is read as above),\n"
		"        keeping flags, keywords and dates (new UIDs)\n"
		"  import SOURCE MAILBOX --user USER --data-dir DIR [--keep-uids]\n"
		"        the same straight into a data directory no uimapd has open, keeping\n"
		"        the source's UIDs and UIDVALIDITY (dovecot-uidlist, X-UID) when\n"
		"        MAILBOX is new or empty (--keep-uids: or fail); one new snapshot\n"
		"  export MAILBOX DEST --user USER [--maildir] [--host H] [--port P]\n"
		"  export MAILBOX DEST --user USER [--maildir] --data-dir DIR\n"
		"        write MAILBOX of USER to a new mbox file DEST (or a Maildir with\n"
		"        --maildir) with flags, keywords, dates, UIDs and UIDVALIDITY, from a\n"
		"        running uimapd or from a data directory\n"
		"  snapshot info DIR [--mailboxes]\n"
		"        a data directory's files, snapshot (format, time), journal, users,\n"
		"        mailboxes, messages and bytes (--mailboxes: one line each)\n"
		"  snapshot verify DIR\n"
		"        check every checksum and record: \"ok\", or the first problem (exit 1)\n"
		"  snapshot compact DIR [--ignore-corrupt]\n"
		"        fold the journals into a new snapshot (no uimapd may have DIR open)\n"
		"  stats [--host H] [--port P | --metrics HOST:PORT] [--raw]\n"
		"        summarize a running uimapd's metrics (its --metrics-listen, default\n"
		"        127.0.0.1:" STATS_DEFAULT_PORT "): connections, logins, commands, bytes,\n"
		"        store, journal and snapshots; --raw prints the exposition text\n"
		"Long work draws a progress line when stderr is a terminal.\n");
}

#define fail cli_fail

/* One line from stdin without echo on a terminal; NULL at EOF. */
static char *read_password(const char *prompt)
{
	static char buf[1024];
	bool tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	if (tty) {
		fputs(prompt, stderr);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *r = fgets(buf, sizeof(buf), stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (r == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}

/* The hash of a password read from stdin, as "{CRYPT}$y$...", or NULL. */
static char *hash_password(const char *scheme)
{
	const char *prefix = strcmp(scheme, "yescrypt") == 0 ? "$y$" :
			     strcmp(scheme, "sha512") == 0 ? "$6$" :
			     strcmp(scheme, "bcrypt") == 0 ? "$2b$" : NULL;
	if (prefix == NULL) {
		fail("unknown scheme '%s' (yescrypt, sha512, bcrypt)", scheme);
		return NULL;
	}
	char *pw = read_password("Password: ");
	if (pw == NULL || pw[0] == '\0') {
		fail("%s", "no password given");
		return NULL;
	}
	char *first = strdup(pw);
	if (isatty(STDIN_FILENO)) {
		char *again = read_password("Again: ");
		if (again == NULL || strcmp(again, first) != 0) {
			free(first);
			fail("%s", "the passwords differ");
			return NULL;
		}
	}
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *out = NULL;
	if (cd != NULL && crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof(setting)) != NULL &&
	    crypt_r(first, setting, cd) != NULL && cd->output[0] != '*') {
		size_t n = strlen(cd->output) + 8;
		out = malloc(n);
		if (out != NULL)
			snprintf(out, n, "{CRYPT}%s", cd->output);
	}
	explicit_bzero(first, strlen(first));
	free(first);
	if (cd != NULL)
		explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (out == NULL)
		fail("%s", "crypt(3) failed");
	return out;
}

static bool valid_user(const char *u)
{
	if (u[0] == '\0' || strlen(u) > 255)
		return false;
	for (const char *p = u; *p; p++)
		if (*p == ':' || *p == '\n' || *p == '\r' || *p == ' ' || *p == '\t' || *p == '#')
			return false;
	return true;
}

/* Whether line (one passwd-file line) is USER's. */
static bool line_is(const char *line, const char *user)
{
	size_t n = strlen(user);
	return strncmp(line, user, n) == 0 && line[n] == ':';
}

/* Copy path to a new temporary file beside it leaving out user's line, add extra (a
   line or NULL), rename over path. found_r: whether user's line was there. */
static int rewrite(const char *path, const char *user, const char *extra, bool *found_r)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return fail("cannot create a file beside %s", path);
	struct stat st;
	mode_t mode = 0640;
	FILE *in = fopen(path, "r");
	if (in != NULL && fstat(fileno(in), &st) == 0)
		mode = st.st_mode & 07777;
	fchmod(fd, mode);
	FILE *out = fdopen(fd, "w");
	char *line = NULL;
	size_t cap = 0;
	*found_r = false;
	while (in != NULL && getline(&line, &cap, in) > 0) {
		if (line_is(line, user)) {
			*found_r = true;
			continue;
		}
		fputs(line, out);
		if (line[strlen(line) - 1] != '\n')
			fputc('\n', out);
	}
	free(line);
	if (in != NULL)
		fclose(in);
	if (extra != NULL)
		fprintf(out, "%s\n", extra);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0 ||
	    rename(tmp, path) != 0) {
		unlink(tmp);
		return fail("cannot write %s", path);
	}
	return 0;
}

static int user_add(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), 2;
	const char *path = argv[0], *user = argv[1], *scheme = "yescrypt";
	char fields[2048] = "";
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--scheme") == 0 && i + 1 < argc) {
			scheme = argv[++i];
		} else if (strcmp(argv[i], "--field") == 0 && i + 1 < argc &&
			   strchr(argv[i + 1], '=') != NULL && strpbrk(argv[i + 1], " \t\r\n") == NULL) {
			size_t len = strlen(fields);
			snprintf(fields + len, sizeof(fields) - len, "%s%s", len ? " " : "", argv[++i]);
		} else {
			return fail("bad argument '%s' (see uimapctl --help)", argv[i]);
		}
	}
	if (!valid_user(user))
		return fail("invalid user name '%s'", user);
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		char *line = NULL;
		size_t cap = 0;
		bool exists = false;
		while (getline(&line, &cap, f) > 0)
			exists |= line_is(line, user);
		free(line);
		fclose(f);
		if (exists)
			return fail("user '%s' exists already (user del first)", user);
	}
	char *hash = hash_password(scheme);
	if (hash == NULL)
		return 1;
	char entry[4096];
	/* user:{CRYPT}hash:uid:gid:gecos:home:shell:extra fields (Dovecot's layout) */
	snprintf(entry, sizeof(entry), "%s:%s%s%s", user, hash, fields[0] ? "::::::" : "",
		 fields);
	free(hash);
	bool found;
	return rewrite(path, user, entry, &found);
}

/* The persistence code's log, errors and warnings only, on stderr. */
static struct logger quiet_log = { .level = UIMAP_LOG_WARN, .fd = STDERR_FILENO,
				   .syslog_fd = -1 };

/* import SOURCE MAILBOX / export MAILBOX DEST, and their options. */
static int transfer(bool export, int argc, char **argv)
{
	struct import_args a = { .source = argv[export ? 3 : 2], .mailbox = argv[export ? 2 : 3],
				 .host = "127.0.0.1", .port = "1430" };
	bool online_opt = false;

	for (int i = 4; i < argc; i++) {
		if (export && strcmp(argv[i], "--maildir") == 0) {
			a.maildir = true;
			continue;
		}
		if (!export && strcmp(argv[i], "--keep-uids") == 0) {
			a.keep_uids = true;
			continue;
		}
		if (i + 1 >= argc)
			return fail("option '%s' needs a value", argv[i]);
		if (strcmp(argv[i], "--user") == 0) {
			a.user = argv[++i];
		} else if (strcmp(argv[i], "--data-dir") == 0) {
			a.data_dir = argv[++i];
		} else if (strcmp(argv[i], "--host") == 0) {
			a.host = argv[++i];
			online_opt = true;
		} else if (strcmp(argv[i], "--port") == 0) {
			a.port = argv[++i];
			online_opt = true;
		} else {
			return fail("bad argument '%s' (see uimapctl --help)", argv[i]);
		}
	}
	if (a.user == NULL)
		return fail("%s needs --user USER", argv[1]);
	if (!valid_user(a.user))
		return fail("invalid user name '%s'", a.user);
	if (a.data_dir != NULL && online_opt)
		return fail("%s", "--data-dir works without a server: no --host/--port with it");
	if (a.keep_uids && a.data_dir == NULL)
		return fail("%s", "--keep-uids needs --data-dir (APPEND through a server gives "
			    "new UIDs)");
	if (a.data_dir != NULL) {
		log_use(&quiet_log);
		return export ? offline_export(&a) : offline_import(&a);
	}
	char *pw = read_password("Password: ");
	if (pw == NULL)
		return fail("%s", "no password given");
	a.password = pw;
	return export ? export_run(&a) : import_run(&a);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "passwd") == 0) {
		const char *scheme = "yescrypt";
		if (argc == 4 && strcmp(argv[2], "--scheme") == 0)
			scheme = argv[3];
		else if (argc != 2)
			return usage(stderr), 2;
		char *hash = hash_password(scheme);
		if (hash == NULL)
			return 1;
		printf("%s\n", hash);
		free(hash);
		return 0;
	}
	if (strcmp(argv[1], "stats") == 0)
		return stats_run(argc - 2, argv + 2);
	bool export = strcmp(argv[1], "export") == 0;
	if ((export || strcmp(argv[1], "import") == 0) && argc >= 4)
		return transfer(export, argc, argv);
	if (strcmp(argv[1], "snapshot") == 0 && argc >= 4) {
		const char *dir = argv[3];
		bool flag = argc == 5 && strcmp(argv[4], strcmp(argv[2], "info") == 0
					      ? "--mailboxes" : "--ignore-corrupt") == 0;
		if (argc > 5 || (argc == 5 && (!flag || strcmp(argv[2], "verify") == 0)))
			return usage(stderr), 2;
		log_use(&quiet_log);
		if (strcmp(argv[2], "info") == 0)
			return datadir_info(dir, flag);
		if (strcmp(argv[2], "verify") == 0)
			return datadir_verify(dir);
		if (strcmp(argv[2], "compact") == 0)
			return datadir_compact(dir, flag);
	}
	if (strcmp(argv[1], "user") == 0 && argc >= 3) {
		if (strcmp(argv[2], "add") == 0)
			return user_add(argc - 3, argv + 3);
		if (strcmp(argv[2], "del") == 0 && argc == 5) {
			bool found;
			if (access(argv[3], R_OK) != 0)
				return fail("cannot read %s", argv[3]);
			if (rewrite(argv[3], argv[4], NULL, &found) != 0)
				return 1;
			return found ? 0 : fail("no user '%s'", argv[4]);
		}
		if (strcmp(argv[2], "list") == 0 && argc == 4) {
			FILE *f = fopen(argv[3], "r");
			if (f == NULL)
				return fail("cannot read %s", argv[3]);
			char *line = NULL;
			size_t cap = 0;
			while (getline(&line, &cap, f) > 0) {
				size_t n = strcspn(line, ":\n");
				if (n > 0 && line[0] != '#' && line[n] == ':')
					printf("%.*s\n", (int)n, line);
			}
			free(line);
			fclose(f);
			return 0;
		}
	}
	usage(stderr);
	return 2;
}
