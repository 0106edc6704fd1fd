// Tests for ws/utf8.* : the incremental validator against a reference decoder, edge cases, every split.
#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "tests/ws/ws_test_util.hpp"
#include "ws/utf8.hpp"

namespace wsgate::ws {
namespace {

using test::Bytes;

Bytes bytes(std::string_view text) { return test::bytes_of(text); }

// Straightforward RFC 3629 decoder used as the oracle: returns {valid, complete}.
// `valid` = the bytes are a prefix of some valid UTF-8 string.
struct Verdict {
  bool valid;
  bool complete;
};
Verdict reference(const Bytes& data) {
  std::size_t i = 0;
  while (i < data.size()) {
    const std::uint8_t lead = data[i];
    std::size_t length = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      cp = lead & 0x07;
    } else {
      return {false, false};
    }
    std::size_t have = 1;
    for (; have < length && i + have < data.size(); ++have) {
      const std::uint8_t c = data[i + have];
      if ((c & 0xC0) != 0x80) {
        return {false, false};
      }
      cp = (cp << 6) | (c & 0x3F);
      // Check the range as soon as the second byte fixes it (like a DFA would).
      if (have == 1) {
        const std::uint32_t shift = 6 * static_cast<std::uint32_t>(length - 2);
        const std::uint32_t lo = cp << shift;
        const std::uint32_t hi = lo | ((1u << shift) - 1);
        const std::uint32_t min = length == 3 ? 0x800 : length == 4 ? 0x10000 : 0x80;
        if (hi < min || lo > 0x10FFFF || (lo >= 0xD800 && hi <= 0xDFFF)) {
          return {false, false};
        }
      }
    }
    if (have < length) {
      return {true, false};
    }
    i += length;
  }
  return {true, true};
}

Verdict validate(const Bytes& data) {
  Utf8Validator validator;
  const bool fed = validator.feed(data);
  EXPECT_EQ(fed, !validator.failed());
  return {fed, validator.complete()};
}

void expect_same(const Bytes& data) {
  const Verdict want = reference(data);
  const Verdict got = validate(data);
  ASSERT_EQ(got.valid, want.valid) << testing::PrintToString(data);
  ASSERT_EQ(got.complete, want.complete) << testing::PrintToString(data);
}

Bytes encode(std::uint32_t cp) {
  if (cp < 0x80) {
    return {static_cast<std::uint8_t>(cp)};
  }
  if (cp < 0x800) {
    return {static_cast<std::uint8_t>(0xC0 | (cp >> 6)), static_cast<std::uint8_t>(0x80 | (cp & 0x3F))};
  }
  if (cp < 0x10000) {
    return {static_cast<std::uint8_t>(0xE0 | (cp >> 12)),
            static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F)),
            static_cast<std::uint8_t>(0x80 | (cp & 0x3F))};
  }
  return {static_cast<std::uint8_t>(0xF0 | (cp >> 18)), static_cast<std::uint8_t>(0x80 | ((cp >> 12) & 0x3F)),
          static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F)),
          static_cast<std::uint8_t>(0x80 | (cp & 0x3F))};
}

TEST(Utf8, EmptyIsValid) {
  EXPECT_TRUE(is_valid_utf8({}));
  Utf8Validator validator;
  EXPECT_TRUE(validator.feed({}));
  EXPECT_TRUE(validator.complete());
}

TEST(Utf8, EveryScalarValueIsValid) {
  for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      continue;
    }
    ASSERT_TRUE(is_valid_utf8(encode(cp))) << std::hex << cp;
  }
}

TEST(Utf8, SurrogatesAreInvalid) {
  for (std::uint32_t cp = 0xD800; cp <= 0xDFFF; ++cp) {
    ASSERT_FALSE(is_valid_utf8(encode(cp))) << std::hex << cp;
  }
}

