/* Unit tests for the passwd-file auth backend, with hashes made at test time. */
#include <criterion/criterion.h>
#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "uimap/auth.h"
#include "auth/passwd-file.h"

static char tmp_path[64];

static void remove_tmp(void)
{
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	tmp_path[0] = '\0';
}

/* Writes content to a fresh temporary file and returns its path. */
static const char *write_tmp(const char *content, size_t len)
{
	int fd;

	remove_tmp();
	strcpy(tmp_path, "/tmp/uimap-passwd-XXXXXX");
	fd = mkstemp(tmp_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return tmp_path;
}

/* A crypt(3) hash of password made with crypt_gensalt_rn(prefix, count). */
static char *make_hash(const char *prefix, unsigned long count, const char *password)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *hash;

	cr_assert_not_null(cd);
	cr_assert_not_null(crypt_gensalt_rn(prefix, count, NULL, 0, setting,
					    sizeof(setting)), "gensalt %s", prefix);
	cr_assert_not_null(crypt_r(password, setting, cd));
	cr_assert_neq(cd->output[0], '*', "crypt_r failed for %s", prefix);
	hash = strdup(cd->output);
	free(cd);
	return hash;
}

static int verify(void *ctx, const char *user, const char *pass)
{
	const char *error = NULL;
	int ret = uimap_auth_passwd_file.verify_plain(ctx, user, pass, &error);

	cr_assert(ret != -1, "verify_plain(%s) error: %s", user, error);
	return ret;
}

static void *open_ok(const char *content)
{
	const char *error = NULL;
	void *ctx = uimap_auth_passwd_file_open(write_tmp(content, strlen(content)),
						&error);

	cr_assert_not_null(ctx, "open failed: %s", error);
	return ctx;
}

/* Asserts that content is refused with an error naming line. */
static void expect_malformed(const char *content, size_t len, unsigned line,
			     const char *what)
{
	const char *error = NULL;
	char needle[32];
	void *ctx = uimap_auth_passwd_file_open(write_tmp(content, len), &error);

	cr_assert_null(ctx, "accepted: %s", what);
	cr_assert_not_null(error);
	snprintf(needle, sizeof(needle), "line %u:", line);
	cr_assert_not_null(strstr(error, needle), "%s: expected \"%s\" in \"%s\"", what,
			   needle, error);
	cr_assert_not_null(strstr(error, tmp_path), "path missing in \"%s\"", error);
}

#define MALFORMED(lit, line, what) expect_malformed(lit, sizeof(lit) - 1, line, what)

static char *yes_hash, *sha512_hash, *sha256_hash, *bcrypt_hash, *md5_hash,
	*yes_hash2;
static char *file_text;
static void *ctx;

static void setup_users(void)
{
	size_t size = 4096;

	yes_hash = make_hash("$y$", 5, "yes-pass");
	yes_hash2 = make_hash("$y$", 5, "frank's pass");
	sha512_hash = make_hash("$6$", 1000, "sha512 pass");
	sha256_hash = make_hash("$5$", 1000, "sha256-pass");
	bcrypt_hash = make_hash("$2b$", 4, "bcrypt-pass");
	md5_hash = make_hash("$1$", 0, "md5-pass");
	file_text = malloc(size);
	cr_assert_not_null(file_text);
	snprintf(file_text, size,
		 "# uimap test users\n"
		 "\n"
		 "alice:{SHA512-CRYPT}%s:1000:1000::/home/alice::userdb_quota=1G\n"
		 "bob:%s\n"
		 "   \t\n"
		 "carol:{BLF-CRYPT}%s:1002:1002\n"
		 "dave:{PLAIN}secret:1003:1003::/home/dave:/bin/false\n"
		 "erin:{cleartext}hunter2\r\n"
		 "frank@example.org:{CRYPT}%s:::\n"
		 "# gina:{PLAIN}commented-out\n"
		 "gina:{SHA256-CRYPT}%s\n"
		 "hank:{MD5-CRYPT}%s",  /* no final newline */
		 sha512_hash, yes_hash, bcrypt_hash, yes_hash2, sha256_hash, md5_hash);
	ctx = open_ok(file_text);
}

static void teardown_users(void)
{
	uimap_auth_passwd_file_close(ctx);
	ctx = NULL;
	free(yes_hash);
	free(yes_hash2);
	free(sha512_hash);
	free(sha256_hash);
	free(bcrypt_hash);
	free(md5_hash);
	free(file_text);
	remove_tmp();
}

