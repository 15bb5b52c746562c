/* Dropping root after binding: optional chroot, then the user's group and user for
   good (the seed's Net::Server user / group / chroot). */
#ifndef CORE_PRIVDROP_H
#define CORE_PRIVDROP_H

/* Become user (name or number) with group (name or number; NULL: the user's own
   group), after chroot(chroot_dir) when it is not NULL; only the one group is kept
   (setgroups). Then checks that root cannot be taken back. Must run as root.
   Returns 0, or -1 with *error_r. */
int privdrop(const char *user, const char *group, const char *chroot_dir, const char **error_r);

#endif
