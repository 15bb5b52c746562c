/* IMAP date-time parsing and formatting. */
#include "imap/datetime.h"

#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <strings.h>

static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int digits(const char *s, int n, int *v_r)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return 0;
}

int imap_datetime_parse(const char *s, time_t *time_r, int *tz_minutes_r)
{
	int day, mon, year, hh, mm, ss, zh, zm;
	if (s[0] == ' ')
		s++;
	int dlen = (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9') ? 2 : 1;
	if (digits(s, dlen, &day) < 0 || s[dlen] != '-')
		return -1;
	s += dlen + 1;
	for (mon = 0; mon < 12; mon++)
		if (strncasecmp(s, months[mon], 3) == 0)
			break;
	if (mon == 12 || s[3] != '-')
		return -1;
	s += 4;
	if (digits(s, 4, &year) < 0 || s[4] != ' ' || digits(s + 5, 2, &hh) < 0 || s[7] != ':' ||
	    digits(s + 8, 2, &mm) < 0 || s[10] != ':' || digits(s + 11, 2, &ss) < 0 ||
	    s[13] != ' ' || (s[14] != '+' && s[14] != '-') || digits(s + 15, 2, &zh) < 0 ||
	    digits(s + 17, 2, &zm) < 0 || s[19] != '\0')
		return -1;
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (day < 1 || day > mdays[mon] || year < 1900 || hh > 23 || mm > 59 || ss > 60 ||
	    zh > 23 || zm > 59)
		return -1;
	if (mon == 1 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	int tz = (zh * 60 + zm) * (s[14] == '-' ? -1 : 1);
	*time_r = timegm(&tm) - (time_t)tz * 60;
	*tz_minutes_r = tz;
	return 0;
}

void imap_datetime_format(time_t t, int tz_minutes, char out[32])
{
	time_t local = t + (time_t)tz_minutes * 60;
	struct tm tm;
	gmtime_r(&local, &tm);
	int z = tz_minutes < 0 ? -tz_minutes : tz_minutes;
	snprintf(out, 32, "%02u-%s-%04u %02u:%02u:%02u %c%02u%02u", (unsigned)tm.tm_mday % 100u,
		 months[tm.tm_mon % 12], (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
		 (unsigned)tm.tm_sec % 100u, tz_minutes < 0 ? '-' : '+', (unsigned)(z / 60) % 100u,
		 (unsigned)(z % 60));
}
