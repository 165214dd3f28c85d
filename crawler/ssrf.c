/* crawler/ssrf.c — the SSRF guard: refused ranges, IPv4-in-IPv6 unwrapping, allowed networks and
 * the port allow-list.
 *
 * Addresses are handled as bytes in network order (4 or 16), so one prefix matcher serves both
 * families and every table below reads like the IANA registries it comes from. A verdict is:
 *   1. inside an allowed network (as given, or its unwrapped IPv4 form)  -> SSRF_OK, any port;
 *   2. in a refused range (as given, or its unwrapped IPv4 form)         -> SSRF_SPECIAL_ADDR;
 *   3. port not on the allow-list                                        -> SSRF_PORT;
 *   4. otherwise                                                         -> SSRF_OK.
 */
#include "crawler/ssrf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SSRF_MAX_NETS 256
#define SSRF_MAX_PORTS 64

typedef struct ssrf_net {
    int family; /* 4 or 6 */
    int bits; /* prefix length */
    uint8_t addr[16]; /* network order; host bits zero */
} ssrf_net;

struct ssrf_policy {
    ssrf_net nets[SSRF_MAX_NETS];
    size_t nnets;
    int ports[SSRF_MAX_PORTS];
    size_t nports;
};

typedef struct range {
    uint8_t addr[16];
    int bits;
} range;

/* IANA IPv4 Special-Purpose Address Registry, plus multicast and reserved (ssrf.h). */
static const range v4_refused[] = {
    {{0, 0, 0, 0}, 8},      {{10, 0, 0, 0}, 8},     {{100, 64, 0, 0}, 10}, {{127, 0, 0, 0}, 8},
    {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12},  {{192, 0, 0, 0}, 24},  {{192, 0, 2, 0}, 24},
    {{192, 88, 99, 0}, 24}, {{192, 168, 0, 0}, 16}, {{198, 18, 0, 0}, 15}, {{198, 51, 100, 0}, 24},
    {{203, 0, 113, 0}, 24}, {{224, 0, 0, 0}, 4},    {{240, 0, 0, 0}, 4},
};

/* IPv6 ranges of ssrf.h, plus the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215): IANA marks
 * it not globally reachable, and where the IPv4 address sits in it depends on the operator's
 * prefix length (/48 to /96), so no single unwrapping is reliable; it is refused whole. */
static const range v6_refused[] = {
    {{0}, 128}, /* ::/128 */
    {{[15] = 1}, 128}, /* ::1/128 */
    {{0xfc}, 7}, /* unique local */
    {{0xfe, 0x80}, 10}, /* link-local */
    {{0xfe, 0xc0}, 10}, /* site-local (deprecated) */
    {{0xff}, 8}, /* multicast */
    {{0x20, 0x01, 0x0d, 0xb8}, 32}, /* documentation */
    {{0x01, 0x00}, 64}, /* discard-only */
    {{0x20, 0x01, 0x00, 0x10}, 28}, /* ORCHID */
    {{0x20, 0x01, 0x00, 0x20}, 28}, /* ORCHIDv2 */
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48}, /* local-use NAT64 */
};

static const char *const verdict_names[SSRF_VERDICT_COUNT] = {
    [SSRF_OK] = "ok",
    [SSRF_SPECIAL_ADDR] = "special_address",
    [SSRF_PORT] = "port",
    [SSRF_FAMILY] = "family",
};

const char *ssrf_verdict_name(ssrf_verdict v)
{
    if ((unsigned)v >= SSRF_VERDICT_COUNT)
        return "unknown";
    return verdict_names[v];
}

/* ---- policy -------------------------------------------------------------------------------- */

cc_status ssrf_policy_new(ssrf_policy **out)
{
    CC_CHECK(out != NULL, CC_E_INVAL, "ssrf_policy_new: NULL argument");
    ssrf_policy *p = calloc(1, sizeof *p);
    CC_CHECK(p != NULL, CC_E_NOMEM, "ssrf_policy_new: out of memory");
    p->ports[0] = 80;
    p->ports[1] = 443;
    p->nports = 2;
    *out = p;
    return CC_OK;
}

