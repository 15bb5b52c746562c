/* setgroups + setgid + setuid, in that order, after an optional chroot. */
#include "core/privdrop.h"
#include "core/error.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int lookup_user(const char *name, uid_t *uid_r, gid_t *gid_r)
{
	char *end;
	unsigned long v = strtoul(name, &end, 10);
	struct passwd *pw = *end == '\0' && name[0] != '\0' ? getpwuid((uid_t)v) : getpwnam(name);
	if (pw != NULL) {
		*uid_r = pw->pw_uid;
		*gid_r = pw->pw_gid;
		return 0;
	}
	if (*end == '\0' && name[0] != '\0') {   /* a number without a passwd entry */
		*uid_r = (uid_t)v;
		*gid_r = (gid_t)v;
		return 0;
	}
	return -1;
}

static int lookup_group(const char *name, gid_t *gid_r)
{
	char *end;
	unsigned long v = strtoul(name, &end, 10);
	if (*end == '\0' && name[0] != '\0') {
		*gid_r = (gid_t)v;
		return 0;
	}
	struct group *gr = getgrnam(name);
	if (gr == NULL)
		return -1;
	*gid_r = gr->gr_gid;
	return 0;
}

int privdrop(const char *user, const char *group, const char *chroot_dir, const char **error_r)
{
	uid_t uid = 0;
	gid_t gid = 0;
	if (geteuid() != 0)
		return error_set(error_r, "--user/--group/--chroot need root (running as uid %u)",
				 (unsigned)geteuid());
	/* names are resolved before the chroot, where /etc/passwd may be missing */
	if (user != NULL && lookup_user(user, &uid, &gid) < 0)
		return error_set(error_r, "unknown user '%s'", user);
	if (group != NULL && lookup_group(group, &gid) < 0)
		return error_set(error_r, "unknown group '%s'", group);
	if (chroot_dir != NULL && (chroot(chroot_dir) < 0 || chdir("/") < 0))
		return error_set(error_r, "chroot %s: %s", chroot_dir, strerror(errno));
	if (user == NULL && group == NULL)
		return 0;
	if (user == NULL)
		uid = getuid();
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0)
		return error_set(error_r, "cannot switch to group %u: %s", (unsigned)gid,
				 strerror(errno));
	if (setuid(uid) < 0)
		return error_set(error_r, "cannot switch to user %u: %s", (unsigned)uid,
				 strerror(errno));
	/* for good: neither the real, effective nor saved ids may lead back to root */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 || getuid() != uid || geteuid() != uid))
		return error_set(error_r, "root could be taken back after dropping to uid %u",
				 (unsigned)uid);
	return 0;
}
