// Tests for ws/handshake.* : accept computation, key validation, header lists, Sec-WebSocket-Extensions.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ws/handshake.hpp"

namespace wsgate::ws {
namespace {

TEST(Handshake, ComputeAcceptRfcExample) {
  // RFC 6455 §1.3.
  EXPECT_EQ(compute_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, ComputeAcceptOfOtherKeys) {
  // RFC 6455 §4.2.2 uses the key byte-for-byte: a different key gives a different answer.
  EXPECT_NE(compute_accept("dGhlIHNhbXBsZSBub25jZA=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(compute_accept("").size(), 28u);
}

TEST(Handshake, ValidKeys) {
  EXPECT_TRUE(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(is_valid_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(is_valid_key("+/+/+/+/+/+/+/+/+/+/+w=="));
}

TEST(Handshake, InvalidKeys) {
  const std::string_view bad[] = {
      "",
      "dGhlIHNhbXBsZSBub25jZQ=",    // 23 chars
      "dGhlIHNhbXBsZSBub25jZQ===",  // 25 chars
      "dGhlIHNhbXBsZSBub25jZQ",     // no padding
      "dGhlIHNhbXBsZSBub25jZQAA",   // 24 chars, no padding (18 bytes)
      "dGhlIHNhbXBsZSBub25jZS=",    // 23
      "dGhlIHNhbXBsZSBub25jZWE=",   // 17 bytes: one '='
      "dGhlIHNhbXBsZSBub25jZ===",   // padding inside the data
      "dGhlIHNhbXBsZSBub25j*Q==",   // not base64
      "dGhlIHNhbXBsZSBub25j-Q==",   // base64url alphabet
      "dGhlIHNhbXBsZSBub25j Q==",   // space
      " dGhlIHNhbXBsZSBub25jZQ==",
      "dGhlIHNhbXBsZSBub25jZQ==\n",
  };
  for (const std::string_view key : bad) {
    EXPECT_FALSE(is_valid_key(key)) << key;
  }
}

TEST(Handshake, GeneratedKeysAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string key = generate_key();
    EXPECT_EQ(key.size(), 24u);
    EXPECT_TRUE(is_valid_key(key)) << key;
    EXPECT_EQ(compute_accept(key).size(), 28u);
    seen.insert(key);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Handshake, SplitHeaderList) {
  using List = std::vector<std::string>;
  EXPECT_EQ(split_header_list("chat, superchat"), (List{"chat", "superchat"}));
  EXPECT_EQ(split_header_list(" a ,\tb\t,c "), (List{"a", "b", "c"}));
  EXPECT_EQ(split_header_list(",, a ,, ,b,"), (List{"a", "b"}));
  EXPECT_EQ(split_header_list(""), List{});
  EXPECT_EQ(split_header_list(" , "), List{});
  EXPECT_EQ(split_header_list("single"), List{"single"});
}

TEST(Handshake, HeaderListHasToken) {
  EXPECT_TRUE(header_list_has_token("Upgrade", "upgrade"));
  EXPECT_TRUE(header_list_has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(header_list_has_token("keep-alive,UPGRADE ", "Upgrade"));
  EXPECT_TRUE(header_list_has_token("\tupgrade\t", "upgrade"));
  EXPECT_FALSE(header_list_has_token("keep-alive", "upgrade"));
  EXPECT_FALSE(header_list_has_token("upgrades", "upgrade"));
  EXPECT_FALSE(header_list_has_token("upgrade-x, x-upgrade", "upgrade"));
  EXPECT_FALSE(header_list_has_token("", "upgrade"));
  EXPECT_FALSE(header_list_has_token("up grade", "upgrade"));
}

std::vector<Extension> parse_ok(std::string_view value) {
  auto parsed = parse_extensions(value);
  EXPECT_TRUE(parsed.has_value()) << value;
  return parsed.value_or(std::vector<Extension>{});
}

TEST(Extensions, SingleNameOnly) {
  const auto extensions = parse_ok("permessage-deflate");
  ASSERT_EQ(extensions.size(), 1u);
  EXPECT_EQ(extensions[0].name, "permessage-deflate");
  EXPECT_TRUE(extensions[0].params.empty());
}

TEST(Extensions, ParamsWithAndWithoutValues) {
  const auto extensions = parse_ok(
      "permessage-deflate; client_max_window_bits; server_max_window_bits=10; server_no_context_takeover");
  ASSERT_EQ(extensions.size(), 1u);
  const auto& params = extensions[0].params;
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].name, "client_max_window_bits");
  EXPECT_FALSE(params[0].value.has_value());
  EXPECT_EQ(params[1].name, "server_max_window_bits");
  EXPECT_EQ(params[1].value, "10");
  EXPECT_EQ(params[2].name, "server_no_context_takeover");
  EXPECT_FALSE(params[2].value.has_value());
}

TEST(Extensions, QuotedValuesAreUnquoted) {
  auto extensions = parse_ok("permessage-deflate; client_max_window_bits=\"10\"");
  ASSERT_EQ(extensions.size(), 1u);
  ASSERT_EQ(extensions[0].params.size(), 1u);
  EXPECT_EQ(extensions[0].params[0].value, "10");
  // Backslash escapes are removed.
  extensions = parse_ok("x; a=\"1\\0\"; b=\"\\a\\b\"");
  ASSERT_EQ(extensions[0].params.size(), 2u);
  EXPECT_EQ(extensions[0].params[0].value, "10");
  EXPECT_EQ(extensions[0].params[1].value, "ab");
}

TEST(Extensions, SeveralExtensionsAndWhitespace) {
  const auto extensions = parse_ok("  foo ;a = 1 ; b\t,\tbar, permessage-deflate ;client_max_window_bits  ");
  ASSERT_EQ(extensions.size(), 3u);
  EXPECT_EQ(extensions[0].name, "foo");
  ASSERT_EQ(extensions[0].params.size(), 2u);
  EXPECT_EQ(extensions[0].params[0].name, "a");
  EXPECT_EQ(extensions[0].params[0].value, "1");
  EXPECT_EQ(extensions[0].params[1].name, "b");
  EXPECT_EQ(extensions[1].name, "bar");
  EXPECT_TRUE(extensions[1].params.empty());
  EXPECT_EQ(extensions[2].name, "permessage-deflate");
  ASSERT_EQ(extensions[2].params.size(), 1u);
}

TEST(Extensions, JoinedHeaderValuesAndEmptyElements) {
  // Two header lines joined by the caller with ", "; empty list elements are tolerated (RFC 7230 §7).
  const auto extensions = parse_ok("a, b;x=1, , c,");
  ASSERT_EQ(extensions.size(), 3u);
  EXPECT_EQ(extensions[2].name, "c");
}

TEST(Extensions, SyntaxErrors) {
  const std::string_view bad[] = {
      "",
      "   ",
      ",",
      ";a",
      "a;",
      "a; ",
      "a;;b",
      "a=1",
      "a b",
      "a; b c",
      "a; b=",
      "a; b= ;c",
      "a; =1",
      "a@b",
      "(a)",
      "a; b=\"10",     // unterminated quote
      "a; b=\"10\\",   // escape at the end
      "a; b=\"1 0\"",  // unquoted value is not a token (RFC 6455 §9.1)
      "a; b=\"\"",     // empty token
      "a; b=\"x\"y",
      "a; b=1=2",
      "a; b/c",
      "a; b=c d",
      "a,, b c",
      "\"a\"",
      "a; b=\"\x01\"",
  };
  for (const std::string_view value : bad) {
    EXPECT_FALSE(parse_extensions(value).has_value()) << "'" << value << "'";
  }
}

TEST(Extensions, FormatAndRoundTrip) {
  std::vector<Extension> extensions = {
      {"permessage-deflate",
       {{"client_max_window_bits", "10"}, {"server_no_context_takeover", std::nullopt}}},
      {"x-other", {}},
  };
  const std::string formatted = format_extensions(extensions);
  EXPECT_EQ(formatted, "permessage-deflate; client_max_window_bits=10; server_no_context_takeover, x-other");
  const auto parsed = parse_ok(formatted);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].name, "permessage-deflate");
  ASSERT_EQ(parsed[0].params.size(), 2u);
  EXPECT_EQ(parsed[0].params[0].value, "10");
  EXPECT_EQ(parsed[1].name, "x-other");
  EXPECT_EQ(format_extensions(parsed), formatted);
  EXPECT_EQ(format_extensions({}), "");
}

TEST(Extensions, FormatQuotesNonTokenValues) {
  const std::vector<Extension> extensions = {{"x", {{"p", "a b\"c\\"}}}};
  EXPECT_EQ(format_extensions(extensions), "x; p=\"a b\\\"c\\\\\"");
}

}  // namespace
}  // namespace wsgate::ws
