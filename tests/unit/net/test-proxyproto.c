/* Unit tests for net/proxyproto's header parser: v1 and v2, every prefix of a valid
   header (fed byte by byte) asks for more, malformed headers are refused. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net/conn.h"
#include "net/proxyproto.h"

static const unsigned char SIG[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

/* Parse h whole, and check that each shorter prefix returns 0 (need more). */
static int parse_all(const unsigned char *h, size_t len, struct sockaddr_storage *src,
		     const char **err)
{
	for (size_t i = 0; i < len; i++) {
		int r = proxyproto_parse(h, i, PROXYPROTO_HEADER_MAX, src, err);
		if (r != 0)
			return r;
	}
	return proxyproto_parse(h, len, PROXYPROTO_HEADER_MAX, src, err);
}

static const char *addr_of(const struct sockaddr_storage *ss)
{
	static char buf[80];
	conn_format_addr(ss, buf, sizeof(buf));
	return buf;
}

static size_t v2(unsigned char *h, unsigned vc, unsigned fam, const void *addrs,
		 size_t alen, size_t tlv)
{
	memcpy(h, SIG, 12);
	h[12] = (unsigned char)vc;
	h[13] = (unsigned char)fam;
	h[14] = (unsigned char)((alen + tlv) >> 8);
	h[15] = (unsigned char)(alen + tlv);
	memcpy(h + 16, addrs, alen);
	memset(h + 16 + alen, 0x20, tlv);
	return 16 + alen + tlv;
}

Test(proxyproto, v1_tcp4)
{
	const char *h = "PROXY TCP4 192.0.2.7 10.0.0.1 54321 143\r\nA1 NOOP\r\n";
	struct sockaddr_storage src;
	const char *err = NULL;
	int n = parse_all((const unsigned char *)h, strlen(h), &src, &err);
	cr_assert_eq(n, (int)strlen("PROXY TCP4 192.0.2.7 10.0.0.1 54321 143\r\n"), "%d %s", n,
		     err ? err : "");
	cr_assert_str_eq(addr_of(&src), "192.0.2.7:54321");
}

Test(proxyproto, v1_tcp6_and_unknown)
{
	const char *h = "PROXY TCP6 2001:db8::5 2001:db8::1 1 65535\r\n";
	struct sockaddr_storage src;
	const char *err = NULL;
	cr_assert_eq(parse_all((const unsigned char *)h, strlen(h), &src, &err), (int)strlen(h));
	cr_assert_str_eq(addr_of(&src), "[2001:db8::5]:1");
	h = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	cr_assert_eq(parse_all((const unsigned char *)h, strlen(h), &src, &err), (int)strlen(h));
	cr_assert_eq(src.ss_family, AF_UNSPEC);
	h = "PROXY UNKNOWN\r\n";
	cr_assert_eq(parse_all((const unsigned char *)h, strlen(h), &src, &err), (int)strlen(h));
	cr_assert_eq(src.ss_family, AF_UNSPEC);
}

Test(proxyproto, v1_malformed)
{
	static const char *bad[] = {
		"A1 LOGIN alice secret\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 54321\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 54321 143 x\r\n",
		"PROXY TCP4 2001:db8::5 10.0.0.1 1 2\r\n",
		"PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 65536 143\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 0123 143\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 -1 143\r\n",
		"PROXY TCP4  192.0.2.7 10.0.0.1 1 143\r\n",
		"PROXY UDP4 192.0.2.7 10.0.0.1 1 2\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 1 2\n",
		"proxy TCP4 192.0.2.7 10.0.0.1 1 2\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct sockaddr_storage src;
		const char *err = NULL;
		int n = proxyproto_parse((const unsigned char *)bad[i], strlen(bad[i]),
					 PROXYPROTO_HEADER_MAX, &src, &err);
		cr_assert_eq(n, -1, "accepted: %s", bad[i]);
		cr_assert_not_null(err);
	}
	/* no CRLF within 107 bytes */
	char longl[200];
	memset(longl, 'x', sizeof(longl));
	memcpy(longl, "PROXY TCP4 ", 11);
	struct sockaddr_storage src;
	const char *err = NULL;
	cr_assert_eq(proxyproto_parse((unsigned char *)longl, 106, 4096, &src, &err), 0);
	cr_assert_eq(proxyproto_parse((unsigned char *)longl, 107, 4096, &src, &err), -1);
}

