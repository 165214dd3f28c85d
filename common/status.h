/* common/status.h — the project's one status type and its error-message channel.
 *
 * Every fallible function returns a cc_status (0 = CC_OK). The detailed text of the most recent
 * failure on the calling thread (for example "shard-000003.lmdb: checksum mismatch (file changed
 * or truncated since sealing)") is kept in a thread-local buffer: cc_fail() sets it, cc_errmsg()
 * reads it. Errors of LMDB, zstd and libc are translated to cc_status at the module edge and their
 * original text is kept in that message.
 *
 * Thread safety: all functions may be called from any thread; messages are per thread.
 */
#ifndef CC_STATUS_H
#define CC_STATUS_H

typedef enum cc_status {
    CC_OK = 0,
    CC_E_INVAL, /* invalid argument or option */
    CC_E_NOMEM, /* allocation failed */
    CC_E_IO, /* file system or OS error */
    CC_E_FORMAT, /* malformed input: bad magic, bad layout, bad text */
    CC_E_VERSION, /* a format version this build does not read */
    CC_E_CHECKSUM, /* stored checksum does not match the bytes */
    CC_E_LIMIT, /* a configured limit (bytes, count, length) would be exceeded */
    CC_E_NOTFOUND, /* no such key, file or entry */
    CC_E_EXISTS, /* already present (duplicate uid, existing file) */
    CC_E_DB, /* LMDB failure */
    CC_E_COMPRESS, /* zstd failure */
    CC_E_BUSY, /* locked by another process */
    CC_E_UNSUPPORTED, /* valid input this build cannot handle */
    CC_STATUS_COUNT
} cc_status;

/* Short constant name of a status ("checksum mismatch"); never NULL. */
const char *cc_status_str(cc_status st);

/* Records a formatted message for st on this thread and returns st, so that code can write
 * `return cc_fail(CC_E_FORMAT, "%s: bad magic", path);`. */
cc_status cc_fail(cc_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current thread's message with "prefix: " and returns st (adds context on the way
 * up: `return cc_wrap(st, "%s", name);`). */
cc_status cc_wrap(cc_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message of the last cc_fail() on this thread, or "" if none. Valid until the next
 * cc_fail/cc_wrap/cc_clear_error on this thread. */
const char *cc_errmsg(void);

void cc_clear_error(void);

/* Error propagation. CC_TRY returns the status of expr if it failed; CC_TRY_GOTO stores it in st
 * and jumps to the cleanup label; CC_CHECK fails with a message when cond is false. */
#define CC_TRY(expr)                                                                               \
    do {                                                                                           \
        cc_status cc_try_st_ = (expr);                                                             \
        if (cc_try_st_ != CC_OK)                                                                   \
            return cc_try_st_;                                                                     \
    } while (0)

#define CC_TRY_GOTO(st, expr, label)                                                               \
    do {                                                                                           \
        (st) = (expr);                                                                             \
        if ((st) != CC_OK)                                                                         \
            goto label;                                                                            \
    } while (0)

#define CC_CHECK(cond, st, ...)                                                                    \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return cc_fail((st), __VA_ARGS__);                                                     \
    } while (0)

#endif
