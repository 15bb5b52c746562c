/* libFuzzer harness for the PROXY protocol header parser (src/net/proxyproto.c): a
   verdict never reads past the input, an accepted header is self-contained (the same
   bytes alone give the same length and address), every shorter prefix of it asks for
   more, and a v1 line is at most 107 bytes. */
#include "fuzz-common.h"

#include "net/proxyproto.h"

#include <netinet/in.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage src, again;
	const char *err = NULL;
	int r = proxyproto_parse(data, size, PROXYPROTO_HEADER_MAX, &src, &err);

	if (r < 0) {
		FUZZ_CHECK(err != NULL, "refused without an error text");
		return 0;
	}
	if (r == 0)
		return 0;
	FUZZ_CHECK((size_t)r <= size && r <= PROXYPROTO_HEADER_MAX, "length %d of %zu", r, size);
	FUZZ_CHECK(data[0] != 'P' || r <= 107, "v1 line of %d bytes", r);
	FUZZ_CHECK(src.ss_family == AF_UNSPEC || src.ss_family == AF_INET ||
		   src.ss_family == AF_INET6, "family %d", src.ss_family);
	FUZZ_CHECK(proxyproto_parse(data, (size_t)r, PROXYPROTO_HEADER_MAX, &again, &err) == r,
		   "the header alone parses differently");
	FUZZ_CHECK(again.ss_family == src.ss_family &&
		   (src.ss_family == AF_UNSPEC ||
		    memcmp(&again, &src, src.ss_family == AF_INET ? sizeof(struct sockaddr_in)
								  : sizeof(struct sockaddr_in6)) == 0),
		   "the header alone names another client");
	for (size_t i = 0; i < (size_t)r; i++)
		FUZZ_CHECK(proxyproto_parse(data, i, PROXYPROTO_HEADER_MAX, &again, &err) == 0,
			   "prefix of %zu bytes of a %d-byte header not incomplete", i, r);
	return 0;
}
