#include "request_memo.hpp"

#include <fmt/format.h>

#include <iterator>

namespace hu::daemon {

std::string RequestMemo::CheckToken(std::string_view token) {
  if (token.size() > 64)
    return fmt::format("request_id: at most 64 characters, got {}", token.size());
  for (size_t i = 0; i < token.size(); i++) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c < 0x21 || c > 0x7e)
      return fmt::format("request_id: byte {} (0x{:02x}) is not printable ASCII", i, c);
  }
  return {};
}

void RequestMemo::ExpireLocked(Clock::time_point now) {
  // Every domain's, not only the caller's: a domain that is gone never
  // calls again, and its answers must not stay for the daemon's lifetime.
  for (auto dit = domains_.begin(); dit != domains_.end();) {
    Domain& d = dit->second;
    while (!d.answered.empty()) {
      auto it = d.entries.find(d.answered.front());
      if (it != d.entries.end() && it->second.expires > now) break;
      DropOldestLocked(d);
    }
    dit = d.entries.empty() ? domains_.erase(dit) : std::next(dit);
  }
}

void RequestMemo::DropOldestLocked(Domain& d) {
  auto it = d.entries.find(d.answered.front());
  if (it != d.entries.end()) {
    d.bytes -= it->second.response.size();
    d.entries.erase(it);
  }
  d.answered.pop_front();
}

bool RequestMemo::Begin(uint32_t domid, const std::string& token, Reply& reply) {
  std::string answer;
  {
    std::lock_guard lk(mu_);
    ExpireLocked(now_());
    Domain& d = domains_[domid];
    auto [it, fresh] = d.entries.try_emplace(token);
    if (fresh) return true;
    if (!it->second.done) {
      it->second.waiters.push_back(std::move(reply));
      return false;
    }
    answer = it->second.response;
  }
  reply(grpc::Status::OK, std::move(answer));
  return false;
}

void RequestMemo::Finish(uint32_t domid, const std::string& token, const grpc::Status& st,
                         const std::string& response) {
  std::vector<Reply> waiters;
  {
    std::lock_guard lk(mu_);
    auto dit = domains_.find(domid);
    if (dit == domains_.end()) return;
    Domain& d = dit->second;
    auto it = d.entries.find(token);
    if (it == d.entries.end()) return;
    waiters = std::move(it->second.waiters);
    if (!st.ok() || response.size() > limits_.bytes_per_domain) {
      d.entries.erase(it);
    } else {
      while (!d.answered.empty() && (d.answered.size() >= limits_.entries_per_domain ||
                                     d.bytes + response.size() > limits_.bytes_per_domain))
        DropOldestLocked(d);
      it->second.done = true;
      it->second.response = response;
      it->second.expires = now_() + limits_.ttl;
      d.bytes += response.size();
      d.answered.push_back(token);
    }
    if (d.entries.empty()) domains_.erase(domid);
  }
  for (auto& w : waiters) w(st, response);
}

size_t RequestMemo::Size(uint32_t domid) {
  std::lock_guard lk(mu_);
  auto it = domains_.find(domid);
  return it == domains_.end() ? 0 : it->second.entries.size();
}

}  // namespace hu::daemon
