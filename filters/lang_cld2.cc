// filters/lang_cld2.cc — text_lang_is_english (filters/text.h) over CLD2, the one C++ file of
// filters/.
//
// CLD2 is used through ExtDetectLanguageSummaryCheckUTF8, which refuses invalid UTF-8 itself
// (the caller may pass raw bytes), with plain-text mode (no HTML tag skipping), no hints and no
// flags. A language counts only when CLD2 marks the result reliable; short captions usually are
// not, and then the answer is -1 so that callers keep them. Thread-safe: CLD2 keeps no state
// between calls.
#include <climits>
#include <cstddef>
#include <cstdio> // compact_lang_det.h uses FILE without including it

#include <cld2/public/compact_lang_det.h>

extern "C" {
#include "filters/text.h"
}

namespace
{

// Captions are short; a language is clear long before this many bytes, and CLD2 takes an int.
constexpr size_t kMaxBytes = 64 * 1024;

// Largest m <= n that does not cut a UTF-8 sequence in two.
size_t utf8_cut(const char *s, size_t n)
{
    if (n <= kMaxBytes)
        return n;
    size_t m = kMaxBytes;
    while (m > 0 && (static_cast<unsigned char>(s[m]) & 0xC0) == 0x80)
        m--;
    return m;
}

} // namespace

extern "C" int text_lang_is_english(const char *s, size_t n, const char **lang)
{
    if (lang)
        *lang = "un";
    if (s == nullptr || n == 0)
        return -1;
    n = utf8_cut(s, n);
    CLD2::Language language3[3];
    int percent3[3];
    double score3[3];
    int text_bytes = 0, valid_prefix = 0;
    bool reliable = false;
    CLD2::Language l = CLD2::UNKNOWN_LANGUAGE;
    try {
        l = CLD2::ExtDetectLanguageSummaryCheckUTF8(s, static_cast<int>(n), true, nullptr, 0,
                                                    language3, percent3, score3, nullptr,
                                                    &text_bytes, &reliable, &valid_prefix);
    } catch (...) {
        return -1; // nothing may cross into C; treat as "unknown"
    }
    if (!reliable || l == CLD2::UNKNOWN_LANGUAGE || l == CLD2::TG_UNKNOWN_LANGUAGE)
        return -1;
    if (lang)
        *lang = CLD2::LanguageCode(l); // static strings inside CLD2
    return l == CLD2::ENGLISH ? 1 : 0;
}
