// Tests for append_json_string / append_json_string_truncated: the exact bytes every string field of every
// CloudTrail record is written with. The reference table was produced with CPython 3:
//   json.dumps(raw.decode('utf-8', 'replace'), ensure_ascii=False)
// then U+007F, U+2028 and U+2029 escaped (our additions), so "invalid UTF-8 -> U+FFFD" follows the Unicode
// maximal-subpart practice exactly as Python does.

#include "serialize/json_escape.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/fast_random.hpp"
#include "guarded_page.hpp"

namespace trailkit::detail {
namespace {

using namespace std::string_view_literals;

// What RecordFormatter::write_string does: the inline clean path, else the whole encoder from the same place.
char* write_clean_or_full(char* d, std::string_view s, std::size_t* replacements) {
  if (char* const done = write_json_string_clean(d, s)) return done;
  return write_json_string(d, s, replacements);
}

struct PythonCase {
  const char* name;
  std::string_view input;
  std::string_view expected;  // complete JSON literal, quotes included
  std::size_t replacements;
};

// clang-format off
const PythonCase kPythonCases[] = {
    {"ascii", "hello, world / ok"sv, "\"hello, world / ok\""sv, 0},
    {"quote and backslash", "say \"hi\" \\ bye"sv, "\"say \\\"hi\\\" \\\\ bye\""sv, 0},
    {"named control escapes", "\x08\x0c\x0a\x0d\x09"sv, "\"\\b\\f\\n\\r\\t\""sv, 0},
    {"other controls", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"sv, "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\""sv, 0},
    {"embedded NUL", "a\x00" "b\x00"sv, "\"a\\u0000b\\u0000\""sv, 0},
    {"DEL", "x\x7fy"sv, "\"x\\u007fy\""sv, 0},
    {"U+2028 U+2029", "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c"sv, "\"a\\u2028b\\u2029c\""sv, 0},
    {"U+2027 U+202A stay raw", "\xe2\x80\xa7\xe2\x80\xaa"sv, "\"\xe2\x80\xa7\xe2\x80\xaa\""sv, 0},
    {"2-byte bounds", "\xc2\x80\xdf\xbf"sv, "\"\xc2\x80\xdf\xbf\""sv, 0},
    {"3-byte bounds", "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"sv, "\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\""sv, 0},
    {"4-byte bounds", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"sv, "\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""sv, 0},
    {"emoji and CJK", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80"sv, "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80\""sv, 0},
    {"U+FFFD in input is not counted", "\xef\xbf\xbd"sv, "\"\xef\xbf\xbd\""sv, 0},
    {"overlong 2-byte", "\xc0\x80\xc1\xbf"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 4},
    {"overlong 3-byte", "\xe0\x80\x80\xe0\x9f\xbf"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 6},
    {"overlong 4-byte", "\xf0\x80\x80\x80\xf0\x8f\xbf\xbf"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 8},
    {"surrogate high", "\xed\xa0\x80"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 3},
    {"surrogate low", "\xed\xbf\xbf"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 3},
    {"CESU-8 pair", "\xed\xa0\xbd\xed\xb8\x80"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 6},
    {"above U+10FFFF", "\xf4\x90\x80\x80"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 4},
    {"F5 lead", "\xf5\x80\x80\x80"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 4},
    {"5-byte form", "\xf8\x88\x80\x80\x80"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 5},
    {"6-byte form", "\xfc\x84\x80\x80\x80\x80"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 6},
    {"FE FF", "\xfe\xff"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\""sv, 2},
    {"truncated 2 at end", "ab\xc2"sv, "\"ab\xef\xbf\xbd\""sv, 1},
    {"truncated 3 at end", "ab\xe2\x82"sv, "\"ab\xef\xbf\xbd\""sv, 1},
    {"truncated 4 at end", "ab\xf0\x9f\x98"sv, "\"ab\xef\xbf\xbd\""sv, 1},
    {"truncated then ASCII", "\xe2\x82" "a\xf0\x9f\x98" "b"sv, "\"\xef\xbf\xbd" "a\xef\xbf\xbd" "b\""sv, 2},
    {"truncated then lead", "\xe2\xe2\x82\xac"sv, "\"\xef\xbf\xbd\xe2\x82\xac\""sv, 1},
    {"stray continuations", "\x80\xbf\x80" "a\x80" "b"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "a\xef\xbf\xbd" "b\""sv, 4},
    {"invalid then escape", "\xc3\"\xe2\x80\x0a"sv, "\"\xef\xbf\xbd\\\"\xef\xbf\xbd\\n\""sv, 2},
    {"lead then 2028", "\xf0\xe2\x80\xa8"sv, "\"\xef\xbf\xbd\\u2028\""sv, 1},
    {"random 0", "\xe2\xf5\xf4\xe0\xf5\xbf\xed\x9e\x9f\xf5\x7f\xf5\xf4K\xbf\xb2\xc0\xf5\x9f\xa0\x9f\x9f\xbf\x0a\xff\x8f\xa3\xe2\xd7\x9fv"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xed\x9e\x9f\xef\xbf\xbd\\u007f\xef\xbf\xbd\xef\xbf\xbdK\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xd7\x9fv\""sv, 22},
    {"random 1", "\xbb\xa0\xef\xa8\x9f\xee" "C\x7f\x1f" "A\\\x80\x1f\x90\xc0\xc2"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xa8\x9f\xef\xbf\xbd" "C\\u007f\\u001fA\\\\\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 7},
    {"random 2", "\xd4\x1f\x8f\xf0\xdf\x7f\xc6\x80\xff\x0a\xf0\xf5\xef\x80\\k,X\xe2" "A\\\xed\xed\xed" "A\x9f\x8f\x0a\xed\xf5\x7f\xc0\x9f\xc0"sv, "\"\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u007f\xc6\x80\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\\k,X\xef\xbf\xbd" "A\\\\\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\\u007f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 19},
    {"random 3", "o\xc0" "DR\x7f\xa0\x00\xf0\x80\xbf\x0a\xc0\xe0\xdc\xdf\x8f" "A\"\xdc\\\x9f\x8f\xa0\xde\xa7\xff\xa0" "A\""sv, "\"o\xef\xbf\xbd" "DR\\u007f\xef\xbf\xbd\\u0000\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xdf\x8f" "A\\\"\xef\xbf\xbd\\\\\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xde\xa7\xef\xbf\xbd\xef\xbf\xbd" "A\\\"\""sv, 14},
    {"random 4", "\x00\x8b\x9f\xe2"sv, "\"\\u0000\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 3},
    {"random 5", "\xe2\"\x88" "A\x00\x7f\xe2\xe2\xef"sv, "\"\xef\xbf\xbd\\\"\xef\xbf\xbd" "A\\u0000\\u007f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 5},
    {"random 6", "\xff\x8f\xc0\xa8\x90\xdf\xfft\xc0\x90" "c\xe0\xa8k\xdf\x9f"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdt\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbdk\xdf\x9f\""sv, 10},
    {"random 7", "\\\xdf\xed\x80\xa8" "A\xf5\x0f\xa8\xff\\\xed\xff&\x8f\xef\xf0`\xde"sv, "\"\\\\\xef\xbf\xbd\xed\x80\xa8" "A\xef\xbf\xbd\\u000f\xef\xbf\xbd\xef\xbf\xbd\\\\\xef\xbf\xbd\xef\xbf\xbd&\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd`\xef\xbf\xbd\""sv, 10},
    {"random 8", "\xc2#\"\\\xe2" "2\xe2\x90\\\xc5\\"sv, "\"\xef\xbf\xbd#\\\"\\\\\xef\xbf\xbd" "2\xef\xbf\xbd\\\\\xef\xbf\xbd\\\\\""sv, 4},
    {"random 9", "\xef\xe0x\x8f\xe2\xdf\x8f\xe0\xbf\x7f\\\x80\xef\"\xd7\\\xa0\x90\xf0\xe0\xf0_"sv, "\"\xef\xbf\xbd\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd\xdf\x8f\xef\xbf\xbd\\u007f\\\\\xef\xbf\xbd\xef\xbf\xbd\\\"\xef\xbf\xbd\\\\\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd_\""sv, 13},
    {"random 10", "\xc2\xdf" "A\xf5\x89\xc0\xed\xf5\x0a\xf0\xf4\xf5\x7f\xf0\x80\xf0\xdf\xc2\x0a\xf0\xc2\x90\x9f\x0a\xe0"sv, "\"\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u007f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\n\xef\xbf\xbd\xc2\x90\xef\xbf\xbd\\n\xef\xbf\xbd\""sv, 18},
    {"random 11", "\xa0\xa0\x9f\x7f\x90\x19" "3\xef\x0a\xf0\xa0\xa0\x80\xed\x00\xed\xd3\xff\\\xd1\xa8\xf5\x0a\xe5&;\xe0#\xc2\xc2\x8c\xf5\x83\x09\xdf"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u007f\xef\xbf\xbd\\u00193\xef\xbf\xbd\\n\xf0\xa0\xa0\x80\xef\xbf\xbd\\u0000\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\\\xd1\xa8\xef\xbf\xbd\\n\xef\xbf\xbd&;\xef\xbf\xbd#\xef\xbf\xbd\xc2\x8c\xef\xbf\xbd\xef\xbf\xbd\\t\xef\xbf\xbd\""sv, 16},
    {"random 12", "\\\x00\"\x80\xdf\x1f\x0a\xa0\xa0\"\x00\xdd\xff\x0a\\\xa0\x00\x80\x0a\x9f\xff\x1f\x1f\xff" "A\x7f" "e\xbf"sv, "\"\\\\\\u0000\\\"\xef\xbf\xbd\xef\xbf\xbd\\u001f\\n\xef\xbf\xbd\xef\xbf\xbd\\\"\\u0000\xef\xbf\xbd\xef\xbf\xbd\\n\\\\\xef\xbf\xbd\\u0000\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\\u001f\\u001f\xef\xbf\xbd" "A\\u007fe\xef\xbf\xbd\""sv, 12},
    {"random 13", "\xff\xff\xa8\xef\\\xf5\xc2\xf5\xbf\x80\xa8P\xc0<\xe0\\\xef\x1f\"\\\xc0\xed\xf5\xe2\xc0\xf9\xe2\xed" "A\xd3\xc0\xa0\xf5\x8c\xe2\xe2\xef\xec\xf4\xf0"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\\\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdP\xef\xbf\xbd<\xef\xbf\xbd\\\\\xef\xbf\xbd\\u001f\\\"\\\\\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 32},
    {"random 14", "\xac" "f\x7f\xc0\x1f\xef\x90\xf5\x1f\x1f\xef\xe2\xf0\xef" "A\xa8\xff\x90\xf5\xf4" "A\xff\x1f\xff\xbf\xf0\x0a" "7\xef\x1f_4\xf5\x80"sv, "\"\xef\xbf\xbd" "f\\u007f\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\\u001f\\u001f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\n7\xef\xbf\xbd\\u001f_4\xef\xbf\xbd\xef\xbf\xbd\""sv, 20},
    {"random 15", "\xc0\x7f\xf5\xb4\x8f\xf5\xf4\xa0\xe0\xc0\x90\xf0" "A\x80\xff\x80\xa0\\\xf4\x80\x0d\"\xf0\xc2\xf0\x7f\xef\x7f\xc0\x7f\x00\x1f\xc2\xc2" "A\xa0\x0a\xbf\xa8"sv, "\"\xef\xbf\xbd\\u007f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\\\xef\xbf\xbd\\r\\\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u007f\xef\xbf\xbd\\u007f\xef\xbf\xbd\\u007f\\u0000\\u001f\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\""sv, 26},
    {"random 16", "\x9f\x87\\2\xf0"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\\\\2\xef\xbf\xbd\""sv, 3},
    {"random 17", "\x80\xef\xa8\x0a" "A\xb8\x1f\xf0\x8d\xf5\xa0\xa0\x00\xc2\x1b`\xdf\xe2\x07\x1f\"\x0a\x9f\xa8"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\\nA\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u0000\xef\xbf\xbd\\u001b`\xef\xbf\xbd\xef\xbf\xbd\\u0007\\u001f\\\"\\n\xef\xbf\xbd\xef\xbf\xbd\""sv, 13},
    {"random 18", "\x0a\xdf<\xf5$\x9f" "1\x8f\x1f\xe2\xdb\xff\x16\xf3" "8\xdf\xff\xc2\xff\x7f\x18\x90\x00\xb8\xe2\x0a\x06\xa5\xbb\x00\xf4" "e\x8f\xf5\x80\xef\x00\xed\xf0"sv, "\"\\n\xef\xbf\xbd<\xef\xbf\xbd$\xef\xbf\xbd" "1\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u0016\xef\xbf\xbd" "8\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u007f\\u0018\xef\xbf\xbd\\u0000\xef\xbf\xbd\xef\xbf\xbd\\n\\u0006\xef\xbf\xbd\xef\xbf\xbd\\u0000\xef\xbf\xbd" "e\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u0000\xef\xbf\xbd\xef\xbf\xbd\""sv, 24},
    {"random 19", "\xde"sv, "\"\xef\xbf\xbd\""sv, 1},
    {"random 20", "\xbf\xbf\xf4" "A\xed\xa0\xc2" "f\x0a\xc9\x9f\xa9\x96\xef" "7\x9f"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "f\\n\xc9\x9f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "7\xef\xbf\xbd\""sv, 10},
    {"random 21", "\xa0\xc2\xff\xa0\x1f\xc0\xa0\x7f\x1f\xa0\xf0{\x00$\xa0\x0a\x8f\x8d\xbf\"\xe0\x9f\xa0\xbf\"\xef\"A\xf0" "A\xa0"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\\u007f\\u001f\xef\xbf\xbd\xef\xbf\xbd{\\u0000$\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\"\xef\xbf\xbd\\\"A\xef\xbf\xbd" "A\xef\xbf\xbd\""sv, 19},
    {"random 22", "\xf5\xf5\xff"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 3},
    {"random 23", "\xa0\x8f"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\""sv, 2},
    {"random 24", "\xc2\xf0\x06\xf0\xed\x99\xa0\xf4\xbf\xf4\xf4\xf0\xdf\x90\xca" "8\xea\xce\xed\\\"\x0a\xe0\xed"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\\u0006\xef\xbf\xbd\xed\x99\xa0\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xdf\x90\xef\xbf\xbd" "8\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\\\\\"\\n\xef\xbf\xbd\xef\xbf\xbd\""sv, 14},
    {"random 25", "\xdf\xa0\xde\xc6\xff\"\xbf\xf4\xa0\x80\xbc\\A\xef\xa0\xf5\xc0\x00\x80\x9f\xc2\xf4"sv, "\"\xdf\xa0\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\\A\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u0000\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 15},
    {"random 26", "\\}\x05\xe2\x0a\xf4\x8f\x9f\x7f" "A\x0d\"\xa0\xc0\xe0\xa0\xbf\x15\xed\x1f\x9f\x9f\x7f\"\xbf\xbf\x90\x0a\x1f\xef"sv, "\"\\\\}\\u0005\xef\xbf\xbd\\n\xef\xbf\xbd\\u007fA\\r\\\"\xef\xbf\xbd\xef\xbf\xbd\xe0\xa0\xbf\\u0015\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\\u007f\\\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\n\\u001f\xef\xbf\xbd\""sv, 11},
    {"random 27", "\xff\x1f\x1f\xf4\x90" "C\xc2\x7f\xa0\x80\x9e\x90\xef\xc1\xe2\xe0\x7f\xef\xdf\x1f\xff\x90"sv, "\"\xef\xbf\xbd\\u001f\\u001f\xef\xbf\xbd\xef\xbf\xbd" "C\xef\xbf\xbd\\u007f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u007f\xef\xbf\xbd\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\""sv, 16},
    {"random 28", "\x0a\x14\x8f\x7f\xa0\xed\xdf\xef\x00\xe0"sv, "\"\\n\\u0014\xef\xbf\xbd\\u007f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u0000\xef\xbf\xbd\""sv, 6},
    {"random 29", "\xf4\xbf\xc0\xc2\xdf\x8fi\x7f\xbf\xe0\x00\"\x89\xc2\x80\x90\x7f\xa8\xbf\\\xf0\xff" "AA\x90\xc2\x1fl\xf1i\xf0\xa0"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xdf\x8fi\\u007f\xef\xbf\xbd\xef\xbf\xbd\\u0000\\\"\xef\xbf\xbd\xc2\x80\xef\xbf\xbd\\u007f\xef\xbf\xbd\xef\xbf\xbd\\\\\xef\xbf\xbd\xef\xbf\xbd" "AA\xef\xbf\xbd\xef\xbf\xbd\\u001fl\xef\xbf\xbdi\xef\xbf\xbd\""sv, 16},
    {"random 30", "\xff\x1f\xef&\x83\"\xcc\"\x7f\x90\x9f\x9f\x9fJ\xf0\x0cw"sv, "\"\xef\xbf\xbd\\u001f\xef\xbf\xbd&\xef\xbf\xbd\\\"\xef\xbf\xbd\\\"\\u007f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdJ\xef\xbf\xbd\\fw\""sv, 9},
    {"random 31", "\xef\xfe\x90\xe0\xef" "A\x0b" "A\"\xf5\x90\xf0\x89\xba\x1f\xe0\x8f"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A\\u000bA\\\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u001f\xef\xbf\xbd\xef\xbf\xbd\""sv, 12},
    {"random 32", "\xc2\xed\xe0\xc0\xe0\xef\xe3\xf4"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 8},
    {"random 33", "3"sv, "\"3\""sv, 0},
    {"random 34", "\xff\x00\xc2\\\xf0\xa0\xed" "AA\"\x0a\x00\xf2\xa8"sv, "\"\xef\xbf\xbd\\u0000\xef\xbf\xbd\\\\\xef\xbf\xbd\xef\xbf\xbd" "AA\\\"\\n\\u0000\xef\xbf\xbd\""sv, 5},
    {"random 35", "\xf4\xe2\xe6\xdf" "F\"\xe0\x0f\x7f\xc0" "60\x00" "A\x93\x90\x80\x00\xf0\xbf"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "F\\\"\xef\xbf\xbd\\u000f\\u007f\xef\xbf\xbd" "60\\u0000A\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u0000\xef\xbf\xbd\""sv, 10},
    {"random 36", "\x00\xff\x7f\x0a\xef\xc0\xed\xf5\xdf\xe2\xad\xef"sv, "\"\\u0000\xef\xbf\xbd\\u007f\\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""sv, 8},
    {"random 37", "\x90\"\x90\xed\xdf\xf0\xe2\x9f\xef\xa8\xff\xed\xf5\xe2\x0a\xa8\x93\xf0\xf0\x80\xff\x0a\xc0\x0a\x1f\xff\xdf%"sv, "\"\xef\xbf\xbd\\\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\n\xef\xbf\xbd\\n\\u001f\xef\xbf\xbd\xef\xbf\xbd%\""sv, 20},
    {"random 38", "\xc0\x8f\x8f\x00\xbf"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u0000\xef\xbf\xbd\""sv, 4},
    {"random 39", "\xbf\x90\x91\xed\x90<"sv, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd<\""sv, 4},
    {"sparse random 0", "xxxxxx\\xxxxxxx\xa8xxxxxxxxxxxxxxx\xdfxxxxxxxxxxxxxxxxxxxxxxxx\xefx"sv, "\"xxxxxx\\\\xxxxxxx\xef\xbf\xbdxxxxxxxxxxxxxxx\xef\xbf\xbdxxxxxxxxxxxxxxxxxxxxxxxx\xef\xbf\xbdx\""sv, 3},
    {"sparse random 1", "xxxxxxxxxxxxxxxx\xe0x\xffxxxxxxxxxxxxxxxxxxxxxxxxxxx\xf5xxxxxxxxx\x7fxxx"sv, "\"xxxxxxxxxxxxxxxx\xef\xbf\xbdx\xef\xbf\xbdxxxxxxxxxxxxxxxxxxxxxxxxxxx\xef\xbf\xbdxxxxxxxxx\\u007fxxx\""sv, 3},
    {"sparse random 2", "\xe0xxxxxxx\xedxxxxxxxxxxxxxxxxxxxxxxxx\xe0x\\"sv, "\"\xef\xbf\xbdxxxxxxx\xef\xbf\xbdxxxxxxxxxxxxxxxxxxxxxxxx\xef\xbf\xbdx\\\\\""sv, 3},
    {"sparse random 3", "xxxxxxxxxxxxxxxxxxxxxxx\xf5xxxxx\xf0xxxxxxx\xc2xxxxxxxxxxxxxxxxAxxxxxxxxxxxxxxxxxxxxxxxx"sv, "\"xxxxxxxxxxxxxxxxxxxxxxx\xef\xbf\xbdxxxxx\xef\xbf\xbdxxxxxxx\xef\xbf\xbdxxxxxxxxxxxxxxxxAxxxxxxxxxxxxxxxxxxxxxxxx\""sv, 3},
    {"sparse random 4", "xx\"xxxxxxxxxxxxxxxxxx\xefxxxxxxxxxxxxxxxxxxxxxxxx\xf5xxxxxxxxxxxx\xffx"sv, "\"xx\\\"xxxxxxxxxxxxxxxxxx\xef\xbf\xbdxxxxxxxxxxxxxxxxxxxxxxxx\xef\xbf\xbdxxxxxxxxxxxx\xef\xbf\xbdx\""sv, 3},
    {"sparse random 5", "\x7fxxxxxxxxxxx\xffxxxxxxx\xdfxx\\xxxxxxxxxxxx"sv, "\"\\u007fxxxxxxxxxxx\xef\xbf\xbdxxxxxxx\xef\xbf\xbdxx\\\\xxxxxxxxxxxx\""sv, 2},
};
// clang-format on

std::string render(std::string_view s) {
  JsonBuffer out;
  append_json_string(out, s);
  return std::string(out.view());
}

// Decodes a JSON string literal we produced; fails the test if it is not valid JSON (nlohmann rejects invalid
// UTF-8 and raw control characters).
std::string parse_literal(std::string_view json) {
  const nlohmann::json parsed = nlohmann::json::parse(json);
  EXPECT_TRUE(parsed.is_string());
  return parsed.get<std::string>();
}

bool is_valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();  // dump() throws type_error 316 on invalid UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

TEST(JsonEscapeTest, MatchesPythonReplaceDecoding) {
  for (const PythonCase& c : kPythonCases) {
    SCOPED_TRACE(c.name);
    JsonBuffer out;
    const std::size_t replacements = append_json_string(out, c.input);
    EXPECT_EQ(out.view(), c.expected);
    EXPECT_EQ(replacements, c.replacements);
    parse_literal(out.view());
  }
}

// The SIMD scan works in 16-byte blocks plus a short tail: every special byte must be found whichever lane (or
// the tail) it lands in, and multi-byte sequences must be decoded when they straddle a block edge.
TEST(JsonEscapeTest, SameResultAtEveryBlockOffset) {
  for (const PythonCase& c : kPythonCases) {
    SCOPED_TRACE(c.name);
    const std::string_view body = c.expected.substr(1, c.expected.size() - 2);
    for (std::size_t before = 0; before < 20; ++before) {
      for (std::size_t after : {0, 1, 7, 15, 16, 17}) {
        const std::string input = std::string(before, 'p') + std::string(c.input) + std::string(after, 's');
        const std::string expected =
            '"' + std::string(before, 'p') + std::string(body) + std::string(after, 's') + '"';
        JsonBuffer out;
        ASSERT_EQ(append_json_string(out, input), c.replacements);
        ASSERT_EQ(out.view(), expected) << "before=" << before << " after=" << after;
      }
    }
  }
}

// Short strings are scanned with one 16-byte load even when they are shorter, as long as the load
// stays inside the string's page. Strings that end right before an inaccessible page (a read past
// them would crash) and strings followed by special bytes in the same page must both come out
// exactly as from an ordinary buffer.
TEST(JsonEscapeTest, ShortStringsAtPageEndsAndBeforeSpecialBytes) {
  const testing::GuardedPage guarded;
  ASSERT_TRUE(guarded.ok());
  char* const page_end = guarded.end();
  for (const PythonCase& c : kPythonCases) {
    SCOPED_TRACE(c.name);
    const std::string_view body = c.expected.substr(1, c.expected.size() - 2);
    for (std::size_t before = 0; before < 20; ++before) {
      const std::string input = std::string(before, 'p') + std::string(c.input);
      const std::string expected = '"' + std::string(before, 'p') + std::string(body) + '"';
      // Ending exactly at the inaccessible page.
      char* const at_end = page_end - input.size();
      std::memcpy(at_end, input.data(), input.size());
      JsonBuffer out;
      ASSERT_EQ(append_json_string(out, std::string_view(at_end, input.size())), c.replacements);
      ASSERT_EQ(out.view(), expected) << "at the page end, before=" << before;
      // Followed, in the same page, by bytes that would need escaping.
      char* const inside = guarded.begin() + 64;
      std::memcpy(inside, input.data(), input.size());
      std::memset(inside + input.size(), '"', 32);
      inside[input.size() + 1] = '\n';
      inside[input.size() + 2] = static_cast<char>(0xC3);
      JsonBuffer again;
      ASSERT_EQ(append_json_string(again, std::string_view(inside, input.size())), c.replacements);
      ASSERT_EQ(again.view(), expected) << "before special bytes, before=" << before;
    }
  }
}

#ifdef TRAILKIT_JSON_SSE2
// The block scan's one signed compare must flag exactly the bytes the byte-wise table treats as special.
TEST(JsonEscapeTest, SpecialMaskFlagsExactlyTheBytesThatNeedWork) {
  for (int b = 0; b < 256; ++b) {
    char block[16];
    std::memset(block, 'a', sizeof block);
    block[b % 16] = static_cast<char>(b);
    const bool special = b < 0x20 || b == '"' || b == '\\' || b >= 0x7F;
    EXPECT_EQ(json_string_special_mask(block), special ? 1u << (b % 16) : 0u) << "byte " << b;
  }
}
#endif

// The record formatter writes strings through the raw-cursor writers (with an inline fast path for short clean
// strings); they must produce append_json_string's bytes for every input: every byte value, lengths 0..300,
// strings ending right before an inaccessible page and strings followed by special bytes.
TEST(JsonEscapeTest, RawCursorWritersMatchAppendEverywhere) {
  const testing::GuardedPage guarded;
  ASSERT_TRUE(guarded.ok());
  char* const page_end = guarded.end();
  FastRandom random(7);
  std::vector<char> out(6 * 300 + kJsonEscapeSlack + 5);
  for (std::size_t size = 0; size <= 300; ++size) {
    for (int round = 0; round < 24; ++round) {
      std::string input(size, 'a');
      for (char& c : input) {
        const std::uint64_t r = random.next();
        // Mostly clean ASCII with every byte value sprinkled in, or fully random bytes.
        if (round % 3 == 0 || r % 8 == 0) c = static_cast<char>(r >> 8);
        else c = static_cast<char>(0x20 + (r >> 8) % 0x5F);
      }
      if (size > 0 && round < 16) input[random.next() % size] = static_cast<char>(round * 16 + size % 16);
      char* const at = round % 2 == 0 ? page_end - size : guarded.begin() + 64;
      std::memcpy(at, input.data(), size);
      if (round % 2 != 0) std::memset(at + size, '"', 32);
      const std::string_view view(at, size);
      JsonBuffer expected;
      const std::size_t expected_replacements = append_json_string(expected, view);

      std::size_t replacements = 0;
      char* end = write_clean_or_full(out.data(), view, &replacements);
      ASSERT_EQ(std::string_view(out.data(), static_cast<std::size_t>(end - out.data())), expected.view()) << size;
      ASSERT_EQ(replacements, expected_replacements);
      replacements = 0;
      end = write_json_string(out.data(), view, &replacements);
      ASSERT_EQ(std::string_view(out.data(), static_cast<std::size_t>(end - out.data())), expected.view()) << size;
      ASSERT_EQ(replacements, expected_replacements);

      const std::size_t max_bytes = random.next() % (size + 2);
      bool expected_cut = false;
      JsonBuffer expected_truncated;
      const std::size_t truncated_replacements =
          append_json_string_truncated(expected_truncated, view, max_bytes, &expected_cut);
      bool cut = !expected_cut;
      replacements = 0;
      end = write_json_string_truncated(out.data(), view, max_bytes, &cut, &replacements);
      ASSERT_EQ(std::string_view(out.data(), static_cast<std::size_t>(end - out.data())), expected_truncated.view())
          << size << " cut at " << max_bytes;
      ASSERT_EQ(cut, expected_cut);
      ASSERT_EQ(replacements, truncated_replacements);
    }
  }
}

// write_json_string copies clean 16+ byte strings block by block up to the first special byte (the last block
// overlapping the one before it) and write_json_string_clean does 16..32 bytes as two blocks; both must give the
// block-by-block encoder's bytes whatever byte sits at whatever offset, including in the overlap and at the very
// first and last positions, and for strings ending right before an inaccessible page.
TEST(JsonEscapeTest, CleanPrefixFastPathsMatchTheBlockwiseEncoder) {
  const testing::GuardedPage guarded;
  ASSERT_TRUE(guarded.ok());
  std::vector<char> expected(6 * 300 + kJsonEscapeSlack + 5);
  std::vector<char> got(6 * 300 + kJsonEscapeSlack + 5);
  FastRandom random(11);
  auto check = [&](std::string_view view) {
    std::size_t expected_replacements = 0;
    const char* const expected_end = write_json_string_blockwise(expected.data(), view, &expected_replacements);
    const std::string_view want(expected.data(), static_cast<std::size_t>(expected_end - expected.data()));
    std::size_t replacements = 0;
    const char* end = write_json_string(got.data(), view, &replacements);
    ASSERT_EQ(std::string_view(got.data(), static_cast<std::size_t>(end - got.data())), want) << view.size();
    ASSERT_EQ(replacements, expected_replacements);
    replacements = 0;
    end = write_clean_or_full(got.data(), view, &replacements);
    ASSERT_EQ(std::string_view(got.data(), static_cast<std::size_t>(end - got.data())), want) << view.size();
    ASSERT_EQ(replacements, expected_replacements);
    JsonBuffer appended;
    appended.literal("x");
    ASSERT_EQ(append_json_string(appended, view), expected_replacements);
    ASSERT_EQ(appended.view().substr(1), want);
  };
  // The string in a heap copy, then ending right before an inaccessible page.
  const auto check_both = [&](const std::string& input) {
    check(input);
    if (::testing::Test::HasFatalFailure()) return;
    char* const at_end = guarded.end() - input.size();
    std::memcpy(at_end, input.data(), input.size());
    check(std::string_view(at_end, input.size()));
  };
  for (std::size_t size = 0; size <= 300; ++size) {
    std::string clean(size, 'a');
    for (char& c : clean) c = static_cast<char>(0x20 + random.next() % 0x5F);
    for (char& c : clean) {
      if (c == '"' || c == '\\') c = '/';
    }
    // Every byte value at the first, last and a few inner positions (the block seams at 15/16/17, 31/32/33 and
    // where the overlapping last block starts); at every position when the string is short.
    std::vector<std::size_t> positions;
    for (std::size_t at = 0; at < size; ++at) {
      if (size <= 40 || at < 2 || at + 2 >= size || at % 16 <= 1 || at % 16 == 15 || at + 17 == size ||
          at + 16 == size || at + 15 == size) {
        positions.push_back(at);
      }
    }
    for (int byte = 0; byte < 256; ++byte) {
      for (const std::size_t at : positions) {
        if (size > 40 && byte % 7 != 0 && random.next() % 4 != 0) continue;  // keep the run time reasonable
        std::string input = clean;
        input[at] = static_cast<char>(byte);
        check_both(input);
        if (HasFatalFailure()) return;
      }
    }
    check_both(clean);
    if (HasFatalFailure()) return;
    // Mostly clean with random bytes, and fully random (invalid UTF-8, multi-byte characters across the seams).
    for (int round = 0; round < 8; ++round) {
      std::string input = clean;
      for (char& c : input) {
        const std::uint64_t r = random.next();
        if (round % 2 == 0 ? r % 16 == 0 : true) c = static_cast<char>(r >> 8);
      }
      check(input);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(JsonEscapeTest, EmptyStringAndAppendKeepsPrefix) {
  EXPECT_EQ(render(""), "\"\"");
  JsonBuffer out;
  out.literal("{\"k\":");
  append_json_string(out, "v\n");
  out.push_back('}');
  EXPECT_EQ(out.view(), "{\"k\":\"v\\n\"}");
}

TEST(JsonEscapeTest, EmbeddedNulDoesNotEndTheString) {
  const std::string input("ab\0cd", 5);
  EXPECT_EQ(render(input), "\"ab\\u0000cd\"");
  EXPECT_EQ(parse_literal(render(input)), input);
}

TEST(JsonEscapeTest, SlashAndPrintableAsciiAreCopied) {
  std::string printable;
  for (char c = 0x20; c < 0x7F; ++c) {
    if (c != '"' && c != '\\') printable.push_back(c);
  }
  EXPECT_EQ(render(printable), '"' + printable + '"');
}

// Inputs larger than the internal 16 KiB encoding chunk, with characters straddling the chunk edge.
TEST(JsonEscapeTest, LongStringsAcrossChunkEdges) {
  const std::string euro = "\xE2\x82\xAC";
  for (std::size_t lead : {16382u, 16383u, 16384u, 16385u, 32767u}) {
    SCOPED_TRACE(lead);
    const std::string valid = std::string(lead, 'a') + euro + "z" + euro;
    EXPECT_EQ(render(valid), '"' + valid + '"');
    JsonBuffer out;
    const std::string truncated_seq = std::string(lead, 'a') + "\xF0\x9F\x98" + "b";
    EXPECT_EQ(append_json_string(out, truncated_seq), 1u);
    EXPECT_EQ(out.view(), '"' + std::string(lead, 'a') + "\xEF\xBF\xBD" + "b\"");
  }
  // Worst-case expansion (6x) over a megabyte.
  const std::string controls(1 << 20, '\x01');
  const std::string rendered = render(controls);
  ASSERT_EQ(rendered.size(), 6 * controls.size() + 2);
  EXPECT_EQ(rendered.substr(0, 13), "\"\\u0001\\u0001");
  EXPECT_EQ(parse_literal(rendered), controls);
}

TEST(JsonEscapeTest, RandomBytesAlwaysGiveValidJson) {
  FastRandom random(12345);
  const unsigned char interesting[] = {0x00, 0x1F, '"', '\\', 'a', 0x7F, 0x80, 0xA8, 0xBF, 0xC2,
                                       0xDF, 0xE0, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF};
  std::size_t valid_inputs = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    const std::size_t size = random.next() % 70;
    std::string input;
    for (std::size_t i = 0; i < size; ++i) {
      const std::uint64_t r = random.next();
      input.push_back(static_cast<char>(r % 4 == 0 ? static_cast<unsigned char>(r >> 8)
                                                   : interesting[(r >> 8) % sizeof interesting]));
    }
    if (iteration % 3 == 0) {  // valid UTF-8 that still needs escaping
      static const char* const kCharacters[] = {"a", "\"", "\\", "\x01", "\x7F", "\xC3\xA9", "\xE2\x80\xA8",
                                                "\xE6\x97\xA5", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"};
      input.clear();
      for (std::size_t i = 0; i < size; ++i) input += kCharacters[random.next() % std::size(kCharacters)];
    }
    JsonBuffer out;
    const std::size_t replacements = append_json_string(out, input);
    const std::string decoded = parse_literal(out.view());
    ASSERT_TRUE(is_valid_utf8(decoded));
    if (is_valid_utf8(input)) {
      ++valid_inputs;
      ASSERT_EQ(replacements, 0u);
      ASSERT_EQ(decoded, input);
    } else {
      ASSERT_GT(replacements, 0u);
    }
  }
  EXPECT_GT(valid_inputs, 6000u);  // the loop really exercised both branches
}

// ---- truncation (userAgent, errorCode, errorMessage, requestID: "truncated at 1 KB") ----

std::string render_truncated(std::string_view s, std::size_t max_bytes, bool* truncated) {
  JsonBuffer out;
  append_json_string_truncated(out, s, max_bytes, truncated);
  return std::string(out.view());
}

TEST(JsonEscapeTruncateTest, FitsUnchanged) {
  bool truncated = true;
  EXPECT_EQ(render_truncated("abc", 3, &truncated), "\"abc\"");
  EXPECT_FALSE(truncated);
  EXPECT_EQ(render_truncated("", 0, &truncated), "\"\"");
  EXPECT_FALSE(truncated);
}

TEST(JsonEscapeTruncateTest, CutsAsciiAndAppendsEllipsis) {
  bool truncated = false;
  EXPECT_EQ(render_truncated("abcdef", 3, &truncated), "\"abc...\"");
  EXPECT_TRUE(truncated);
  EXPECT_EQ(render_truncated("abcdef", 0, &truncated), "\"...\"");
  EXPECT_TRUE(truncated);
  EXPECT_EQ(render_truncated("abcdef", 5, nullptr), "\"abcde...\"");  // null flag pointer is allowed
}

TEST(JsonEscapeTruncateTest, NeverSplitsAMultiByteCharacter) {
  const std::string text = "ab\xE2\x82\xAC" "c";  // a b EURO c
  bool truncated = false;
  EXPECT_EQ(render_truncated(text, 2, &truncated), "\"ab...\"");
  EXPECT_EQ(render_truncated(text, 3, &truncated), "\"ab...\"");
  EXPECT_EQ(render_truncated(text, 4, &truncated), "\"ab...\"");
  EXPECT_EQ(render_truncated(text, 5, &truncated), "\"ab\xE2\x82\xAC...\"");
  EXPECT_TRUE(truncated);
  const std::string emoji = "\xF0\x9F\x98\x80\xF0\x9F\x98\x81";
  for (std::size_t cut = 4; cut < 8; ++cut) {
    EXPECT_EQ(render_truncated(emoji, cut, &truncated), "\"\xF0\x9F\x98\x80...\"") << cut;
  }
}

TEST(JsonEscapeTruncateTest, EscapesAndInvalidBytesInKeptPart) {
  bool truncated = false;
  EXPECT_EQ(render_truncated("a\"b\ncd", 4, &truncated), "\"a\\\"b\\n...\"");
  JsonBuffer out;
  // Stray continuation bytes are not a character to protect: cut exactly at max_bytes.
  EXPECT_EQ(append_json_string_truncated(out, "a\x80\x80\x80\x80\x80", 3, &truncated), 2u);
  EXPECT_EQ(out.view(), "\"a\xEF\xBF\xBD\xEF\xBF\xBD...\"");
}

TEST(JsonEscapeTruncateTest, CloudTrailOneKilobyteLimit) {
  std::string message;
  while (message.size() < 3000) message += "Access denied \xE2\x80\x94 user \xC3\xA9t\xC3\xA9 ";
  bool truncated = false;
  JsonBuffer out;
  append_json_string_truncated(out, message, 1024, &truncated);
  ASSERT_TRUE(truncated);
  const std::string kept = parse_literal(out.view());
  ASSERT_TRUE(kept.ends_with("..."));
  const std::string prefix = kept.substr(0, kept.size() - 3);
  EXPECT_LE(prefix.size(), 1024u);
  EXPECT_GE(prefix.size(), 1021u);
  EXPECT_EQ(message.substr(0, prefix.size()), prefix);
}

// Every cut point of mixed 1..4-byte text keeps a valid-UTF-8 prefix within 3 bytes of the limit.
TEST(JsonEscapeTruncateTest, EveryCutPointKeepsValidPrefix) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\xE6\x97\xA5\xC2\x80";
  for (std::size_t max_bytes = 0; max_bytes <= text.size(); ++max_bytes) {
    SCOPED_TRACE(max_bytes);
    bool truncated = false;
    JsonBuffer out;
    EXPECT_EQ(append_json_string_truncated(out, text, max_bytes, &truncated), 0u);
    EXPECT_EQ(truncated, max_bytes < text.size());
    std::string kept = parse_literal(out.view());
    if (truncated) {
      ASSERT_TRUE(kept.ends_with("..."));
      kept.resize(kept.size() - 3);
    }
    EXPECT_LE(kept.size(), max_bytes);
    EXPECT_GE(kept.size() + 3, max_bytes);
    EXPECT_EQ(text.substr(0, kept.size()), kept);
  }
}

}  // namespace
}  // namespace trailkit::detail