TestSuite(passwd_file, .fini = remove_tmp);

Test(passwd_file, backend_vtable)
{
	cr_assert_str_eq(uimap_auth_passwd_file.name, "passwd-file");
	cr_assert(uimap_auth_passwd_file.blocking);
	cr_assert_not_null(uimap_auth_passwd_file.verify_plain);
	uimap_auth_passwd_file_close(NULL);
}

Test(passwd_file, correct_passwords, .init = setup_users, .fini = teardown_users)
{
	cr_assert_eq(verify(ctx, "alice", "sha512 pass"), 1);
	cr_assert_eq(verify(ctx, "bob", "yes-pass"), 1);
	cr_assert_eq(verify(ctx, "carol", "bcrypt-pass"), 1);
	cr_assert_eq(verify(ctx, "dave", "secret"), 1);
	cr_assert_eq(verify(ctx, "erin", "hunter2"), 1, "CRLF line / lower-case scheme");
	cr_assert_eq(verify(ctx, "frank@example.org", "frank's pass"), 1);
	cr_assert_eq(verify(ctx, "gina", "sha256-pass"), 1);
	cr_assert_eq(verify(ctx, "hank", "md5-pass"), 1, "last line without newline");
}

Test(passwd_file, wrong_passwords, .init = setup_users, .fini = teardown_users)
{
	cr_assert_eq(verify(ctx, "alice", "sha512 pasS"), 0);
	cr_assert_eq(verify(ctx, "alice", ""), 0);
	cr_assert_eq(verify(ctx, "bob", "yes-pass "), 0);
	cr_assert_eq(verify(ctx, "bob", "sha512 pass"), 0);
	cr_assert_eq(verify(ctx, "carol", "bcrypt-pas"), 0);
	cr_assert_eq(verify(ctx, "gina", "x"), 0);
	cr_assert_eq(verify(ctx, "hank", "md5-pass\n"), 0);
	/* the stored hash itself is not a password */
	cr_assert_eq(verify(ctx, "bob", yes_hash), 0);
}

Test(passwd_file, plain_scheme_exact_match, .init = setup_users, .fini = teardown_users)
{
	cr_assert_eq(verify(ctx, "dave", "secret"), 1);
	cr_assert_eq(verify(ctx, "dave", "secre"), 0, "prefix matched");
	cr_assert_eq(verify(ctx, "dave", "secret2"), 0, "longer matched");
	cr_assert_eq(verify(ctx, "dave", "Secret"), 0);
	cr_assert_eq(verify(ctx, "dave", ""), 0);
	cr_assert_eq(verify(ctx, "dave", "secret:1003"), 0);
	cr_assert_eq(verify(ctx, "erin", "hunter2\r"), 0);
}

Test(passwd_file, unknown_users, .init = setup_users, .fini = teardown_users)
{
	cr_assert_eq(verify(ctx, "zed", "secret"), 0);
	cr_assert_eq(verify(ctx, "", ""), 0);
	cr_assert_eq(verify(ctx, "Alice", "sha512 pass"), 0, "lookup is case-sensitive");
	cr_assert_eq(verify(ctx, "alic", "sha512 pass"), 0);
	cr_assert_eq(verify(ctx, "alice ", "sha512 pass"), 0);
	cr_assert_eq(verify(ctx, "frank", "frank's pass"), 0);
	cr_assert_eq(verify(ctx, "# gina", "commented-out"), 0);
	cr_assert_eq(verify(ctx, "gina:{PLAIN}commented-out", "x"), 0);
}

Test(passwd_file, very_long_password_never_matches)
{
	char *pass = malloc(5000), *line = malloc(5100);
	void *c;

	memset(pass, 'a', 4999);
	pass[4999] = '\0';
	snprintf(line, 5100, "long:{PLAIN}%s\n", pass);
	c = open_ok(line);
	cr_assert_eq(verify(c, "long", pass), 0);
	cr_assert_eq(verify(c, "nobody", pass), 0);
	uimap_auth_passwd_file_close(c);
	free(pass);
	free(line);
}

/* An unknown user is not answered faster than a known one with a wrong password:
   it costs a crypt(3) of a real hash from the file too (counted, not timed). */
