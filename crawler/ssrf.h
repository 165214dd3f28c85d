/* crawler/ssrf.h — the server-side request forgery guard: which socket addresses the crawler
 * may connect to.
 *
 * Pages on the web point crawlers at internal services (cloud metadata at 169.254.169.254,
 * admin consoles on 10/8, the crawler's own host). Checking URL strings is not enough:
 * "2130706433", "0x7f.1" and DNS names that resolve (or re-resolve) to private addresses all get
 * through. The fetch engine therefore calls ssrf_check on the resolved address of every connection,
 * inside CURLOPT_OPENSOCKETFUNCTION (before any packet is sent) and again in
 * CURLOPT_PREREQFUNCTION.
 *
 * Refused by default (special-purpose registries of IANA):
 *   IPv4 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24, 192.88.99/24,
 *        192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24, 224/4, 240/4 (255.255.255.255 incl.)
 *   IPv6 ::/128, ::1/128, fc00::/7, fe80::/10, fec0::/10, ff00::/8, 2001:db8::/32, 100::/64,
 *        2001:10::/28, 2001:20::/28
 *   and IPv6 forms that carry an IPv4 address, unwrapped and checked as IPv4: IPv4-mapped
 *   ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96 (the
 *   local-use 64:ff9b:1::/48 is refused whole; its last 32 bits are matched against allowed
 *   networks), 6to4
 *   2002:AABB:CCDD::/16, Teredo 2001::/32 (client address = bitwise NOT of the last 32 bits).
 * Ports: only those on the allow-list (80 and 443 by default).
 * Allowed networks (ssrf_policy_allow_net) override both rules: an address inside one is allowed on
 * any port; it is matched against the address as given and against its unwrapped IPv4 form.
 *
 * Thread safety: a policy is built by one thread, then read-only; ssrf_check is reentrant.
 */
#ifndef CC_SSRF_H
#define CC_SSRF_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/status.h"

typedef enum ssrf_verdict {
    SSRF_OK = 0,
    SSRF_SPECIAL_ADDR, /* address in a refused range */
    SSRF_PORT, /* port not on the allow-list */
    SSRF_FAMILY, /* not AF_INET / AF_INET6, or a malformed sockaddr */
    SSRF_VERDICT_COUNT
} ssrf_verdict;

/* "ok", "special_address", "port", "family". */
const char *ssrf_verdict_name(ssrf_verdict v);

typedef struct ssrf_policy ssrf_policy;

/* A policy with the defaults above (no allowed networks, ports 80 and 443). CC_E_NOMEM. */
cc_status ssrf_policy_new(ssrf_policy **out);
void ssrf_policy_free(ssrf_policy *p); /* accepts NULL */

/* Allows a network on every port: "127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8"; a bare
 * address means a single host (/32 or /128). At most 256 networks. CC_E_FORMAT with a message
 * for a malformed CIDR (bad address, prefix out of range, host bits set is accepted and masked),
 * CC_E_LIMIT. */
cc_status ssrf_policy_allow_net(ssrf_policy *p, const char *cidr);

/* Adds a port to the allow-list (1..65535); ssrf_policy_clear_ports empties it first (then no
 * port is allowed outside allowed networks). At most 64 ports. CC_E_INVAL, CC_E_LIMIT. */
cc_status ssrf_policy_allow_port(ssrf_policy *p, int port);
void ssrf_policy_clear_ports(ssrf_policy *p);

/* The number of allowed networks (the fetch engine refuses a host name on a port outside the
 * allow-list before DNS only when there are none: no address could then make it acceptable). */
size_t ssrf_policy_net_count(const ssrf_policy *p);

/* 1 when port is on the allow-list (an address outside the allowed networks may be reached on
 * it), else 0; 0 for a NULL policy. */
int ssrf_policy_port_allowed(const ssrf_policy *p, int port);

/* The verdict for connecting to sa (struct sockaddr_in or sockaddr_in6, len bytes). */
ssrf_verdict ssrf_check(const ssrf_policy *p, const struct sockaddr *sa, size_t len);

/* The verdict for a numeric address string ("127.0.0.1", "::ffff:10.0.0.1"; the form libcurl
 * reports in CURLINFO_PRIMARY_IP / the prereq callback) and port. SSRF_FAMILY when ip is not a
 * numeric IPv4/IPv6 address. */
ssrf_verdict ssrf_check_ip(const ssrf_policy *p, const char *ip, int port);

#endif
