/* tests/unit/test_ssrf.c — the SSRF guard (crawler/ssrf.h): the first and last address of every
 * refused range and one just outside it, every IPv6 form that wraps an IPv4 address, allowed
 * networks, the port allow-list, and both entry points (sockaddr and numeric string).
 *
 * Every address is checked three ways that must agree: ssrf_check_ip on the text, ssrf_check on
 * the sockaddr inet_pton makes of it, and (for IPv4) ssrf_check on its IPv4-mapped sockaddr_in6.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "crawler/ssrf.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static ssrf_policy *new_policy(void)
{
    ssrf_policy *p = NULL;
    assert_int_equal(ssrf_policy_new(&p), CC_OK);
    assert_non_null(p);
    return p;
}

/* The verdict for ip:port, after checking that the string and sockaddr paths agree. */
static ssrf_verdict verdict(const ssrf_policy *p, const char *ip, int port)
{
    ssrf_verdict v = ssrf_check_ip(p, ip, port);
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    memset(&in4, 0, sizeof in4);
    memset(&in6, 0, sizeof in6);
    if (inet_pton(AF_INET, ip, &in4.sin_addr) == 1) {
        in4.sin_family = AF_INET;
        in4.sin_port = htons((uint16_t)port);
        ssrf_verdict s = ssrf_check(p, (const struct sockaddr *)&in4, sizeof in4);
        if (s != v)
            fail_msg("%s:%d: ssrf_check_ip says %s, ssrf_check says %s", ip, port,
                     ssrf_verdict_name(v), ssrf_verdict_name(s));
        /* the same address wrapped as IPv4-mapped IPv6 gets the same verdict */
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons((uint16_t)port);
        in6.sin6_addr.s6_addr[10] = in6.sin6_addr.s6_addr[11] = 0xff;
        memcpy(&in6.sin6_addr.s6_addr[12], &in4.sin_addr, 4);
        s = ssrf_check(p, (const struct sockaddr *)&in6, sizeof in6);
        if (s != v)
            fail_msg("::ffff:%s:%d: %s, but %s as IPv4", ip, port, ssrf_verdict_name(s),
                     ssrf_verdict_name(v));
    } else if (inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons((uint16_t)port);
        ssrf_verdict s = ssrf_check(p, (const struct sockaddr *)&in6, sizeof in6);
        if (s != v)
            fail_msg("%s:%d: ssrf_check_ip says %s, ssrf_check says %s", ip, port,
                     ssrf_verdict_name(v), ssrf_verdict_name(s));
    }
    return v;
}

static void expect(const ssrf_policy *p, const char *ip, int port, ssrf_verdict want)
{
    ssrf_verdict v = verdict(p, ip, port);
    if (v != want)
        fail_msg("%s port %d: %s, want %s", ip, port, ssrf_verdict_name(v),
                 ssrf_verdict_name(want));
}

/* The IPv6 forms of one IPv4 address a.b.c.d (text), each written with inet_ntop. */
enum {
    WRAP_MAPPED,
    WRAP_COMPAT,
    WRAP_SIIT,
    WRAP_NAT64,
    WRAP_NAT64_LOCAL,
    WRAP_6TO4,
    WRAP_TEREDO,
    WRAP_COUNT
};

