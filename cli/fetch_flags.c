/* cli/fetch_flags.c — parsing of the fetch engine's flags (fetch_flags.h). */
#include "cli/fetch_flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char cli_fetch_usage[] =
    "Fetching (the same flags as `clipcrawl crawl`):\n"
    "  --host-delay SECONDS      delay between requests to one host (default 1)\n"
    "  --per-host N              transfers in flight per host (default 1)\n"
    "  --inflight N              transfers in flight in all (default 256)\n"
    "  --retries N               retries after the first try (default 3)\n"
    "  --backoff SECONDS         back-off base (default 1)\n"
    "  --retry-after-cap SECONDS largest Retry-After or back-off honoured (default 300)\n"
    "  --crawl-delay-cap SECONDS largest robots.txt Crawl-delay honoured (default 30)\n"
    "  --connect-timeout SECONDS (default 10)\n"
    "  --timeout SECONDS         per try, headers and body (default 60)\n"
    "  --low-speed BYTES         abort a transfer below BYTES/s ... (default 1024)\n"
    "  --low-speed-time SECONDS  ... for this long (default 20)\n"
    "  --max-image-bytes SIZE    largest image body, after decompression (default 32M)\n"
    "  --max-html-bytes SIZE     largest page body, after decompression (default 8M)\n"
    "  --allow-net CIDR          allow connections to this network on any port (repeatable);\n"
    "                            private and special addresses are refused otherwise\n"
    "  --allow-port PORT         allow this port too (repeatable; default 80 and 443)\n"
    "  --resolve HOST:PORT:ADDR  pin a host name to an address (repeatable)\n"
    "  --user-agent UA           the User-Agent header (default: clipcrawl/0.1 with a URL)\n"
    "  --robots-token TOKEN      our name in robots.txt user-agent lines (default clipcrawl)\n"
    "  --no-robots               neither fetch nor obey robots.txt (your own servers only)\n"
    "  --robots-ttl SECONDS      how long a robots.txt is cached (default 86400)\n"
    "  --proxy URL               fetch through this proxy (environment proxies are ignored)\n";

cc_status cli_fetch_flags_init(cli_fetch_flags *f)
{
    memset(f, 0, sizeof *f);
    fetch_opts_default(&f->opts);
    CC_TRY(ssrf_policy_new(&f->ssrf));
    f->opts.ssrf = f->ssrf;
    return CC_OK;
}

void cli_fetch_flags_free(cli_fetch_flags *f)
{
    ssrf_policy_free(f->ssrf);
    f->ssrf = NULL;
}

static int seconds_arg(const char *arg, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end || errno || !isfinite(v) || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int int_arg(const char *arg, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_fetch_flags_parse(cli_fetch_flags *f, int c, const char *arg, char *err, size_t cap)
{
    fetch_opts *o = &f->opts;
    double d;
    long l;
    uint64_t u;
    switch (c - CLI_FETCH_OPT_BASE) {
    case 0:
        if (seconds_arg(arg, 86400, &o->host_delay))
            goto bad_seconds;
        return 1;
    case 1:
        if (int_arg(arg, 1, 1024, &l))
            return snprintf(err, cap, "--per-host takes 1..1024, not '%s'", arg), -1;
        o->per_host = (int)l;
        return 1;
    case 2:
        if (int_arg(arg, 1, 100000, &l))
            return snprintf(err, cap, "--inflight takes 1..100000, not '%s'", arg), -1;
        o->max_inflight = (int)l;
        return 1;
    case 3:
        if (int_arg(arg, 0, 100, &l))
            return snprintf(err, cap, "--retries takes 0..100, not '%s'", arg), -1;
        o->max_retries = (int)l;
        return 1;
    case 4:
        if (seconds_arg(arg, 3600, &o->backoff_base))
            goto bad_seconds;
        return 1;
    case 5:
        if (seconds_arg(arg, 86400, &o->retry_after_cap))
            goto bad_seconds;
        return 1;
    case 6:
        if (seconds_arg(arg, 86400, &o->crawl_delay_cap))
            goto bad_seconds;
        return 1;
    case 7:
        if (seconds_arg(arg, 86400, &d) || d <= 0)
            goto bad_seconds;
        o->connect_timeout = d;
        return 1;
    case 8:
        if (seconds_arg(arg, 86400, &d) || d <= 0)
            goto bad_seconds;
        o->timeout = d;
        return 1;
    case 9:
        if (int_arg(arg, 0, 1L << 40, &l))
            return snprintf(err, cap, "--low-speed takes bytes per second, not '%s'", arg), -1;
        o->low_speed_limit = l;
        return 1;
    case 10:
        if (seconds_arg(arg, 86400, &o->low_speed_time))
            goto bad_seconds;
        return 1;
    case 11:
    case 12:
        if (cli_parse_size(arg, &u) || u == 0 || u > (1ull << 40))
            return snprintf(err, cap, "a body limit takes a size such as 32M, not '%s'", arg), -1;
        *(c - CLI_FETCH_OPT_BASE == 11 ? &o->max_image_bytes : &o->max_html_bytes) = (size_t)u;
        return 1;
    case 13:
        if (ssrf_policy_allow_net(f->ssrf, arg) != CC_OK)
            return snprintf(err, cap, "--allow-net: %s", cc_errmsg()), -1;
        return 1;
    case 14:
        if (int_arg(arg, 1, 65535, &l) || ssrf_policy_allow_port(f->ssrf, (int)l) != CC_OK)
            return snprintf(err, cap, "--allow-port takes a port 1..65535, not '%s'", arg), -1;
        return 1;
    case 15: {
        /* HOST:PORT:ADDR with a non-empty host, a port, and an address */
        const char *c1 = strchr(arg, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || c1 == arg || !c2 || c2 == c1 + 1 || !c2[1])
            return snprintf(err, cap, "--resolve takes HOST:PORT:ADDRESS, not '%s'", arg), -1;
        if (f->nresolve == CLI_FETCH_MAX_RESOLVE)
            return snprintf(err, cap, "at most %d --resolve", CLI_FETCH_MAX_RESOLVE), -1;
        f->resolve[f->nresolve++] = arg;
        f->resolve[f->nresolve] = NULL;
        o->resolve = f->resolve;
        return 1;
    }
    case 16:
        if (!*arg || strpbrk(arg, "\r\n"))
            return snprintf(err, cap, "--user-agent must be one non-empty line"), -1;
        o->user_agent = arg;
        return 1;
    case 17:
        o->robots_token = arg; /* checked by fetch_engine_new */
        return 1;
    case 18:
        o->obey_robots = 0;
        return 1;
    case 19:
        if (seconds_arg(arg, 365 * 86400.0, &o->robots_ttl))
            goto bad_seconds;
        return 1;
    case 20:
        o->proxy = arg;
        return 1;
    default:
        return 0;
    }
bad_seconds:
    snprintf(err, cap, "expected a number of seconds, not '%s'", arg);
    return -1;
}