Test(passwd_file, unknown_user_costs_a_hash)
{
	char *hash = make_hash("$6$", 1000, "pw");
	char text[512];
	void *c;

	snprintf(text, sizeof(text), "u:{SHA512-CRYPT}%s\n", hash);
	c = open_ok(text);
	uint64_t before = passwd_file_crypt_count();
	cr_assert_eq(verify(c, "u", "wrong"), 0);
	cr_assert_eq(passwd_file_crypt_count(), before + 1, "a known user costs one hash");
	cr_assert_eq(verify(c, "nobody", "wrong"), 0);
	cr_assert_eq(passwd_file_crypt_count(), before + 2, "an unknown user costs one too");
	uimap_auth_passwd_file_close(c);
	free(hash);
}

Test(passwd_file, comments_and_blank_only)
{
	void *c = open_ok("# nothing here\n\n#dave:{PLAIN}secret\n  \n");

	cr_assert_eq(verify(c, "dave", "secret"), 0);
	cr_assert_eq(verify(c, "#dave", "secret"), 0);
	uimap_auth_passwd_file_close(c);
	c = open_ok("");
	cr_assert_eq(verify(c, "dave", "secret"), 0);
	uimap_auth_passwd_file_close(c);
}

Test(passwd_file, malformed_lines)
{
	char *y = make_hash("$y$", 5, "pw");
	char buf[512];

	MALFORMED("# ok\nnocolon\n", 2, "missing colon");
	MALFORMED("a:{PLAIN}x\n:{PLAIN}x\n", 2, "empty user");
	MALFORMED("\n\n\na:{FOO}x\n", 4, "unknown scheme");
	MALFORMED("a:{PLAIN\n", 1, "unterminated scheme");
	MALFORMED("a:{PLAIN:x}y\n", 1, "scheme cut by ':'");
	MALFORMED("a:{PLAIN}x\nb:\n", 2, "empty password");
	MALFORMED("b::1000:1000\n", 1, "empty password before uid");
	MALFORMED("b:{PLAIN}\n", 1, "empty {PLAIN} password");
	MALFORMED("b:hello\n", 1, "cleartext without {PLAIN}");
	MALFORMED("b:!locked\n", 1, "not a hash");
	MALFORMED("a:{PLAIN}x\nb:{PLAIN}y\na:{PLAIN}z\n", 3, "duplicate user");
	MALFORMED("a:{PLAIN}x\nb:{PLA\0IN}y\n", 2, "NUL byte");
	snprintf(buf, sizeof(buf), "ok:%s\nbad:{SHA512-CRYPT}%s\n", y, y);
	expect_malformed(buf, strlen(buf), 2, "yescrypt hash under {SHA512-CRYPT}");
	snprintf(buf, sizeof(buf), "ok:%s\nbad:{BLF-CRYPT}%s\n", y, y);
	expect_malformed(buf, strlen(buf), 2, "yescrypt hash under {BLF-CRYPT}");
	free(y);
}

Test(passwd_file, traditional_des_hash_accepted)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char text[CRYPT_OUTPUT_SIZE + 8];
	void *c;

	cr_assert_not_null(cd);
	if (crypt_r("despw", "ab", cd) == NULL || cd->output[0] == '*') {
		free(cd);
		cr_skip_test("DES crypt disabled in this libcrypt");
	}
	snprintf(text, sizeof(text), "old:%s\n", cd->output);
	c = open_ok(text);
	cr_assert_eq(verify(c, "old", "despw"), 1);
	cr_assert_eq(verify(c, "old", "despx"), 0);
	uimap_auth_passwd_file_close(c);
	free(cd);
}

Test(passwd_file, missing_file_and_directory)
{
	const char *error = NULL;

	cr_assert_null(uimap_auth_passwd_file_open("/nonexistent/uimap-passwd", &error));
	cr_assert_not_null(error);
	cr_assert_not_null(strstr(error, "/nonexistent/uimap-passwd"), "%s", error);
	cr_assert_not_null(strstr(error, "No such file"), "%s", error);
	error = NULL;
	cr_assert_null(uimap_auth_passwd_file_open("/tmp", &error));
	cr_assert_not_null(error);
}