void ssrf_policy_free(ssrf_policy *p)
{
    free(p);
}

static int prefix_match(const uint8_t *a, const uint8_t *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

cc_status ssrf_policy_allow_net(ssrf_policy *p, const char *cidr)
{
    CC_CHECK(p != NULL && cidr != NULL, CC_E_INVAL, "ssrf_policy_allow_net: NULL argument");
    char text[64];
    const char *slash = strchr(cidr, '/');
    size_t an = slash != NULL ? (size_t)(slash - cidr) : strlen(cidr);
    CC_CHECK(an > 0 && an < sizeof text, CC_E_FORMAT,
             "allowed network '%.80s': missing or overlong address", cidr);
    memcpy(text, cidr, an);
    text[an] = '\0';

    ssrf_net net;
    memset(&net, 0, sizeof net);
    if (inet_pton(AF_INET, text, net.addr) == 1)
        net.family = 4;
    else if (inet_pton(AF_INET6, text, net.addr) == 1)
        net.family = 6;
    else
        return cc_fail(CC_E_FORMAT,
                       "allowed network '%.80s': '%s' is not a numeric IPv4 or IPv6 address", cidr,
                       text);
    int max = net.family == 4 ? 32 : 128;
    net.bits = max;
    if (slash != NULL) {
        const char *d = slash + 1;
        size_t dn = strlen(d);
        int digits = dn >= 1 && dn <= 3;
        for (size_t i = 0; i < dn && digits; i++)
            digits = d[i] >= '0' && d[i] <= '9';
        CC_CHECK(digits, CC_E_FORMAT, "allowed network '%.80s': prefix length must be 0..%d", cidr,
                 max);
        char *end = NULL;
        long bits = strtol(d, &end, 10);
        CC_CHECK(end == d + dn && bits >= 0 && bits <= max, CC_E_FORMAT,
                 "allowed network '%.80s': prefix length must be 0..%d", cidr, max);
        net.bits = (int)bits;
    }
    /* host bits set ("10.1.2.3/8") are accepted and masked */
    for (int i = 0; i < 16; i++) {
        int keep = net.bits - 8 * i;
        if (keep <= 0)
            net.addr[i] = 0;
        else if (keep < 8)
            net.addr[i] &= (uint8_t)(0xFF << (8 - keep));
    }
    for (size_t i = 0; i < p->nnets; i++)
        if (p->nets[i].family == net.family && p->nets[i].bits == net.bits &&
            memcmp(p->nets[i].addr, net.addr, sizeof net.addr) == 0)
            return CC_OK;
    CC_CHECK(p->nnets < SSRF_MAX_NETS, CC_E_LIMIT, "allowed network '%.80s': more than %d networks",
             cidr, SSRF_MAX_NETS);
    p->nets[p->nnets++] = net;
    return CC_OK;
}

cc_status ssrf_policy_allow_port(ssrf_policy *p, int port)
{
    CC_CHECK(p != NULL, CC_E_INVAL, "ssrf_policy_allow_port: NULL policy");
    CC_CHECK(port >= 1 && port <= 65535, CC_E_INVAL, "allowed port %d: must be 1..65535", port);
    if (ssrf_policy_port_allowed(p, port))
        return CC_OK;
    CC_CHECK(p->nports < SSRF_MAX_PORTS, CC_E_LIMIT, "allowed port %d: more than %d ports", port,
             SSRF_MAX_PORTS);
    p->ports[p->nports++] = port;
    return CC_OK;
}

int ssrf_policy_port_allowed(const ssrf_policy *p, int port)
{
    for (size_t i = 0; p != NULL && i < p->nports; i++)
        if (p->ports[i] == port)
            return 1;
    return 0;
}

void ssrf_policy_clear_ports(ssrf_policy *p)
{
    if (p != NULL)
        p->nports = 0;
}

size_t ssrf_policy_net_count(const ssrf_policy *p)
{
    return p != NULL ? p->nnets : 0;
}

/* ---- checks -------------------------------------------------------------------------------- */

/* The IPv4 address an IPv6 address carries, when it has one of the forms of ssrf.h (plus the
 * SIIT IPv4-translated form ::ffff:0:a.b.c.d of RFC 2765). 1 if v4 was set. The prefixes are
 * disjoint, so at most one applies. */
static int unwrap_v4(const uint8_t a[16], uint8_t v4[4])
{
    static const uint8_t zero[12];
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const uint8_t nat64_local[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
    if ((memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff) || /* ::ffff:0:0/96 */
        memcmp(a, zero, 12) == 0 || /* ::/96 */
        (memcmp(a, zero, 8) == 0 && a[8] == 0xff && a[9] == 0xff && a[10] == 0 &&
         a[11] == 0) || /* ::ffff:0:0:0/96 */
        memcmp(a, nat64, 12) == 0 || /* 64:ff9b::/96 */
        memcmp(a, nat64_local, 6) == 0) { /* 64:ff9b:1::/48, read as /96 */
        memcpy(v4, a + 12, 4);
        return 1;
    }
    if (a[0] == 0x20 && a[1] == 0x02) { /* 6to4 2002:AABB:CCDD::/16 */
        memcpy(v4, a + 2, 4);
        return 1;
    }
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) { /* Teredo 2001::/32 */
        for (int i = 0; i < 4; i++)
            v4[i] = (uint8_t)~a[12 + i];
        return 1;
    }
    return 0;
}

static int in_table(const range *t, size_t n, const uint8_t *a)
{
    for (size_t i = 0; i < n; i++)
        if (prefix_match(a, t[i].addr, t[i].bits))
            return 1;
    return 0;
}

static int in_allowed(const ssrf_policy *p, int family, const uint8_t *a)
{
    for (size_t i = 0; i < p->nnets; i++)
        if (p->nets[i].family == family && prefix_match(a, p->nets[i].addr, p->nets[i].bits))
            return 1;
    return 0;
}

/* The verdict for address a (4 or 16 bytes, family 4 or 6) and port. */
static ssrf_verdict check_addr(const ssrf_policy *p, int family, const uint8_t *a, int port)
{
    uint8_t v4[4];
    int wrapped = family == 6 && unwrap_v4(a, v4);
    if (in_allowed(p, family, a) || (wrapped && in_allowed(p, 4, v4)))
        return SSRF_OK;
    if (family == 4
            ? in_table(v4_refused, sizeof v4_refused / sizeof v4_refused[0], a)
            : in_table(v6_refused, sizeof v6_refused / sizeof v6_refused[0], a) ||
                  (wrapped && in_table(v4_refused, sizeof v4_refused / sizeof v4_refused[0], v4)))
        return SSRF_SPECIAL_ADDR;
    return ssrf_policy_port_allowed(p, port) ? SSRF_OK : SSRF_PORT;
}

ssrf_verdict ssrf_check(const ssrf_policy *p, const struct sockaddr *sa, size_t len)
{
    /* a missing policy or address is refused, never waved through */
    if (p == NULL || sa == NULL || len < sizeof(sa_family_t))
        return SSRF_FAMILY;
    sa_family_t fam;
    memcpy(&fam, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof fam);
    if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in4;
        memcpy(&in4, sa, sizeof in4);
        return check_addr(p, 4, (const uint8_t *)&in4.sin_addr.s_addr, ntohs(in4.sin_port));
    }
    if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        return check_addr(p, 6, in6.sin6_addr.s6_addr, ntohs(in6.sin6_port));
    }
    return SSRF_FAMILY;
}

ssrf_verdict ssrf_check_ip(const ssrf_policy *p, const char *ip, int port)
{
    uint8_t a[16];
    if (p == NULL || ip == NULL || strnlen(ip, INET6_ADDRSTRLEN + 1) > INET6_ADDRSTRLEN)
        return SSRF_FAMILY;
    int family;
    if (inet_pton(AF_INET, ip, a) == 1)
        family = 4;
    else if (inet_pton(AF_INET6, ip, a) == 1)
        family = 6;
    else
        return SSRF_FAMILY;
    if (port < 0 || port > 65535)
        return SSRF_PORT;
    return check_addr(p, family, a, port);
}
