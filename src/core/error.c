/* The thread-local error text behind every error_r out-parameter. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

static __thread char error_buf[1024];

int error_set(const char **error_r, const char *fmt, ...)
{
	/* the arguments may point into error_buf (an earlier error wrapped) */
	char tmp[sizeof(error_buf)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	snprintf(error_buf, sizeof(error_buf), "%s", tmp);
	if (error_r != NULL)
		*error_r = error_buf;
	return -1;
}

const char *error_last(void)
{
	return error_buf;
}