TEST(Utf8, AllOneAndTwoByteSequencesMatchReference) {
  for (int a = 0; a < 256; ++a) {
    expect_same({static_cast<std::uint8_t>(a)});
    for (int b = 0; b < 256; ++b) {
      expect_same({static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b)});
    }
  }
}

TEST(Utf8, AllThreeByteSequencesWithMultiByteLeadMatchReference) {
  for (int a = 0xC0; a < 256; ++a) {
    for (int b = 0x70; b < 0xD0; ++b) {
      for (int c = 0; c < 256; ++c) {
        expect_same(
            {static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), static_cast<std::uint8_t>(c)});
      }
    }
  }
}

TEST(Utf8, FourByteSequencesMatchReference) {
  const std::uint8_t leads[] = {0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF};
  for (const std::uint8_t a : leads) {
    for (int b = 0x7F; b <= 0xC0; ++b) {
      for (int c = 0x7F; c <= 0xC0; c += 0x10) {
        for (int d : {0x00, 0x7F, 0x80, 0x9A, 0xBF, 0xC0, 0xFF}) {
          expect_same(
              {a, static_cast<std::uint8_t>(b), static_cast<std::uint8_t>(c), static_cast<std::uint8_t>(d)});
        }
      }
    }
  }
}

TEST(Utf8, NamedEdgeCases) {
  struct Case {
    std::string_view text;
    bool valid;
  };
  const Case cases[] = {
      {"hello", true},
      {"\x7F", true},
      {"\xC2\x80", true},                   // U+0080
      {"\xDF\xBF", true},                   // U+07FF
      {"\xE0\xA0\x80", true},               // U+0800
      {"\xED\x9F\xBF", true},               // U+D7FF, last before surrogates
      {"\xEE\x80\x80", true},               // U+E000, first after surrogates
      {"\xEF\xBF\xBF", true},               // U+FFFF
      {"\xF0\x90\x80\x80", true},           // U+10000
      {"\xF4\x8F\xBF\xBF", true},           // U+10FFFF
      {"\xC0\x80", false},                  // overlong NUL
      {"\xC1\xBF", false},                  // overlong U+007F
      {"\xE0\x80\x80", false},              // overlong 3-byte
      {"\xE0\x9F\xBF", false},              // overlong U+07FF
      {"\xF0\x80\x80\x80", false},          // overlong 4-byte
      {"\xF0\x8F\xBF\xBF", false},          // overlong U+FFFF
      {"\xED\xA0\x80", false},              // U+D800
      {"\xED\xBF\xBF", false},              // U+DFFF
      {"\xED\xA0\x80\xED\xB0\x80", false},  // CESU-8 surrogate pair
      {"\xF4\x90\x80\x80", false},          // U+110000
      {"\xF5\x80\x80\x80", false},
      {"\xFE", false},
      {"\xFF", false},
      {"\x80", false},  // stray continuation
      {"\xBF", false},
      {"a\x80z", false},
      {"\xC2\x80\x80", false},  // one continuation too many
      {"\xC2", false},          // truncated (incomplete)
      {"\xE2\x82", false},
      {"\xF0\x9F\x98", false},
      {"\xC2"
       "a",
       false},  // lead followed by ASCII
      {"\xE2\x82"
       "a",
       false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_valid_utf8(bytes(c.text)), c.valid) << testing::PrintToString(bytes(c.text));
  }
}

