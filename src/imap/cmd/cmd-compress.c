/* COMPRESS (RFC 4978; after login, §5 command-auth): the tagged OK goes out
   uncompressed, then both directions are raw deflate (RFC 1951) from the next byte;
   what the client pipelined after the command is already compressed input. */
#include "imap/cmd.h"
#include "imap/session.h"
#include "net/conn.h"
#include "core/log.h"

#include <errno.h>
#include <strings.h>

int cmd_compress(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	if (cmd->c.n_args != 1 || cmd->c.args[0].type != IMAP_ARG_ATOM) {
		cmd_reply(cmd, "BAD", "COMPRESS takes one mechanism name.");
		return CMD_DONE;
	}
	/* RFC 4978 §3: an unknown mechanism is a BAD */
	if (strcasecmp(cmd->c.args[0].u.str, "DEFLATE") != 0) {
		cmd_reply(cmd, "BAD", "Unknown compression mechanism.");
		return CMD_DONE;
	}
	if (conn_is_compressed(s->conn)) {
		cmd_reply(cmd, "NO", "[COMPRESSIONACTIVE] DEFLATE is already active.");
		return CMD_DONE;
	}
	cmd_reply(cmd, "OK", "DEFLATE active.");
	int ret = conn_compress(s->conn);
	if (ret < 0) {
		log_write(UIMAP_LOG_ERROR, s->conn->id, s->conn->addr,
			  "COMPRESS failed to start: %s", ret == -ENOMEM ? "out of memory" : "active");
		conn_close(s->conn, true);
		return CMD_DONE;
	}
	/* the rest of this read is compressed: the session hands it back */
	s->compress_started = true;
	return CMD_DONE;
}