static void wrap(const char *v4text, int form, char *out, size_t cap)
{
    uint8_t v4[4], a[16];
    assert_int_equal(inet_pton(AF_INET, v4text, v4), 1);
    memset(a, 0, sizeof a);
    switch (form) {
    case WRAP_MAPPED:
        a[10] = a[11] = 0xff;
        memcpy(a + 12, v4, 4);
        break;
    case WRAP_COMPAT:
        memcpy(a + 12, v4, 4);
        break;
    case WRAP_SIIT:
        a[8] = a[9] = 0xff;
        memcpy(a + 12, v4, 4);
        break;
    case WRAP_NAT64:
        a[1] = 0x64, a[2] = 0xff, a[3] = 0x9b;
        memcpy(a + 12, v4, 4);
        break;
    case WRAP_NAT64_LOCAL:
        a[1] = 0x64, a[2] = 0xff, a[3] = 0x9b, a[5] = 0x01;
        memcpy(a + 12, v4, 4);
        break;
    case WRAP_6TO4:
        a[0] = 0x20, a[1] = 0x02;
        memcpy(a + 2, v4, 4);
        a[15] = 1;
        break;
    case WRAP_TEREDO: /* server 65.54.227.120, flags 0x8000, port 0x63bf, client inverted */
        a[0] = 0x20, a[1] = 0x01, a[4] = 0x41, a[5] = 0x36, a[6] = 0xe3, a[7] = 0x78;
        a[8] = 0x80, a[10] = 0x63, a[11] = 0xbf;
        for (int i = 0; i < 4; i++)
            a[12 + i] = (uint8_t)~v4[i];
        break;
    default:
        fail();
    }
    assert_non_null(inet_ntop(AF_INET6, a, out, (socklen_t)cap));
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_verdict_names(void **state)
{
    (void)state;
    assert_string_equal(ssrf_verdict_name(SSRF_OK), "ok");
    assert_string_equal(ssrf_verdict_name(SSRF_SPECIAL_ADDR), "special_address");
    assert_string_equal(ssrf_verdict_name(SSRF_PORT), "port");
    assert_string_equal(ssrf_verdict_name(SSRF_FAMILY), "family");
    assert_string_equal(ssrf_verdict_name(SSRF_VERDICT_COUNT), "unknown");
    assert_string_equal(ssrf_verdict_name((ssrf_verdict)-1), "unknown");
}

static void test_public_and_ports(void **state)
{
    (void)state;
    ssrf_policy *p = new_policy();
    const char *pub[] = {"93.184.216.34", "2606:2800:220:1::1", "8.8.8.8", "1.1.1.1",
                         "2a00:1450:4001:80b::200e"};
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        expect(p, pub[i], 80, SSRF_OK);
        expect(p, pub[i], 443, SSRF_OK);
        expect(p, pub[i], 8080, SSRF_PORT);
        expect(p, pub[i], 0, SSRF_PORT);
        expect(p, pub[i], 22, SSRF_PORT);
        expect(p, pub[i], 65535, SSRF_PORT);
        assert_int_equal(ssrf_check_ip(p, pub[i], -1), SSRF_PORT);
        assert_int_equal(ssrf_check_ip(p, pub[i], 65536), SSRF_PORT);
    }
    ssrf_policy_free(p);
    ssrf_policy_free(NULL);
}

/* first, last, just below, just above (NULL where that neighbour is itself refused) */
typedef struct range_case {
    const char *first, *last, *below, *above;
} range_case;

static void check_ranges(const range_case *r, size_t n)
{
    ssrf_policy *p = new_policy();
    for (size_t i = 0; i < n; i++) {
        expect(p, r[i].first, 80, SSRF_SPECIAL_ADDR);
        expect(p, r[i].first, 443, SSRF_SPECIAL_ADDR);
        expect(p, r[i].first, 8080, SSRF_SPECIAL_ADDR);
        expect(p, r[i].last, 443, SSRF_SPECIAL_ADDR);
        expect(p, r[i].last, 1, SSRF_SPECIAL_ADDR);
        if (r[i].below != NULL) {
            expect(p, r[i].below, 443, SSRF_OK);
            expect(p, r[i].below, 8080, SSRF_PORT);
        }
        if (r[i].above != NULL) {
            expect(p, r[i].above, 80, SSRF_OK);
            expect(p, r[i].above, 8443, SSRF_PORT);
        }
    }
    ssrf_policy_free(p);
}