TEST(Utf8, FailsAtTheFirstByteThatProvesIt) {
  struct Case {
    std::string_view text;
    std::size_t fails_after;  // bytes after which feed() returns false
  };
  const Case cases[] = {
      {"\xC0", 1},     {"\xC1", 1},     {"\xF5", 1},     {"\xFF", 1},         {"\x80", 1},
      {"\xE0\x80", 2}, {"\xE0\x9F", 2}, {"\xED\xA0", 2}, {"\xF0\x80", 2},     {"\xF0\x8F", 2},
      {"\xF4\x90", 2}, {"\xC2\x41", 2}, {"abc\xC0", 4},  {"\xE2\x82\x41", 3}, {"\xF0\x9F\x98\x41", 4}};
  for (const Case& c : cases) {
    const Bytes data = bytes(c.text);
    Utf8Validator validator;
    for (std::size_t i = 0; i < data.size(); ++i) {
      const bool ok = validator.feed(std::span(data).subspan(i, 1));
      EXPECT_EQ(ok, i + 1 < c.fails_after) << testing::PrintToString(data) << " byte " << i;
    }
    EXPECT_TRUE(validator.failed());
    EXPECT_FALSE(validator.complete());
    // Once failed, stays failed.
    EXPECT_FALSE(validator.feed(bytes("ok")));
  }
}

TEST(Utf8, TruncatedSequenceIsIncompleteUntilFinished) {
  Utf8Validator validator;
  EXPECT_TRUE(validator.feed(bytes("\xF0\x9F")));
  EXPECT_FALSE(validator.complete());
  EXPECT_FALSE(validator.failed());
  EXPECT_TRUE(validator.feed(bytes("\x98")));
  EXPECT_FALSE(validator.complete());
  EXPECT_TRUE(validator.feed(bytes("\x80")));
  EXPECT_TRUE(validator.complete());
  validator.reset();
  EXPECT_TRUE(validator.complete());
}

TEST(Utf8, EverySplitOfMixedTextAgrees) {
  const Bytes text = bytes("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\xED\x9F\xBF\xF4\x8F\xBF\xBF!");
  ASSERT_TRUE(is_valid_utf8(text));
  for (std::size_t a = 0; a <= text.size(); ++a) {
    for (std::size_t b = a; b <= text.size(); ++b) {
      Utf8Validator validator;
      ASSERT_TRUE(validator.feed(std::span(text).first(a)));
      EXPECT_EQ(validator.complete(), is_valid_utf8(std::span(text).first(a)));
      ASSERT_TRUE(validator.feed(std::span(text).subspan(a, b - a)));
      ASSERT_TRUE(validator.feed(std::span(text).subspan(b)));
      EXPECT_TRUE(validator.complete());
    }
  }
}

TEST(Utf8, EverySplitOfInvalidTextFails) {
  for (const std::string_view bad : {"ab\xE0\x80\x80"
                                     "cd",
                                     "x\xED\xA0\x80", "\xF4\x90\x80\x80", "abc\xF0\x9F\x98"}) {
    const Bytes text = bytes(bad);
    for (std::size_t a = 0; a <= text.size(); ++a) {
      Utf8Validator validator;
      const bool ok = validator.feed(std::span(text).first(a)) && validator.feed(std::span(text).subspan(a));
      EXPECT_FALSE(ok && validator.complete()) << testing::PrintToString(text) << " split " << a;
    }
  }
}

TEST(Utf8, AsciiFastPathFindsBadByteAnywhere) {
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t bad = 0; bad < length; ++bad) {
      for (const std::size_t start : {std::size_t{0}, std::size_t{3}}) {
        Bytes data(start + length, 'a');
        data[start + bad] = 0x80;
        ASSERT_FALSE(is_valid_utf8(std::span(data).subspan(start))) << length << " " << bad;
        data[start + bad] = 'b';
        ASSERT_TRUE(is_valid_utf8(std::span(data).subspan(start)));
      }
    }
  }
  // Multi-byte sequences after ASCII runs of every length.
  for (std::size_t run = 0; run <= 20; ++run) {
    Bytes data(run, 'x');
    const Bytes euro = bytes("\xE2\x82\xAC");
    data.insert(data.end(), euro.begin(), euro.end());
    data.insert(data.end(), run, 'y');
    ASSERT_TRUE(is_valid_utf8(data)) << run;
    data.push_back(0xE2);
    ASSERT_FALSE(is_valid_utf8(data)) << run;  // truncated at the end
  }
}

}  // namespace
}  // namespace wsgate::ws
