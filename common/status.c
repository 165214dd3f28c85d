/* common/status.c — status names and the per-thread error message. */
#include "common/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CC_ERRMSG_MAX 512

static _Thread_local char errmsg[CC_ERRMSG_MAX];

static const char *const names[CC_STATUS_COUNT] = {
    [CC_OK] = "ok",
    [CC_E_INVAL] = "invalid argument",
    [CC_E_NOMEM] = "out of memory",
    [CC_E_IO] = "I/O error",
    [CC_E_FORMAT] = "malformed input",
    [CC_E_VERSION] = "unsupported format version",
    [CC_E_CHECKSUM] = "checksum mismatch",
    [CC_E_LIMIT] = "limit exceeded",
    [CC_E_NOTFOUND] = "not found",
    [CC_E_EXISTS] = "already exists",
    [CC_E_DB] = "database error",
    [CC_E_COMPRESS] = "compression error",
    [CC_E_BUSY] = "busy (locked by another process)",
    [CC_E_UNSUPPORTED] = "unsupported",
};

const char *cc_status_str(cc_status st)
{
    if ((unsigned)st >= CC_STATUS_COUNT)
        return "unknown status";
    return names[st];
}

cc_status cc_fail(cc_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return st;
}

cc_status cc_wrap(cc_status st, const char *fmt, ...)
{
    char prefix[CC_ERRMSG_MAX];
    char old[CC_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof old);
    /* A failure that left no message still says what kind of failure it was. */
    int n = snprintf(errmsg, sizeof errmsg, "%s: ", prefix);
    if (n > 0 && (size_t)n < sizeof errmsg) {
        /* Truncation is intended: the innermost detail goes last. */
        const char *tail = old[0] ? old : cc_status_str(st);
        size_t room = sizeof errmsg - (size_t)n - 1, tl = strlen(tail);
        tl = tl < room ? tl : room;
        memcpy(errmsg + n, tail, tl);
        errmsg[(size_t)n + tl] = '\0';
    }
    return st;
}

const char *cc_errmsg(void)
{
    return errmsg;
}

void cc_clear_error(void)
{
    errmsg[0] = '\0';
}
