/* BINARY: the strict base64 and the quoted-printable body decoders, and the pieces a
   section is made of. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mail/binary.h"
#include "mail/charset.h"

static ssize_t b64(const char *s, bool strict, char *out)
{
	return mail_base64_decode_to(out, s, strlen(s), strict);
}

Test(binary, base64_strict)
{
	char out[64];
	cr_assert_eq(b64("AAECAwQFBgcICQ==", true, out), 10);
	cr_assert_eq(memcmp(out, "\0\1\2\3\4\5\6\7\10\11", 10), 0);
	cr_assert_eq(b64("AGFi\r\nYw==\r\n", true, out), 4, "line breaks are not data");
	cr_assert_eq(b64("AGFiYw", true, out), 4, "padding may be missing");
	cr_assert_eq(b64("", true, out), 0);
	cr_assert_eq(b64("!!!!not base64***", true, out), -1);
	cr_assert_eq(b64("AGFi*Yw==", true, out), -1, "a stray character");
	cr_assert_eq(b64("AGFiY", true, out), -1, "a dangling character is no octet");
	cr_assert_eq(b64("AGE=AGE=", true, out), -1, "data after the padding");
	/* the lenient decoder of SEARCH skips what it does not know */
	cr_assert_eq(b64("AGFi*Yw==", false, out), 4);
	cr_assert_eq(b64("AGFiYw==", false, NULL), 4, "counting only");
}

static size_t qp(const char *s, char *out)
{
	return mail_qp_decode_to(out, s, strlen(s), false);
}

Test(binary, quoted_printable_body)
{
	char out[128];
	size_t n = qp("h=C3=A9llo=\r\n world  \t\r\nnext = 1=3D2 =ZZ\r\nend  ", out);
	const char *want = "h\xc3\xa9llo world\r\nnext = 1=2 =ZZ\r\nend";
	cr_assert_eq(n, strlen(want));
	cr_assert_eq(memcmp(out, want, n), 0, "%.*s", (int)n, out);
	cr_assert_eq(qp("a=  \r\nb", NULL), 2, "soft break with blanks");
	cr_assert_eq(qp("tail=", out), 4, "a final '=' is a soft break");
	/* RFC 2047 "Q": '_' is a space, blanks at the end kept */
	cr_assert_eq(mail_qp_decode_to(out, "a_b ", 4, true), 4);
	cr_assert_eq(memcmp(out, "a b ", 4), 0);
}

static int pieces_of(const char *msg, const char *spec, struct mail_piece **p_r,
		     struct mail_structure **s_r)
{
	struct mail_section sec;
	const char *err;
	*s_r = mail_structure_parse(msg, strlen(msg));
	cr_assert_not_null(*s_r);
	cr_assert_eq(mail_section_parse(spec, strlen(spec), &sec, &err), 1);
	*p_r = calloc(3 * (*s_r)->n_parts + 1, sizeof(**p_r));
	return mail_binary_pieces(msg, *s_r, &sec, *p_r);
}

static char *render(const char *msg, const struct mail_structure *s,
		    const struct mail_piece *p, int n, size_t *len_r)
{
	size_t total = 0, o = 0;
	for (int i = 0; i < n; i++)
		total += p[i].size;
	char *out = malloc(total + 1);
	for (int i = 0; i < n; i++) {
		if (p[i].kind == MAIL_PIECE_SLICE)
			memcpy(out + o, msg + p[i].off, p[i].len);
		else if (p[i].kind == MAIL_PIECE_BINARY_WORD)
			memcpy(out + o, "binary", 6);
		else
			mail_binary_decode(msg, s, &p[i], out + o);
		o += p[i].size;
	}
	*len_r = total;
	return out;
}

Test(binary, pieces_of_a_multipart)
{
	const char *msg =
		"Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
		"--B\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
		"--B\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n"
		"--B\r\nContent-Transfer-Encoding: Quoted-Printable (a comment)\r\n\r\na=3Db\r\n"
		"--B--\r\n";
	struct mail_piece *p;
	struct mail_structure *s;
	size_t len;
	int n = pieces_of(msg, "", &p, &s);
	cr_assert_gt(n, 0);
	char *out = render(msg, s, p, n, &len);
	const char *want =
		"Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
		"--B\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
		"--B\r\nContent-Transfer-Encoding: binary\r\n\r\nhi\r\n"
		"--B\r\nContent-Transfer-Encoding: binary\r\n\r\na=b\r\n"
		"--B--\r\n";
	cr_assert_eq(len, strlen(want));
	cr_assert_eq(memcmp(out, want, len), 0, "%.*s", (int)len, out);
	free(out);
	free(p);
	mail_structure_free(&s);
	/* a part alone: its body only */
	n = pieces_of(msg, "2", &p, &s);
	cr_assert_eq(n, 1);
	cr_assert_eq(p[0].kind, MAIL_PIECE_DECODE);
	cr_assert_eq(p[0].size, 2);
	free(p);
	mail_structure_free(&s);
	n = pieces_of(msg, "1", &p, &s);
	cr_assert_eq(n, 1);
	cr_assert_eq(p[0].kind, MAIL_PIECE_SLICE, "7bit goes out as it is");
	free(p);
	mail_structure_free(&s);
	n = pieces_of(msg, "7", &p, &s);
	cr_assert_eq(n, 0, "no such part: nothing");
	free(p);
	mail_structure_free(&s);
}

Test(binary, undecodable_parts)
{
	const char *msg =
		"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
		"--B\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
		"--B\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n"
		"--B\r\n\r\nfine\r\n--B--\r\n";
	struct mail_piece *p;
	struct mail_structure *s;
	cr_assert_eq(pieces_of(msg, "1", &p, &s), MAIL_BINARY_UNKNOWN_CTE);
	free(p);
	mail_structure_free(&s);
	cr_assert_eq(pieces_of(msg, "2", &p, &s), MAIL_BINARY_BROKEN);
	free(p);
	mail_structure_free(&s);
	cr_assert_eq(pieces_of(msg, "", &p, &s), MAIL_BINARY_UNKNOWN_CTE);
	free(p);
	mail_structure_free(&s);
	cr_assert_eq(pieces_of(msg, "3", &p, &s), 1);
	free(p);
	mail_structure_free(&s);
}

/* fuzz regression (mime/empty-message-qp-decode-null-plus-zero): nothing to decode into
   a buffer never allocated */
Test(binary, empty_input_decodes_to_nothing)
{
	struct buf b = { 0 };
	mail_qp_decode(&b, "", 0, false);
	mail_base64_decode(&b, "", 0);
	cr_assert_eq(b.len, 0);
	cr_assert_null(b.data);
	cr_assert_eq(mail_base64_decode_to(NULL, "", 0, true), 0);
}
