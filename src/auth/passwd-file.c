/* Default auth backend: a Dovecot-style passwd-file, checked with crypt(3). */
#include "uimap/auth.h"
#include "auth/passwd-file.h"
#include "core/common.h"
#include "core/error.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Larger files are refused rather than read into memory. */
#define PASSWD_FILE_MAX_SIZE (1024u * 1024u * 1024u)
/* Longer passwords never match: bounds the cost of SHA-crypt, whose work grows with
   the password length, for input the client controls. */
#define PASSWD_MAX_PASSWORD_LEN 1024

enum passwd_scheme {
	PASSWD_SCHEME_PLAIN,
	PASSWD_SCHEME_CRYPT,
};

struct passwd_scheme_name {
	const char *name;
	enum passwd_scheme scheme;
	/* required hash prefix, NULL: any crypt(3) hash */
	const char *prefix;
};

static const struct passwd_scheme_name passwd_schemes[] = {
	{ "PLAIN", PASSWD_SCHEME_PLAIN, NULL },
	{ "CLEARTEXT", PASSWD_SCHEME_PLAIN, NULL },
	{ "CRYPT", PASSWD_SCHEME_CRYPT, NULL },
	{ "SHA512-CRYPT", PASSWD_SCHEME_CRYPT, "$6$" },
	{ "SHA256-CRYPT", PASSWD_SCHEME_CRYPT, "$5$" },
	{ "MD5-CRYPT", PASSWD_SCHEME_CRYPT, "$1$" },
	{ "BLF-CRYPT", PASSWD_SCHEME_CRYPT, "$2" },
};

struct passwd_entry {
	const char *user;   /* NUL-terminated, inside passwd_file.data */
	const char *secret; /* NUL-terminated, inside passwd_file.data */
	size_t secret_len;
	const char *extra;  /* the extra fields, NUL-terminated, or NULL */
	unsigned line;
	enum passwd_scheme scheme;
};

/* Read-only after passwd_file_open() returns, so any number of threads may verify
   at once. */
struct passwd_file {
	char *data; /* the file, split into strings in place; wiped on close */
	size_t data_size;
	struct passwd_entry *entries; /* sorted by user (strcmp) */
	size_t count;
	/* A real crypt hash from the file, run for unknown users so that they cost
	   about as much as known ones. NULL when the file has no crypt hash. */
	const char *dummy_hash;
	atomic_uint refs;   /* the database's reference + one per check under way */
};

/* What uimap_auth_passwd_file_open() returns: the file's current contents, replaced
   whole by a reload (SIGHUP). A worker checking a password holds a reference to the
   contents it started with, so a reload never waits for a check nor frees what a
   check still reads. */
struct passwd_db {
	pthread_mutex_t lock;   /* guards cur against a swap while a worker takes it */
	struct passwd_file *cur;
	char *path;
};

/* Error text with a line number (the library's error buffer: valid until the next
   error on the same thread). */
static const char *passwd_error(const char *path, unsigned line, const char *msg)
{
	const char *text;

	if (line != 0)
		error_set(&text, "passwd-file %s line %u: %s", path, line, msg);
	else
		error_set(&text, "passwd-file %s: %s", path, msg);
	return text;
}

/* Compare without stopping at the first difference. The loop runs over a (the
   client's input) so its duration does not depend on the secret's content. */
static int passwd_mem_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char diff = 0;

	for (size_t i = 0; i < alen; i++) {
		unsigned char bc = i < blen ? (unsigned char)b[i] : 0;
		diff |= (unsigned char)a[i] ^ bc;
	}
	return (diff == 0) & (alen == blen);
}

static int passwd_entry_cmp(const void *a, const void *b)
{
	const struct passwd_entry *ea = a, *eb = b;

	return strcmp(ea->user, eb->user);
}

static int passwd_user_cmp(const void *key, const void *elem)
{
	const struct passwd_entry *e = elem;

	return strcmp(key, e->user);
}

/* Checks a secret without a scheme or with a crypt scheme. Returns NULL when it is
   usable, else the reason. */