static void test_ipv4_ranges(void **state)
{
    (void)state;
    static const range_case r[] = {
        {"0.0.0.0", "0.255.255.255", NULL, "1.0.0.0"},
        {"10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0"},
        {"100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0"},
        {"127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0"},
        {"169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0"},
        {"172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0"},
        {"192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.1.0"},
        {"192.0.2.0", "192.0.2.255", "192.0.1.255", "192.0.3.0"},
        {"192.88.99.0", "192.88.99.255", "192.88.98.255", "192.88.100.0"},
        {"192.168.0.0", "192.168.255.255", "192.167.255.255", "192.169.0.0"},
        {"198.18.0.0", "198.19.255.255", "198.17.255.255", "198.20.0.0"},
        {"198.51.100.0", "198.51.100.255", "198.51.99.255", "198.51.101.0"},
        {"203.0.113.0", "203.0.113.255", "203.0.112.255", "203.0.114.0"},
        {"224.0.0.0", "239.255.255.255", "223.255.255.255", NULL},
        {"240.0.0.0", "255.255.255.255", NULL, NULL},
        /* the usual suspects */
        {"127.0.0.1", "169.254.169.254", NULL, NULL},
    };
    check_ranges(r, sizeof r / sizeof r[0]);
}

static void test_ipv6_ranges(void **state)
{
    (void)state;
    static const range_case r[] = {
        {"::", "::", NULL, NULL},
        {"::1", "::1", NULL, NULL},
        {"fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
         "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::"},
        {"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
         "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
        {"fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL},
        {"ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL},
        {"2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
         "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::"},
        {"100::", "100::ffff:ffff:ffff:ffff", "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
         "100:0:0:1::"},
        {"2001:10::", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff",
         "2001:f:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
        {"2001:20::", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", NULL, "2001:30::"},
        /* local-use NAT64, refused whole (ssrf.c says why) */
        {"64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:0:ffff:ffff:ffff:ffff:ffff",
         "64:ff9b:2::"},
        /* the usual suspects */
        {"fe80::1", "fd00:ec2::254", NULL, NULL},
    };
    check_ranges(r, sizeof r / sizeof r[0]);
}

static void test_wrapped_ipv4(void **state)
{
    (void)state;
    ssrf_policy *p = new_policy();
    static const char *const refused[] = {"127.0.0.1",   "169.254.169.254", "10.0.0.1",
                                          "192.168.1.1", "0.0.0.0",         "100.64.0.1",
                                          "172.16.5.4",  "224.0.0.1",       "255.255.255.255"};
    char text[INET6_ADDRSTRLEN];
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        for (int form = 0; form < WRAP_COUNT; form++) {
            wrap(refused[i], form, text, sizeof text);
            expect(p, text, 80, SSRF_SPECIAL_ADDR);
            expect(p, text, 443, SSRF_SPECIAL_ADDR);
        }
    }
    /* a public address wrapped the same ways is allowed on 80/443 (except in the local-use
     * NAT64 prefix, refused whole) */
    for (int form = 0; form < WRAP_COUNT; form++) {
        wrap("93.184.216.34", form, text, sizeof text);
        ssrf_verdict want = form == WRAP_NAT64_LOCAL ? SSRF_SPECIAL_ADDR : SSRF_OK;
        expect(p, text, 443, want);
        if (want == SSRF_OK)
            expect(p, text, 8080, SSRF_PORT);
    }
    /* the spellings people write by hand */
    static const char *const by_hand[] = {
        "::ffff:127.0.0.1",
        "::ffff:7f00:1",
        "0:0:0:0:0:ffff:a9fe:a9fe",
        "::127.0.0.1",
        "::a00:1",
        "64:ff9b::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::10.0.0.1",
        "64:ff9b:1::7f00:1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",
        "2002:a00:1:ffff::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe", /* Teredo, client 127.0.0.1 */
        "2001::5601:5601", /* Teredo, client 169.254.169.254 */
        "2001:0:0:0:0:0:f5ff:fffe", /* Teredo, client 10.0.0.1 */
        "::ffff:0:127.0.0.1", /* SIIT IPv4-translated */
    };
    for (size_t i = 0; i < sizeof by_hand / sizeof by_hand[0]; i++)
        expect(p, by_hand[i], 80, SSRF_SPECIAL_ADDR);
    ssrf_policy_free(p);
}

static void test_allow_net(void **state)
{
    (void)state;
    ssrf_policy *p = new_policy();
    assert_int_equal(ssrf_policy_net_count(p), 0);
    assert_int_equal(ssrf_policy_allow_net(p, "127.0.0.1/32"), CC_OK);
    assert_int_equal(ssrf_policy_net_count(p), 1);
    expect(p, "127.0.0.1", 80, SSRF_OK);
    expect(p, "127.0.0.1", 8080, SSRF_OK);
    expect(p, "127.0.0.1", 0, SSRF_OK);
    /* a number that is no port is refused even there */
    assert_int_equal(ssrf_check_ip(p, "127.0.0.1", 65536), SSRF_PORT);
    assert_int_equal(ssrf_check_ip(p, "127.0.0.1", -80), SSRF_PORT);
    expect(p, "127.0.0.2", 8080, SSRF_SPECIAL_ADDR);
    expect(p, "127.0.0.2", 80, SSRF_SPECIAL_ADDR);
    expect(p, "127.0.0.0", 80, SSRF_SPECIAL_ADDR);
    /* matched against the unwrapped IPv4 form too */
    char text[INET6_ADDRSTRLEN];
    for (int form = 0; form < WRAP_COUNT; form++) {
        wrap("127.0.0.1", form, text, sizeof text);
        expect(p, text, 8080, SSRF_OK);
        wrap("127.0.0.2", form, text, sizeof text);
        expect(p, text, 8080, SSRF_SPECIAL_ADDR);
    }
    /* an IPv4 network does not allow ::1 */
    expect(p, "::1", 80, SSRF_SPECIAL_ADDR);
    /* the same network again is not a second entry */
    assert_int_equal(ssrf_policy_allow_net(p, "127.0.0.1"), CC_OK);
    assert_int_equal(ssrf_policy_net_count(p), 1);

    assert_int_equal(ssrf_policy_allow_net(p, "::1/128"), CC_OK);
    expect(p, "::1", 80, SSRF_OK);
    expect(p, "::1", 3000, SSRF_OK);
    expect(p, "::2", 3000, SSRF_SPECIAL_ADDR);
    expect(p, "::", 80, SSRF_SPECIAL_ADDR);

    assert_int_equal(ssrf_policy_allow_net(p, "10.0.0.0/8"), CC_OK);
    expect(p, "10.0.0.0", 22, SSRF_OK);
    expect(p, "10.255.255.255", 22, SSRF_OK);
    expect(p, "::ffff:10.1.2.3", 22, SSRF_OK);
    expect(p, "9.255.255.255", 22, SSRF_PORT); /* public: the port rule applies */
    expect(p, "11.0.0.0", 80, SSRF_OK);
    expect(p, "192.168.0.1", 80, SSRF_SPECIAL_ADDR);
    assert_int_equal(ssrf_policy_net_count(p), 3);

    /* host bits set are masked: 172.16.9.9/12 is 172.16/12 */
    assert_int_equal(ssrf_policy_allow_net(p, "172.16.9.9/12"), CC_OK);
    expect(p, "172.31.255.255", 9000, SSRF_OK);
    expect(p, "172.16.0.0", 9000, SSRF_OK);
    assert_int_equal(ssrf_policy_net_count(p), 4);
    assert_int_equal(ssrf_policy_allow_net(p, "172.31.0.1/12"), CC_OK); /* the same network */
    assert_int_equal(ssrf_policy_net_count(p), 4);
    assert_int_equal(ssrf_policy_allow_net(p, "fd00::1:2/8"), CC_OK);
    expect(p, "fd12:3456::1", 8080, SSRF_OK);
    expect(p, "fc00::1", 80, SSRF_SPECIAL_ADDR);
    /* a public network opens every port */
    assert_int_equal(ssrf_policy_allow_net(p, "93.184.216.0/24"), CC_OK);
    expect(p, "93.184.216.34", 8080, SSRF_OK);
    expect(p, "93.184.217.34", 8080, SSRF_PORT);
    assert_int_equal(ssrf_policy_net_count(p), 6);
    ssrf_policy_free(p);

    /* /0 allows every IPv4 address (and its wrapped forms), no native IPv6 one */
    p = new_policy();
    assert_int_equal(ssrf_policy_allow_net(p, "0.0.0.0/0"), CC_OK);
    expect(p, "255.255.255.255", 1, SSRF_OK);
    expect(p, "64:ff9b::a00:1", 1, SSRF_OK);
    expect(p, "fe80::1", 80, SSRF_SPECIAL_ADDR);
    assert_int_equal(ssrf_policy_allow_net(p, "fe80::/10"), CC_OK);
    expect(p, "fe80::1", 8080, SSRF_OK);
    expect(p, "fec0::1", 80, SSRF_SPECIAL_ADDR);
    ssrf_policy_free(p);
}

static void test_allow_net_malformed(void **state)
{
    (void)state;
    ssrf_policy *p = new_policy();
    static const char *const bad[] = {
        "",
        "/8",
        "10.0.0.0/",
        "10.0.0.0/33",
        "::1/129",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/8x",
        "10.0.0.0/ 8",
        "10.0.0.0 /8",
        " 10.0.0.0/8",
        "10/8",
        "10.0.0.256/8",
        "example.com/8",
        "fe80::1%eth0/64",
        "10.0.0.0/8/8",
        "010.0.0.0/8",
        "10.0.0.0/0008",
        "10.0.0.0/1000",
        "::1/",
        "[::1]/128",
        "0x7f.1/32",
        "2130706433/32",
        "::1::/128",
        "1.2.3.4.5/32",
        "10.0.0.0/8\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cc_clear_error();
        cc_status st = ssrf_policy_allow_net(p, bad[i]);
        if (st != CC_E_FORMAT)
            fail_msg("allow_net(\"%s\") = %s, want CC_E_FORMAT", bad[i], cc_status_str(st));
        assert_true(cc_errmsg()[0] != '\0');
    }
    char longer[200];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(ssrf_policy_allow_net(p, longer), CC_E_FORMAT);
    assert_int_equal(ssrf_policy_net_count(p), 0);
    assert_int_equal(ssrf_policy_allow_net(p, NULL), CC_E_INVAL);
    assert_int_equal(ssrf_policy_allow_net(NULL, "10.0.0.0/8"), CC_E_INVAL);
    /* prefix 0 and the longest prefixes are fine */
    assert_int_equal(ssrf_policy_allow_net(p, "::/0"), CC_OK);
    assert_int_equal(ssrf_policy_allow_net(p, "1.2.3.4/32"), CC_OK);
    assert_int_equal(ssrf_policy_allow_net(p, "2001:db8::1/128"), CC_OK);
    assert_int_equal(ssrf_policy_allow_net(p, "10.0.0.0/08"), CC_OK);
    ssrf_policy_free(p);
}

static void test_allow_net_limit(void **state)
{
    (void)state;
    ssrf_policy *p = new_policy();
    char cidr[32];
    for (int i = 0; i < 256; i++) {
        snprintf(cidr, sizeof cidr, "10.%d.0.0/16", i);
        assert_int_equal(ssrf_policy_allow_net(p, cidr), CC_OK);
    }
    assert_int_equal(ssrf_policy_net_count(p), 256);
    assert_int_equal(ssrf_policy_allow_net(p, "10.0.0.0/16"), CC_OK); /* already there */
    assert_int_equal(ssrf_policy_allow_net(p, "11.0.0.0/16"), CC_E_LIMIT);
    assert_int_equal(ssrf_policy_net_count(p), 256);
    expect(p, "10.255.1.1", 22, SSRF_OK);
    expect(p, "11.0.0.1", 22, SSRF_PORT);
    ssrf_policy_free(p);
    assert_int_equal(ssrf_policy_net_count(NULL), 0);
}

static void test_ports(void **state)
{
    (void)state;
    ssrf_policy *p = new_policy();
    assert_int_equal(ssrf_policy_allow_port(p, 8080), CC_OK);
    expect(p, "93.184.216.34", 8080, SSRF_OK);
    expect(p, "93.184.216.34", 80, SSRF_OK);
    expect(p, "93.184.216.34", 8081, SSRF_PORT);
    expect(p, "127.0.0.1", 8080, SSRF_SPECIAL_ADDR); /* the address rule comes first */
    assert_int_equal(ssrf_policy_allow_port(p, 0), CC_E_INVAL);
    assert_int_equal(ssrf_policy_allow_port(p, -1), CC_E_INVAL);
    assert_int_equal(ssrf_policy_allow_port(p, 65536), CC_E_INVAL);
    assert_int_equal(ssrf_policy_allow_port(NULL, 80), CC_E_INVAL);
    assert_int_equal(ssrf_policy_allow_port(p, 65535), CC_OK);
    expect(p, "2606:2800:220:1::1", 65535, SSRF_OK);

    ssrf_policy_clear_ports(p);
    expect(p, "93.184.216.34", 80, SSRF_PORT);
    expect(p, "93.184.216.34", 443, SSRF_PORT);
    expect(p, "2606:2800:220:1::1", 443, SSRF_PORT);
    assert_int_equal(ssrf_policy_allow_net(p, "127.0.0.1"), CC_OK);
    expect(p, "127.0.0.1", 443, SSRF_OK); /* allowed networks ignore the port list */
    assert_int_equal(ssrf_policy_allow_port(p, 443), CC_OK);
    expect(p, "93.184.216.34", 443, SSRF_OK);
    expect(p, "93.184.216.34", 80, SSRF_PORT);
    ssrf_policy_clear_ports(NULL);

    /* 64 ports fit, duplicates do not count, the 65th is refused */
    ssrf_policy_clear_ports(p);
    for (int i = 0; i < 64; i++)
        assert_int_equal(ssrf_policy_allow_port(p, 1000 + i), CC_OK);
    assert_int_equal(ssrf_policy_allow_port(p, 1000), CC_OK);
    assert_int_equal(ssrf_policy_allow_port(p, 2000), CC_E_LIMIT);
    expect(p, "93.184.216.34", 1063, SSRF_OK);
    expect(p, "93.184.216.34", 2000, SSRF_PORT);
    ssrf_policy_clear_ports(p);
    assert_int_equal(ssrf_policy_allow_port(p, 2000), CC_OK);
    expect(p, "93.184.216.34", 2000, SSRF_OK);
    ssrf_policy_free(p);
}

static void test_sockaddr(void **state)
{
    (void)state;
    ssrf_policy *p = new_policy();
    struct sockaddr_in in4;
    memset(&in4, 0, sizeof in4);
    in4.sin_family = AF_INET;
    in4.sin_port = htons(443);
    assert_int_equal(inet_pton(AF_INET, "93.184.216.34", &in4.sin_addr), 1);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in4, sizeof in4), SSRF_OK);
    in4.sin_port = htons(8080);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in4, sizeof in4), SSRF_PORT);
    in4.sin_port = htons(443);
    assert_int_equal(inet_pton(AF_INET, "169.254.169.254", &in4.sin_addr), 1);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in4, sizeof in4), SSRF_SPECIAL_ADDR);
    /* too short for a sockaddr_in */
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in4, sizeof in4 - 1), SSRF_FAMILY);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in4, 0), SSRF_FAMILY);
    assert_int_equal(ssrf_check(p, NULL, sizeof in4), SSRF_FAMILY);
    assert_int_equal(ssrf_check(NULL, (struct sockaddr *)&in4, sizeof in4), SSRF_FAMILY);

    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(80);
    assert_int_equal(inet_pton(AF_INET6, "2606:2800:220:1::1", &in6.sin6_addr), 1);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in6, sizeof in6), SSRF_OK);
    in6.sin6_port = htons(81);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in6, sizeof in6), SSRF_PORT);
    in6.sin6_port = htons(80);
    assert_int_equal(inet_pton(AF_INET6, "::ffff:169.254.169.254", &in6.sin6_addr), 1);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in6, sizeof in6), SSRF_SPECIAL_ADDR);
    /* an AF_INET6 family with only a sockaddr_in's worth of bytes */
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in6, sizeof in4), SSRF_FAMILY);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&in6, sizeof in6 - 1), SSRF_FAMILY);

    /* a larger buffer (sockaddr_storage) is fine */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, &in4, sizeof in4);
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&ss, sizeof ss), SSRF_SPECIAL_ADDR);

    /* other families */
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    snprintf(un.sun_path, sizeof un.sun_path, "/run/docker.sock");
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&un, sizeof un), SSRF_FAMILY);
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNSPEC;
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&ss, sizeof ss), SSRF_FAMILY);
    ss.ss_family = AF_PACKET;
    assert_int_equal(ssrf_check(p, (struct sockaddr *)&ss, sizeof ss), SSRF_FAMILY);
    ssrf_policy_free(p);
}

