/* Failpoints: named places where a test can make a system call fail (a full disk, an
   I/O error) to prove the error paths. Off unless the environment variable
   UIMAP_FAILPOINTS names them when the process starts:
     UIMAP_FAILPOINTS="journal-write=EIO,journal-fsync=EIO*2,journal-fallocate=ENOSPC+5"
   NAME=ERRNO fails every time; *N only the next N times; +K after K successes
   (both may be combined: ENOSPC+5*3). Errnos by name: EIO, ENOSPC, EDQUOT, EFBIG.
   A delay point, NAME=<N>ms (same *N / +K), makes a worker thread sleep instead
   (tests only: "rdns-lookup=3000ms+1" hangs every reverse lookup but the first).
   Names: journal-write, journal-fsync, journal-fallocate, snapshot-write,
   snapshot-mmap (the snapshot is read instead of mapped), rdns-lookup. */
#ifndef CORE_FAILPOINT_H
#define CORE_FAILPOINT_H

#include <stdbool.h>

/* Whether the failpoint name fires now; then *err_r is its -errno. */
bool failpoint(const char *name, int *err_r);

/* When the delay point name fires now, sleep its milliseconds (worker threads only),
   in steps of 20 ms, cut short once *stop (read atomically) is nonzero: a pool being
   stopped does not wait for a test's delay. */
void failpoint_sleep(const char *name, const int *stop);

#endif