static const char *passwd_check_hash(const char *hash, size_t len, const char *prefix)
{
	if (prefix != NULL && strncmp(hash, prefix, strlen(prefix)) != 0)
		return "hash does not match its {SCHEME}";
	switch (crypt_checksalt(hash)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_TOO_CHEAP:
		return NULL;
	case CRYPT_SALT_METHOD_LEGACY:
		/* Traditional DES: exactly 13 characters. Catches a plain password
		   written without {PLAIN}, which crypt(3) would take for a DES hash. */
		if (hash[0] != '$' && hash[0] != '_' && len != 13)
			return "not a crypt(3) hash (use {PLAIN} for a cleartext password)";
		return NULL;
	case CRYPT_SALT_METHOD_DISABLED:
		return "crypt(3) hash method is disabled on this system";
	default:
		return "not a crypt(3) hash (use {PLAIN} for a cleartext password)";
	}
}

/* Parses one line (NUL-terminated, without its newline) into *e. Returns 1 for an
   entry, 0 for a comment or blank line, -1 with *msg_r when malformed. */
static int passwd_parse_line(char *line, size_t len, struct passwd_entry *e,
			     const char **msg_r)
{
	char *user_end, *secret, *secret_end;
	const struct passwd_scheme_name *scheme = NULL;

	if (strlen(line) != len) {
		*msg_r = "NUL byte in line";
		return -1;
	}
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
		return 0;
	user_end = strchr(line, ':');
	if (user_end == NULL) {
		*msg_r = "missing ':' after the user name";
		return -1;
	}
	if (user_end == line) {
		*msg_r = "empty user name";
		return -1;
	}
	*user_end = '\0';
	secret = user_end + 1;
	/* user:password:uid:gid:gecos:home:shell:extra - the password, and the extra
	   fields (the rest of the line: quota rules hold ':' themselves) */
	e->extra = NULL;
	secret_end = strchr(secret, ':');
	if (secret_end != NULL) {
		*secret_end = '\0';
		char *f = secret_end + 1;
		for (int i = 0; i < 5 && f != NULL; i++) {
			f = strchr(f, ':');
			if (f != NULL)
				f++;
		}
		if (f != NULL && f[strspn(f, " \t")] != '\0')
			e->extra = f;
	}

	if (secret[0] == '{') {
		char *close = strchr(secret, '}');

		if (close == NULL) {
			*msg_r = "unterminated {SCHEME}";
			return -1;
		}
		*close = '\0';
		for (size_t i = 0; i < sizeof(passwd_schemes) / sizeof(passwd_schemes[0]); i++) {
			if (strcasecmp(secret + 1, passwd_schemes[i].name) == 0) {
				scheme = &passwd_schemes[i];
				break;
			}
		}
		if (scheme == NULL) {
			*msg_r = "unknown password {SCHEME}";
			return -1;
		}
		secret = close + 1;
	}
	if (secret[0] == '\0') {
		*msg_r = "empty password";
		return -1;
	}
	e->user = line;
	e->secret = secret;
	e->secret_len = strlen(secret);
	e->scheme = scheme != NULL ? scheme->scheme : PASSWD_SCHEME_CRYPT;
	if (e->scheme == PASSWD_SCHEME_CRYPT) {
		*msg_r = passwd_check_hash(secret, e->secret_len,
					   scheme != NULL ? scheme->prefix : NULL);
		if (*msg_r != NULL)
			return -1;
	}
	return 1;
}

/* Reads the whole file into a NUL-terminated buffer of *size_r bytes holding *len_r
   bytes of content. Returns 0 or -1 with *error_r. */
static int passwd_read_file(const char *path, char **data_r, size_t *size_r,
			    size_t *len_r, const char **error_r)
{
	struct stat st;
	char *data;
	size_t size, got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return error_set(error_r, "passwd-file %s: open: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > PASSWD_FILE_MAX_SIZE) {
		close(fd);
		*error_r = passwd_error(path, 0, "not a regular file or too large");
		return -1;
	}
	size = (size_t)st.st_size;
	data = malloc(size + 1);
	if (data == NULL) {
		close(fd);
		*error_r = passwd_error(path, 0, "out of memory");
		return -1;
	}
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set(error_r, "passwd-file %s: read: %s", path, strerror(errno));
			explicit_bzero(data, got);
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break; /* the file shrank while we read it */
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	*data_r = data;
	*size_r = size + 1;
	*len_r = got;
	return 0;
}

