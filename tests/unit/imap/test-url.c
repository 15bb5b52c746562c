/* IMAP URLs (RFC 5092) as CATENATE takes them, with URLAUTH's part (RFC 4467). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "imap/url.h"

static struct arena a;

static void setup(void)
{
	arena_init(&a, 4096);
}

static void teardown(void)
{
	arena_free(&a);
}

static int parse(const char *s, struct imap_url *u)
{
	const char *err;
	return imap_url_parse(&a, s, strlen(s), "alice", u, &err);
}

Test(url, forms, .init = setup, .fini = teardown)
{
	struct imap_url u;
	cr_assert_eq(parse("imap://alice@mail.example.com:143/INBOX;UIDVALIDITY=385759045/"
			   ";UID=20/;SECTION=1.MIME/;PARTIAL=0.1024", &u), 0);
	cr_assert_str_eq(u.mailbox, "INBOX");
	cr_assert_eq(u.uidvalidity, 385759045);
	cr_assert_eq(u.uid, 20);
	cr_assert_str_eq(u.section, "1.MIME");
	cr_assert(u.partial);
	cr_assert_eq(u.origin, 0);
	cr_assert_eq(u.length, 1024);
	cr_assert_eq(parse("imap://host/Sent/;uid=3", &u), 0, "no user, lower-case keys");
	cr_assert_str_eq(u.mailbox, "Sent");
	cr_assert_eq(u.uidvalidity, 0);
	cr_assert_null(u.section);
	cr_assert_eq(parse("/a%20b/;UID=1/;SECTION=HEADER.FIELDS%20(From)", &u), 0);
	cr_assert_str_eq(u.mailbox, "a b");
	cr_assert_str_eq(u.section, "HEADER.FIELDS (From)");
	cr_assert_eq(parse("/caf%C3%A9/;UID=1", &u), 0, "UTF-8 names are stored in mUTF-7");
	cr_assert_str_eq(u.mailbox, "caf&AOk-");
	cr_assert_eq(parse(";UID=7/;PARTIAL=5", &u), 0, "relative to the selected mailbox");
	cr_assert_null(u.mailbox);
	cr_assert_eq(u.origin, 5);
	cr_assert_eq(u.length, UINT32_MAX);
}

Test(url, refused, .init = setup, .fini = teardown)
{
	struct imap_url u;
	const char *bad[] = {
		"imap://bob@host/INBOX/;UID=1",        /* another user */
		"imap:///INBOX/;UID=1",                /* no host */
		"/INBOX;UID=1",                         /* UID needs its own segment */
		"/INBOX/;UID=0", "/INBOX/;UID=x", "/INBOX/;UID=4294967296",
		"/INBOX;UIDVALIDITY=0/;UID=1", "/%00/;UID=1", "/%4/;UID=1", "//;UID=1",
		"/INBOX/;UID=1/;SECTION=", "/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1/junk",
		"http://host/x", "", ";UIDX=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &u), -1, "%s", bad[i]);
}

Test(url, urlauth_forms, .init = setup, .fini = teardown)
{
	struct imap_url u;
	const char *rump = "imap://alice@example.com/INBOX;UIDVALIDITY=385759045/;UID=20/"
			   ";SECTION=1.2;URLAUTH=submit+fred";
	cr_assert_eq(parse(rump, &u), 0);
	cr_assert_str_eq(u.user, "alice");
	cr_assert_eq(u.uid, 20);
	cr_assert_str_eq(u.section, "1.2");
	cr_assert_eq(u.access, IMAP_URL_ACCESS_SUBMIT);
	cr_assert_str_eq(u.access_user, "fred");
	cr_assert_null(u.mech, "a rump URL has no verifier");
	cr_assert_eq(u.rump_len, strlen(rump));
	cr_assert(!u.has_expire);

	char full[256];
	snprintf(full, sizeof(full), "%s:INTERNAL:%s", rump, "91354a473744909de610943775f92038");
	cr_assert_eq(parse(full, &u), 0);
	cr_assert_str_eq(u.mech, "INTERNAL");
	cr_assert_str_eq(u.token, "91354a473744909de610943775f92038");
	cr_assert_eq(u.rump_len, strlen(rump), "the token is computed over the rump");

	cr_assert_eq(parse("imap://alice@h/INBOX/;UID=1;EXPIRE=2006-05-31T23:59:59Z"
			   ";URLAUTH=anonymous", &u), 0);
	cr_assert(u.has_expire);
	cr_assert_eq(u.expire, 1149119999);
	cr_assert_eq(u.access, IMAP_URL_ACCESS_ANONYMOUS);
	cr_assert_eq(parse("imap://alice@h/INBOX/;UID=1;EXPIRE=2006-06-01T01:59:59.5+02:00"
			   ";URLAUTH=AuthUser", &u), 0, "an offset, a fraction, any case");
	cr_assert_eq(u.expire, 1149119999);
	cr_assert_eq(u.access, IMAP_URL_ACCESS_AUTHUSER);
	cr_assert_eq(parse("imap://alice@h/INBOX/;UID=1/;PARTIAL=0.10;URLAUTH=user+b%40x", &u), 0);
	cr_assert_eq(u.access, IMAP_URL_ACCESS_USER);
	cr_assert_str_eq(u.access_user, "b@x");
	cr_assert_eq(u.length, 10);

	const char *any = "imap://bob@h/INBOX/;UID=1;URLAUTH=anonymous";
	cr_assert_eq(imap_url_parse(&a, any, strlen(any), NULL, &u, &(const char *){ 0 }), 0,
		     "any user's URL when no user is given (URLFETCH)");
	cr_assert_str_eq(u.user, "bob");
}

Test(url, urlauth_refused, .init = setup, .fini = teardown)
{
	struct imap_url u;
	const char *bad[] = {
		"imap://alice@h/INBOX/;UID=1;URLAUTH=",
		"imap://alice@h/INBOX/;UID=1;URLAUTH=everyone",
		"imap://alice@h/INBOX/;UID=1;URLAUTH=submit+",
		"imap://alice@h/INBOX/;UID=1;EXPIRE=2006-05-31T23:59:59Z",  /* no URLAUTH */
		"imap://alice@h/INBOX/;UID=1;EXPIRE=2006-05-31;URLAUTH=anonymous",
		"imap://alice@h/INBOX/;UID=1;EXPIRE=2006-13-31T23:59:59Z;URLAUTH=anonymous",
		"imap://alice@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:0123",  /* < 32 hex */
		"imap://alice@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL",
		"imap://alice@h/INBOX/;UID=1;URLAUTH=anonymous::91354a473744909de610943775f92038",
		"imap://alice@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:91354a473744909de610943775f9203g",
		"imap://alice@h/INBOX/;UID=1;URLAUTH=anonymous/junk",
		"imap://alice@h/INBOX/;UID=1;URLAUTH=anonymous;URLAUTH=anonymous",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &u), -1, "%s", bad[i]);
}
