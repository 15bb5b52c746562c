/* uimapctl's error message: "uimapctl: " and the text on stderr. */
#ifndef CLI_FAIL_H
#define CLI_FAIL_H

/* Print "uimapctl: <formatted text>" and a newline on stderr; returns 1 (the exit
   status of a failed command). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
