/* The command table and the embedder's command registry (see imap/cmd.h). */
#ifndef IMAP_CMD_TABLE_H
#define IMAP_CMD_TABLE_H
#include "imap/cmd.h"
#endif
