// Answers to a guest's retried RegisterProgram. A connection that breaks
// during the call leaves the guest not knowing whether its program was
// registered; with a request token the retry gets the first call's answer
// (or waits for it) instead of registering the program twice.
//
// Bounded per domain in entries and bytes, and in time: a token is kept
// for `ttl` after its answer, long enough for a client's retries (every
// call expires old answers of all domains, so a dead domain's go too). A
// guest can only evict its own tokens.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hu::daemon {

class RequestMemo {
 public:
  using Clock = std::chrono::steady_clock;
  using Reply = std::function<void(const grpc::Status&, std::string response)>;

  struct Limits {
    size_t entries_per_domain = 32;
    size_t bytes_per_domain = 256 * 1024;  // answers larger than this are not kept
    std::chrono::seconds ttl{300};
  };

  RequestMemo() : RequestMemo(Limits(), Clock::now) {}
  RequestMemo(Limits limits, std::function<Clock::time_point()> now)
      : limits_(limits), now_(std::move(now)) {}

  // Empty when `token` is acceptable, else why not (for INVALID_ARGUMENT).
  static std::string CheckToken(std::string_view token);

  // True when the caller is the first with this token and must decide the
  // request, then call Finish. False when `reply` was answered from a kept
  // answer or will be answered by Finish of the first call.
  bool Begin(uint32_t domid, const std::string& token, Reply& reply);
  // Answers every call that waited on `token`, then keeps the answer when it
  // was a success that fits (a refusal is decided again: it changes nothing).
  void Finish(uint32_t domid, const std::string& token, const grpc::Status& st,
              const std::string& response);

  // Entries (pending and answered) kept for a domain; for tests.
  size_t Size(uint32_t domid);

 private:
  struct Entry {
    bool done = false;
    std::vector<Reply> waiters;
    std::string response;
    Clock::time_point expires;
  };
  struct Domain {
    std::map<std::string, Entry, std::less<>> entries;
    std::deque<std::string> answered;  // oldest first
    size_t bytes = 0;
  };
  void ExpireLocked(Clock::time_point now);
  void DropOldestLocked(Domain& d);

  Limits limits_;
  std::function<Clock::time_point()> now_;
  std::mutex mu_;
  std::map<uint32_t, Domain> domains_;
};

}  // namespace hu::daemon