static void passwd_file_free(struct passwd_file *pf)
{
	if (pf == NULL)
		return;
	if (pf->data != NULL)
		explicit_bzero(pf->data, pf->data_size);
	free(pf->data);
	free(pf->entries);
	free(pf);
}

static void passwd_file_unref(struct passwd_file *pf)
{
	if (pf != NULL && atomic_fetch_sub(&pf->refs, 1) == 1)
		passwd_file_free(pf);
}

/* The current contents with a reference taken (any thread). */
static struct passwd_file *passwd_db_get(struct passwd_db *db)
{
	pthread_mutex_lock(&db->lock);
	struct passwd_file *pf = db->cur;
	atomic_fetch_add(&pf->refs, 1);
	pthread_mutex_unlock(&db->lock);
	return pf;
}

static struct passwd_file *passwd_file_load(const char *path, const char **error_r);

UIMAP_EXPORT void uimap_auth_passwd_file_close(void *ctx)
{
	struct passwd_db *db = ctx;

	if (db == NULL)
		return;
	passwd_file_unref(db->cur);
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
}

UIMAP_EXPORT void *uimap_auth_passwd_file_open(const char *path, const char **error_r)
{
	struct passwd_file *pf = passwd_file_load(path, error_r);
	if (pf == NULL)
		return NULL;
	struct passwd_db *db = calloc(1, sizeof(*db));
	if (db == NULL || (db->path = strdup(path)) == NULL) {
		free(db);
		passwd_file_unref(pf);
		*error_r = "passwd-file: out of memory";
		return NULL;
	}
	pthread_mutex_init(&db->lock, NULL);
	db->cur = pf;
	return db;
}

UIMAP_EXPORT int uimap_auth_passwd_file_reload(void *ctx, const char **error_r)
{
	struct passwd_db *db = ctx;
	struct passwd_file *pf = passwd_file_load(db->path, error_r);
	if (pf == NULL)
		return -1;
	pthread_mutex_lock(&db->lock);
	struct passwd_file *old = db->cur;
	db->cur = pf;
	pthread_mutex_unlock(&db->lock);
	passwd_file_unref(old);
	return 0;
}

static struct passwd_file *passwd_file_load(const char *path, const char **error_r)
{
	struct passwd_file *pf;
	size_t cap = 0, data_len;
	unsigned line_no = 0;
	char *p, *end;

	pf = calloc(1, sizeof(*pf));
	if (pf == NULL) {
		*error_r = "passwd-file: out of memory";
		return NULL;
	}
	atomic_init(&pf->refs, 1);
	if (passwd_read_file(path, &pf->data, &pf->data_size, &data_len, error_r) < 0) {
		free(pf);
		return NULL;
	}
	p = pf->data;
	end = pf->data + data_len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		struct passwd_entry e;
		const char *msg = NULL;
		int ret;

		line_no++;
		p[len] = '\0';
		ret = passwd_parse_line(p, len, &e, &msg);
		p += len + 1;
		if (ret == 0)
			continue;
		if (ret < 0) {
			*error_r = passwd_error(path, line_no, msg);
			goto fail;
		}
		if (pf->count == cap) {
			size_t new_cap = cap == 0 ? 64 : cap * 2;
			struct passwd_entry *n = reallocarray(pf->entries, new_cap,
							      sizeof(*n));
			if (n == NULL) {
				*error_r = passwd_error(path, 0, "out of memory");
				goto fail;
			}
			pf->entries = n;
			cap = new_cap;
		}
		e.line = line_no;
		pf->entries[pf->count++] = e;
		if (pf->dummy_hash == NULL && e.scheme == PASSWD_SCHEME_CRYPT)
			pf->dummy_hash = e.secret;
	}

	if (pf->count > 0)
		qsort(pf->entries, pf->count, sizeof(pf->entries[0]), passwd_entry_cmp);
	for (size_t i = 1; i < pf->count; i++) {
		const struct passwd_entry *a = &pf->entries[i - 1], *b = &pf->entries[i];

		if (strcmp(a->user, b->user) == 0) {
			unsigned first = a->line < b->line ? a->line : b->line;
			unsigned later = a->line < b->line ? b->line : a->line;
			char msg[64];

			snprintf(msg, sizeof(msg), "duplicate user (first on line %u)", first);
			*error_r = passwd_error(path, later, msg);
			goto fail;
		}
	}
	return pf;