Test(passwd_file, many_users, .timeout = 60)
{
	enum { N = 100000 };
	size_t cap = (size_t)N * 40, len = 0;
	char *text = malloc(cap);
	char user[32], pass[32];
	void *c;

	cr_assert_not_null(text);
	/* Written in descending order so that lookup depends on the sort. */
	for (int i = N - 1; i >= 0; i--)
		len += (size_t)snprintf(text + len, cap - len, "user%d:{PLAIN}pw%d:%d:%d\n",
					i, i * 7, i, i);
	c = uimap_auth_passwd_file_open(write_tmp(text, len), &(const char *){ NULL });
	cr_assert_not_null(c);
	for (int i = 0; i < N; i += 997) {
		snprintf(user, sizeof(user), "user%d", i);
		snprintf(pass, sizeof(pass), "pw%d", i * 7);
		cr_assert_eq(verify(c, user, pass), 1, "%s", user);
		snprintf(pass, sizeof(pass), "pw%d", i * 7 + 1);
		cr_assert_eq(verify(c, user, pass), 0, "%s", user);
	}
	cr_assert_eq(verify(c, "user100000", "pw700000"), 0);
	cr_assert_eq(verify(c, "user", "pw0"), 0);
	uimap_auth_passwd_file_close(c);
	free(text);
}

struct thread_arg {
	void *ctx;
	int failures;
};

static void *verify_thread(void *p)
{
	struct thread_arg *a = p;
	static const struct {
		const char *user, *pass;
		int expect;
	} checks[] = {
		{ "bob", "yes-pass", 1 }, { "bob", "nope", 0 },
		{ "carol", "bcrypt-pass", 1 }, { "alice", "sha512 pass", 1 },
		{ "dave", "secret", 1 }, { "nobody", "x", 0 },
	};

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
			const char *error = NULL;

			if (uimap_auth_passwd_file.verify_plain(a->ctx, checks[i].user,
								checks[i].pass, &error) !=
			    checks[i].expect)
				a->failures++;
		}
	}
	return NULL;
}

Test(passwd_file, concurrent_verification, .init = setup_users, .fini = teardown_users)
{
	enum { T = 8 };
	pthread_t th[T];
	struct thread_arg args[T];

	for (int i = 0; i < T; i++) {
		args[i] = (struct thread_arg){ .ctx = ctx };
		cr_assert_eq(pthread_create(&th[i], NULL, verify_thread, &args[i]), 0);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(args[i].failures, 0, "thread %d", i);
	}
}

/* Reload while worker threads check passwords: every check sees a whole file (old or
   new), never a freed one (ASan runs this too). */
struct reload_worker {
	void *ctx;
	unsigned rounds, wrong;
};

static void *reload_checker(void *arg)
{
	struct reload_worker *w = arg;
	for (unsigned i = 0; i < w->rounds; i++) {
		const char *error = NULL;
		/* alice's password is the same in both versions; bob only in one */
		if (uimap_auth_passwd_file.verify_plain(w->ctx, "alice", "same", &error) != 1)
			w->wrong++;
		(void)uimap_auth_passwd_file.verify_plain(w->ctx, "bob", "b", &error);
	}
	return NULL;
}

Test(passwd_file, reload_under_concurrent_checks)
{
	static const char v1[] = "alice:{PLAIN}same\n";
	static const char v2[] = "alice:{PLAIN}same\nbob:{PLAIN}b::::::userdb_quota_rule=*:messages=1\n";
	void *db = open_ok(v1);
	const char *path = tmp_path, *error = NULL;
	struct reload_worker w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct reload_worker){ db, 20000, 0 };
		cr_assert_eq(pthread_create(&t[i], NULL, reload_checker, &w[i]), 0);
	}
	for (int i = 0; i < 300; i++) {
		const char *text = i % 2 ? v1 : v2;
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fputs(text, f);
		fclose(f);
		cr_assert_eq(uimap_auth_passwd_file_reload(db, &error), 0, "%s", error);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].wrong, 0, "alice refused during reloads");
	}
	/* the last version (v1: no bob) is the one in use; a broken file changes nothing */
	cr_assert_eq(verify(db, "bob", "b"), 0);
	FILE *f = fopen(path, "w");
	fputs("not a passwd line\n", f);
	fclose(f);
	cr_assert_eq(uimap_auth_passwd_file_reload(db, &error), -1);
	cr_assert_not_null(error);
	cr_assert_eq(verify(db, "alice", "same"), 1);
	uimap_auth_passwd_file_close(db);
	remove_tmp();
}
