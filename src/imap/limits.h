/* A user's limits: the server's defaults, overridden by the user's own settings. */
#ifndef IMAP_LIMITS_H
#define IMAP_LIMITS_H

#include "core/config.h"
#include "uimap/store.h"

/* Fill limits from cfg, then apply the user's extra fields (may be NULL): Dovecot's
   quota rules "userdb_quota_rule=*:storage=1G" (also quota_rule, quota_rule2, ...;
   storage and bytes are sizes with K/M/G/T suffixes, messages a count, 0 or
   "none" = no limit) and userdb_uimap_max_mailboxes, _max_subscriptions,
   _max_mailbox_messages. Returns 0, or -1 with *error_r naming the first field that
   could not be read (the others still apply). */
int limits_for_user(const struct uimap_config *cfg, const char *fields,
		    struct uimap_store_limits *limits, const char **error_r);

/* Whether the user's extra fields make it an administrator: Dovecot's userdb field
   "admin" (userdb_admin=yes in a passwd-file; yes, y, true or 1). */
bool user_is_admin(const char *fields);

/* Whether the user's extra field key is yes (yes, y, true or 1), e.g.
   "urlauth_submit" (userdb_urlauth_submit=yes: a submission server's account,
   URLAUTH's submit+USER, RFC 4467 §3). */
bool user_field_yes(const char *fields, const char *key);

#endif
