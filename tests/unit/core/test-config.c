/* The option table's comparison and per-key copy, which SIGHUP's reload uses. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"

struct seen {
	char keys[16][32];
	unsigned n;
};

static void note(void *ctx, const char *key)
{
	struct seen *s = ctx;
	cr_assert_lt(s->n, 16);
	snprintf(s->keys[s->n++], 32, "%s", key);
}

Test(config, diff_names_every_changed_key)
{
	struct uimap_config *a = uimap_config_new(), *b = uimap_config_new();
	struct seen s = { .n = 0 };
	config_diff(a, b, note, &s);
	cr_assert_eq(s.n, 0, "two defaults are equal");
	cr_assert_eq(uimap_config_set(b, "max_line", "1K", NULL), 0);
	cr_assert_eq(uimap_config_set(b, "listen", "127.0.0.1:1", NULL), 0);
	cr_assert_eq(uimap_config_set(b, "log-level", "debug", NULL), 0);
	cr_assert_eq(uimap_config_set(b, "allow-plaintext-auth", NULL, NULL), 0);
	cr_assert_eq(uimap_config_set(b, "passwd", "/x", NULL), 0);
	config_diff(a, b, note, &s);
	cr_assert_eq(s.n, 5);
	const char *want[] = { "listen", "passwd", "allow-plaintext-auth", "log-level", "max-line" };
	for (unsigned i = 0; i < 5; i++) {
		bool found = false;
		for (unsigned k = 0; k < s.n; k++)
			found |= strcmp(s.keys[k], want[i]) == 0;
		cr_assert(found, "%s reported", want[i]);
	}
	/* a list differs by order or length too */
	cr_assert_eq(uimap_config_set(a, "listen", "127.0.0.1:1", NULL), 0);
	cr_assert_eq(uimap_config_set(a, "listen", "127.0.0.1:2", NULL), 0);
	s.n = 0;
	config_diff(a, b, note, &s);
	cr_assert(s.n >= 1 && strcmp(s.keys[0], "listen") == 0);
	uimap_config_free(&a);
	uimap_config_free(&b);
}

Test(config, copy_key_takes_the_value)
{
	struct uimap_config *a = uimap_config_new(), *b = uimap_config_new();
	cr_assert_eq(uimap_config_set(a, "deny", "^10\\.", NULL), 0);
	cr_assert_eq(uimap_config_set(b, "deny", "^192\\.", NULL), 0);
	cr_assert_eq(uimap_config_set(b, "deny", "^172\\.", NULL), 0);
	cr_assert_eq(uimap_config_set(b, "cert", "/c.pem", NULL), 0);
	cr_assert_eq(uimap_config_set(b, "max-connections", "7", NULL), 0);
	cr_assert_eq(config_copy_key(a, b, "deny"), 0);
	cr_assert_eq(config_copy_key(a, b, "cert"), 0);
	cr_assert_eq(config_copy_key(a, b, "max-connections"), 0);
	cr_assert_eq(config_copy_key(a, b, "no-such-key"), -1);
	cr_assert_eq(a->deny.n, 2);
	cr_assert_str_eq(a->deny.v[1], "^172\\.");
	cr_assert_str_eq(a->cert_file, "/c.pem");
	cr_assert_neq(a->cert_file, b->cert_file, "a copy, not a shared string");
	cr_assert_eq(a->max_connections, 7);
	struct seen s = { .n = 0 };
	config_diff(a, b, note, &s);
	cr_assert_eq(s.n, 0, "equal after the copies");
	uimap_config_free(&a);
	uimap_config_free(&b);
}