static void test_check_ip_strings(void **state)
{
    (void)state;
    ssrf_policy *p = new_policy();
    assert_int_equal(ssrf_policy_allow_net(p, "0.0.0.0/0"), CC_OK); /* only the parse decides */
    assert_int_equal(ssrf_policy_allow_net(p, "::/0"), CC_OK);
    static const char *const bad[] = {
        "",           "localhost",         "example.com", "127.1",        "0x7f.0.0.1",
        "0177.0.0.1", "2130706433",        "127.0.0.1 ",  " 127.0.0.1",   "127.0.0.1.",
        "[::1]",      "fe80::1%eth0",      "::1::",       "1.2.3.4.5",    "1.2.3",
        "256.0.0.1",  "::ffff:1.2.3.256",  "12345::",     "127.0.0.1:80", "::1/128",
        "\xff",       "1:2:3:4:5:6:7:8:9",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ssrf_verdict v = ssrf_check_ip(p, bad[i], 80);
        if (v != SSRF_FAMILY)
            fail_msg("ssrf_check_ip(\"%s\") = %s, want family", bad[i], ssrf_verdict_name(v));
    }
    char longer[300];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(ssrf_check_ip(p, longer, 80), SSRF_FAMILY);
    memcpy(longer, "::ffff:", 7); /* a long run of digits after a valid prefix */
    assert_int_equal(ssrf_check_ip(p, longer, 80), SSRF_FAMILY);
    assert_int_equal(ssrf_check_ip(p, NULL, 80), SSRF_FAMILY);
    assert_int_equal(ssrf_check_ip(NULL, "93.184.216.34", 80), SSRF_FAMILY);
    /* the longest valid text still parses */
    assert_int_equal(ssrf_check_ip(p, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 80),
                     SSRF_OK);
    assert_int_equal(ssrf_check_ip(p, "0000:0000:0000:0000:0000:ffff:127.000.000.001", 80),
                     SSRF_FAMILY); /* leading zeros in the IPv4 part: inet_pton refuses */
    ssrf_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_names),
        cmocka_unit_test(test_public_and_ports),
        cmocka_unit_test(test_ipv4_ranges),
        cmocka_unit_test(test_ipv6_ranges),
        cmocka_unit_test(test_wrapped_ipv4),
        cmocka_unit_test(test_allow_net),
        cmocka_unit_test(test_allow_net_malformed),
        cmocka_unit_test(test_allow_net_limit),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_sockaddr),
        cmocka_unit_test(test_check_ip_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
