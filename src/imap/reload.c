/* SIGHUP's configuration reload: a fresh configuration from the embedder's loader
   (uimapd: the --config file and the command line again) is compared with the
   running one; what can change while serving is applied, the rest is logged as
   needing a restart. */
#include "imap/server.h"
#include "core/common.h"
#include "core/config.h"
#include "core/log.h"
#include "net/access.h"

#include <stdbool.h>
#include <string.h>

/* Options applied while serving. They are read where they are used: limits and
   timeouts at the next connection, login or command, the address rules at the next
   connection, plaintext auth at the next CAPABILITY or login. Anything else (the
   listeners, data directory, privileges, persistence, workers, log destinations,
   the passwd-file's path) needs a restart. */
static const char *const live_keys[] = {
	"log-level", "allow-plaintext-auth", "allow", "deny", "cidr-allow", "cidr-deny",
	"cert", "key", "unauth-commands", "unauth-idle", "login-timeout", "auth-idle",
	"poll-every", "max-connections", "max-connections-per-ip",
	"max-unauth-connections-per-ip", "max-connections-per-user", "max-line",
	"max-literal", "login-delay", "login-delay-max", "quota-storage", "quota-messages",
	"max-mailbox-messages", "max-mailboxes", "max-subscriptions",
	"max-command-messages",
};

static bool is_live(const char *key)
{
	for (size_t i = 0; i < N_ELEMENTS(live_keys); i++)
		if (strcmp(live_keys[i], key) == 0)
			return true;
	return false;
}

static bool is_rule(const char *key)
{
	return strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0 ||
	       strcmp(key, "cidr-allow") == 0 || strcmp(key, "cidr-deny") == 0;
}

struct reload {
	struct uimap_server *srv;
	const struct uimap_config *next;
	bool rules_ok;        /* the new address rules compiled (and replaced the old) */
	unsigned applied, restart;
};

static void changed(void *ctx, const char *key)
{
	struct reload *r = ctx;
	bool tls_path = strcmp(key, "cert") == 0 || strcmp(key, "key") == 0;
	/* a new certificate path is loaded by the TLS reload that follows; TLS where
	   there was none needs listeners and a context made at start */
	if (!is_live(key) || (tls_path && r->srv->tls == NULL)) {
		log_warn("config: '%s' changed; it takes effect after a restart", key);
		r->restart++;
		return;
	}
	if (is_rule(key) && !r->rules_ok)
		return;
	(void)config_copy_key(r->srv->cfg, r->next, key);
	log_info("config: '%s' changed; applied", key);
	r->applied++;
}

void server_reload_config(struct uimap_server *srv)
{
	const char *err;
	if (srv->config_loader == NULL)
		return;
	struct uimap_config *next = srv->config_loader(srv->config_loader_ctx, &err);
	if (next == NULL) {
		log_error("config not reloaded, keeping the running one: %s", err);
		return;
	}
	struct reload r = { .srv = srv, .next = next, .rules_ok = true };
	/* the rules are compiled before anything changes: a bad one keeps the old set */
	struct access_rules rules;
	if (access_rules_init(&rules, &next->allow, &next->deny, &next->cidr_allow,
			      &next->cidr_deny, &err) < 0) {
		log_error("config: address rules not reloaded, keeping the old ones: %s", err);
		r.rules_ok = false;
	} else {
		access_rules_free(&srv->net.access);
		srv->net.access = rules;
	}
	config_diff(srv->cfg, next, changed, &r);
	srv->log.level = srv->cfg->log_level;
	log_info("config reloaded: %u change(s) applied, %u need a restart", r.applied,
		 r.restart);
	uimap_config_free(&next);
}

UIMAP_EXPORT void uimap_server_set_config_loader(struct uimap_server *srv,
						 struct uimap_config *(*load)(void *ctx,
									      const char **error_r),
						 void *ctx)
{
	srv->config_loader = load;
	srv->config_loader_ctx = ctx;
}
