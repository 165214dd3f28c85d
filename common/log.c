/* common/log.c — see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static cc_log_level current = CC_LOG_INFO;
static int progress_shown; /* a progress line is on screen and must be cleared first */
static double progress_last; /* monotonic seconds of the last redraw */

void cc_log_set_level(cc_log_level level)
{
    current = level;
}

cc_log_level cc_log_get_level(void)
{
    return current;
}

static void clear_progress(void)
{
    if (progress_shown) {
        fputs("\r\033[K", stderr);
        progress_shown = 0;
    }
}

static void vlog(const char *tag, const char *fmt, va_list ap)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "clipcrawl: %s", tag);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    clear_progress();
    fprintf(stderr, "%s\n", line);
}

#define CC_LOG_FN(name, lvl, tag)                                                                  \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        if ((lvl) > current)                                                                       \
            return;                                                                                \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vlog(tag, fmt, ap);                                                                        \
        va_end(ap);                                                                                \
    }

CC_LOG_FN(cc_log_error, CC_LOG_QUIET, "")
CC_LOG_FN(cc_log_warn, CC_LOG_WARN, "warning: ")
CC_LOG_FN(cc_log_info, CC_LOG_INFO, "")
CC_LOG_FN(cc_log_debug, CC_LOG_DEBUG, "debug: ")

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cc_progress(const char *fmt, ...)
{
    static int tty = -1;
    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    if (!tty || current < CC_LOG_INFO)
        return;
    double t = now_s();
    if (progress_shown && t - progress_last < 0.1)
        return;
    progress_last = t;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
    progress_shown = 1;
}

void cc_progress_done(void)
{
    if (progress_shown) {
        fputc('\n', stderr);
        progress_shown = 0;
    }
}
