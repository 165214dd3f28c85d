/* tests/fuzz/fuzz_wikitext.c — libFuzzer target for wiki_strip_markup (query_lists/wiki.h).
 *
 * Properties checked on every input, beyond "no crash, no out-of-bounds read" (ASan/UBSan) and
 * "no timeout" (the stripper is linear; run.sh passes -timeout=10):
 *   - stripping succeeds with an output buffer whose maximum is the input's length (the output
 *     is never longer than the input);
 *   - the output is valid UTF-8 when the input is;
 *   - the output has the documented shape: no leading or trailing space or newline, never two
 *     newlines in a row (one paragraph per line);
 *   - stripping after existing bytes in the buffer appends the same text and leaves those bytes
 *     alone.
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes wikitext seeds with every
 * construct the stripper knows (nested templates, tables, links, refs, entities, headings, lists)
 * into that directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "query_lists/wiki.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) FUZZ_CHECK("fuzz_wikitext", cond)

static const char *const seeds[] = {
    "The '''red fox''' (''Vulpes vulpes'') is a [[fox|small canid]].{{sfn|Smith|2000|p=3}}\n",
    "{{Infobox animal\n| name = {{lang|la|Vulpes}}\n| image = <!-- x -->\n}}\nText.",
    "== History ==\nIt spread.<ref name=\"a\">{{cite|title=T}}</ref> More.<ref name=b/>\n"
    "* one\n** two\n# three\n; term : def\n----\nafter",
    "[[File:Fox.jpg|thumb|A [[red fox]] in [[snow]]]] [[Category:Foxes|Red]] [[de:Rotfuchs]] "
    "[[:Category:Foxes|foxes]] [[Foo#Bar]] [[a|b|c]] [[unclosed",
    "[http://example.com Example] [https://x.org] [//p.q r] [notalink] ]] ]\n",
    "&nbsp;&amp;&lt;&gt;&quot;&#65;&#x1F98A;&#xD800;&#1114112;&ndash;&bogus;&#;&",
    "__TOC__ __NOEDITSECTION__ _x_ __lower__\n",
    "{|class=wikitable\n|-\n! a !! b\n|-\n| {{x|}} || c\n:{|\n|nested\n|}\n|}\nafter\n{|\nopen",
    "<math>\\frac{a}{b}</math><gallery>\nA.jpg|x\n</gallery><small>kept</small><br/><ref>x",
    "'''''both''''' ''it'' '''b''' it's ''''four''''",
    "==  Heading with [[link|label]] and {{tpl}}  ==\n=bad\n= = =\n======\n",
    "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\xa6\x8a [[Z\xc3\xbcrich]] &#233;",
    "{{a|{{b|{{c|{{d}}}}}}}} {{{1}}} }} {{ <!-- }} --> still in }} out",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_write_text_seeds("wikitext", seeds, NULL, sizeof seeds / sizeof seeds[0]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size heap copy, so that ASan sees any read past the end */
    char *in = malloc(size ? size : 1);
    if (in == NULL)
        return 0;
    memcpy(in, data, size);

    cc_buf out;
    cc_buf_init(&out, size);
    cc_status st = wiki_strip_markup(in, size, &out);
    CHECK(st == CC_OK);
    CHECK(out.len <= size);
    if (cc_utf8_valid(in, size))
        CHECK(cc_utf8_valid(out.data, out.len));
    if (out.len > 0) {
        CHECK(out.data[0] != ' ' && out.data[0] != '\n');
        CHECK(out.data[out.len - 1] != ' ' && out.data[out.len - 1] != '\n');
        for (size_t i = 1; i < out.len; i++)
            CHECK(!(out.data[i] == '\n' && out.data[i - 1] == '\n'));
    }

    static const char prefix[] = "kept ";
    cc_buf two;
    cc_buf_init(&two, sizeof prefix - 1 + size);
    CHECK(cc_buf_append(&two, prefix, sizeof prefix - 1) == CC_OK);
    CHECK(wiki_strip_markup(in, size, &two) == CC_OK);
    CHECK(two.len == sizeof prefix - 1 + out.len);
    CHECK(memcmp(two.data, prefix, sizeof prefix - 1) == 0);
    CHECK(out.len == 0 || memcmp(two.data + sizeof prefix - 1, out.data, out.len) == 0);

    cc_buf_free(&two);
    cc_buf_free(&out);
    free(in);
    return 0;
}
