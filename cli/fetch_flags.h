/* cli/fetch_flags.h — the fetch engine's flags, parsed the same way by every command that fetches
 * (`clipcrawl fetch` today, `clipcrawl crawl` next).
 *
 *   --host-delay SECONDS      delay between requests to one host (default 1)
 *   --per-host N              transfers in flight per host (default 1)
 *   --inflight N              transfers in flight in all (default 256)
 *   --retries N               retries after the first try (default 3)
 *   --backoff SECONDS         back-off base (default 1)
 *   --retry-after-cap SECONDS largest Retry-After or back-off honoured (default 300)
 *   --crawl-delay-cap SECONDS largest robots.txt Crawl-delay honoured (default 30)
 *   --connect-timeout SECONDS (default 10)
 *   --timeout SECONDS         per try, headers and body (default 60)
 *   --low-speed BYTES         abort below this many bytes/s ... (default 1024)
 *   --low-speed-time SECONDS  ... for this long (default 20)
 *   --max-image-bytes SIZE    (default 32M)
 *   --max-html-bytes SIZE     (default 8M)
 *   --allow-net CIDR          allow a network on any port (repeatable; default: none)
 *   --allow-port PORT         add a port to the allow-list (repeatable; default 80, 443)
 *   --resolve HOST:PORT:ADDR  pin a host name to an address (repeatable, as curl --resolve)
 *   --user-agent UA           (default FETCH_DEFAULT_USER_AGENT)
 *   --robots-token TOKEN      product token matched in robots.txt (default clipcrawl)
 *   --no-robots               do not fetch or obey robots.txt (for your own servers only)
 *   --robots-ttl SECONDS      how long a robots.txt is cached (default 86400)
 *   --proxy URL               send every request through this proxy (default: none; the
 *                             http_proxy environment variables are ignored)
 */
#ifndef CC_CLI_FETCH_FLAGS_H
#define CC_CLI_FETCH_FLAGS_H

#include <getopt.h>
#include <stddef.h>

#include "crawler/fetch.h"
#include "crawler/ssrf.h"

#define CLI_FETCH_MAX_RESOLVE 256

typedef struct cli_fetch_flags {
    fetch_opts opts; /* opts.ssrf and opts.resolve point into this struct */
    ssrf_policy *ssrf; /* owned */
    const char *resolve[CLI_FETCH_MAX_RESOLVE + 1];
    int nresolve;
} cli_fetch_flags;

/* Option codes start here (after the filter flags' range). */
#define CLI_FETCH_OPT_BASE 0x1100

#define CLI_FETCH_LONG                                                                             \
    {"host-delay", required_argument, 0, CLI_FETCH_OPT_BASE + 0},                                  \
        {"per-host", required_argument, 0, CLI_FETCH_OPT_BASE + 1},                                \
        {"inflight", required_argument, 0, CLI_FETCH_OPT_BASE + 2},                                \
        {"retries", required_argument, 0, CLI_FETCH_OPT_BASE + 3},                                 \
        {"backoff", required_argument, 0, CLI_FETCH_OPT_BASE + 4},                                 \
        {"retry-after-cap", required_argument, 0, CLI_FETCH_OPT_BASE + 5},                         \
        {"crawl-delay-cap", required_argument, 0, CLI_FETCH_OPT_BASE + 6},                         \
        {"connect-timeout", required_argument, 0, CLI_FETCH_OPT_BASE + 7},                         \
        {"timeout", required_argument, 0, CLI_FETCH_OPT_BASE + 8},                                 \
        {"low-speed", required_argument, 0, CLI_FETCH_OPT_BASE + 9},                               \
        {"low-speed-time", required_argument, 0, CLI_FETCH_OPT_BASE + 10},                         \
        {"max-image-bytes", required_argument, 0, CLI_FETCH_OPT_BASE + 11},                        \
        {"max-html-bytes", required_argument, 0, CLI_FETCH_OPT_BASE + 12},                         \
        {"allow-net", required_argument, 0, CLI_FETCH_OPT_BASE + 13},                              \
        {"allow-port", required_argument, 0, CLI_FETCH_OPT_BASE + 14},                             \
        {"resolve", required_argument, 0, CLI_FETCH_OPT_BASE + 15},                                \
        {"user-agent", required_argument, 0, CLI_FETCH_OPT_BASE + 16},                             \
        {"robots-token", required_argument, 0, CLI_FETCH_OPT_BASE + 17},                           \
        {"no-robots", no_argument, 0, CLI_FETCH_OPT_BASE + 18},                                    \
        {"robots-ttl", required_argument, 0, CLI_FETCH_OPT_BASE + 19},                             \
    {                                                                                              \
        "proxy", required_argument, 0, CLI_FETCH_OPT_BASE + 20                                     \
    }

extern const char cli_fetch_usage[];

/* Defaults; allocates the SSRF policy. CC_E_NOMEM. */
cc_status cli_fetch_flags_init(cli_fetch_flags *f);

/* Handles option code c with argument arg (kept by pointer: argv strings live long enough).
 * Returns 1 when c was ours and arg is good, 0 when c is not ours, -1 when arg is bad (err gets
 * the message for the usage error). */
int cli_fetch_flags_parse(cli_fetch_flags *f, int c, const char *arg, char *err, size_t cap);

void cli_fetch_flags_free(cli_fetch_flags *f);

#endif
