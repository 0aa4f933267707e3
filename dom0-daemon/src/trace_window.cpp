#include "trace_window.hpp"

#include <algorithm>

namespace hu::daemon {

void TraceWindow::Add(const TraceRecord& r) {
  std::lock_guard lk(mu_);
  Domain& d = domains_[r.domid];
  d.entries.push_back(Entry{d.next++, r});
  if (d.entries.size() > kPerDomain) d.entries.pop_front();
}

TraceWindow::Read TraceWindow::After(uint32_t domid, uint64_t after_seq, size_t max) const {
  std::lock_guard lk(mu_);
  Read out;
  auto it = domains_.find(domid);
  if (it == domains_.end()) return out;
  const auto& entries = it->second.entries;
  // A reader past every seq (a guest may send any number) missed nothing.
  if (!entries.empty() && after_seq < entries.front().seq && entries.front().seq - after_seq > 1)
    out.missed = entries.front().seq - after_seq - 1;
  auto from = std::upper_bound(entries.begin(), entries.end(), after_seq,
                               [](uint64_t s, const Entry& e) { return s < e.seq; });
  for (; from != entries.end() && out.entries.size() < max; ++from) out.entries.push_back(*from);
  return out;
}

void TraceWindow::Forget(uint32_t domid) {
  std::lock_guard lk(mu_);
  domains_.erase(domid);
}

}  // namespace hu::daemon
