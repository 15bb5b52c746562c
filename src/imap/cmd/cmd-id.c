/* ID (RFC 2971): record the client's identification, answer ours. */
#include "imap/cmd.h"
#include "core/alloc.h"
#include "imap/session.h"
#include "net/admit.h"
#include "net/conn.h"
#include "core/common.h"
#include "core/error.h"
#include "core/log.h"
#include "imap/server.h"
#include "mail/imapstr.h"
#include "uimap/uimap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_nil(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM && a->len == 3 && strcasecmp(a->u.str, "NIL") == 0;
}

static void log_safe(char *dst, size_t size, const char *src, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < size; i++)
		dst[o++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[o] = '\0';
}

/* The client's real address from a trusted proxy's ID (x-originating-ip/-port):
   0 (also when the peer is no trusted proxy or the address is not one: ignored),
   -1 after a BYE (the rules refuse the real client). */
static int client_address(struct uimap_cmd *cmd, const char *ip, size_t ip_len,
			  const char *port, size_t port_len)
{
	struct sockaddr_storage ss;
	char text[INET6_ADDRSTRLEN + 2], ptext[8];
	memset(&ss, 0, sizeof(ss));
	if (ip_len >= sizeof(text) || port_len >= sizeof(ptext))
		return 0;
	memcpy(text, ip, ip_len);
	text[ip_len] = '\0';
	unsigned long p = 0;
	if (port != NULL) {
		char *end;
		memcpy(ptext, port, port_len);
		ptext[port_len] = '\0';
		p = strtoul(ptext, &end, 10);
		if (*end != '\0' || p > 65535)
			return 0;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
	} else {
		return 0;
	}
	if (admit_client_address(cmd->s->conn, &ss) == -2) {
		session_bye(cmd->s, "Access denied for your address.");
		cmd->replied = true;
		return -1;
	}
	return 0;
}

int cmd_id(struct uimap_cmd *cmd)
{
	const struct imap_arg *args = cmd->c.args;
	if (cmd->c.n_args != 1 || (!is_nil(&args[0]) && args[0].type != IMAP_ARG_LIST)) {
		cmd_reply(cmd, "BAD", "ID takes NIL or a list of field/value pairs.");
		return CMD_DONE;
	}
	if (args[0].type == IMAP_ARG_LIST) {
		const struct imap_arg *l = args[0].u.list;
		unsigned n = args[0].len;
		/* RFC 2971 §3.3: at most 30 pairs, fields ≤ 30 octets, values ≤ 1024 */
		if (n % 2 != 0 || n > 60) {
			cmd_reply(cmd, "BAD", "ID list must hold at most 30 field/value pairs.");
			return CMD_DONE;
		}
		char logbuf[512];
		size_t o = 0;
		const char *orig_ip = NULL, *orig_port = NULL;
		size_t orig_ip_len = 0, orig_port_len = 0;
		for (unsigned i = 0; i < n; i += 2) {
			const char *f, *v = NULL;
			size_t fl, vl = 0;
			if (!arg_string(&l[i], &f, &fl) || l[i].type == IMAP_ARG_ATOM || fl > 30 ||
			    (!is_nil(&l[i + 1]) &&
			     (!arg_string(&l[i + 1], &v, &vl) || l[i + 1].type == IMAP_ARG_ATOM ||
			      vl > 1024))) {
				cmd_reply(cmd, "BAD", "Invalid ID field or value.");
				return CMD_DONE;
			}
			/* a proxy's fields (Dovecot's login proxy sends them) */
			if (v != NULL && fl == 16 && strncasecmp(f, "x-originating-ip", 16) == 0) {
				orig_ip = v;
				orig_ip_len = vl;
			} else if (v != NULL && fl == 18 &&
				   strncasecmp(f, "x-originating-port", 18) == 0) {
				orig_port = v;
				orig_port_len = vl;
			}
			if (o + 80 < sizeof(logbuf)) {
				char fs[32], vs[48];
				log_safe(fs, sizeof(fs), f, fl);
				log_safe(vs, sizeof(vs), v ? v : "NIL", v ? vl : 3);
				o += (size_t)snprintf(logbuf + o, sizeof(logbuf) - o, "%s%s=%s",
						      o ? ", " : "", fs, vs);
			}
		}
		if (o > 0) {
			log_write(UIMAP_LOG_INFO, cmd->s->conn->id, cmd->s->conn->addr,
				  "client ID: %s", logbuf);
			free(cmd->s->client_id);
			cmd->s->client_id = xstrdup(logbuf);
		}
		/* only a trusted proxy may say who the client really is */
		if (orig_ip != NULL && client_address(cmd, orig_ip, orig_ip_len, orig_port,
						      orig_port_len) < 0)
			return CMD_DONE;
	}
	struct uimap_server *srv = cmd->s->srv;
	struct outq *q = cmd->s->out;
	outq_puts(q, "* ID (");
	for (unsigned i = 0; i < srv->n_id; i++) {
		if (i > 0)
			outq_puts(q, " ");
		imapstr_string(q, srv->id[i].field, strlen(srv->id[i].field));
		outq_puts(q, " ");
		imapstr_string(q, srv->id[i].value, strlen(srv->id[i].value));
	}
	/* RFC 2971 §3.2: NIL when there is nothing to tell */
	outq_puts(q, srv->n_id == 0 ? "NIL)\r\n" : ")\r\n");
	cmd_reply(cmd, "OK", "ID completed.");
	return CMD_DONE;
}

/* RFC 2971 §3.3: field names up to 30 octets, values up to 1024, 30 pairs */
UIMAP_EXPORT int uimap_server_set_id(struct uimap_server *srv, const char *field,
				     const char *value, const char **error_r)
{
	size_t fl = strlen(field);
	if (fl == 0 || fl > 30 || strpbrk(field, "\r\n") != NULL)
		return error_set(error_r, "ID field names are 1 to 30 octets on one line");
	if (value != NULL && (strlen(value) > 1024 || strpbrk(value, "\r\n") != NULL))
		return error_set(error_r, "ID values are at most 1024 octets on one line");
	unsigned i;
	for (i = 0; i < srv->n_id; i++)
		if (strcasecmp(srv->id[i].field, field) == 0)
			break;
	if (value == NULL) {
		if (i < srv->n_id) {
			free(srv->id[i].field);
			free(srv->id[i].value);
			memmove(&srv->id[i], &srv->id[i + 1], (srv->n_id - i - 1) * sizeof(srv->id[0]));
			srv->n_id--;
		}
		return 0;
	}
	if (i == srv->n_id) {
		if (srv->n_id == N_ELEMENTS(srv->id))
			return error_set(error_r, "at most 30 ID fields");
		srv->id[i].field = xstrdup(field);
		srv->id[i].value = NULL;
		srv->n_id++;
	}
	free(srv->id[i].value);
	srv->id[i].value = xstrdup(value);
	return 0;
}

void server_id_free(struct uimap_server *srv)
{
	for (unsigned i = 0; i < srv->n_id; i++) {
		free(srv->id[i].field);
		free(srv->id[i].value);
	}
	srv->n_id = 0;
}