fail:
	passwd_file_free(pf);
	return NULL;
}

/* Runs crypt_r(password, setting) and compares the result with hash in constant
   time. Returns 1 / 0, or -1 with *error_r. */
static uint64_t crypt_count;

uint64_t passwd_file_crypt_count(void)
{
	return __atomic_load_n(&crypt_count, __ATOMIC_RELAXED);
}

static int passwd_crypt_check(const char *password, const char *hash, size_t hash_len,
			      const char **error_r)
{
	__atomic_add_fetch(&crypt_count, 1, __ATOMIC_RELAXED);
	/* ~32 KiB: too big for a worker's stack; must start zeroed (crypt(3)). */
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	int ret;

	if (cd == NULL) {
		*error_r = "passwd-file: out of memory";
		return -1;
	}
	out = crypt_r(password, hash, cd);
	if (out == NULL || out[0] == '*') {
		*error_r = "passwd-file: crypt(3) failed on a stored hash";
		ret = -1;
	} else {
		ret = passwd_mem_equal(out, strlen(out), hash, hash_len);
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

static const struct passwd_entry *passwd_find(const struct passwd_file *pf, const char *user)
{
	if (pf->count == 0)
		return NULL;
	return bsearch(user, pf->entries, pf->count, sizeof(pf->entries[0]), passwd_user_cmp);
}

static int passwd_file_check(const struct passwd_file *pf, const char *user,
			     const char *password, const char **error_r)
{
	const struct passwd_entry *e = passwd_find(pf, user);
	size_t pass_len = strlen(password);

	if (e == NULL) {
		/* Unknown user: spend about as long as a real check so that response
		   time does not reveal which users exist. The result is ignored. */
		const char *ignored;

		if (pf->dummy_hash != NULL && pass_len <= PASSWD_MAX_PASSWORD_LEN)
			(void)passwd_crypt_check(password, pf->dummy_hash,
						 strlen(pf->dummy_hash), &ignored);
		return 0;
	}
	if (pass_len > PASSWD_MAX_PASSWORD_LEN)
		return 0;
	if (e->scheme == PASSWD_SCHEME_PLAIN)
		return passwd_mem_equal(password, pass_len, e->secret, e->secret_len);
	return passwd_crypt_check(password, e->secret, e->secret_len, error_r);
}

static int passwd_file_verify_plain(void *ctx, const char *user, const char *password,
				    const char **error_r)
{
	struct passwd_file *pf = passwd_db_get(ctx);
	int r = passwd_file_check(pf, user, password, error_r);
	passwd_file_unref(pf);
	return r;
}

/* ctx is owned by whoever called uimap_auth_passwd_file_open(), which closes it
   with uimap_auth_passwd_file_close(): no deinit. Called on the loop thread, the one
   that reloads, so the contents stay while the caller copies the fields. */
static const char *passwd_file_user_fields(void *ctx, const char *user)
{
	const struct passwd_db *db = ctx;
	const struct passwd_entry *e = passwd_find(db->cur, user);
	return e != NULL ? e->extra : NULL;
}

bool passwd_file_has_user(void *ctx, const char *user)
{
	const struct passwd_db *db = ctx;
	return passwd_find(db->cur, user) != NULL;
}

UIMAP_EXPORT const struct uimap_auth_backend uimap_auth_passwd_file = {
	.name = "passwd-file",
	.blocking = true,
	.verify_plain = passwd_file_verify_plain,
	.user_fields = passwd_file_user_fields,
};
