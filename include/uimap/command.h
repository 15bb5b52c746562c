/* uimap: custom IMAP commands registered by an embedder (the seed's add_command). */
#ifndef UIMAP_COMMAND_H
#define UIMAP_COMMAND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uimap_cmd;

/* Connection states in which a command is allowed (bit mask). */
enum uimap_state_mask {
	UIMAP_STATE_NOT_AUTH = 1,
	UIMAP_STATE_AUTH = 2,
	UIMAP_STATE_SELECTED = 4,
	UIMAP_STATE_ANY = 7,
};

struct uimap_command {
	const char *name;        /* upper-case atom, e.g. "XSTATS" */
	unsigned states;         /* enum uimap_state_mask */
	const char *capability;  /* added to CAPABILITY when non-NULL */
	/* Run the command. Write untagged lines with uimap_cmd_untagged() and finish with
	   uimap_cmd_reply(). Returns 0; a non-zero return is answered with a tagged NO. */
	int (*handler)(struct uimap_cmd *cmd, void *ctx);
	void *ctx;
};

/* Number of arguments after the command name. */
unsigned uimap_cmd_arg_count(const struct uimap_cmd *cmd);

/* Argument i as a string (atom, quoted string or literal). Returns 0 and sets
   *str_r / *len_r (valid until the command completes), or -1 when i is out of range
   or the argument is a list or NIL. */
int uimap_cmd_arg_string(const struct uimap_cmd *cmd, unsigned i, const char **str_r,
			 size_t *len_r);

/* The logged-in user name, or NULL before authentication. */
const char *uimap_cmd_user(const struct uimap_cmd *cmd);

/* Queue an untagged response "* <text>\r\n". text must not contain CR or LF. */
void uimap_cmd_untagged(struct uimap_cmd *cmd, const char *text);

/* Queue the tagged completion: status is "OK", "NO" or "BAD". Call once. */
void uimap_cmd_reply(struct uimap_cmd *cmd, const char *status, const char *text);

#ifdef __cplusplus
}
#endif
#endif
