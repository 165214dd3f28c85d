/* common/log.h — leveled logging and a TTY-aware progress line, all on stderr.
 *
 * Library code logs through these functions and never writes to stdout. The level is process-wide
 * (set once by the CLI from --quiet / --verbose). The progress line is redrawn in place (at most
 * ten times a second) when stderr is a terminal and is silent otherwise, so logs and pipes stay
 * clean. Thread safety: cc_log may be called from any thread (one fputs per line); the progress
 * line belongs to one thread at a time.
 */
#ifndef CC_LOG_H
#define CC_LOG_H

typedef enum cc_log_level {
    CC_LOG_QUIET = 0, /* nothing but errors */
    CC_LOG_WARN = 1,
    CC_LOG_INFO = 2, /* the default */
    CC_LOG_DEBUG = 3,
} cc_log_level;

void cc_log_set_level(cc_log_level level);
cc_log_level cc_log_get_level(void);

/* Error lines are printed at every level; others when level <= the current level. */
void cc_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cc_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cc_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cc_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Redraws the progress line (TTY only, rate-limited, suppressed by CC_LOG_QUIET). */
void cc_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the progress line so that following output starts on a fresh line. */
void cc_progress_done(void);

#endif
