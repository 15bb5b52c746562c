/* Embedding example: a uimap server with a custom auth callback, custom commands
   (XHELLO; XWHO listing the connections as the seed's connections methods did; XCAPS
   showing the capability lists) and its own ID response. */
#include <uimap/uimap.h>

#include <stdio.h>
#include <string.h>

/* Accept one user, "demo" with password "demo"; a real appliance would ask its
   own user database here. */
static int demo_verify(void *ctx, const char *user, const char *password, const char **error_r)
{
	(void)ctx;
	(void)error_r;
	return strcmp(user, "demo") == 0 && strcmp(password, "demo") == 0;
}

static const struct uimap_auth_backend demo_auth = {
	.name = "demo",
	.blocking = false,  /* cheap check: run inline on the loop */
	.verify_plain = demo_verify,
};

/* XHELLO: answers "* XHELLO <user>". */
static int xhello(struct uimap_cmd *cmd, void *ctx)
{
	(void)ctx;
	char line[128];
	snprintf(line, sizeof(line), "XHELLO %s", uimap_cmd_user(cmd));
	uimap_cmd_untagged(cmd, line);
	uimap_cmd_reply(cmd, "OK", "Hello.");
	return 0;
}

/* XWHO: "* XWHO id user mailbox" per connection, then the counts of the seed's
   concurrent_user_connections / concurrent_mailbox_connections for the caller. */
static int xwho_line(void *ctx, const struct uimap_connection_info *info)
{
	char line[256];
	snprintf(line, sizeof(line), "XWHO c%lu %s %s%s%s%s%s", info->id,
		 info->user ? info->user : "-", info->mailbox ? info->mailbox : "-",
		 info->tls ? " tls" : "", info->idling ? " idle" : "",
		 info->host ? " host=" : "", info->host ? info->host : "");
	uimap_cmd_untagged(ctx, line);
	return 0;
}

static int xwho(struct uimap_cmd *cmd, void *ctx)
{
	struct uimap_server *srv = ctx;
	char line[128];
	uimap_server_foreach_connection(srv, xwho_line, cmd);
	snprintf(line, sizeof(line), "XWHO-COUNT user %u inbox %u",
		 uimap_server_user_connections(srv, uimap_cmd_user(cmd)),
		 uimap_server_mailbox_connections(srv, uimap_cmd_user(cmd), "INBOX"));
	uimap_cmd_untagged(cmd, line);
	uimap_cmd_reply(cmd, "OK", "Who is there.");
	return 0;
}

/* XCAPS: "* XCAPS BEFORE <list>" and "* XCAPS AFTER <list>": the capability lists
   of a plain connection before and after login, as the library computes them. */
static int xcaps(struct uimap_cmd *cmd, void *ctx)
{
	struct uimap_server *srv = ctx;
	char list[2048], line[2100];
	for (int after = 0; after <= 1; after++) {
		if (uimap_server_capability(srv, after, false, list, sizeof(list)) >= sizeof(list)) {
			uimap_cmd_reply(cmd, "NO", "Capability list too long.");
			return 0;
		}
		snprintf(line, sizeof(line), "XCAPS %s %s", after ? "AFTER" : "BEFORE", list);
		uimap_cmd_untagged(cmd, line);
	}
	uimap_cmd_reply(cmd, "OK", "Capabilities.");
	return 0;
}

int main(int argc, char **argv)
{
	const char *err;
	struct uimap_config *cfg = uimap_config_new();
	uimap_config_set(cfg, "listen", argc > 1 ? argv[1] : "127.0.0.1:1431", &err);
	uimap_config_set(cfg, "allow-plaintext-auth", NULL, &err);
	/* further arguments: options by key, "key=value" or a boolean "key" */
	for (int i = 2; i < argc; i++) {
		char key[64];
		const char *eq = strchr(argv[i], '=');
		snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - argv[i]) : 63, argv[i]);
		if (uimap_config_set(cfg, key, eq ? eq + 1 : NULL, &err) < 0) {
			fprintf(stderr, "embed: %s\n", err);
			uimap_config_free(&cfg);
			return 2;
		}
	}

	struct uimap_server *srv;
	int r = uimap_server_new(cfg, &srv, &err);
	uimap_config_free(&cfg);    /* the server keeps its own copy */
	if (r < 0) {
		fprintf(stderr, "embed: %s\n", err);
		return 1;
	}
	uimap_server_set_auth(srv, &demo_auth, NULL);
	struct uimap_command hello = {
		.name = "XHELLO", .states = UIMAP_STATE_AUTH | UIMAP_STATE_SELECTED,
		.capability = "XHELLO", .handler = xhello,
	};
	uimap_server_add_command(srv, &hello);
	struct uimap_command who = {
		.name = "XWHO", .states = UIMAP_STATE_AUTH | UIMAP_STATE_SELECTED,
		.capability = NULL, .handler = xwho, .ctx = srv,
	};
	uimap_server_add_command(srv, &who);
	struct uimap_command caps = {
		.name = "XCAPS", .states = UIMAP_STATE_ANY, .capability = NULL,
		.handler = xcaps, .ctx = srv,
	};
	uimap_server_add_command(srv, &caps);
	/* what ID tells clients: our product, not the library's name */
	uimap_server_set_id(srv, "name", "embed-example", NULL);
	uimap_server_set_id(srv, "vendor", "Example Appliances", NULL);
	uimap_server_set_id(srv, "support-url", "mailto:support@example.com", NULL);
	uimap_server_handle_signals(srv);
	int ret = uimap_server_run(srv, &err) < 0 ? 1 : 0;
	if (ret)
		fprintf(stderr, "embed: %s\n", err);
	uimap_server_free(&srv);
	return ret;
}
