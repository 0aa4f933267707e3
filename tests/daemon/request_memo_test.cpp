// RequestMemo: a retried RegisterProgram gets the first call's answer.
#include "request_memo.hpp"

#include <gtest/gtest.h>

namespace hu::daemon {
namespace {

struct Answers {
  std::vector<std::pair<int, std::string>> got;
  RequestMemo::Reply Reply() {
    return [this](const grpc::Status& st, std::string r) {
      got.emplace_back(static_cast<int>(st.error_code()), std::move(r));
    };
  }
};

class RequestMemoTest : public ::testing::Test {
 protected:
  RequestMemo::Clock::time_point t{};
  RequestMemo::Limits limits{4, 64, std::chrono::seconds(300)};
  RequestMemo memo{limits, [this] { return t; }};
};

TEST_F(RequestMemoTest, ARetryAfterTheAnswerGetsTheSameAnswer) {
  Answers a;
  auto r = a.Reply();
  ASSERT_TRUE(memo.Begin(1, "tok", r));
  memo.Finish(1, "tok", grpc::Status::OK, "id=7");
  auto r2 = a.Reply();
  EXPECT_FALSE(memo.Begin(1, "tok", r2));
  ASSERT_EQ(a.got.size(), 1u);
  EXPECT_EQ(a.got[0], std::make_pair(0, std::string("id=7")));
}

TEST_F(RequestMemoTest, ARetryDuringTheFirstCallWaitsForItsAnswer) {
  Answers a;
  auto r = a.Reply();
  ASSERT_TRUE(memo.Begin(1, "tok", r));
  auto r2 = a.Reply();
  EXPECT_FALSE(memo.Begin(1, "tok", r2));
  EXPECT_TRUE(a.got.empty());
  memo.Finish(1, "tok", grpc::Status::OK, "id=7");
  ASSERT_EQ(a.got.size(), 1u);  // the waiter; the first call answers itself
  EXPECT_EQ(a.got[0].second, "id=7");
}

TEST_F(RequestMemoTest, TokensAreNamespacedByDomain) {
  Answers a;
  auto r = a.Reply();
  ASSERT_TRUE(memo.Begin(1, "tok", r));
  memo.Finish(1, "tok", grpc::Status::OK, "dom1");
  auto r2 = a.Reply();
  EXPECT_TRUE(memo.Begin(2, "tok", r2));  // another guest's token is no answer
  EXPECT_TRUE(a.got.empty());
}

TEST_F(RequestMemoTest, ARefusalIsNotKeptSoARetryIsDecidedAgain) {
  Answers a;
  auto r = a.Reply();
  ASSERT_TRUE(memo.Begin(1, "tok", r));
  auto w = a.Reply();
  EXPECT_FALSE(memo.Begin(1, "tok", w));
  memo.Finish(1, "tok", grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "busy"), "");
  ASSERT_EQ(a.got.size(), 1u);  // the waiter hears the refusal
  EXPECT_EQ(a.got[0].first, static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(memo.Size(1), 0u);
  auto r2 = a.Reply();
  EXPECT_TRUE(memo.Begin(1, "tok", r2));
}

TEST_F(RequestMemoTest, AnswersExpireAfterTheirTtl) {
  Answers a;
  auto r = a.Reply();
  ASSERT_TRUE(memo.Begin(1, "tok", r));
  memo.Finish(1, "tok", grpc::Status::OK, "x");
  t += std::chrono::seconds(299);
  auto r2 = a.Reply();
  EXPECT_FALSE(memo.Begin(1, "tok", r2));
  t += std::chrono::seconds(2);
  auto r3 = a.Reply();
  EXPECT_TRUE(memo.Begin(1, "tok", r3));
}

TEST_F(RequestMemoTest, AGoneDomainsAnswersExpireOnAnotherDomainsCall) {
  Answers a;
  auto r = a.Reply();
  ASSERT_TRUE(memo.Begin(1, "tok", r));
  memo.Finish(1, "tok", grpc::Status::OK, "x");
  auto pending = a.Reply();
  ASSERT_TRUE(memo.Begin(3, "waiting", pending));  // still being decided
  t += std::chrono::seconds(301);
  auto other = a.Reply();
  EXPECT_TRUE(memo.Begin(2, "tok", other));
  EXPECT_EQ(memo.Size(1), 0u);  // domain 1 never called again
  EXPECT_EQ(memo.Size(3), 1u);  // a call in progress is never expired
}

TEST_F(RequestMemoTest, ADomainKeepsAtMostItsEntriesAndBytes) {
  Answers a;
  for (int i = 0; i < 10; i++) {
    auto r = a.Reply();
    const std::string tok = "t" + std::to_string(i);
    ASSERT_TRUE(memo.Begin(1, tok, r));
    memo.Finish(1, tok, grpc::Status::OK, "0123456789");
  }
  EXPECT_EQ(memo.Size(1), 4u);  // entries_per_domain
  auto old = a.Reply();
  EXPECT_TRUE(memo.Begin(1, "t0", old));                         // evicted: decided again
  memo.Finish(1, "t0", grpc::Status::OK, std::string(65, 'x'));  // over bytes: not kept
  auto again = a.Reply();
  EXPECT_TRUE(memo.Begin(1, "t0", again));
  memo.Finish(1, "t0", grpc::Status::OK, std::string(60, 'x'));
  EXPECT_LE(memo.Size(1), 2u);  // 60 + 10 > 64: older answers dropped for it
  auto newest = a.Reply();
  EXPECT_FALSE(memo.Begin(1, "t0", newest));
}

TEST(RequestMemoToken, OnlyShortPrintableAsciiTokens) {
  EXPECT_EQ(RequestMemo::CheckToken(""), "");
  EXPECT_EQ(RequestMemo::CheckToken("9f1c2e0a7b"), "");
  EXPECT_EQ(RequestMemo::CheckToken(std::string(65, 'a')),
            "request_id: at most 64 characters, got 65");
  EXPECT_EQ(RequestMemo::CheckToken("a b"), "request_id: byte 1 (0x20) is not printable ASCII");
  EXPECT_EQ(RequestMemo::CheckToken("a\x80"), "request_id: byte 1 (0x80) is not printable ASCII");
}

}  // namespace
}  // namespace hu::daemon
