/* IMAP date-time values (RFC 3501 §9 date-time) for APPEND and INTERNALDATE. */
#ifndef IMAP_DATETIME_H
#define IMAP_DATETIME_H

#include <stddef.h>
#include <time.h>

/* Parse "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d" or "d"). Returns 0 with the
   UTC time and the zone in minutes east of UTC, or -1 when invalid. */
int imap_datetime_parse(const char *s, time_t *time_r, int *tz_minutes_r);

/* Format t in zone tz_minutes as "dd-Mon-yyyy hh:mm:ss +zzzz" (26 bytes + NUL). */
void imap_datetime_format(time_t t, int tz_minutes, char out[32]);

#endif