Test(proxyproto, v2_inet_with_tlvs)
{
	unsigned char h[256];
	unsigned char a[12] = { 192, 0, 2, 7, 10, 0, 0, 1, 0xD4, 0x31, 0, 143 };
	size_t len = v2(h, 0x21, 0x11, a, sizeof(a), 20);
	memcpy(h + len, "A1 NOOP\r\n", 9);
	struct sockaddr_storage src;
	const char *err = NULL;
	cr_assert_eq(parse_all(h, len + 9, &src, &err), (int)len);
	cr_assert_str_eq(addr_of(&src), "192.0.2.7:54321");
}

Test(proxyproto, v2_inet6)
{
	unsigned char h[256], a[36];
	memset(a, 0, sizeof(a));
	inet_pton(AF_INET6, "2001:db8::5", a);
	inet_pton(AF_INET6, "2001:db8::1", a + 16);
	a[32] = 0;
	a[33] = 7;
	size_t len = v2(h, 0x21, 0x21, a, sizeof(a), 0);
	struct sockaddr_storage src;
	const char *err = NULL;
	cr_assert_eq(parse_all(h, len, &src, &err), (int)len);
	cr_assert_str_eq(addr_of(&src), "[2001:db8::5]:7");
}

Test(proxyproto, v2_local_unspec_unix_keep_the_peer)
{
	unsigned char h[400], a[216];
	memset(a, 0, sizeof(a));
	struct sockaddr_storage src;
	const char *err = NULL;
	size_t len = v2(h, 0x20, 0x00, a, 0, 0); /* LOCAL, UNSPEC */
	cr_assert_eq(parse_all(h, len, &src, &err), 16);
	cr_assert_eq(src.ss_family, AF_UNSPEC);
	len = v2(h, 0x20, 0x11, a, 12, 0); /* LOCAL with addresses: ignored */
	cr_assert_eq(parse_all(h, len, &src, &err), (int)len);
	cr_assert_eq(src.ss_family, AF_UNSPEC);
	len = v2(h, 0x21, 0x00, a, 0, 0); /* PROXY, UNSPEC */
	cr_assert_eq(parse_all(h, len, &src, &err), 16);
	cr_assert_eq(src.ss_family, AF_UNSPEC);
	len = v2(h, 0x21, 0x31, a, 216, 0); /* PROXY, UNIX */
	cr_assert_eq(parse_all(h, len, &src, &err), (int)len);
	cr_assert_eq(src.ss_family, AF_UNSPEC);
}

Test(proxyproto, v2_malformed)
{
	unsigned char h[400], a[36] = { 0 };
	struct sockaddr_storage src;
	const char *err = NULL;
	size_t len = v2(h, 0x11, 0x11, a, 12, 0); /* version 1 */
	cr_assert_eq(proxyproto_parse(h, len, 4096, &src, &err), -1);
	len = v2(h, 0x22, 0x11, a, 12, 0); /* command 2 */
	cr_assert_eq(proxyproto_parse(h, len, 4096, &src, &err), -1);
	len = v2(h, 0x21, 0x41, a, 12, 0); /* family 4 */
	cr_assert_eq(proxyproto_parse(h, len, 4096, &src, &err), -1);
	len = v2(h, 0x21, 0x11, a, 8, 0); /* IPv4 addresses truncated */
	cr_assert_eq(proxyproto_parse(h, len, 4096, &src, &err), -1);
	len = v2(h, 0x21, 0x21, a, 12, 0); /* IPv6 addresses truncated */
	cr_assert_eq(proxyproto_parse(h, len, 4096, &src, &err), -1);
	/* over the limit: refused from the 16 bytes of the fixed part already */
	v2(h, 0x21, 0x11, a, 12, 0);
	h[14] = 0x10;
	h[15] = 0x00;
	cr_assert_eq(proxyproto_parse(h, 16, 4096, &src, &err), -1);
	cr_assert_eq(proxyproto_parse(h, 16, 8192, &src, &err), 0);
	/* a wrong signature byte */
	len = v2(h, 0x21, 0x11, a, 12, 0);
	h[11] = 0x0B;
	cr_assert_eq(proxyproto_parse(h, 12, 4096, &src, &err), -1);
	cr_assert_eq(proxyproto_parse(h, 11, 4096, &src, &err), 0);
}
