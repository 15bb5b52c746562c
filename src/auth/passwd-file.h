/* The passwd-file backend's internals visible to tests. */
#ifndef AUTH_PASSWD_FILE_H
#define AUTH_PASSWD_FILE_H

#include <stdbool.h>
#include <stdint.h>

/* How many crypt(3) hashes this process has computed for password checks (every
   thread): an unknown user must cost one as a known one does. */
uint64_t passwd_file_crypt_count(void);

/* Whether the passwd-file (a context of uimap_auth_passwd_file_open()) has user.
   Loop thread only (the one that reloads). */
bool passwd_file_has_user(void *ctx, const char *user);

#endif
