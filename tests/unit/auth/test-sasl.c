/* Unit tests for SASL PLAIN message decoding (RFC 4616). */
#include <criterion/criterion.h>
#include <string.h>

#include "auth/sasl.h"
#include "core/base64.h"

struct plain {
	int ret;
	const char *authzid, *authcid, *pass, *error;
	char scratch[128];
};

static void decode(const char *msg, size_t len, struct plain *p)
{
	p->authzid = p->authcid = p->pass = p->error = NULL;
	memset(p->scratch, 0x55, sizeof(p->scratch));
	p->ret = sasl_plain_decode((const unsigned char *)msg, len, p->scratch,
				   &p->authzid, &p->authcid, &p->pass, &p->error);
}

#define DECODE(lit, p) decode(lit, sizeof(lit) - 1, p)

Test(sasl_plain, without_authzid)
{
	struct plain p;

	DECODE("\0tim\0tanstaaftanstaaf", &p);
	cr_assert_eq(p.ret, 0, "%s", p.error);
	cr_assert_str_eq(p.authzid, "");
	cr_assert_str_eq(p.authcid, "tim");
	cr_assert_str_eq(p.pass, "tanstaaftanstaaf");
	/* results point into scratch */
	cr_assert(p.authcid >= p.scratch && p.pass < p.scratch + sizeof(p.scratch));
}

Test(sasl_plain, authzid_equal_to_authcid)
{
	struct plain p;

	DECODE("tim\0tim\0secret", &p);
	cr_assert_eq(p.ret, 0, "%s", p.error);
	cr_assert_str_eq(p.authzid, "tim");
	cr_assert_str_eq(p.authcid, "tim");
	cr_assert_str_eq(p.pass, "secret");
}

Test(sasl_plain, utf8_and_spaces_kept)
{
	struct plain p;

	DECODE("\0j\xc3\xb6rg@example.org\0pass word \xe2\x82\xac", &p);
	cr_assert_eq(p.ret, 0, "%s", p.error);
	cr_assert_str_eq(p.authcid, "j\xc3\xb6rg@example.org");
	cr_assert_str_eq(p.pass, "pass word \xe2\x82\xac");
}

Test(sasl_plain, proxy_authzid_rejected)
{
	struct plain p;

	/* RFC 4616 section 4 example: Ursel authorizes as Kurt - not supported. */
	DECODE("Ursel\0Kurt\0xipj3plmq", &p);
	cr_assert_eq(p.ret, -1);
	cr_assert_not_null(p.error);
	cr_assert_null(p.authcid);
	DECODE("tim\0timx\0secret", &p);
	cr_assert_eq(p.ret, -1);
	DECODE("Tim\0tim\0secret", &p);
	cr_assert_eq(p.ret, -1);
}

Test(sasl_plain, missing_separators)
{
	struct plain p;

	DECODE("timsecret", &p);
	cr_assert_eq(p.ret, -1);
	cr_assert_not_null(p.error);
	DECODE("\0timsecret", &p);
	cr_assert_eq(p.ret, -1);
	DECODE("tim\0secret", &p);
	cr_assert_eq(p.ret, -1);
}

Test(sasl_plain, extra_nul_rejected)
{
	struct plain p;

	DECODE("\0tim\0sec\0ret", &p);
	cr_assert_eq(p.ret, -1);
	cr_assert_not_null(p.error);
	DECODE("\0tim\0secret\0", &p);
	cr_assert_eq(p.ret, -1);
	DECODE("\0\0tim\0secret", &p);
	cr_assert_eq(p.ret, -1);
}

Test(sasl_plain, empty_fields_rejected)
{
	struct plain p;

	decode("", 0, &p);
	cr_assert_eq(p.ret, -1);
	cr_assert_not_null(p.error);
	DECODE("\0\0secret", &p);
	cr_assert_eq(p.ret, -1, "empty authcid accepted");
	DECODE("\0tim\0", &p);
	cr_assert_eq(p.ret, -1, "empty password accepted");
	DECODE("\0\0", &p);
	cr_assert_eq(p.ret, -1);
}

Test(sasl_plain, does_not_read_past_len)
{
	struct plain p;

	/* Only the first 8 bytes count: the password is "sec". */
	decode("\0tim\0secret", 8, &p);
	cr_assert_eq(p.ret, 0, "%s", p.error);
	cr_assert_str_eq(p.pass, "sec");
}

Test(sasl_plain, in_place_after_base64)
{
	/* "\0user\0pass" as a client sends it in AUTHENTICATE PLAIN. */
	char buf[32] = "AHVzZXIAcGFzcw==";
	const char *authzid, *authcid, *pass, *error = NULL;
	size_t len;

	cr_assert_eq(base64_decode(buf, strlen(buf), (unsigned char *)buf, &len), 0);
	cr_assert_lt(len, sizeof(buf));
	cr_assert_eq(sasl_plain_decode((unsigned char *)buf, len, buf, &authzid,
				       &authcid, &pass, &error), 0, "%s", error);
	cr_assert_str_eq(authzid, "");
	cr_assert_str_eq(authcid, "user");
	cr_assert_str_eq(pass, "pass");
}
