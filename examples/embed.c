/* Embedding example: a uimap server with a custom auth callback and a custom command. */
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

int main(int argc, char **argv)
{
	const char *err;
	struct uimap_config *cfg = uimap_config_new();
	uimap_config_set(cfg, "listen", argc > 1 ? argv[1] : "127.0.0.1:1431", &err);
	uimap_config_set(cfg, "allow-plaintext-auth", NULL, &err);

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
	uimap_server_handle_signals(srv);
	int ret = uimap_server_run(srv, &err) < 0 ? 1 : 0;
	if (ret)
		fprintf(stderr, "embed: %s\n", err);
	uimap_server_free(&srv);
	return ret;
}
